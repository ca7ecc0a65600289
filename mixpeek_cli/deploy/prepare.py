"""Everything local a bundle needs, in order: the build, the zip, the Canvas check, the sources.

Shared by ``mixpeek deploy`` and ``mixpeek bundle``, so the zip a deploy uploads is the
zip ``bundle -o`` writes. Nothing here reaches the network.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mixpeek_cli.errors import UsageError

if TYPE_CHECKING:
    from mixpeek_cli.bundle.build import Bundle
    from mixpeek_cli.bundle.canvas_check import CanvasCheck
    from mixpeek_cli.bundle.source_files import EncodedSources
    from mixpeek_cli.config.settings import Settings
    from mixpeek_cli.deploy.build_step import BuildRun
    from mixpeek_cli.deploy.request import DeployRequest
    from mixpeek_cli.output.reporter import Reporter


@dataclass
class Prepared:
    """A written bundle and what was learned making it; ``cleanup`` when done."""

    bundle: Bundle
    sources: EncodedSources
    check: CanvasCheck
    build: BuildRun | None
    output_dir: str | None

    def cleanup(self) -> None:
        self.bundle.cleanup()


def prepare_bundle(
    settings: Settings,
    request: DeployRequest,
    reporter: Reporter,
    *,
    root: Path,
    dest: Path | None = None,
    refuse: bool = True,
) -> Prepared:
    """Build (unless ``request.build`` is off), bundle and check the project at ``root``.

    The build command and output directory are the settings', or, when none is set
    anywhere, the detected frontend's (:func:`build_settings`).

    ``refuse``: a bundle Canvas would refuse is a UsageError here (a deploy); otherwise
    the failed check is only reported in the result (``--dry-run``, ``bundle -o``).
    """
    from mixpeek_cli.bundle.build import build_bundle
    from mixpeek_cli.bundle.canvas_check import SKIPPED, check_bundle
    from mixpeek_cli.bundle.ignore import output_rules
    from mixpeek_cli.bundle.secrets.files import make_guard
    from mixpeek_cli.bundle.source_files import sources_for, sources_of_project
    from mixpeek_cli.deploy.build_step import build_root, run_build

    build_command, output_dir = build_settings(settings, request, root, reporter)
    build = None
    if build_command and request.build:
        build = run_build(
            build_command, root, reporter, quiet=request.quiet, deadline=settings.deadline
        )
    guard = make_guard(request.include_secrets, reporter)
    bundle = build_bundle(
        build_root(root, output_dir),
        reporter,
        dest=dest,
        guard=guard,
        # --ref bundles a temporary checkout: a path no later run will bundle again.
        use_cache=request.ref is None,
        rules=output_rules(root, output_dir) if output_dir else None,
    )
    try:
        if request.bundle_check:
            check = check_bundle([f.path for f in bundle.files], root, output_dir=output_dir)
        else:
            reporter.warn("the Canvas bundle check is skipped (--no-bundle-check)")
            check = SKIPPED
        if not check.ok and refuse:
            raise UsageError(f"Canvas would refuse this bundle: {check.problem}", hint=check.hint)
        if check.warning:
            reporter.warn(check.warning)
        if output_dir is None:
            sources = sources_for(bundle)
        else:
            sources = sources_of_project(root, output_dir, guard, reporter)
    except BaseException:
        bundle.cleanup()
        raise
    return Prepared(bundle, sources, check, build, output_dir)


# Detection runs only when neither setting came from anywhere (flag, env, mixpeek.toml):
# whatever the user set, even an empty build_command, is taken as given.
_PIN = "pin it: mixpeek init, or build_command and output_dir in mixpeek.toml"


def build_settings(
    settings: Settings, request: DeployRequest, root: Path, reporter: Reporter
) -> tuple[str | None, str | None]:
    """The build command and output directory to use for the project at ``root``.

    With no build setting from any source, the frontend `mixpeek init` would detect in
    ``root`` (a ``--ref`` checkout: the commit's package.json) is built and its output
    ships, said in one line. Canvas serves no unbuilt source, so shipping PATH as it is
    would deploy a blank page: a detected frontend that cannot be built here (--no-build
    without its output, or one that will not export a static site) stops instead.
    """
    if not _unset(settings, "build_command") or not _unset(settings, "output_dir"):
        return settings.build_command, settings.output_dir
    from mixpeek_cli.config.frontends import detect_frontend

    frontend = detect_frontend(root)
    if frontend is None or frontend.output_dir is None:  # unknown, or plain HTML
        return None, None
    found = f"detected {frontend.name} ({frontend.reason})"
    out = frontend.output_dir
    if frontend.note:
        raise UsageError(
            f"{found}, which does not deploy to Canvas as it stands; nothing was sent",
            hint=f"{frontend.note}; or set build_command and output_dir in mixpeek.toml",
        )
    if request.build:
        reporter.info(
            f"{found}: building with `{frontend.build_command}`, shipping {out}/ ({_PIN})"
        )
        return frontend.build_command, out
    if not (root / out).is_dir():
        raise UsageError(
            f"{found}, but --no-build and there is no {out}/ to ship; nothing was sent",
            hint="a commit's checkout holds no build output: deploy it without --no-build"
            if request.ref is not None
            else f"build it first ({frontend.build_command}), or deploy without --no-build",
        )
    reporter.info(f"{found}: not building (--no-build), shipping the existing {out}/ ({_PIN})")
    return None, out


def _unset(settings: Settings, key: str) -> bool:
    return getattr(settings, key) is None and settings.sources.get(key, "unset") == "unset"
