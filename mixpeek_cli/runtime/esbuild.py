"""esbuild, which turns a server function (TypeScript or JavaScript) into one ES module.

Canvas transpiles TypeScript with esbuild; so does this. Where it comes from, first found:

1. ``MIXPEEK_ESBUILD``, a path to the esbuild program;
2. the app's own ``node_modules`` (Vite, Astro and SvelteKit projects have it already);
3. the CLI's cache (``<user cache dir>/mixpeek/esbuild/<version>``), where the first
   function run puts it with ``npm install esbuild@<version>`` from the npm registry.

Why npm and not a Python wheel: esbuild is published for every platform only as npm
packages (``@esbuild/<platform>``, a native program each); no maintained PyPI wheel
ships the program (``esbuild`` on PyPI downloads it at run time, an old release;
``esbuild-py`` binds only the transform API, for few platforms). npm comes with Node.js,
which functions need anyway. Install scripts are not run: the platform package holds the
program itself, and that program is what is run (no Node start-up in between).

A function is bundled (its own relative imports included, packages left as imports, so
``node_modules`` resolves them as in the app) into an ``.mjs`` with an inline source map,
so a stack trace names the TypeScript lines.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from mixpeek_cli.errors import UsageError

VERSION = "0.28.2"
_INSTALL_LOCK = threading.Lock()


class EsbuildMissing(UsageError):
    """esbuild cannot be found nor installed; the message says why."""


class BuildFailed(Exception):
    """esbuild refused the function; the message is its own report."""


def cache_root() -> Path:
    import platformdirs

    return platformdirs.user_cache_path("mixpeek", appauthor=False) / "esbuild" / VERSION


def _program_in(node_modules: Path) -> Path | None:
    """The native esbuild program an ``npm install esbuild`` left under ``node_modules``."""
    name = "esbuild.exe" if sys.platform == "win32" else "esbuild"
    scoped = node_modules / "@esbuild"
    if scoped.is_dir():
        for platform_dir in sorted(scoped.iterdir()):
            for candidate in (platform_dir / "bin" / name, platform_dir / name):
                if candidate.is_file() and os.access(candidate, os.X_OK):
                    return candidate
    shim = node_modules / ".bin" / ("esbuild.cmd" if sys.platform == "win32" else "esbuild")
    return shim if shim.is_file() else None


def find_esbuild(app_root: Path | None = None) -> Path | None:
    """An esbuild already on this machine (no install), or None."""
    given = os.environ.get("MIXPEEK_ESBUILD")
    if given:
        return Path(given)
    if app_root is not None:
        found = _program_in(app_root / "node_modules")
        if found is not None:
            return found
    return _program_in(cache_root() / "node_modules")


def ensure_esbuild(app_root: Path | None = None, say: Callable[[str], None] | None = None) -> Path:
    """esbuild, installed into the cache with npm the first time; or EsbuildMissing.

    ``say(line)``, when given, is told before an install starts (it takes seconds).
    """
    found = find_esbuild(app_root)
    if found is not None:
        return found
    with _INSTALL_LOCK:
        found = find_esbuild(app_root)
        if found is not None:
            return found
        return _install(say)


def _install(say: Callable[[str], None] | None) -> Path:
    npm = shutil.which("npm")
    if npm is None:
        raise EsbuildMissing(
            "esbuild is needed to run server functions and npm, which installs it, is not on PATH",
            hint="install Node.js with npm, or set MIXPEEK_ESBUILD to an esbuild program",
        )
    target = cache_root()
    if say is not None:
        say(f"installing esbuild {VERSION} with npm into {target} (once)")
    staging = target.with_name(f".{VERSION}.{secrets.token_hex(4)}")
    staging.mkdir(parents=True)
    try:
        done = subprocess.run(
            [
                npm,
                "install",
                "--prefix",
                str(staging),
                "--no-audit",
                "--no-fund",
                "--ignore-scripts",
                "--no-save",
                "--loglevel=error",
                f"esbuild@{VERSION}",
            ],
            capture_output=True,
            text=True,
            timeout=300,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["(no message)"])[-1]
            raise EsbuildMissing(
                f"npm install esbuild@{VERSION} failed: {last}",
                hint="check the network, or set MIXPEEK_ESBUILD to an esbuild program",
            )
        if _program_in(staging / "node_modules") is None:
            raise EsbuildMissing(f"npm installed esbuild@{VERSION} without its program")
        try:
            staging.replace(target)
        except OSError:
            if _program_in(target / "node_modules") is None:  # not another process's install
                raise
    except subprocess.TimeoutExpired:
        raise EsbuildMissing(f"npm install esbuild@{VERSION} took over 300 s") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    found = _program_in(target / "node_modules")
    assert found is not None
    return found


def build(esbuild: Path, entry: Path, outfile: Path, cwd: Path, timeout: float = 60) -> None:
    """Bundle ``entry`` into the ES module ``outfile``; BuildFailed with esbuild's report."""
    args = [
        str(esbuild),
        str(entry),
        "--bundle",
        "--format=esm",
        "--platform=node",
        "--target=node18",
        "--packages=external",
        "--sourcemap=inline",
        "--log-level=error",
        f"--outfile={outfile}",
    ]
    try:
        done = subprocess.run(
            args,
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise BuildFailed(f"esbuild took over {timeout:g} s") from None
    except OSError as exc:
        raise BuildFailed(f"esbuild could not run ({esbuild}): {exc}") from None
    if done.returncode != 0:
        raise BuildFailed(done.stderr.strip() or f"esbuild exited with {done.returncode}")


if __name__ == "__main__":  # python -m mixpeek_cli.runtime.esbuild: install it now (CI)
    print(ensure_esbuild(say=lambda line: print(line, file=sys.stderr)))
