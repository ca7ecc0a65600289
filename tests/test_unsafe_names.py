"""A file name the zip cannot carry as meant (a backslash, a control character) is refused.

Windows and many unzip tools read ``\\`` as a folder separator, and a control character in
a name reaches whatever prints it (an extractor's listing, a terminal): the deploy stops
with exit 2 before anything is sent, naming the file with those characters made visible.
A file the ignore rules leave out is never looked at.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import read_bundle

from mixpeek_cli.bundle.walk import collect_files
from mixpeek_cli.errors import UsageError
from mixpeek_cli.output.reporter import NullReporter

HINT = "rename it (or add it to .mixpeekignore)"

BACKSLASH = "its name holds a backslash, which Windows and unzip tools read as a folder separator"
UNSAFE = {
    "backslash": ("a\\b.js", BACKSLASH),
    "backslash in a folder": ("lib\\x/util.js", BACKSLASH),
    "clear screen (ESC)": ("evil\x1b[2J.js", "its name holds the control character '\\x1b'"),
    "newline": ("two\nlines.js", "its name holds the control character '\\n'"),
    "tab": ("tab\there.js", "its name holds the control character '\\t'"),
    "C1 CSI": ("csi\x9b31m.js", "its name holds the control character '\\x9b'"),
    "DEL": ("del\x7f.js", "its name holds the control character '\\x7f'"),
}


def error_line(result) -> str:  # type: ignore[no-untyped-def]
    assert result.code == 2, result.stderr
    assert "Traceback" not in result.stderr
    [error] = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    return error


@pytest.mark.parametrize("case", sorted(UNSAFE))
def test_an_unsafe_name_exits_2_naming_it_visibly(emu, run_cli, remote_env, app_dir, case):
    rel, why = UNSAFE[case]
    (app_dir / rel).parent.mkdir(parents=True, exist_ok=True)
    (app_dir / rel).write_text("export const x = 1\n")

    result = run_cli("deploy", str(app_dir), "-m", "x", env=remote_env)

    assert error_line(result) == f"error: cannot bundle {rel!r}: {why}. {HINT}"
    # The raw character never reaches the terminal: only its escaped form does.
    raw = next(ch for ch in rel if ch == "\\" or ord(ch) < 32 or 0x7F <= ord(ch) <= 0x9F)
    if raw not in "\\\n":  # (a newline would have cut the error line, checked above)
        assert raw not in result.out_and_err
    assert emu.state.requests == []  # nothing sent: no upload URL asked for


def test_ignored_unsafe_names_do_not_stop_the_deploy(emu, run_cli, remote_env, app_dir):
    # Left out by .mixpeekignore, by git's rules, by the built-in defaults: never looked at.
    (app_dir / ".mixpeekignore").write_text("evil*\n")
    (app_dir / "evil\x1b[2J.js").write_text("x\n")
    (app_dir / ".gitignore").write_text("*.log\nbuild/\n")
    (app_dir / "build").mkdir()
    (app_dir / "build" / "tab\tname.js").write_text("x\n")
    (app_dir / "node_modules" / "pkg").mkdir(parents=True)
    (app_dir / "node_modules" / "pkg" / "a\\b.js").write_text("x\n")

    result = run_cli("deploy", str(app_dir), "-m", "x", "--json", env=remote_env)

    assert result.code == 0, result.stderr
    names = read_bundle(emu, json.loads(result.stdout)["bundle_s3_key"])
    assert "index.html" in names and ".mixpeekignore" in names
    assert not [n for n in names if "\\" in n or any(ord(c) < 32 for c in n)]
    assert "\x1b" not in result.out_and_err


def test_the_check_is_made_on_kept_files_only(tmp_path: Path) -> None:
    root = tmp_path / "app"
    (root / "build").mkdir(parents=True)
    (root / "index.html").write_text("<p>hi</p>\n")
    (root / "build" / "a\\b.js").write_text("x\n")
    (root / ".gitignore").write_text("build/\n")

    assert [f.path for f in collect_files(root, NullReporter())] == [".gitignore", "index.html"]

    (root / ".gitignore").write_text("")
    with pytest.raises(UsageError, match=r"cannot bundle 'build/a\\\\b\.js': its name holds"):
        collect_files(root, NullReporter())
