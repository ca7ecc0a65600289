"""The peers' CLIs (`vercel`, `netlify`, `wrangler`): start-up and `--help` vs `mixpeek --help`.

They are installed from the npm registry into ``bench/.peers/`` (git-ignored):

    python bench/run.py --install-peers        # npm install --prefix bench/.peers ...

They phone home (telemetry, update checks), so every run of every peer, and of mixpeek for
the same footing, happens inside ``unshare -n``: a network namespace where only loopback
exists (``ip link set lo up`` first). That needs root or user namespaces.

``vercel`` 64.0.2 depends on ``sandbox@4.4.0``, which the registry does not hold (4.1.0 and
4.5.0 exist): the install fails with ETARGET unless ``package.json`` overrides it, which
:data:`PACKAGE_JSON` does.
"""

from __future__ import annotations

import json
import shutil
import subprocess

from common import HERE, MIXPEEK, Row, median

PEERS_DIR = HERE / ".peers"
PACKAGES = ("vercel", "netlify-cli", "wrangler")
COMMANDS = {"vercel": "vercel", "netlify-cli": "netlify", "wrangler": "wrangler"}
PACKAGE_JSON = {
    "name": "mixpeek-bench-peers",
    "private": True,
    "overrides": {"sandbox": "4.5.0"},  # vercel 64.0.2 asks for sandbox@4.4.0: not published
}


def install() -> None:
    if shutil.which("npm") is None:
        raise SystemExit("npm is not on PATH: install Node.js (and npm) first")
    PEERS_DIR.mkdir(exist_ok=True)
    manifest = PEERS_DIR / "package.json"
    current = json.loads(manifest.read_text()) if manifest.exists() else {}
    manifest.write_text(json.dumps({**current, **PACKAGE_JSON}, indent=2) + "\n")
    subprocess.run(
        ["npm", "install", "--prefix", str(PEERS_DIR), "--no-audit", "--no-fund", *PACKAGES],
        check=True,
    )


def offline(cmd: list[str]) -> list[str]:
    """``cmd`` in a network namespace of its own, with loopback only."""
    return ["unshare", "-n", "sh", "-c", 'ip link set lo up; exec "$@"', "sh", *cmd]


def version(package: str) -> str:
    try:
        meta = json.loads((PEERS_DIR / "node_modules" / package / "package.json").read_text())
        return str(meta["version"])
    except (OSError, ValueError, KeyError):
        return "?"


def _wall(cmd: list[str]) -> tuple[float, int, str]:
    import time

    start = time.perf_counter()
    result = subprocess.run(cmd, capture_output=True, stdin=subprocess.DEVNULL, check=False)
    elapsed = time.perf_counter() - start
    return elapsed, result.returncode, result.stderr.decode(errors="replace")[-300:]


def bench_peers(runs: int) -> tuple[list[Row], list[str]]:
    """`mixpeek --help` vs each peer's `--help`, both offline, alternated, median of runs."""
    notes: list[str] = []
    found = {
        package: PEERS_DIR / "node_modules" / ".bin" / COMMANDS[package] for package in PACKAGES
    }
    missing = [p for p, path in found.items() if not path.exists()]
    if missing:
        notes.append(f"not installed: {', '.join(missing)} (`python bench/run.py --install-peers`)")
    probe = subprocess.run(offline(["true"]), capture_output=True, check=False)
    if probe.returncode != 0:
        notes.append("`unshare -n` is not available here: peers not measured")
        return [], notes
    rows = []
    ours_cmd = offline([*MIXPEEK, "--help"])
    for package, path in found.items():
        if not path.exists():
            continue
        peer_cmd = offline([str(path), "--help"])
        ours, theirs = [], []
        failed = ""
        _wall(peer_cmd)  # the first run warms the page cache (and any compile cache)
        _wall(ours_cmd)
        for n in range(runs):
            pair = [(ours_cmd, ours), (peer_cmd, theirs)]
            for cmd, into in pair if n % 2 == 0 else pair[::-1]:
                elapsed, code, err = _wall(cmd)
                into.append(elapsed)
                if code != 0 and cmd is peer_cmd:
                    failed = f"exit {code}: {err.strip()}"
        ratio = median(ours) / median(theirs)
        rows.append(
            Row(
                f"`mixpeek --help` vs `{COMMANDS[package]} --help`",
                f"{median(ours) * 1000:.0f} ms",
                f"{median(theirs) * 1000:.0f} ms ({package} {version(package)})",
                ratio,
                "reported",
                None,
                "both inside `unshare -n` (loopback only); spread ours"
                f" {min(ours) * 1000:.0f}-{max(ours) * 1000:.0f} ms, theirs"
                f" {min(theirs) * 1000:.0f}-{max(theirs) * 1000:.0f} ms"
                + (f"; the peer failed: {failed}" if failed else ""),
            )
        )
    return rows, notes
