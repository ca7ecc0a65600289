"""The CLI works the same with and without typer's private coercion seam (commands/params.py).

typer 0.29 coerces values through pydantic; where its ``RuntimeParam`` seam is there,
``params.prime`` swaps in plain coercers so pydantic is never imported. On a typer without
the seam (or with one shaped otherwise) nothing is primed. These tests run the real CLI
both ways, as a subprocess, and compare every byte of what it prints. .ci/run also runs the
CLI under the lowest typer pyproject.toml allows, which has no such seam at all.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import INDEX_HTML

from mixpeek_cli.cli import short_help

# Runs the CLI's entry point with params.SEAM_MODULE set from argv[2] ("-": unchanged), then
# writes the loaded modules to the file named in argv[1] at exit.
_RUN = """
import atexit, sys
out, seam = sys.argv.pop(1), sys.argv.pop(1)
atexit.register(lambda: open(out, "w").write("\\n".join(sorted(
    name for name, module in sys.modules.items() if module is not None))))
import mixpeek_cli.commands.params as params
if seam != "-":
    params.SEAM_MODULE = seam
sys.argv[0] = "mixpeek"
from mixpeek_cli.entry import main
main()
"""

HAS_SEAM = importlib.util.find_spec("typer._coercion") is not None
ABSENT = "mixpeek_test_no_such_module"
# A module of that name with a RuntimeParam of another shape than the one params.py knows.
OTHER_SHAPE = "mixpeek_test_other_seam"
OTHER_SHAPE_SOURCE = """
from dataclasses import dataclass

@dataclass(frozen=True)
class RuntimeParam:
    parameter_info: object
    annotation: object
    adapter: object
"""


def run(
    seam: str, *args: str, env: dict[str, str], tmp_path: Path
) -> tuple[int, str, str, set[str]]:
    listing = tmp_path / f"modules-{seam}.txt"
    (tmp_path / f"{OTHER_SHAPE}.py").write_text(OTHER_SHAPE_SOURCE)
    result = subprocess.run(
        [sys.executable, "-c", _RUN, str(listing), seam, *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(tmp_path)},
        timeout=60,
    )
    return result.returncode, result.stdout, result.stderr, set(listing.read_text().split("\n"))


@pytest.fixture
def app(tmp_path: Path) -> Path:
    app = tmp_path / "app"
    app.mkdir()
    (app / "index.html").write_text(INDEX_HTML)
    (app / "app.js").write_text("console.log(1)\n")
    return app


def cases(app: Path, scratch: Path) -> list[tuple[list[str], int]]:
    """Runs whose values each kind of coercer converts: int with a minimum, float, bool,
    str, lists of str, Path with and without checks; good values and bad ones."""
    return [
        (["versions", "restore", "0", "--json"], 2),
        (["versions", "restore", "abc", "--json"], 2),
        (["rollback", "-1"], 2),
        (["deploy", "--timeout", "abc", "--json"], 2),
        (["deploy", "--poll-interval", "1e", "--json"], 2),
        (["bundle", str(app), "-o", str(scratch), "--json"], 2),  # -o: not a directory
        (["deploy", str(app), "--dry-run", "--json", "-m", "m", "-a", "app_x"], 0),
        (
            [
                "bundle",
                str(app),
                "-o",
                str(scratch / "b.zip"),
                "--include-secret",
                "a",
                "--include-secret",
                "b",
                "--no-build",
                "--json",
            ],
            0,
        ),
    ]


@pytest.mark.parametrize("seam", [ABSENT, OTHER_SHAPE])
def test_without_the_seam_the_cli_prints_the_same(cli_env, tmp_path, app, seam):
    """Every case gives the same exit code, stdout and stderr either way."""
    scratch = tmp_path / "out"
    scratch.mkdir()
    for args, code in cases(app, scratch):
        primed = run("-", *args, env=cli_env, tmp_path=tmp_path)
        plain = run(seam, *args, env=cli_env, tmp_path=tmp_path)
        assert primed[0] == code, (args, primed[2])
        assert plain[0] == code, (args, plain[2])
        assert "Traceback" not in primed[2] + plain[2]
        if code == 0:
            # The second run reuses the first's cached bundle and says so on stderr.
            assert json.loads(primed[1])["file_count"] == 2
            assert primed[1] == plain[1], args
        else:
            assert primed[1:3] == plain[1:3], args
        if HAS_SEAM:
            # Typer coerced the values itself without the seam: through pydantic.
            assert "pydantic" not in primed[3], args
            assert "pydantic" in plain[3], args


@pytest.mark.skipif(not HAS_SEAM, reason="this typer has no coercion seam to use")
def test_the_seam_is_used_where_typer_has_it(cli_env, tmp_path, app):
    """A real run coerces its values without pydantic (the ~70 ms the seam saves)."""
    code, out, err, modules = run(
        "-",
        "deploy",
        str(app),
        "--dry-run",
        "-m",
        "m",
        "--timeout",
        "30",
        "-a",
        "a",
        "--json",
        env=cli_env,
        tmp_path=tmp_path,
    )
    assert json.loads(out)["app_id"] == "a"
    assert code == 0, err
    assert "mixpeek_cli.commands.params" in modules
    assert "pydantic" not in modules


LONG = "Build and bundle PATH, upload it and deploy it; follow the deploy."


# What click's make_default_short_help (8.5) gives for each: the listing looks as it did.
@pytest.mark.parametrize(
    ("text", "limit", "shown"),
    [
        ("Inspect deploys.", 40, "Inspect deploys."),
        (LONG, 40, "Build and bundle PATH, upload it and..."),
        (LONG, 12, "Build and..."),
        ("one two three four", 13, "one two..."),  # at the limit with more to come
        ("one two three four", 18, "one two three four"),
        ("supercalifragilistic word", 5, "..."),
        ("a b. c", 3, "..."),
        ("First paragraph here.\n\nSecond one.", 80, "First paragraph here."),
        ("", 10, ""),
    ],
)
def test_the_listing_shortens_help_as_click_does(text, limit, shown):
    assert short_help(text, limit) == shown
