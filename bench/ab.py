"""Before and after: `mixpeek bundle -o` of one realistic input by this checkout and by an
earlier commit, alternated, with `zip -r -X -q` of the same input between them.

    .venv/bin/python bench/ab.py --rev HEAD~1 --input text --cores 1 --runs 9

For a change whose gain is within one run's spread: each round runs all three in turn, so
a slow moment of the machine falls on all of them. The earlier commit runs from a git
worktree in a temporary directory (PYTHONPATH ahead of the editable install), byte-compiled
as this checkout is.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import inputs
from common import HERE, PYTHON, compile_package, median

REPO = HERE.parent


def timed(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rev", default="HEAD~1", help="the commit to compare with")
    parser.add_argument("--input", choices=inputs.NAMES, default="text")
    parser.add_argument("--cores", type=int, default=0, help="pin to this many cores (taskset)")
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()

    # Where bench/run.py generates them by default, so neither generates them twice.
    root = inputs.ensure(
        Path(tempfile.gettempdir()) / "mixpeek-bench-inputs" / "full", args.input, 1.0
    )
    pin = ["taskset", "-c", ",".join(map(str, range(args.cores)))] if args.cores else []
    compile_package()
    with tempfile.TemporaryDirectory(prefix="mixpeek-ab-") as work:
        before = Path(work) / "before"
        subprocess.run(
            ["git", "-C", str(REPO), "worktree", "add", "-q", "--detach", str(before), args.rev],
            check=True,
        )
        try:
            subprocess.run([PYTHON, "-m", "compileall", "-q", str(before / "mixpeek_cli")])
            out = Path(work) / "out.zip"

            def ours(source: Path) -> Callable[[], float]:
                env = {**os.environ, "PYTHONPATH": str(source)}
                cmd = [*pin, PYTHON, "-m", "mixpeek_cli", "bundle", str(root), "-o", str(out)]
                return lambda: timed([*cmd, "-q"], Path(work), env)

            sides = {
                f"{args.rev}": ours(before),
                "this checkout": ours(REPO),
                "zip -r -X -q": lambda: timed(
                    [*pin, "zip", "-r", "-q", "-X", str(Path(work) / "ref.zip"), "."], root
                ),
            }
            times: dict[str, list[float]] = {name: [] for name in sides}
            for _ in range(args.runs):
                for name, run in sides.items():
                    for stale in (out, Path(work) / "ref.zip"):
                        stale.unlink(missing_ok=True)
                    times[name].append(run())
        finally:
            subprocess.run(
                ["git", "-C", str(REPO), "worktree", "remove", "--force", str(before)], check=False
            )
    zip_median = median(times["zip -r -X -q"])
    print(f"{args.input}, {args.cores or 'all'} core(s), {args.runs} rounds, medians:")
    for name, values in times.items():
        spread = f"{min(values):.2f}-{max(values):.2f} s"
        ratio = median(values) / zip_median
        print(f"  {name:<16} {median(values):.3f} s ({spread}) = {ratio:.2f}x zip")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
