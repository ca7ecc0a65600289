"""What the bench's figures share: running a command timed, the emulator, the report rows."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
PYTHON = sys.executable
MIXPEEK = [PYTHON, "-m", "mixpeek_cli"]
MIB = 1024 * 1024


INDEX_HTML = "<!doctype html><html><head><title>bench</title></head><body></body></html>\n"


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


def bundled_names(zip_path: Path) -> list[str]:
    with zipfile.ZipFile(zip_path) as zf:
        return zf.namelist()


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
