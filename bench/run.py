#!/usr/bin/env python3
"""Measure mixpeek's own overhead against the tools it should beat (docs/performance.md).

    python bench/run.py [--quick] [--runs N] [--skip-big] [--work DIR] [--only NAME ...]

Generates a deterministic synthetic app under bench/.work/ (reused while its parameters
are unchanged), then measures each figure as the median of --runs runs, every run of
mixpeek interleaved with a run of the reference tool on the same files. The CLI always
runs as a subprocess; the deploy figures use `mixpeek emulator --port 0` on loopback.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
PYTHON = sys.executable
MIXPEEK = [PYTHON, "-m", "mixpeek_cli"]
MIB = 1024 * 1024


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


INDEX_HTML = "<!doctype html><html><head><title>bench</title></head><body></body></html>\n"

FULL = Shape(4000, 30_000, 3000, 3, 20, 300, 5, 200)
QUICK = Shape(800, 5000, 600, 2, 4, 40, 1, 40)


# ---------------------------------------------------------------- the synthetic app


def _noise(seed: str, size: int) -> bytes:
    """Incompressible, deterministic bytes (like media or model weights)."""
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.shake_256(f"{seed}:{counter}".encode()).digest(MIB)
        counter += 1
    return bytes(out[:size])


def _write_noise(path: Path, seed: str, size: int) -> None:
    with path.open("wb") as fh:
        for start in range(0, size, 16 * MIB):
            fh.write(_noise(f"{seed}:{start}", min(16 * MIB, size - start)))


def _source_text(rng: random.Random, words: list[str], size: int) -> str:
    lines: list[str] = []
    total = 0
    while total < size:
        a, b, c = rng.choice(words), rng.choice(words), rng.choice(words)
        kind = rng.randrange(6)
        if kind == 0:
            line = f"def {a}_{b}({c}, {rng.choice(words)}=None):"
        elif kind == 1:
            line = f"    return {a}.{b}({c}, {rng.randrange(1000)})"
        elif kind == 2:
            line = f"# {a} {b} {c} {rng.choice(words)} {rng.choice(words)}"
        elif kind == 3:
            line = f"    {a} = {b}[{rng.randrange(64)}] + {c}"
        elif kind == 4:
            line = f'    log.info("{a} {b}: %s", {c})'
        else:
            line = f"class {a.title()}{b.title()}({c.title()}):"
        lines.append(line)
        total += len(line) + 1
    return "\n".join(lines) + "\n"


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


def run_timed(cmd: list[str], **kwargs: object) -> tuple[float, subprocess.CompletedProcess[bytes]]:
    """Wall seconds of one child (stopping with its output when it fails)."""
    start = time.perf_counter()
    result = subprocess.run(cmd, capture_output=True, stdin=subprocess.DEVNULL, **kwargs)  # type: ignore[call-overload]
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(
            f"failed ({result.returncode}): {' '.join(cmd)}\n"
            + result.stderr.decode(errors="replace")
        )
    return elapsed, result


def peak_rss(cmd: list[str], **kwargs: object) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one child, from wait4's rusage."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, **kwargs
    )  # type: ignore[call-overload]
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{err.decode(errors='replace')}")
    return elapsed, usage.ru_maxrss


@dataclass
class Lines:
    """A command's stderr lines, each with the seconds since the command started."""

    total: float
    stdout: str
    lines: list[tuple[float, str]]

    def first(self, pattern: str) -> float:
        for at, line in self.lines:
            if re.search(pattern, line):
                return at
        raise SystemExit(
            f"no line matching {pattern!r} in:\n" + "\n".join(text for _, text in self.lines)
        )


def run_lines(cmd: list[str], env: dict[str, str]) -> Lines:
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env=env,
        text=True,
    )
    assert proc.stderr is not None and proc.stdout is not None
    lines: list[tuple[float, str]] = []
    out: list[str] = []
    reader = threading.Thread(target=lambda: out.append(proc.stdout.read()))  # type: ignore[union-attr]
    reader.start()
    for line in proc.stderr:
        lines.append((time.perf_counter() - start, line.rstrip("\n")))
    proc.wait()
    reader.join()
    total = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n" + "\n".join(text for _, text in lines))
    return Lines(total, "".join(out), lines)


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


@dataclass
class Row:
    figure: str
    ours: str
    reference: str
    ratio: float
    goal: str
    met: bool | None  # None: shown for information, no goal
    note: str = ""


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


def bundled_names(zip_path: Path) -> list[str]:
    with zipfile.ZipFile(zip_path) as zf:
        return zf.namelist()


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


class EmulatorProcess:
    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [*MIXPEEK, "emulator", "--port", "0", "--build-seconds", "0.2"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        assert self.proc.stdout is not None
        self.base_url = self.proc.stdout.readline().strip()
        if not self.base_url.startswith("http"):
            self.stop()
            raise SystemExit("the emulator did not start")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def settle(self, run: Lines, timeout: float = 60.0) -> None:
        """Wait until the deploy ``run`` created has finished building.

        The emulator builds on this machine's cores (a real service would not): a build
        still running would slow whichever command is measured next, ours or curl.
        """
        deploy_id = run.stdout.strip()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            request = urllib.request.Request(
                f"{self.base_url}/v1/apps/bench/deploys/{deploy_id}",
                headers={"Authorization": "Bearer bench"},
            )
            with urllib.request.urlopen(request) as response:
                if json.loads(response.read())["status"] in ("complete", "failed"):
                    return
            time.sleep(0.1)
        raise SystemExit(f"deploy {deploy_id} did not finish building in {timeout:.0f} s")

    def upload_url(self) -> str:
        """A fresh presigned PUT URL, asked as the CLI asks for one."""
        body = json.dumps({"filename": "bundle.zip", "content_type": "application/zip"})
        request = urllib.request.Request(
            f"{self.base_url}/v1/apps/bench/deploy/upload-url",
            data=body.encode(),
            headers={"Authorization": "Bearer bench", "Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request) as response:
            return str(json.loads(response.read())["upload_url"])


def deploy_env(emulator: EmulatorProcess, cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIXPEEK_")}
    env.update(
        MIXPEEK_BASE_URL=emulator.base_url,
        MIXPEEK_API_KEY="bench",
        MIXPEEK_APP_ID="bench",
        XDG_CACHE_HOME=str(cache),
        NO_COLOR="1",
    )
    return env


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


# What a re-deploy imports between git metadata and its create-deploy request: the
# pipeline's own lists of the bundle stage and the network stage, so this follows them.
IMPORT_COST = (
    "import importlib, sys, time; sys.modules['httpx._main'] = None; import typer,"
    " mixpeek_cli.cli, mixpeek_cli.config.settings; from mixpeek_cli.deploy import pipeline;"
    " t = time.perf_counter(); [importlib.import_module(m) for m in"
    " (*pipeline._BUNDLE_STAGE, *pipeline._API_STAGE)]; print(time.perf_counter() - t)"
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


PUBLISHED_WORKFLOW = r"""
set -eu
cd "$APP"
rm -f "$ZIP"
zip -r -q "$ZIP" -@ < "$LIST"
answer=$(curl -sS -f -X POST "$BASE/v1/apps/bench/deploy/upload-url" \
  -H "Authorization: Bearer bench" -H "Content-Type: application/json" \
  -d '{"filename": "bundle.zip", "content_type": "application/zip"}')
url=$(printf '%s' "$answer" | sed -n 's/.*"upload_url":"\([^"]*\)".*/\1/p')
key=$(printf '%s' "$answer" | sed -n 's/.*"bundle_s3_key":"\([^"]*\)".*/\1/p')
curl -sS -f -o /dev/null -T "$ZIP" -H "Content-Type: application/zip" "$url"
curl -sS -f -o /dev/null -X POST "$BASE/v1/apps/bench/deploy" \
  -H "Authorization: Bearer bench" -H "Content-Type: application/json" \
  -d "{\"message\": \"bench\", \"environment\": \"production\", \"bundle_s3_key\": \"$key\"}"
"""


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


def machine() -> str:
    model = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    import zlib

    return (
        f"{model}, {cores} cores, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, zlib {zlib.ZLIB_RUNTIME_VERSION}, load average {load}"
    )


def compile_package() -> str:
    """Compile mixpeek_cli to bytecode, as ``pip install`` does for an installed package.

    A checkout installed with ``pip install -e`` under ``PYTHONDONTWRITEBYTECODE=1`` (set
    on this machine and on some CI images) would otherwise compile every module from
    source in every run, 20-40 ms that no user of an installed wheel pays; the reference
    tools' own modules are already compiled.
    """
    import compileall

    import mixpeek_cli

    package = Path(mixpeek_cli.__file__).parent
    compileall.compile_dir(package, quiet=1)
    return f"bytecode: {package} compiled, as pip install does"


def table(rows: list[Row]) -> str:
    out = ["| figure | mixpeek | reference | ratio | goal | met |", "|---|---|---|---|---|---|"]
    for row in rows:
        met = "-" if row.met is None else "yes" if row.met else "**no**"
        out.append(
            f"| {row.figure} | {row.ours} | {row.reference} | {row.ratio:.2f}x"
            f" | {row.goal} | {met} |"
        )
    notes = [f"- {row.figure}: {row.note}" for row in rows if row.note]
    return "\n".join(out + (["", *notes] if notes else []))


def _network_step(figure: Callable[[EmulatorProcess], Row]) -> list[Row]:
    emulator = EmulatorProcess()
    try:
        return [figure(emulator)]
    finally:
        emulator.stop()


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
        "--only",
        action="append",
        metavar="NAME",
        help="measure only the figures whose step starts with NAME (repeatable):"
        " start-up, bundle, peak RSS, re-deploy, upload, the end of a deploy, deploy --no-wait",
    )
    args = parser.parse_args()
    shape = QUICK if args.quick else FULL
    runs = args.runs or (3 if args.quick else 5)
    work: Path = args.work / ("quick" if args.quick else "full")

    print(f"machine: {machine()}", flush=True)
    print(compile_package(), flush=True)
    started = time.perf_counter()
    apps = generate(work, shape)
    print(f"apps ready in {work} ({time.perf_counter() - started:.0f} s)", flush=True)
    steps: list[tuple[str, Callable[[], list[Row]]]] = [
        (
            "start-up",
            lambda: [bench_startup(runs * 2), *bench_help(runs), bench_dry_run(work, runs)],
        ),
        ("bundle", lambda: list(bench_bundle(apps["app"], work, runs)[:2])),
    ]
    if not args.skip_big:
        steps.append(
            ("peak RSS", lambda: [bench_rss(apps["app"], apps["app-1g"], work, max(2, runs // 2))])
        )
    # A fresh emulator for each network figure: what earlier figures left in it (a GiB of
    # uploads, dozens of versions) would slow the later ones, which no real service does.
    network: list[tuple[str, Callable[[EmulatorProcess], Row]]] = [
        ("re-deploy", lambda em: bench_redeploy(apps["app"], work, em, runs)),
        ("upload", lambda em: bench_upload(apps["app-upload"], work, em, runs)),
        ("the end of a deploy", lambda em: bench_done_to_exit(work, em, 10)),
        ("deploy --no-wait", lambda em: bench_no_wait(apps["app"], work, em, runs)),
    ]
    for name, figure in network:
        steps.append((name, functools.partial(_network_step, figure)))
    rows: list[Row] = []
    for name, step in steps:
        if args.only and not any(name.startswith(o) for o in args.only):
            continue
        print(f"measuring {name}...", flush=True)
        rows.extend(step())
    extra = "" if args.only else stage_breakdown(apps["app"], work)
    print()
    print(f"runs per figure: {runs} (medians); machine: {machine()}")
    print()
    print(table(rows))
    print()
    print(extra)
    return 0 if all(r.met is not False for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
