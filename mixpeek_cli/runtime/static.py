"""Which file answers a path, and as what type: the rules of Canvas's static host.

For a path's parts (empty and ``.`` parts left out): none is ``index.html``; a file's path
is the file; a folder holding ``index.html`` is that file; any other path whose last part
has no extension is ``index.html`` (the single-page-app fallback, "/settings/profile" is a
client-side route); any other path is not found. A ``..`` part, a backslash or a NUL is
refused before any of that (:func:`unsafe_path`).
"""

from __future__ import annotations

import mimetypes
from collections.abc import Callable
from pathlib import PurePosixPath

INDEX = "index.html"
HTML = "text/html; charset=utf-8"
# Built-in table only: the machine's /etc/mime.types must not change what is answered.
_MIME = mimetypes.MimeTypes()
# The types a static web host must get right, whatever this Python's table says.
_WEB_TYPES = {
    ".html": HTML,
    ".htm": HTML,
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".cjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".webmanifest": "application/manifest+json",
    ".txt": "text/plain; charset=utf-8",
    ".xml": "application/xml",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".ico": "image/x-icon",
    ".wasm": "application/wasm",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".ttf": "font/ttf",
    ".otf": "font/otf",
    ".mp4": "video/mp4",
    ".webm": "video/webm",
    ".mp3": "audio/mpeg",
    ".pdf": "application/pdf",
}


def content_type(path: str) -> str:
    """The Content-Type a site answers for a file at ``path``."""
    suffix = PurePosixPath(path).suffix.lower()
    if suffix in _WEB_TYPES:
        return _WEB_TYPES[suffix]
    guessed, encoding = _MIME.guess_type(path, strict=False)
    if encoding is not None:  # "x.tar.gz": the file is the compressed bytes
        return "application/gzip" if encoding == "gzip" else "application/octet-stream"
    if guessed is None:
        return "application/octet-stream"
    return f"{guessed}; charset=utf-8" if guessed.startswith("text/") else guessed


def unsafe_path(path: str) -> bool:
    """Whether a (percent-decoded) request path could leave the site root."""
    return ".." in path.split("/") or "\\" in path or "\x00" in path


def path_parts(path: str) -> list[str]:
    """A request path's parts, without the empty and ``.`` ones."""
    return [part for part in path.split("/") if part not in ("", ".")]


def find(parts: list[str], is_file: Callable[[str], bool]) -> str | None:
    """The file (its path under the site root) that answers a path, or None for a 404.

    ``is_file(path)`` says whether the site has a file at ``path`` ("a/b.js").
    """
    wanted = "/".join(parts)
    if not wanted:
        return INDEX
    if is_file(wanted):
        return wanted
    if is_file(f"{wanted}/{INDEX}"):
        return f"{wanted}/{INDEX}"
    if not PurePosixPath(parts[-1]).suffix:
        return INDEX
    return None


def under(path: str, prefix: str) -> bool:
    """Whether ``path`` is ``prefix`` or below it ("/functions", "/functions/x")."""
    return path == prefix or path.startswith(prefix + "/")
