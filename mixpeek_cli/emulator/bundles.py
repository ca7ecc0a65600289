"""Reading a Canvas bundle as the published service does: a zip of a built frontend.

Two steps, as the build runs them:

* ``open_bundle`` (the "Extracting bundle..." stage): the bytes must be a zip that passes
  its CRC checks and holds at least one file;
* ``OpenedBundle.site_files`` (the "Validating bundle (index.html, size)..." stage): the
  zip must hold ``index.html`` at its root, or inside a single top-level folder that holds
  everything (``zip -r app.zip dist/`` gives one: every entry starts with ``dist/``). In the
  second case that folder is the site root and is stripped from the paths.

Every failure is a :class:`BundleError` whose text is the deploy's ``error``.
``site_from_zip`` does both steps at once, for whoever needs a bundle's site outside a
build (e.g. restoring an earlier version).
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

FAIL_MARKER = "MIXPEEK_FAIL_BUILD"
INDEX = "index.html"
# How many names a failure reason lists before it says "...".
_NAMES_SHOWN = 5


class BundleError(Exception):
    """The bundle cannot be built; the message is the deploy's ``error``."""


@dataclass(frozen=True)
class OpenedBundle:
    """A zip that opened: its files (entry name -> bytes, directories left out) and the
    ``MIXPEEK_FAIL_BUILD`` reason (None without a root-level marker)."""

    files: dict[str, bytes]
    marker: str | None

    def site_files(self) -> dict[str, bytes]:
        """The site: path under the site root -> bytes, or a :class:`BundleError`."""
        paths = {name: _safe_path(name) for name in self.files}
        if INDEX in paths.values():
            return {path: self.files[name] for name, path in paths.items()}
        folder = _single_folder(list(paths.values()))
        if folder is None or f"{folder}/{INDEX}" not in paths.values():
            raise BundleError(
                f"Bundle has no {INDEX} at its root or in a single top-level folder "
                f"(found {_describe_top_level(list(paths.values()))})"
            )
        cut = len(folder) + 1
        return {path[cut:]: self.files[name] for name, path in paths.items()}


def open_bundle(data: bytes) -> OpenedBundle:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as bundle:
            broken = bundle.testzip()
            if broken is not None:
                raise BundleError(f"bundle is corrupt: bad CRC for {broken}")
            files = {
                info.filename: bundle.read(info) for info in bundle.infolist() if not info.is_dir()
            }
    except zipfile.BadZipFile as exc:
        raise BundleError("bundle is not a valid zip archive") from exc
    if not files:
        raise BundleError("bundle holds no files")
    marker = None
    if FAIL_MARKER in files:
        text = files[FAIL_MARKER].decode("utf-8", "replace").strip()
        marker = text or f"{FAIL_MARKER} present in bundle"
    return OpenedBundle(files, marker)


def site_from_zip(data: bytes) -> dict[str, bytes]:
    """A bundle's site files (path under the site root -> bytes); BundleError if invalid."""
    return open_bundle(data).site_files()


def _safe_path(name: str) -> str:
    """``name`` as a relative path that stays inside the site root, or a BundleError."""
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if name.startswith("/") or "\\" in name or "\x00" in name or ".." in parts or not parts:
        raise BundleError(f"bundle has an unsafe file path: {name}")
    return "/".join(parts)


def _single_folder(paths: list[str]) -> str | None:
    """The one top-level folder every path is under, or None."""
    tops = {path.split("/", 1)[0] for path in paths}
    if len(tops) != 1 or any("/" not in path for path in paths):
        return None
    return tops.pop()


def _describe_top_level(paths: list[str]) -> str:
    files = sorted({path for path in paths if "/" not in path})
    folders = sorted({path.split("/", 1)[0] + "/" for path in paths if "/" in path})
    if not files and len(folders) == 1:
        return f"1 top-level folder: {folders[0]}, with no {INDEX} in it"
    found = []
    if files:
        found.append(_count(len(files), "file") + " at the root: " + _names(files))
    if folders:
        found.append(_count(len(folders), "top-level folder") + ": " + _names(folders))
    return " and ".join(found)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def _names(names: list[str]) -> str:
    shown = ", ".join(names[:_NAMES_SHOWN])
    return shown + (", ..." if len(names) > _NAMES_SHOWN else "")
