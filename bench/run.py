#!/usr/bin/env python3
"""Measure mixpeek's own overhead against the tools it should beat (docs/performance.md).

    python bench/run.py [--quick] [--runs N] [--skip-big] [--work DIR] [--only NAME ...]
                        [--inputs DIR] [--input NAME ...]
    python bench/run.py --install-peers     # vercel, netlify-cli, wrangler into bench/.peers

Generates a deterministic synthetic app under bench/.work/ (reused while its parameters
are unchanged), then measures each figure as the median of --runs runs, every run of
mixpeek interleaved with a run of the reference tool on the same files. The CLI always
runs as a subprocess; the deploy figures use `mixpeek emulator --port 0` on loopback.

Issue 20's figures (bench/realistic.py) use four realistic inputs generated in a temp dir
(bench/inputs.py): each against `zip -r -X -q` and Python's zipfile, the peers' CLIs
(bench/peers.py, run offline in `unshare -n`), and what each speed mechanism saves, turned
off from outside the package by bench/switches.py.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import inputs
import peers
import realistic
from common import (
    HERE,
    INDEX_HTML,
    MIB,
    MIXPEEK,
    PUBLISHED_WORKFLOW,
    PYTHON,
    EmulatorProcess,
    Lines,
    Row,
    _network_step,
    _source_text,
    _write_noise,
    bundled_names,
    compile_package,
    deploy_env,
    machine,
    median,
    peak_rss,
    run_lines,
    run_timed,
    table,
)


@dataclass(frozen=True)
class Shape:
    """What the synthetic app holds; a change regenerates it."""

    source_files: int
    node_modules_files: int
    venv_files: int
    assets: int
    asset_mib: int
    big_compressible_mib: int  # the ~1 GiB variant's extra data
    big_incompressible: int
    upload_mib: int
    version: int = 2  # 2: every app is a Canvas site (an index.html at its root)


FULL = Shape(4000, 30_000, 3000, 3, 20, 300, 5, 200)
QUICK = Shape(800, 5000, 600, 2, 4, 40, 1, 40)


# ---------------------------------------------------------------- the synthetic app


def _csv_block(rng: random.Random, size: int) -> bytes:
    rows = []
    total = 0
    while total < size:
        row = (
            f"{rng.randrange(10**9)},{rng.choice(['alpha', 'beta', 'gamma', 'delta'])},"
            f"{rng.random():.6f},{rng.randrange(100)},user{rng.randrange(5000)}@example.com\n"
        )
        rows.append(row)
        total += len(row)
    return "".join(rows).encode()


def generate(work: Path, shape: Shape) -> dict[str, Path]:
    """Create (or reuse) the apps: ``app`` (~100 MiB), ``app-1g`` and ``app-upload``."""
    marker = work / "shape.json"
    apps = {name: work / name for name in ("app", "app-1g", "app-upload")}
    if marker.exists() and json.loads(marker.read_text()) == asdict(shape):
        return apps
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    rng = random.Random(20240501)
    words = [
        "".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randint(3, 10)))
        for _ in range(3000)
    ]
    app = apps["app"]
    for i in range(shape.source_files):
        sub = app / "src" / f"pkg{i % 40:02d}" / f"mod{i % 7}"
        sub.mkdir(parents=True, exist_ok=True)
        size = int(min(200_000, rng.lognormvariate(8.6, 0.9)))
        ext = ".py" if i % 3 else ".js"
        (sub / f"file{i:05d}{ext}").write_text(_source_text(rng, words, size))
    (app / "index.html").write_text(INDEX_HTML)
    (app / "main.py").write_text("from src import app\napp.run()\n")
    (app / "run.sh").write_text("#!/bin/sh\nexec python main.py\n")
    (app / "run.sh").chmod(0o755)
    (app / "requirements.txt").write_text("fastapi\nuvicorn\n")
    (app / ".gitignore").write_text("*.log\nbuild/\n")
    (app / "assets").mkdir()
    kinds = [".mp4", ".png", ".safetensors", ".whl"]
    for i in range(shape.assets):
        _write_noise(
            app / "assets" / f"asset{i}{kinds[i % len(kinds)]}", f"asset{i}", shape.asset_mib * MIB
        )
    for i in range(shape.node_modules_files):
        sub = app / "node_modules" / f"pkg{i // 20:04d}" / "lib"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"f{i % 20}.js").write_text(f"module.exports = {i};\n")
    for i in range(shape.venv_files):
        sub = app / ".venv" / "lib" / "site-packages" / f"dist{i // 30:03d}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"m{i % 30}.py").write_text(f"VALUE = {i}\n")
    (app / "build").mkdir()
    (app / "build" / "out.bin").write_bytes(b"ignored" * 1000)
    (app / "debug.log").write_text("ignored\n")

    big = apps["app-1g"]
    shutil.copytree(app, big, copy_function=os.link)  # hard links: same bytes, no extra disk
    (big / "data").mkdir()
    block = _csv_block(rng, 4 * MIB)
    for i in range(2):
        with (big / "data" / f"table{i}.csv").open("wb") as fh:
            for n in range(shape.big_compressible_mib // 2 // 4):
                fh.write(f"# part {i}.{n}\n".encode() + block)
    for i in range(shape.big_incompressible):
        _write_noise(big / "data" / f"weights{i}.bin", f"weights{i}", 120 * MIB)

    upload = apps["app-upload"]
    upload.mkdir()
    (upload / "index.html").write_text(INDEX_HTML)
    _write_noise(upload / "payload.bin", "upload", shape.upload_mib * MIB)

    for path in apps.values():
        # Each app is its own repository, as a real one would be; the work dir is ignored
        # by this project's .gitignore, which must not apply to the apps.
        subprocess.run(["git", "init", "-q", str(path)], check=True)
    marker.write_text(json.dumps(asdict(shape)))
    return apps


# ---------------------------------------------------------------- running things


# ---------------------------------------------------------------- the figures


def bench_startup(runs: int) -> Row:
    ours, ref = [], []
    for _ in range(runs):
        ours.append(run_timed([*MIXPEEK, "--version"])[0])
        ref.append(run_timed([PYTHON, "-c", "import typer"])[0])
    ratio = median(ours) / median(ref)
    return Row(
        "`mixpeek --version` wall time",
        f"{median(ours) * 1000:.0f} ms",
        f'{median(ref) * 1000:.0f} ms (`python -c "import typer"`)',
        ratio,
        "<= 1.3x",
        ratio <= 1.3,
    )


def bench_help(runs: int) -> list[Row]:
    rows = []
    for args in (["--help"], ["deploy", "--help"]):
        ours, ref = [], []
        for _ in range(runs):
            ours.append(run_timed([*MIXPEEK, *args])[0])
            ref.append(run_timed([PYTHON, "-c", "import typer"])[0])
        ratio = median(ours) / median(ref)
        rows.append(
            Row(
                f"`mixpeek {' '.join(args)}` wall time",
                f"{median(ours) * 1000:.0f} ms",
                f'{median(ref) * 1000:.0f} ms (`python -c "import typer"`)',
                ratio,
                "<= 1.3x",
                ratio <= 1.3,
            )
        )
    return rows


# The CLI as the console script runs it, but ending as Python does, with the teardown.
WITH_TEARDOWN = [
    PYTHON,
    "-c",
    "from mixpeek_cli.entry import _skip_httpx_cli; _skip_httpx_cli(); "
    "from mixpeek_cli.cli import main; main()",
]


def bench_teardown(app: Path, out: Path, runs: int) -> Row:
    """`mixpeek bundle` of the Vite app, ending with os._exit (as shipped) against the
    interpreter's teardown, alternated: what entry._exit_now saves."""
    shipped, torn = [], []
    for _ in range(runs * 3):
        for cmd, times in ((MIXPEEK, shipped), (WITH_TEARDOWN, torn)):
            elapsed, done = run_timed([*cmd, "bundle", "-o", str(out / "t.zip"), str(app)])
            assert done.returncode == 0, done.stderr
            times.append(elapsed)
    ratio = median(shipped) / median(torn)
    return Row(
        "Vite app: `bundle` ending with os._exit vs with the teardown",
        f"{median(shipped) * 1000:.0f} ms",
        f"{median(torn) * 1000:.0f} ms",
        ratio,
        "< 1.0x (it pays)",
        ratio < 1.0,
    )


def bench_dry_run(work: Path, runs: int) -> Row:
    """`mixpeek deploy --dry-run` of the example app: the whole local path of a deploy."""
    example = work / "example"
    shutil.rmtree(example, ignore_errors=True)
    shutil.copytree(HERE.parent / "examples" / "hello", example)
    subprocess.run(["git", "init", "-q", str(example)], check=True)
    env = {**os.environ, "XDG_CACHE_HOME": str(work / "dry-run-cache"), "NO_COLOR": "1"}
    command = [*MIXPEEK, "deploy", str(example), "-m", "bench", "--dry-run"]
    run_timed(command, env=env)  # the first run fills the walk and bundle caches, as any does
    ours, ref = [], []
    for _ in range(runs):
        ours.append(run_timed(command, env=env)[0])
        ref.append(run_timed([PYTHON, "-c", "import typer"])[0])
    ratio = median(ours) / median(ref)
    return Row(
        "`mixpeek deploy --dry-run` of examples/hello",
        f"{median(ours) * 1000:.0f} ms",
        f'{median(ref) * 1000:.0f} ms (`python -c "import typer"`)',
        ratio,
        "<= 2.5x",
        ratio <= 2.5,
    )


def stage_breakdown(app: Path, work: Path) -> str:
    """Where `mixpeek bundle`'s time goes, measured in this process (for reading the table)."""
    sys.path.insert(0, str(HERE.parent))
    from mixpeek_cli.bundle.build import write_zip
    from mixpeek_cli.bundle.walk import collect_files
    from mixpeek_cli.bundle.zipwriter import default_workers
    from mixpeek_cli.output.reporter import NullReporter

    try:
        from mixpeek_cli.bundle.secrets.files import make_guard
    except ImportError:
        make_guard = None  # type: ignore[assignment]
    lines: list[str] = []
    for _ in range(2):  # the second pass is the one reported (warm imports and page cache)
        lines = []
        start = time.perf_counter()
        files = collect_files(app, NullReporter())
        lines.append(
            f"walk + ignore rules {time.perf_counter() - start:.2f} s ({len(files)} files)"
        )
        if make_guard is not None:
            start = time.perf_counter()
            files = make_guard(set(), NullReporter())(files)
            lines.append(f"secret guard {time.perf_counter() - start:.2f} s")
        for workers in (1, default_workers()):
            start = time.perf_counter()
            write_zip(files, work / "stage.zip", NullReporter(), workers=workers)
            lines.append(f"zip on {workers} thread(s) {time.perf_counter() - start:.2f} s")
    (work / "stage.zip").unlink(missing_ok=True)
    return "`mixpeek bundle` stages, in-process: " + "; ".join(lines)


def bench_bundle(app: Path, work: Path, runs: int) -> tuple[Row, Row, dict[str, float]]:
    ours_zip, ref_zip = work / "ours.zip", work / "ref.zip"
    run_timed([*MIXPEEK, "bundle", str(app), "-o", str(ours_zip), "--quiet"])  # warm the page cache
    names = bundled_names(ours_zip)
    listing = ("\n".join(names) + "\n").encode()
    ours, ref = [], []
    for _ in range(runs):
        # Each side writes a new file: replacing the last run's 77 MiB zip would add its
        # deletion (~20-35 ms on ext4) to one side only.
        ours_zip.unlink(missing_ok=True)
        ours.append(run_timed([*MIXPEEK, "bundle", str(app), "-o", str(ours_zip), "--quiet"])[0])
        ref_zip.unlink(missing_ok=True)
        start = time.perf_counter()
        subprocess.run(
            ["zip", "-r", "-q", "-X", str(ref_zip), "-@"], input=listing, cwd=app, check=True
        )
        ref.append(time.perf_counter() - start)
    with zipfile.ZipFile(ref_zip) as zf:
        assert sorted(zf.namelist()) == sorted(names), "zip did not bundle the same files"
    ratio = median(ours) / median(ref)
    size_ratio = ours_zip.stat().st_size / ref_zip.stat().st_size
    input_bytes = sum((app / n).stat().st_size for n in names)
    time_row = Row(
        f"`mixpeek bundle` wall time ({len(names)} files, {input_bytes / MIB:.0f} MiB)",
        f"{median(ours):.2f} s",
        f"{median(ref):.2f} s (`zip -r -q -X` of the same list)",
        ratio,
        "<= 0.35x",
        ratio <= 0.35,
    )
    size_row = Row(
        "bundle size",
        f"{ours_zip.stat().st_size / MIB:.1f} MiB",
        f"{ref_zip.stat().st_size / MIB:.1f} MiB",
        size_ratio,
        "<= 1.05x",
        size_ratio <= 1.05,
    )
    return time_row, size_row, {"files": len(names), "input_mib": input_bytes / MIB}


def bench_rss(small: Path, big: Path, work: Path, runs: int) -> Row:
    out = work / "rss.zip"
    sizes = {}
    rss: dict[str, list[int]] = {"small": [], "big": []}
    for _ in range(runs):
        for label, app in (("small", small), ("big", big)):
            _, peak = peak_rss([*MIXPEEK, "bundle", str(app), "-o", str(out), "--quiet"])
            rss[label].append(peak)
            sizes[label] = sum(i.file_size for i in zipfile.ZipFile(out).infolist())
    small_rss, big_rss = median(rss["small"]), median(rss["big"])
    ratio = big_rss / small_rss
    out.unlink(missing_ok=True)
    return Row(
        f"`mixpeek bundle` peak RSS at {sizes['big'] / MIB / 1024:.2f} GiB"
        f" vs {sizes['small'] / MIB:.0f} MiB of input",
        f"{big_rss / 1024:.0f} MiB",
        f"{small_rss / 1024:.0f} MiB",
        ratio,
        "<= 1.2x",
        ratio <= 1.2,
    )


def deploy(app: Path, env: dict[str, str]) -> Lines:
    return run_lines([*MIXPEEK, "deploy", str(app), "-m", "bench", "--no-wait", "-v"], env)


BEFORE_BUNDLE = r"^warning: there are uncommitted changes"


def stage_seconds(run: Lines) -> float:
    """The bundle and upload stages: from the last line before the bundle stage to the
    create-deploy request (the first thing after the upload).

    The bench apps are repositories without a commit, so the deploy always warns about
    uncommitted changes right after reading git metadata, just before bundling.
    """
    return run.first(r"http: > POST .*/deploy\b") - run.first(BEFORE_BUNDLE)


# What a re-deploy imports between git metadata and its create-deploy request: the bundle
# stage's modules, then the network stage's (httpcore too: httpx imports it only when the
# first client is made).
STAGE_MODULES = (
    "mixpeek_cli.bundle.build",
    "mixpeek_cli.bundle.secrets.files",
    "mixpeek_cli.bundle.source_files",
    "httpx",
    "httpcore",
    "mixpeek_cli.service.client",
    "mixpeek_cli.upload",
)
IMPORT_COST = (
    "import importlib, sys, time; sys.modules['httpx._main'] = None; import typer,"
    " mixpeek_cli.cli, mixpeek_cli.config.settings;"
    f" t = time.perf_counter(); [importlib.import_module(m) for m in {STAGE_MODULES!r}];"
    " print(time.perf_counter() - t)"
)


def stage_import_seconds(runs: int) -> float:
    """How long the re-deploy stage's imports take alone, in a fresh interpreter each run."""
    return median(
        [
            float(
                subprocess.run(
                    [PYTHON, "-c", IMPORT_COST], capture_output=True, check=True, text=True
                ).stdout
            )
            for _ in range(runs)
        ]
    )


def bench_redeploy(app: Path, work: Path, emulator: EmulatorProcess, runs: int) -> Row:
    first, again, first_total, again_total = [], [], [], []
    for n in range(runs):
        (app / "bench_round.txt").write_text(
            f"round {n} {time.time_ns()}\n"
        )  # a new bundle, a cold cache
        cache = work / f"cache-{n}"
        shutil.rmtree(cache, ignore_errors=True)
        env = deploy_env(emulator, cache)
        time.sleep(2.1)  # let the edit leave the cache's racy window, as it would in real use
        os.sync()
        one = deploy(app, env)
        emulator.settle(one)
        os.sync()
        two = deploy(app, env)
        emulator.settle(two)
        if not any("reusing the upload" in line for _, line in two.lines):
            raise SystemExit(
                "the re-deploy did not reuse the bundle:\n"
                + "\n".join(text for _, text in two.lines)
            )
        first.append(stage_seconds(one))
        again.append(stage_seconds(two))
        first_total.append(one.total)
        again_total.append(two.total)
        shutil.rmtree(cache, ignore_errors=True)
    (app / "bench_round.txt").unlink()
    ratio = median(again) / median(first)
    total_ratio = median(again_total) / median(first_total)
    imports = stage_import_seconds(runs)
    return Row(
        "unchanged re-deploy: bundle + upload stages",
        f"{median(again):.2f} s",
        f"{median(first):.2f} s (first deploy)",
        ratio,
        "<= 0.1x",
        ratio <= 0.1,
        f"whole command with --no-wait: {median(again_total):.2f} s"
        f" vs {median(first_total):.2f} s = {total_ratio:.2f}x; the modules the stage"
        f" imports, alone: {imports * 1000:.0f} ms = {imports / median(first):.2f}x",
    )


def bench_upload(app: Path, work: Path, emulator: EmulatorProcess, runs: int) -> Row:
    payload = app / "payload.bin"
    size = payload.stat().st_size
    ours, ref = [], []
    for n in range(runs):
        (app / "round.txt").write_text(f"{n} {time.time_ns()}\n")
        cache = work / f"upload-cache-{n}"
        env = deploy_env(emulator, cache)
        # The zip is made (and cached) first, and the disk synced before each upload,
        # ours and curl's: neither PUT then competes with writing back a fresh 200 MiB.
        run_lines([*MIXPEEK, "deploy", str(app), "-m", "bench", "--dry-run"], env)
        os.sync()
        run = deploy(app, env)
        emulator.settle(run)
        if not any("reusing it" in line for _, line in run.lines):
            raise SystemExit("the upload run bundled again: " + run.stdout)
        shutil.rmtree(cache, ignore_errors=True)
        ours.append(run.first(r"http: PUT \(presigned\) -> 200") - run.first(r"^Uploading "))
        url = emulator.upload_url()
        os.sync()
        start = time.perf_counter()
        subprocess.run(
            [
                "curl",
                "-sS",
                "-f",
                "-o",
                "/dev/null",
                "-T",
                str(payload),
                "-H",
                "Content-Type: application/zip",
                url,
            ],
            check=True,
        )
        ref.append(time.perf_counter() - start)
    (app / "round.txt").unlink()
    ratio = median(ours) / median(ref)
    # The emulator's PUTs take ~1.0 s or ~1.9 s by spells, for curl as for us: each
    # round's own ratio shows how much of the verdict is which spell the runs fell in.
    pairs = sorted(one / other for one, other in zip(ours, ref, strict=True))
    return Row(
        f"presigned upload of a {size / MIB:.0f} MiB bundle to the emulator",
        f"{median(ours):.2f} s",
        f"{median(ref):.2f} s (`curl -T`)",
        ratio,
        "<= 1.1x",
        ratio <= 1.1,
        "ours: from the `Uploading` line to the PUT's answer; the zip made beforehand,"
        " the disk synced before each PUT; each round's ours/curl: "
        + ", ".join(f"{pair:.2f}x" for pair in pairs)
        + f"; PUT times ours {min(ours):.2f}-{max(ours):.2f} s,"
        f" curl {min(ref):.2f}-{max(ref):.2f} s",
    )


def bench_done_to_exit(work: Path, emulator: EmulatorProcess, runs: int) -> Row:
    """From the log stream's `event: done` reaching the CLI to the CLI's exit."""
    site = work / "done-site"
    shutil.rmtree(site, ignore_errors=True)
    site.mkdir()
    (site / "index.html").write_text(INDEX_HTML)
    subprocess.run(["git", "init", "-q", str(site)], check=True)  # as the apps: not ours
    env = deploy_env(emulator, work / "done-cache")
    gaps = []
    for n in range(runs):
        (site / "round.txt").write_text(f"{n}\n")
        run = run_lines([*MIXPEEK, "deploy", str(site), "-m", "bench", "-v"], env)
        gaps.append(run.total - run.first(r"http: stream done"))
    worst = max(gaps)
    return Row(
        f"from the stream's `done` to the CLI's exit (median of {runs})",
        f"{median(gaps) * 1000:.0f} ms",
        "-",
        median(gaps),
        "<= 0.25 s",
        median(gaps) <= 0.25,
        f"slowest of the {runs}: {worst * 1000:.0f} ms; ratio column: seconds",
    )


def bench_no_wait(app: Path, work: Path, emulator: EmulatorProcess, runs: int) -> Row:
    """A first `deploy --no-wait` against the published workflow as a shell script."""
    listing = work / "no-wait-list.txt"
    ours_zip = work / "no-wait.zip"
    run_timed([*MIXPEEK, "bundle", str(app), "-o", str(ours_zip), "--quiet"])
    listing.write_text("\n".join(bundled_names(ours_zip)) + "\n")
    ours, ref = [], []
    for n in range(runs):
        (app / "bench_round.txt").write_text(f"no-wait {n} {time.time_ns()}\n")
        listing.write_text(
            "\n".join(sorted({*listing.read_text().split(), "bench_round.txt"})) + "\n"
        )
        cache = work / f"no-wait-cache-{n}"
        shutil.rmtree(cache, ignore_errors=True)
        os.sync()  # neither run writes back the other's files
        run = deploy(app, deploy_env(emulator, cache))  # a cold cache: all of the work
        emulator.settle(run)
        ours.append(run.total)
        shutil.rmtree(cache, ignore_errors=True)
        script_env = {
            **os.environ,
            "APP": str(app),
            "ZIP": str(work / "workflow.zip"),
            "LIST": str(listing),
            "BASE": emulator.base_url,
        }
        os.sync()
        elapsed, _ = run_timed(["sh", "-c", PUBLISHED_WORKFLOW], env=script_env)
        ref.append(elapsed)
        time.sleep(1.0)  # let the emulator's build of that deploy finish off the cores
    (app / "bench_round.txt").unlink()
    ratio = median(ours) / median(ref)
    return Row(
        "`mixpeek deploy --no-wait` of the benchmark app (a first deploy)",
        f"{median(ours):.2f} s",
        f"{median(ref):.2f} s (zip -r -q + curl upload-url, PUT, deploy)",
        ratio,
        "<= 0.6x",
        ratio <= 0.6,
        "both against the same emulator; ours also sends source_files and checks the upload",
    )


# ---------------------------------------------------------------- report


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="a small app and 3 runs (a smoke test)"
    )
    parser.add_argument(
        "--runs", type=int, default=None, help="runs per figure (default 5, quick 3)"
    )
    parser.add_argument("--skip-big", action="store_true", help="skip the ~1 GiB RSS figure")
    parser.add_argument(
        "--work", type=Path, default=HERE / ".work", help="where the apps are generated"
    )
    parser.add_argument(
        "--inputs",
        type=Path,
        default=Path(tempfile.gettempdir()) / "mixpeek-bench-inputs",
        help="where issue 20's four inputs are generated (default: a temp dir)",
    )
    parser.add_argument(
        "--input",
        action="append",
        choices=inputs.NAMES,
        help="measure only these of the four inputs (repeatable; default: all)",
    )
    parser.add_argument(
        "--install-peers",
        action="store_true",
        help="npm install vercel, netlify-cli and wrangler into bench/.peers, then exit",
    )
    parser.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        help="measure only the figures whose step starts with NAME (repeatable): "
        + ", ".join(STEP_NAMES),
    )
    args = parser.parse_args()
    if args.install_peers:
        peers.install()
        return 0
    shape = QUICK if args.quick else FULL
    runs = args.runs or (3 if args.quick else 5)
    work: Path = args.work / ("quick" if args.quick else "full")
    selected = [
        name for name in STEP_NAMES if not args.only or any(name.startswith(o) for o in args.only)
    ]

    print(f"machine: {machine()}", flush=True)
    print(compile_package(), flush=True)

    @functools.cache
    def apps() -> dict[str, Path]:
        started = time.perf_counter()
        made = generate(work, shape)
        print(f"apps ready in {work} ({time.perf_counter() - started:.0f} s)", flush=True)
        return made

    @functools.cache
    def items() -> list[realistic.Sized]:
        print(f"issue 20's inputs in {args.inputs}:", flush=True)
        return realistic.prepare_inputs(
            args.inputs / ("quick" if args.quick else "full"),
            args.input or inputs.NAMES,
            0.1 if args.quick else 1.0,
        )

    work.mkdir(parents=True, exist_ok=True)  # the figures' caches and lists live here too
    out = Path(tempfile.mkdtemp(prefix="mixpeek-bench-out-"))
    sections: list[realistic.Section] = []
    notes: list[str] = []

    def mechanisms(title: str) -> realistic.Section:
        for section in sections:
            if section.title == title:
                return section
        section = realistic.Section(title, realistic.MECHANISM_HEADER)
        sections.append(section)
        return section

    what = "What each mechanism saves (on: as shipped; off: turned off by bench/switches.py)"

    def four_inputs() -> list[Row]:
        rows, section = realistic.bench_four_inputs(items(), out, runs)
        sections.insert(0, section)
        return rows

    def peer_rows() -> list[Row]:
        rows, peer_notes = peers.bench_peers(runs * 2)
        notes.extend(peer_notes)
        return rows

    def vite() -> list[realistic.Sized]:
        return [i for i in items() if i.name == "vite"]

    def network(figure: Callable[[EmulatorProcess], None]) -> list[Row]:
        realistic.with_emulator(figure)
        return []

    def local(figure: Callable[[], None]) -> list[Row]:
        figure()
        return []

    steps: dict[str, Callable[[], list[Row]]] = {
        "start-up": lambda: [bench_startup(runs * 2), *bench_help(runs), bench_dry_run(work, runs)],
        "bundle": lambda: list(bench_bundle(apps()["app"], work, runs)[:2]),
        "peak RSS": lambda: [bench_rss(apps()["app"], apps()["app-1g"], work, max(2, runs // 2))],
        # A fresh emulator for each network figure: what earlier figures left in it (a GiB
        # of uploads, dozens of versions) would slow the later ones, which no real service does.
        "re-deploy": lambda: _network_step(
            lambda em: bench_redeploy(apps()["app"], work, em, runs)
        ),
        "upload": lambda: _network_step(
            lambda em: bench_upload(apps()["app-upload"], work, em, runs)
        ),
        "the end of a deploy": lambda: _network_step(lambda em: bench_done_to_exit(work, em, 10)),
        "deploy --no-wait": lambda: _network_step(
            lambda em: bench_no_wait(apps()["app"], work, em, runs)
        ),
        "peers": peer_rows,
        "inputs": four_inputs,
        "vite deploy": lambda: (
            _network_step_rows(lambda em: realistic.bench_vite_deploy(vite()[0], work, em, runs))
            if vite()
            else []
        ),
        "mechanism parallel deflate": lambda: local(
            lambda: realistic.bench_bundle_switch("parallel", items(), out, runs, mechanisms(what))
        ),
        "mechanism secret scan child": lambda: local(
            lambda: realistic.bench_bundle_switch(
                "scan-child", items(), out, runs, mechanisms(what)
            )
        ),
        "mechanism walk and bundle caches": lambda: local(
            lambda: realistic.bench_caches(items(), work, runs, mechanisms(what))
        ),
        "mechanism bundle cache re-deploy": lambda: network(
            lambda em: realistic.bench_redeploy_cache(items(), work, em, runs, mechanisms(what))
        ),
        "mechanism md5 hand-over": lambda: network(
            lambda em: realistic.bench_md5(items(), work, em, runs, mechanisms(what))
        ),
        "mechanism no teardown": lambda: (
            [bench_teardown(vite()[0].root, out, runs)] if vite() else []
        ),
        "package lines": lambda: [realistic.package_lines()],
    }
    assert list(steps) == list(STEP_NAMES)
    if args.skip_big:
        selected = [name for name in selected if name != "peak RSS"]
    rows: list[Row] = []
    load_before = uptime()
    try:
        for name in selected:
            print(f"measuring {name}... (load {uptime()})", flush=True)
            rows.extend(steps[name]())
    finally:
        shutil.rmtree(out, ignore_errors=True)
    extra = "" if args.only else stage_breakdown(apps()["app"], work)
    print()
    print(f"runs per figure: {runs} (medians); machine: {machine()}")
    print(f"load: {load_before} before the figures, {uptime()} after")
    print()
    print(table(rows))
    for note in notes:
        print(f"- {note}")
    for section in sections:
        print()
        print(section.render())
    print()
    print(extra)
    return 0 if all(r.met is not False for r in rows) else 1


STEP_NAMES = (
    "start-up",
    "bundle",
    "peak RSS",
    "re-deploy",
    "upload",
    "the end of a deploy",
    "deploy --no-wait",
    "peers",
    "inputs",
    "vite deploy",
    "mechanism parallel deflate",
    "mechanism secret scan child",
    "mechanism walk and bundle caches",
    "mechanism bundle cache re-deploy",
    "mechanism md5 hand-over",
    "mechanism no teardown",
    "package lines",
)


def uptime() -> str:
    """The load averages (1, 5, 15 min), as `uptime` shows them."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _network_step_rows(figure: Callable[[EmulatorProcess], list[Row]]) -> list[Row]:
    emulator = EmulatorProcess()
    try:
        return figure(emulator)
    finally:
        emulator.stop()


if __name__ == "__main__":
    sys.exit(main())
