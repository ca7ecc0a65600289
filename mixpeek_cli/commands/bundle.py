"""`mixpeek bundle`: build and write the deploy's zip to a file, deploy nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from mixpeek_cli.commands import options
from mixpeek_cli.commands.layer import Run, command


def _summary_text(run: Run, summary: dict[str, Any]) -> str:
    return "\n".join(
        f"{key}: {value}"
        for key, value in summary.items()
        if not isinstance(value, dict) and value is not None
    )


@command(render=_summary_text)
def bundle(
    run: Run,
    path: options.PathArg = Path("."),
    output_file: Annotated[
        Path, typer.Option("-o", "--output", help="Where to write the zip.", dir_okay=False)
    ] = ...,  # type: ignore[assignment]
    include_secret: options.IncludeSecret = None,
    build_command: options.BuildCommand = None,
    output_dir: options.OutputDir = None,
    no_build: options.NoBuild = False,
    no_bundle_check: options.NoBundleCheck = False,
) -> dict[str, Any]:
    """A bundle Canvas would refuse is still written, with a warning."""
    from mixpeek_cli.bundle.secrets.files import bundle_paths
    from mixpeek_cli.deploy.prepare import prepare_bundle
    from mixpeek_cli.deploy.request import DeployRequest, check_directory

    root = check_directory(path)
    settings = run.resolve(root, build_command=build_command, output_dir=output_dir)
    request = DeployRequest(
        path=root,
        message=None,
        include_secrets=frozenset(bundle_paths(root, include_secret or [])),
        build=not no_build,
        bundle_check=not no_bundle_check,
        quiet=run.output.quiet,
    )
    prepared = prepare_bundle(
        settings, request, run.reporter, root=root, dest=output_file, refuse=False
    )
    built, sources, check = prepared.bundle, prepared.sources, prepared.check
    if not check.ok:
        run.reporter.warn(f"Canvas would refuse this bundle: {check.problem}. {check.hint}")
    return {
        "path": str(built.zip_path),
        "sha256": built.sha256,
        "bytes": built.size,
        "file_count": len(built.files),
        "input_bytes": built.input_bytes,
        "source_files_count": sources.count,
        "source_files_skipped": sources.skipped,
        "source_files_left_out": sources.left_out_json(),
        "build": prepared.build.to_json() if prepared.build else None,
        "output_dir": prepared.output_dir,
        "bundle_check": check.to_json(),
    }
