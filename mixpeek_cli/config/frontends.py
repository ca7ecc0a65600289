"""Which frontend an app is, and so how it builds and where the build lands.

`mixpeek init` writes what this finds as ``build_command``, ``output_dir`` and
``dev_command`` (what ``mixpeek dev`` starts, its port given by
:func:`dev_command_for_port`). It reads only ``package.json`` (dependencies and
devDependencies, the ``build`` and dev scripts, the
``packageManager`` field), which lockfile is present, Next.js's config (a plain text
search for ``output: 'export'``) and whether there is an ``index.html``. Nothing is run,
printed or asked; a missing, unreadable or invalid ``package.json`` means no detection.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PACKAGE_JSON = "package.json"
NEXT_CONFIGS = ("next.config.js", "next.config.mjs", "next.config.ts")

# Lockfile -> how that package manager runs a script named "build".
_LOCKFILES = (
    ("pnpm-lock.yaml", "pnpm run build"),
    ("yarn.lock", "yarn build"),
    ("bun.lockb", "bun run build"),
    ("bun.lock", "bun run build"),
)
_RUN_BUILD = {
    "npm": "npm run build",
    "pnpm": "pnpm run build",
    "yarn": "yarn build",
    "bun": "bun run build",
}
_EXPORT = re.compile(r"""\boutput\s*:\s*["'`]export["'`]""")
_COMMENT = ("//", "/*", "*")


@dataclass(frozen=True)
class Frontend:
    name: str  # "Vite", "Next.js", "plain HTML"...
    build_command: str | None  # run in the app's directory; None: nothing to build
    output_dir: str | None  # relative to the app's directory; None: the directory itself
    reason: str  # what it was detected from
    # Set when the app as it stands will not deploy as a static site: what to change.
    note: str | None = None
    # What serves the app while it is worked on (`mixpeek dev` starts it); None: nothing.
    dev_command: str | None = None
    # The framework's own port flags, "{port}" where the number goes (None: PORT only).
    dev_port_args: str | None = None


@dataclass(frozen=True)
class _Framework:
    name: str
    package: str
    output_dir: str
    cli_build: str  # the framework's own build, when package.json has no build script
    dev_script: str  # the package.json script that serves it while it is worked on
    cli_dev: str  # the framework's own dev server, when package.json has no such script
    port_args: str | None  # its port flags; None: it reads PORT from its environment


# Most specific first: the frameworks that build on Vite come before it.
# strictPort: Vite would take the next free port and answer where nobody proxies.
_VITE_PORT = "--port {port} --strictPort"
_FRAMEWORKS = (
    _Framework("Next.js", "next", "out", "npx next build", "dev", "npx next dev", "--port {port}"),
    _Framework(
        "Astro", "astro", "dist", "npx astro build", "dev", "npx astro dev", "--port {port}"
    ),
    _Framework(
        "SvelteKit", "@sveltejs/kit", "build", "npx vite build", "dev", "npx vite dev", _VITE_PORT
    ),
    _Framework(
        "Vue CLI",
        "@vue/cli-service",
        "dist",
        "npx vue-cli-service build",
        "serve",
        "npx vue-cli-service serve",
        "--port {port}",
    ),
    _Framework(
        "Create React App",
        "react-scripts",
        "build",
        "npx react-scripts build",
        "start",
        "npx react-scripts start",
        None,
    ),
    _Framework("Vite", "vite", "dist", "npx vite build", "dev", "npx vite", _VITE_PORT),
)
# How each package manager runs a package.json script.
_RUN_SCRIPT = {"npm": "npm run {}", "pnpm": "pnpm run {}", "yarn": "yarn {}", "bun": "bun run {}"}


def detect_frontend(root: Path) -> Frontend | None:
    """The frontend at ``root``, or None when it is none this knows."""
    package_path = root / PACKAGE_JSON
    if not package_path.exists():
        if (root / "index.html").is_file():
            return Frontend(
                name="plain HTML",
                build_command=None,
                output_dir=None,
                reason="index.html at the root and no package.json",
            )
        return None
    package = _read_package(package_path)
    if package is None:
        return None
    where = _dependencies(package)
    for framework in _FRAMEWORKS:
        section = where.get(framework.package)
        if section is None:
            continue
        reason = f"{framework.package} in {PACKAGE_JSON} {section}"
        note = None
        if framework.name == "Next.js":
            config = _next_export_config(root)
            if config is not None:
                reason += f", output: 'export' in {config}"
            else:
                note = (
                    "only a static export deploys to Canvas: set output: 'export' in "
                    "next.config.js (or .mjs/.ts) so next build writes out/"
                )
        elif framework.name == "SvelteKit":
            adapter = "@sveltejs/adapter-static"
            if adapter in where:
                reason += f" with {adapter}"
            else:
                note = (
                    f"only a static site deploys to Canvas: add {adapter} and set it as "
                    "the adapter in svelte.config.js so the build writes build/"
                )
        build_command, how = _build_command(root, package, framework.cli_build)
        return Frontend(
            name=framework.name,
            build_command=build_command,
            output_dir=framework.output_dir,
            reason=f"{reason}; {how}",
            note=note,
            dev_command=_dev_command(root, package, framework),
            dev_port_args=framework.port_args,
        )
    return None


def _read_package(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _dependencies(package: dict[str, Any]) -> dict[str, str]:
    """Each dependency's name -> the section naming it (dependencies win)."""
    where: dict[str, str] = {}
    for section in ("devDependencies", "dependencies"):
        names = package.get(section)
        if isinstance(names, dict):
            where.update(dict.fromkeys((str(name) for name in names), section))
    return where


def _build_command(root: Path, package: dict[str, Any], cli_build: str) -> tuple[str, str]:
    """The command that builds the app, and why it is that one."""
    scripts = package.get("scripts")
    script = scripts.get("build") if isinstance(scripts, dict) else None
    if not isinstance(script, str) or not script.strip():
        return (
            cli_build,
            f"no build script in {PACKAGE_JSON}, so {cli_build.split()[1]}'s own build",
        )
    declared = package.get("packageManager")
    if isinstance(declared, str):
        manager = declared.split("@", 1)[0].strip()
        if manager in _RUN_BUILD:
            return _RUN_BUILD[manager], f"its build script, with {manager} (packageManager)"
    for lockfile, command in _LOCKFILES:
        if (root / lockfile).is_file():
            return command, f"its build script, with {command.split()[0]} ({lockfile})"
    return _RUN_BUILD["npm"], "its build script, with npm"


def _dev_command(root: Path, package: dict[str, Any], framework: _Framework) -> str:
    """The command that serves the app while it is worked on: its own script, with the
    package manager its build uses, else the framework's own dev server."""
    scripts = package.get("scripts")
    script = scripts.get(framework.dev_script) if isinstance(scripts, dict) else None
    if not isinstance(script, str) or not script.strip():
        return framework.cli_dev
    return _RUN_SCRIPT[_manager(root, package)].format(framework.dev_script)


def _manager(root: Path, package: dict[str, Any]) -> str:
    """The package manager that runs the app's scripts: ``packageManager``, else the
    lockfile's, else npm (the build command's rule)."""
    declared = package.get("packageManager")
    if isinstance(declared, str) and declared.split("@", 1)[0].strip() in _RUN_SCRIPT:
        return declared.split("@", 1)[0].strip()
    for lockfile, command in _LOCKFILES:
        if (root / lockfile).is_file():
            return command.split()[0]
    return "npm"


def dev_command_for_port(command: str, port: int, frontend: Frontend | None) -> str:
    """``command`` told to serve on ``port`` (which it also gets as ``PORT``).

    A ``{port}`` in it is replaced by the number. Else, when it is the dev command
    detection gives for ``frontend``, the framework's own port flags are added (after
    ``--`` for ``npm run``, which passes on only what follows it). Else it is left as it
    is: a custom command reads ``PORT``, or says ``{port}`` where the number goes.
    """
    if "{port}" in command:
        return command.replace("{port}", str(port))
    if frontend is None or frontend.dev_port_args is None or command != frontend.dev_command:
        return command
    flags = frontend.dev_port_args.format(port=port)
    return f"{command} -- {flags}" if command.startswith("npm run ") else f"{command} {flags}"


def _next_export_config(root: Path) -> str | None:
    """The next.config file that sets ``output: 'export'`` outside a comment, if any."""
    for name in NEXT_CONFIGS:
        try:
            text = (root / name).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for line in text.splitlines():
            if not line.lstrip().startswith(_COMMENT) and _EXPORT.search(line):
                return name
    return None
