"""Issue 20's figures: four realistic inputs side by side with zip, zipfile and the curl flow,
and what each speed mechanism saves on them (docs/performance.md).

Every comparison runs its sides in alternation, one run of each per round, in an order
rotated every round; the disk is synced before each timed run (untimed), each side writes
a new output file, and a first untimed round warms the page cache and the bytecode.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import http.client
import importlib.metadata
import importlib.util
import itertools
import os
import shutil
import time
import urllib.parse
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import inputs
from common import (
    HERE,
    MIB,
    MIXPEEK,
    PUBLISHED_WORKFLOW,
    PYTHON,
    EmulatorProcess,
    Lines,
    Row,
    median,
    run_lines,
    run_timed,
)

SWITCHES = [PYTHON, str(HERE / "switches.py")]
ZIPFILE_REF = [PYTHON, str(HERE / "zipfile_ref.py")]
WITHOUT_CLI = [PYTHON, str(HERE / "without_cli.py")]
ONE_CORE = ["taskset", "-c", "0"]
_ROUND = itertools.count()  # numbers each run's own cache directory


@dataclass
class Side:
    """One side of a comparison: ``run`` does its untimed setup and returns timed seconds."""

    name: str
    run: Callable[[], float]


@dataclass
class Section:
    """A titled markdown table printed after the main one."""

    title: str
    header: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def render(self) -> str:
        out = [f"### {self.title}", "", "| " + " | ".join(self.header) + " |"]
        out.append("|" + "---|" * len(self.header))
        out += ["| " + " | ".join(row) + " |" for row in self.rows]
        if self.notes:
            out += ["", *[f"- {note}" for note in self.notes]]
        return "\n".join(out)


def alternate(sides: Sequence[Side], runs: int, warm: bool = True) -> dict[str, list[float]]:
    """Each side ``runs`` times, one of each per round, the order rotated every round."""
    if warm:
        for side in sides:
            side.run()
    times: dict[str, list[float]] = {side.name: [] for side in sides}
    for n in range(runs):
        shift = n % len(sides)
        for side in [*sides[shift:], *sides[:shift]]:
            times[side.name].append(side.run())
    return times


def timed(cmd: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None) -> float:
    os.sync()  # nothing written earlier (a previous side's output) is flushed during this run
    return run_timed(cmd, cwd=cwd, env=env)[0]


def fresh(path: Path) -> Path:
    path.unlink(missing_ok=True)
    return path


def ms_or_s(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def spread(values: Sequence[float]) -> str:
    return f"{ms_or_s(min(values))}-{ms_or_s(max(values))}"


def base_env(cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIXPEEK_")}
    env.update(XDG_CACHE_HOME=str(cache), NO_COLOR="1")
    return env


def remote_env(emulator: EmulatorProcess, cache: Path) -> dict[str, str]:
    env = base_env(cache)
    env.update(MIXPEEK_BASE_URL=emulator.base_url, MIXPEEK_API_KEY="bench", MIXPEEK_APP_ID="bench")
    return env


def file_names(zip_path: Path) -> set[str]:
    with zipfile.ZipFile(zip_path) as zf:
        return {n for n in zf.namelist() if not n.endswith("/")}


# ---------------------------------------------------------------- the four inputs


@dataclass
class Sized:
    name: str
    root: Path
    files: int
    mib: float

    @property
    def label(self) -> str:
        return inputs.LABELS[self.name]

    @property
    def shown(self) -> str:
        size = f"{self.mib * 1024:.0f} KiB" if self.mib < 1 else f"{self.mib:.0f} MiB"
        return f"{self.label} ({self.files:,} files, {size})"


def prepare_inputs(base: Path, names: Sequence[str], scale: float) -> list[Sized]:
    out = []
    for name in names:
        started = time.perf_counter()
        root = inputs.ensure(base, name, scale)
        files, size = inputs.describe(root)
        out.append(Sized(name, root, files, size / MIB))
        print(f"  {name}: {root} ({time.perf_counter() - started:.1f} s)", flush=True)
    return out


def runs_for(item: Sized, runs: int) -> int:
    if item.name == "vite":
        return runs * 2  # milliseconds each: more rounds for the same confidence
    if item.name == "media":
        return max(3, runs - 2)  # ~15 s a round for zip and zipfile
    return runs


GOALS = {  # issue 20's goals table: (input, one core) -> (goal text, test on the ratio)
    ("vite", False): ("<= 5x", lambda r: r <= 5.0),
    ("dist5k", False): ("<= 0.5x", lambda r: r <= 0.5),
    ("text", True): ("<= 1.0x", lambda r: r <= 1.0),
}


def bench_four_inputs(items: Sequence[Sized], out: Path, runs: int) -> tuple[list[Row], Section]:
    """`mixpeek bundle -o` vs `zip -r -X -q` vs zipfile, on each input (and one core for text)."""
    section = Section(
        "The four inputs: `mixpeek bundle -o` vs `zip -r -X -q` vs Python's zipfile (level 6)",
        ["input", "cores", "mixpeek", "zip", "zipfile", "vs zip", "vs zipfile", "zip sizes"],
    )
    rows: list[Row] = []
    for item in items:
        for one_core in (False, True) if item.name == "text" else (False,):
            pre = ONE_CORE if one_core else []
            ours_zip, ref_zip, py_zip = out / "ours.zip", out / "zip.zip", out / "zipfile.zip"
            sides = _zip_sides(item.root, pre, ours_zip, ref_zip, py_zip)
            floor = out / "without-cli.zip"
            if item.name == "vite":  # where the fixed cost is all there is: no typer at all
                sides.append(_without_cli_side(item.root, floor))
            times = alternate(sides, runs_for(item, runs))
            ours, ref, py = (median(times[s]) for s in ("mixpeek", "zip", "zipfile"))
            names = file_names(ours_zip)
            if names != file_names(ref_zip) or names != file_names(py_zip):
                raise SystemExit(f"{item.name}: the three zips do not hold the same files")
            sizes = [p.stat().st_size / MIB for p in (ours_zip, ref_zip, py_zip)]
            cores = "1 (`taskset -c 0`)" if one_core else "2"
            section.rows.append(
                [
                    item.shown,
                    cores,
                    f"{ms_or_s(ours)} ({spread(times['mixpeek'])})",
                    f"{ms_or_s(ref)} ({spread(times['zip'])})",
                    f"{ms_or_s(py)} ({spread(times['zipfile'])})",
                    f"{ours / ref:.2f}x",
                    f"{ours / py:.2f}x",
                    " / ".join(f"{s:.2f}" if s < 10 else f"{s:.0f}" for s in sizes) + " MiB",
                ]
            )
            goal = GOALS.get((item.name, one_core))
            if goal is not None:
                ratio = ours / ref
                rows.append(
                    Row(
                        f"{item.shown}: `mixpeek bundle` vs `zip -r -X`"
                        + (", one core (`taskset -c 0`)" if one_core else ""),
                        ms_or_s(ours),
                        f"{ms_or_s(ref)} (`zip -r -X -q`)",
                        ratio,
                        goal[0],
                        goal[1](ratio),
                        f"zipfile {ms_or_s(py)}; "
                        + (
                            f"the same pipeline with no CLI framework (bench/without_cli.py) "
                            f"{ms_or_s(median(times['no CLI']))}; "
                            if "no CLI" in times
                            else ""
                        )
                        + "sizes ours/zip/zipfile "
                        + " / ".join(f"{s:.2f}" for s in sizes)
                        + f" MiB; {len(times['mixpeek'])} rounds",
                    )
                )
            for path in (ours_zip, ref_zip, py_zip, floor):
                path.unlink(missing_ok=True)
    section.notes.append(
        "medians, (fastest-slowest); zip sizes: ours / zip's / zipfile's; zip's include"
        " directory entries (`zip -r` adds them), the file names are checked equal"
    )
    return rows, section


def _zip_sides(root: Path, pre: list[str], ours: Path, ref: Path, py: Path) -> list[Side]:
    return [
        Side(
            "mixpeek",
            lambda: timed([*pre, *MIXPEEK, "bundle", str(root), "-o", str(fresh(ours)), "-q"]),
        ),
        Side(
            "zip",
            lambda: timed([*pre, "zip", "-r", "-X", "-q", str(fresh(ref)), "."], cwd=root),
        ),
        Side("zipfile", lambda: timed([*pre, *ZIPFILE_REF, str(root), str(fresh(py))])),
    ]


def _without_cli_side(root: Path, out: Path) -> Side:
    return Side("no CLI", lambda: timed([*WITHOUT_CLI, str(fresh(out))], cwd=root))


# ---------------------------------------------------------------- the emulator


def server_note(emulator: EmulatorProcess) -> str:
    """Which server the deploy figures measured, and its keep-alive answer times."""
    parts = urllib.parse.urlsplit(emulator.base_url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
    gaps = []
    server = "?"
    try:
        for _ in range(3):
            start = time.perf_counter()
            conn.request(
                "GET", "/v1/apps/bench/deploys/none", headers={"Authorization": "Bearer bench"}
            )
            response = conn.getresponse()
            response.read()
            gaps.append(time.perf_counter() - start)
            server = response.getheader("server") or server
    finally:
        conn.close()

    def version(dist: str) -> str:
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            return "absent"

    parser = "httptools" if importlib.util.find_spec("httptools") else f"h11 {version('h11')}"
    return (
        f"server measured: `mixpeek emulator` on loopback (API: uvicorn {version('uvicorn')}"
        f" with {parser}, Server header {server!r}; S3: moto {version('moto')}'s server);"
        " three requests on one kept-alive connection answered in "
        + ", ".join(f"{g * 1000:.0f}" for g in gaps)
        + " ms (curl opens a connection per call; the CLI reuses one)"
    )


def bench_vite_deploy(vite: Sized, work: Path, emulator: EmulatorProcess, runs: int) -> list[Row]:
    """A first `deploy --no-wait` of the Vite app vs the docs' zip + curl flow."""
    listing = work / "vite-list.txt"
    listing.write_text(
        "\n".join(
            sorted(p.relative_to(vite.root).as_posix() for p in vite.root.rglob("*") if p.is_file())
        )
        + "\n"
    )
    counter = [0]

    def ours() -> float:
        counter[0] += 1
        cache = work / f"vite-cache-{counter[0]}"
        shutil.rmtree(cache, ignore_errors=True)  # a cold cache: a first deploy, all of it
        os.sync()
        run = run_lines(
            [*MIXPEEK, "deploy", str(vite.root), "-m", "bench", "--no-wait"],
            remote_env(emulator, cache),
        )
        emulator.settle(run)
        shutil.rmtree(cache, ignore_errors=True)
        return run.total

    def flow() -> float:
        env = {
            **os.environ,
            "APP": str(vite.root),
            "ZIP": str(work / "vite-flow.zip"),
            "LIST": str(listing),
            "BASE": emulator.base_url,
        }
        os.sync()
        elapsed = run_timed(["sh", "-c", PUBLISHED_WORKFLOW], env=env)[0]
        time.sleep(0.5)  # the emulator builds that deploy on this machine's cores
        return elapsed

    times = alternate([Side("mixpeek", ours), Side("flow", flow)], runs * 2)
    ratio = median(times["mixpeek"]) / median(times["flow"])
    return [
        Row(
            "built Vite app: `deploy --no-wait` vs the docs' zip + curl flow",
            ms_or_s(median(times["mixpeek"])),
            f"{ms_or_s(median(times['flow']))} (zip -r -q + curl upload-url, PUT, deploy)",
            ratio,
            "<= 3x",
            ratio <= 3.0,
            f"{len(times['flow'])} rounds; ours {spread(times['mixpeek'])}, flow"
            f" {spread(times['flow'])}; {server_note(emulator)}",
        )
    ]


# ---------------------------------------------------------------- the mechanisms


def shim(spec: str, args: list[str], pre: Sequence[str] = ()) -> list[str]:
    return [*pre, *SWITCHES, spec, "--", *args]


def saved(on: list[float], off: list[float]) -> tuple[str, str, str]:
    """(on, off, what it saves) as shown: medians with spreads, and off - on as a share of off."""
    a, b = median(on), median(off)
    share = (b - a) / b if b else 0.0
    return (
        f"{ms_or_s(a)} ({spread(on)})",
        f"{ms_or_s(b)} ({spread(off)})",
        f"{'-' if b < a else ''}{ms_or_s(abs(b - a))} ({share * 100:+.0f}% of off)",
    )


MECHANISM_HEADER = ["mechanism", "input", "measured", "on", "off", "saves"]


def bench_bundle_switch(
    name: str, items: Sequence[Sized], out: Path, runs: int, section: Section
) -> None:
    """`mixpeek bundle -o` with the mechanism on vs off (and on one core for the text tree)."""
    for item in items:
        for one_core in (False, True) if item.name == "text" else (False,):
            pre = ONE_CORE if one_core else []
            dest = out / "switch.zip"

            def side(
                sign: str, p: list[str] = pre, root: Path = item.root, dest: Path = dest
            ) -> Side:
                cmd = ["bundle", str(root), "-o", str(dest), "-q"]
                return Side(sign, functools.partial(_bundle_run, f"{sign}{name}", cmd, dest, p))

            times = alternate([side("+"), side("-")], runs_for(item, runs))
            section.rows.append(
                [
                    name,
                    item.shown + (", one core" if one_core else ""),
                    "`mixpeek bundle -o`",
                    *saved(times["+"], times["-"]),
                ]
            )
            dest.unlink(missing_ok=True)


def _bundle_run(spec: str, cmd: list[str], dest: Path, pre: list[str]) -> float:
    dest.unlink(missing_ok=True)
    return timed(shim(spec, cmd, pre))


def bench_caches(items: Sequence[Sized], work: Path, runs: int, section: Section) -> None:
    """An unchanged `deploy --dry-run` (warm cache): both caches, the bundle cache alone
    (walk cache off), neither (bundle cache off, which takes the walk record with it)."""
    for item in items:
        cache = work / f"dry-cache-{item.name}"
        shutil.rmtree(cache, ignore_errors=True)
        env = base_env(cache)
        args = ["deploy", str(item.root), "-m", "bench", "--dry-run"]
        run_timed([*MIXPEEK, *args], env=env)  # fills the walk record and the bundle cache
        specs = {
            "both": "+walk-cache,+bundle-cache",
            "no walk": "-walk-cache,+bundle-cache",
            "neither": "+walk-cache,-bundle-cache",
        }
        sides = [
            Side(label, functools.partial(_env_run, shim(spec, args), env))
            for label, spec in specs.items()
        ]
        times = alternate(sides, runs_for(item, runs))
        section.rows.append(
            [
                "walk cache",
                item.shown,
                "unchanged `deploy --dry-run`, bundle cache on",
                *saved(times["both"], times["no walk"]),
            ]
        )
        section.rows.append(
            [
                "bundle cache",
                item.shown,
                "unchanged `deploy --dry-run` (off: no walk record either)",
                *saved(times["both"], times["neither"]),
            ]
        )
        shutil.rmtree(cache, ignore_errors=True)


def _env_run(cmd: list[str], env: dict[str, str]) -> float:
    return timed(cmd, env=env)


def bench_redeploy_cache(
    items: Sequence[Sized], work: Path, emulator: EmulatorProcess, runs: int, section: Section
) -> None:
    """An unchanged re-deploy `--no-wait` against the emulator, the bundle cache on vs off
    (off: the zip is written, scanned and uploaded again)."""
    for item in items:
        cache = work / f"redeploy-cache-{item.name}"
        shutil.rmtree(cache, ignore_errors=True)
        env = remote_env(emulator, cache)
        args = ["deploy", str(item.root), "-m", "bench", "--no-wait"]
        emulator.settle(run_lines([*MIXPEEK, *args], env))  # the first deploy: cache filled

        def side(sign: str, env: dict[str, str] = env, args: list[str] = args) -> Side:
            def run() -> float:
                os.sync()
                lines = run_lines(shim(f"{sign}bundle-cache", args), env)
                emulator.settle(lines)
                return lines.total

            return Side(sign, run)

        times = alternate([side("+"), side("-")], runs_for(item, runs), warm=False)
        section.rows.append(
            [
                "bundle cache",
                item.shown,
                "unchanged re-deploy `--no-wait` (off: zip, scan and PUT again)",
                *saved(times["+"], times["-"]),
            ]
        )
        shutil.rmtree(cache, ignore_errors=True)


def _upload_stage(run: Lines) -> float:
    """From the `Uploading` line to the verify-upload request: the PUT and the MD5 after it."""
    return run.first(r"http: > POST .*/verify-upload") - run.first(r"^Uploading ")


def bench_md5(
    items: Sequence[Sized], work: Path, emulator: EmulatorProcess, runs: int, section: Section
) -> None:
    """The MD5 hashed during the PUT (handed over at its end) vs all of it after the PUT."""
    for item in items:

        def side(sign: str, root: Path = item.root, name: str = item.name) -> Side:
            def run() -> float:
                cache = work / f"md5-cache-{name}-{next(_ROUND)}"
                env = remote_env(emulator, cache)
                args = ["deploy", str(root), "-m", "bench"]
                # The zip made and cached first (no upload record: the deploy uploads it),
                # the disk synced: the timed stage is the PUT and the MD5 alone.
                run_lines([*MIXPEEK, *args, "--dry-run"], env)
                os.sync()
                lines = run_lines(shim(f"{sign}md5-handover", [*args, "--no-wait", "-v"]), env)
                emulator.settle(lines)
                shutil.rmtree(cache, ignore_errors=True)
                return _upload_stage(lines)

            return Side(sign, run)

        times = alternate([side("+"), side("-")], runs_for(item, runs), warm=False)
        section.rows.append(
            [
                "MD5 hand-over",
                item.shown,
                "PUT + MD5: `Uploading` to the verify-upload request",
                *saved(times["+"], times["-"]),
            ]
        )
    section.notes.append(
        "MD5 hand-over: the MD5 of a zip alone, in this process: " + md5_alone(items, work)
    )


def md5_alone(items: Sequence[Sized], work: Path) -> str:
    parts = []
    for item in items:
        dest = work / "md5.zip"
        run_timed([*MIXPEEK, "bundle", str(item.root), "-o", str(fresh(dest)), "-q"])
        size = dest.stat().st_size
        took = []
        for _ in range(3):
            start = time.perf_counter()
            digest = hashlib.md5(usedforsecurity=False)
            with dest.open("rb", buffering=0) as fh:
                while chunk := fh.read(8 * MIB):
                    digest.update(chunk)
            took.append(time.perf_counter() - start)
        parts.append(f"{item.name} {size / MIB:.1f} MiB {ms_or_s(median(took))}")
        dest.unlink()
    return "; ".join(parts)


def with_emulator(work: Callable[[EmulatorProcess], None]) -> None:
    emulator = EmulatorProcess()
    try:
        work(emulator)
    finally:
        emulator.stop()


def package_lines() -> Row:
    """Lines of mixpeek_cli/ without the emulator (issue 20 counted 11.3k)."""
    package = HERE.parent / "mixpeek_cli"
    total = 0
    for path in package.rglob("*.py"):
        if "emulator" in path.relative_to(package).parts:
            continue
        with contextlib.suppress(OSError):
            total += path.read_bytes().count(b"\n")
    return Row(
        "package lines (`mixpeek_cli/` without the emulator)",
        f"{total / 1000:.1f}k",
        "11.3k (issue 20)",
        total / 11_300,
        "< 1x",
        total < 11_300,
    )
