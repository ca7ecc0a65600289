"""The four realistic inputs of issue 20, generated deterministically (no app content downloaded).

* ``vite``: a built Vite app, 8 files, ~261 KiB (minified-looking JS, CSS, images, favicon);
* ``dist5k``: a 5,000-file static dist holding 50 MiB of already-compressed images;
* ``media``: a media-heavy dist, 500 MiB, mostly incompressible (video, images, audio);
* ``text``: a 20,000-file tree of source-like text, ~90 MiB.

Each is written under ``base/NAME`` from fixed seeds, and kept while ``base/NAME.json``
records the same shape. The inputs are plain directories outside any repository, as a
built ``dist/`` handed to a deploy tool is; ``--quick`` scales them down.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from common import MIB, _write_noise

KIB = 1024
VERSION = 1  # bump with any change to what a generator writes


@dataclass(frozen=True)
class InputShape:
    name: str
    label: str  # as the report names it
    scale: float  # 1.0: the sizes issue 20 names; --quick uses less


NAMES = ("vite", "dist5k", "media", "text")
LABELS = {  # the sizes follow in the report, as generated (--quick makes them smaller)
    "vite": "built Vite app",
    "dist5k": "dist with images",
    "media": "media-heavy dist",
    "text": "text tree",
}


def _vite_hash(data: bytes) -> str:
    """An 8-character content hash as Vite puts in asset names."""
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest())[:8].decode().replace("=", "")


def _image(rng: random.Random, kind: str, size: int) -> bytes:
    """An already-compressed image: the format's header, then random bytes."""
    headers = {
        "png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        "jpg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01",
        "webp": b"RIFF\x00\x00\x00\x00WEBPVP8 ",
        "ico": b"\x00\x00\x01\x00\x01\x00\x20\x20",
        "gif": b"GIF89a",
    }
    head = headers[kind]
    return head + rng.randbytes(max(0, size - len(head)))


_JS_WORDS = [
    "useState",
    "useEffect",
    "useMemo",
    "useCallback",
    "useRef",
    "createElement",
    "Fragment",
    "render",
    "props",
    "children",
    "className",
    "onClick",
    "value",
    "length",
    "push",
    "map",
    "filter",
    "reduce",
    "forEach",
    "Object",
    "keys",
    "assign",
    "Array",
    "isArray",
    "Promise",
    "resolve",
    "then",
    "catch",
    "default",
    "exports",
    "module",
    "require",
    "document",
    "window",
    "addEventListener",
    "removeEventListener",
    "querySelector",
    "innerHTML",
    "style",
    "return",
    "function",
    "const",
    "let",
    "var",
    "new",
    "this",
    "null",
    "undefined",
    "true",
    "false",
    "typeof",
    "instanceof",
]


def minified_js(rng: random.Random, size: int) -> str:
    """Minified-looking JavaScript: one-letter names, short statements, no line breaks."""
    out: list[str] = []
    total = 0
    letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_$"
    while total < size:
        a, b, c = (rng.choice(letters) + rng.choice(letters + "0123456789") for _ in range(3))
        w, x = rng.choice(_JS_WORDS), rng.choice(_JS_WORDS)
        kind = rng.randrange(7)
        if kind == 0:
            piece = f"function {a}({b},{c}){{return {b}.{w}({c},{rng.randrange(999)})}}"
        elif kind == 1:
            piece = f"const {a}={b}.{w}(({c})=>{c}.{x});"
        elif kind == 2:
            piece = f'{a}.{w}("{x}-{rng.randrange(10**6):x}",{b});'
        elif kind == 3:
            piece = f"if({a}&&{b}.{w}!=={c}){{{a}[{rng.randrange(64)}]={b}}}"
        elif kind == 4:
            piece = f"var {a}={{{w}:{rng.randrange(10**4)},{x}:{b}?{c}:null}};"
        elif kind == 5:
            piece = f"for(let {a}=0;{a}<{b}.length;{a}++){c}.{w}({b}[{a}]);"
        else:
            piece = f'{a}=Object.{w}({b},"{x}",{{value:{c}}});'
        out.append(piece)
        total += len(piece)
    return "".join(out)[:size]


def minified_css(rng: random.Random, size: int) -> str:
    props = ["margin", "padding", "color", "display", "font-size", "line-height", "border"]
    values = ["0", "1rem", "auto", "flex", "#242424", "1.5", "none", "inherit", "2em"]
    out: list[str] = []
    total = 0
    while total < size:
        sel = f".{rng.choice(_JS_WORDS).lower()}-{rng.randrange(500)}"
        decls = ";".join(
            f"{rng.choice(props)}:{rng.choice(values)}" for _ in range(rng.randint(1, 5))
        )
        piece = f"{sel}{{{decls}}}"
        out.append(piece)
        total += len(piece)
    return "".join(out)[:size]


def _svg(rng: random.Random, size: int) -> str:
    paths = []
    total = 0
    while total < size - 120:
        d = " ".join(f"{rng.randrange(256)} {rng.randrange(256)}" for _ in range(8))
        piece = f'<path fill="#{rng.randrange(16**6):06x}" d="M{d}Z"/>'
        paths.append(piece)
        total += len(piece)
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="32" height="32" viewBox="0 0 256 256">'
        + "".join(paths)
        + "</svg>\n"
    )


def _index_html(script: str, style: str) -> str:
    return (
        '<!doctype html>\n<html lang="en">\n  <head>\n    <meta charset="UTF-8" />\n'
        '    <link rel="icon" type="image/svg+xml" href="/vite.svg" />\n'
        '    <meta name="viewport" content="width=device-width, initial-scale=1.0" />\n'
        "    <title>Vite + React</title>\n"
        f'    <script type="module" crossorigin src="/assets/{script}"></script>\n'
        f'    <link rel="stylesheet" crossorigin href="/assets/{style}">\n'
        '  </head>\n  <body>\n    <div id="root"></div>\n  </body>\n</html>\n'
    )


def gen_vite(root: Path, scale: float) -> None:
    rng = random.Random(1)
    assets = root / "assets"
    assets.mkdir(parents=True)
    js = minified_js(rng, 200 * KIB).encode()
    css = minified_css(rng, 12 * KIB).encode()
    logo = _svg(rng, 4 * KIB).encode()
    hero = _image(rng, "png", 26 * KIB)
    photo = _image(rng, "jpg", 12 * KIB)
    names = {}
    for stem, ext, data in (
        ("index", "js", js),
        ("index", "css", css),
        ("react", "svg", logo),
        ("hero", "png", hero),
        ("photo", "jpg", photo),
    ):
        name = f"{stem}-{_vite_hash(data)}.{ext}"
        (assets / name).write_bytes(data)
        names[(stem, ext)] = name
    (root / "index.html").write_text(_index_html(names[("index", "js")], names[("index", "css")]))
    (root / "vite.svg").write_text(_svg(rng, int(1.5 * KIB)))
    (root / "favicon.ico").write_bytes(_image(rng, "ico", 5 * KIB))


_PAGE_WORDS = [
    "the",
    "of",
    "and",
    "to",
    "in",
    "is",
    "for",
    "on",
    "with",
    "as",
    "by",
    "this",
    "that",
    "from",
    "are",
    "be",
    "at",
    "or",
    "an",
    "was",
    "it",
    "which",
    "product",
    "pricing",
    "docs",
    "guide",
    "blog",
    "release",
    "features",
    "team",
    "about",
    "contact",
    "support",
    "install",
    "configure",
    "deploy",
    "build",
    "static",
    "site",
    "image",
    "gallery",
    "article",
    "update",
    "customer",
    "story",
]


def _page(rng: random.Random, size: int, assets: list[str]) -> str:
    body: list[str] = []
    total = 0
    while total < size:
        words = " ".join(rng.choice(_PAGE_WORDS) for _ in range(rng.randint(12, 40)))
        kind = rng.randrange(4)
        if kind == 0:
            piece = f"<h2>{words[:40].title()}</h2>\n"
        elif kind == 1:
            piece = f'<img src="/{rng.choice(assets)}" alt="{words[:30]}" loading="lazy">\n'
        else:
            piece = f"<p>{words}.</p>\n"
        body.append(piece)
        total += len(piece)
    return (
        '<!doctype html><html><head><meta charset="utf-8"><link rel="stylesheet" '
        'href="/assets/site.css"></head><body>\n' + "".join(body) + "</body></html>\n"
    )


def gen_dist5k(root: Path, scale: float) -> None:
    """5,000 files: 1,000 images (50 MiB), 3,000 HTML pages, 800 JS chunks, 200 JSON files."""
    rng = random.Random(2)
    n_images = max(10, int(1000 * scale))
    image_bytes = int(50 * MIB * scale)
    weights = [rng.lognormvariate(0, 0.8) for _ in range(n_images)]
    total_weight = sum(weights)
    images: list[str] = []
    for i, weight in enumerate(weights):
        kind = ("png", "jpg", "webp", "gif")[i % 4]
        rel = f"images/{i // 100:02d}/img-{i:04d}.{kind}"
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(_image(rng, kind, max(64, int(image_bytes * weight / total_weight))))
        images.append(rel)
    (root / "assets").mkdir(parents=True, exist_ok=True)
    (root / "assets" / "site.css").write_text(minified_css(rng, 40 * KIB))
    for i in range(max(10, int(3000 * scale))):
        rel = "index.html" if i == 0 else f"pages/{i // 100:02d}/page-{i:04d}/index.html"
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_page(rng, int(min(40_000, rng.lognormvariate(8.3, 0.6))), images))
    for i in range(max(10, int(800 * scale)) - 1):
        data = minified_js(rng, int(min(120_000, rng.lognormvariate(8.5, 0.9)))).encode()
        (root / "assets" / f"chunk-{_vite_hash(data + bytes([i % 256]))}-{i}.js").write_bytes(data)
    (root / "data").mkdir(exist_ok=True)
    for i in range(max(10, int(200 * scale))):
        rows = [
            {"id": rng.randrange(10**6), "title": " ".join(rng.sample(_PAGE_WORDS, 5))}
            for _ in range(rng.randint(5, 60))
        ]
        (root / "data" / f"feed-{i:03d}.json").write_text(json.dumps(rows))


def gen_media(root: Path, scale: float) -> None:
    """500 MiB: three videos, six WebP images, an audio track, and the page around them."""
    rng = random.Random(3)
    files = {
        "videos/intro.mp4": 160,
        "videos/demo.mp4": 120,
        "videos/teaser.webm": 80,
        "audio/theme.mp3": 50,
        **{f"images/gallery-{i}.webp": 15 for i in range(6)},
    }
    for rel, mib in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_noise(path, f"media:{rel}", int(mib * MIB * scale))
    (root / "assets").mkdir()
    js = minified_js(rng, 60 * KIB).encode()
    (root / "assets" / f"index-{_vite_hash(js)}.js").write_bytes(js)
    (root / "assets" / "index.css").write_text(minified_css(rng, 8 * KIB))
    (root / "index.html").write_text(_index_html(f"index-{_vite_hash(js)}.js", "index.css"))


def gen_text(root: Path, scale: float) -> None:
    """20,000 files (source-like text and an index.html) in 400 directories, ~90 MiB."""
    rng = random.Random(4)
    words = [
        "".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randint(3, 10)))
        for _ in range(3000)
    ]
    # A pool of source lines, drawn per file: as varied as writing each line afresh
    # (a file holds ~100 of 60,000), at a fraction of the generation time.
    pool: list[str] = []
    for _ in range(60_000):
        a, b, c, d = (rng.choice(words) for _ in range(4))
        kind = rng.randrange(6)
        pool.append(
            (
                f"def {a}_{b}({c}, {d}=None):",
                f"    return {a}.{b}({c}, {rng.randrange(1000)})",
                f"# {a} {b} {c} {d}",
                f"    {a} = {b}[{rng.randrange(64)}] + {c}",
                f'    log.info("{a} {b}: %s", {c})',
                f"class {a.title()}{b.title()}({c.title()}):",
            )[kind]
        )
    count = max(100, int(20_000 * scale)) - 1  # and index.html
    for i in range(count):
        sub = root / f"pkg{i % 40:02d}" / f"mod{(i // 40) % 10}"
        sub.mkdir(parents=True, exist_ok=True)
        size = int(min(120_000, rng.lognormvariate(8.18, 0.75)))
        lines: list[str] = []
        total = 0
        while total < size:
            line = rng.choice(pool)
            lines.append(line)
            total += len(line) + 1
        ext = (".py", ".ts", ".js", ".go")[i % 4]
        (sub / f"file{i:05d}{ext}").write_text("\n".join(lines) + "\n")
    (root / "index.html").write_text("<!doctype html><title>text tree</title>\n")


GENERATORS: dict[str, Callable[[Path, float], None]] = {
    "vite": gen_vite,
    "dist5k": gen_dist5k,
    "media": gen_media,
    "text": gen_text,
}


def ensure(base: Path, name: str, scale: float) -> Path:
    """``base/name``, generated unless it already holds this shape."""
    root = base / name
    marker = base / f"{name}.json"
    shape = {**asdict(InputShape(name, LABELS[name], scale)), "version": VERSION}
    if marker.exists() and root.is_dir() and json.loads(marker.read_text()) == shape:
        return root
    marker.unlink(missing_ok=True)
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    GENERATORS[name](root, scale)
    marker.write_text(json.dumps(shape))
    return root


def describe(root: Path) -> tuple[int, int]:
    """(files, bytes) under ``root``."""
    count = size = 0
    for path in root.rglob("*"):
        if path.is_file():
            count += 1
            size += path.stat().st_size
    return count, size
