"""What Canvas serves: the build command, the output directory, the index.html check and
source_files from the source, with the real CLI against the emulator."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
import zipfile
from pathlib import Path

import pytest
from conftest import INDEX_HTML, git, read_bundle, spawn_cli

from mixpeek_cli.deploy.build_step import STOP_SECONDS
from mixpeek_cli.emulator import Emulator

BUILD_SH = """\
echo "vite v5.4.0 building for production..."
echo "(!) a warning from the bundler" >&2
rm -rf dist
mkdir -p dist/assets
cat > dist/index.html <<'HTML'
<!doctype html>
<html><head><title>vite</title><script type="module" src="/assets/app.js"></script></head>
<body><div id="app"></div></body></html>
HTML
echo 'console.log("built")' > dist/assets/app.js
echo '{"version":3}' > dist/assets/app.js.map
echo "built in 0.01s"
"""


@pytest.fixture
def vite_app(tmp_path: Path) -> Path:
    """A Vite-shaped project: source, a server function, and a build that writes dist/."""
    root = tmp_path / "vite-app"
    (root / "src").mkdir(parents=True)
    (root / "api").mkdir()
    (root / "node_modules" / "vite").mkdir(parents=True)
    (root / "package.json").write_text(
        json.dumps(
            {
                "name": "vite-app",
                "scripts": {"build": "sh build.sh"},
                "devDependencies": {"vite": "^5.4.0"},
            }
        )
    )
    (root / "index.html").write_text('<script type="module" src="/src/main.ts"></script>\n')
    (root / "src" / "main.ts").write_text("document.body.textContent = 'hi'\n")
    (root / "api" / "hello.ts").write_text("export default async () => ({ body: 'hi' })\n")
    (root / "node_modules" / "vite" / "index.js").write_text("module.exports = {}\n")
    (root / ".gitignore").write_text("dist/\nnode_modules/\n")
    (root / "build.sh").write_text(BUILD_SH)
    (root / "mixpeek.toml").write_text('build_command = "sh build.sh"\noutput_dir = "dist"\n')
    return root


def live_members(group: int) -> list[int]:
    """Processes of a process group still running (a zombie left for init to reap is not)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone while listing
        state, pgrp = fields[0], int(fields[2])
        if pgrp == group and state != "Z":
            found.append(int(stat.parent.name))
    return found


def deploy_bodies(emu: Emulator) -> list[dict]:  # type: ignore[type-arg]
    return [
        r["json"]
        for r in emu.state.requests
        if r["method"] == "POST" and r["path"].endswith("/deploy")
    ]


def assert_nothing_sent(emu: Emulator) -> None:
    assert emu.state.requests == []
    assert emu.state.s3_requests == []


def error_line(stderr: str) -> str:
    [line] = [line for line in stderr.splitlines() if line.startswith("error:")]
    return line


# -- build and output directory ------------------------------------------------------


def test_a_vite_project_ships_its_build_output_and_its_source(emu, run_cli, remote_env, vite_app):
    result = run_cli("deploy", str(vite_app), "-m", "vite", "--json", env=remote_env)

    assert result.code == 0, result.stderr
    data = json.loads(result.stdout)  # stdout is the result only: the build wrote to stderr
    assert "vite v5.4.0 building for production..." in result.stderr
    assert "(!) a warning from the bundler" in result.stderr
    assert data["build"]["command"] == "sh build.sh" and data["output_dir"] == "dist"
    assert data["bundle_check"] == {
        "ok": True,
        "skipped": False,
        "entry": "index.html",
        "problem": None,
        "hint": None,
        "warning": None,
    }
    files = read_bundle(emu, data["bundle_s3_key"])
    assert set(files) == {"index.html", "assets/app.js", "assets/app.js.map"}
    assert files["assets/app.js"] == b'console.log("built")\n'

    [body] = deploy_bodies(emu)
    sources = body["source_files"]
    # Server functions first, then the rest in path order; never the build output or deps.
    assert list(sources) == [
        "api/hello.ts",
        ".gitignore",
        "build.sh",
        "index.html",
        "mixpeek.toml",
        "package.json",
        "src/main.ts",
    ]
    assert sources["src/main.ts"] == (vite_app / "src" / "main.ts").read_text()
    assert data["source_files_count"] == 7
    assert data["source_files_left_out"] == {"binary": 0, "too_large": 0, "over_budget": 0}


def test_mixpeekignore_rules_apply_inside_the_output_directory(emu, run_cli, remote_env, vite_app):
    # dist/*.map drops source maps; dist/ itself (it excludes what ships) is ignored here.
    (vite_app / ".mixpeekignore").write_text("dist/\ndist/**/*.map\n")
    (vite_app / "build.sh").write_text(
        BUILD_SH + "mkdir -p dist/node_modules/x && echo x > dist/node_modules/x/i.js\n"
        "echo SECRET=1 > dist/.env\n"
    )

    result = run_cli("deploy", str(vite_app), "-m", "rules", "--json", env=remote_env)

    assert result.code == 0, result.stderr
    files = read_bundle(emu, json.loads(result.stdout)["bundle_s3_key"])
    assert set(files) == {"index.html", "assets/app.js"}  # defaults and the guard apply too


def test_no_build_ships_what_is_there_without_running_the_build(emu, run_cli, remote_env, vite_app):
    (vite_app / "dist").mkdir()
    (vite_app / "dist" / "index.html").write_text(INDEX_HTML)
    (vite_app / "build.sh").write_text("touch ran\n")

    result = run_cli(
        "deploy", str(vite_app), "-m", "prebuilt", "--no-build", "--json", env=remote_env
    )

    assert result.code == 0, result.stderr
    assert not (vite_app / "ran").exists()
    assert json.loads(result.stdout)["build"] is None
    assert set(read_bundle(emu, json.loads(result.stdout)["bundle_s3_key"])) == {"index.html"}


def test_settings_come_from_flags_and_env_too(emu, run_cli, remote_env, vite_app):
    (vite_app / "mixpeek.toml").unlink()
    (vite_app / "web.sh").write_text("mkdir -p out && echo '<html></html>' > out/index.html\n")
    env = {**remote_env, "MIXPEEK_BUILD_COMMAND": "sh web.sh"}

    result = run_cli(
        "deploy", str(vite_app), "-m", "flags", "--output-dir", "out", "--json", env=env
    )

    assert result.code == 0, result.stderr
    data = json.loads(result.stdout)
    assert (data["build"]["command"], data["output_dir"]) == ("sh web.sh", "out")


@pytest.mark.parametrize(
    ("command", "fragment"),
    [
        ("echo compiling; exit 3", "failed with exit status 3"),
        ("no-such-build-tool-xyz --prod", "failed with exit status 127 (command not found)"),
    ],
)
def test_a_failing_build_stops_before_anything_is_sent(
    emu, run_cli, remote_env, vite_app, command, fragment
):
    env = {**remote_env, "MIXPEEK_BUILD_COMMAND": command}

    result = run_cli("deploy", str(vite_app), "-m", "x", env=env)

    assert result.code == 2, result.stderr
    error = error_line(result.stderr)
    assert repr(command) in error and fragment in error and "nothing was sent" in error
    assert "--no-build" in error
    assert result.stdout == ""
    assert_nothing_sent(emu)


def test_a_failing_build_with_quiet_shows_its_last_lines(emu, run_cli, remote_env, vite_app):
    env = {**remote_env, "MIXPEEK_BUILD_COMMAND": "echo 'src/main.ts:1 syntax error'; exit 1"}

    result = run_cli("deploy", str(vite_app), "-m", "x", "--quiet", env=env)

    assert result.code == 2
    assert "src/main.ts:1 syntax error" in result.stderr
    assert_nothing_sent(emu)


@pytest.mark.parametrize(
    ("command", "fragment"),
    [
        ("true", "the output directory dist does not exist"),
        ("mkdir -p dist", "the output directory dist is empty"),
        ("touch dist", "the output directory dist is not a directory"),
    ],
)
def test_a_build_that_leaves_no_output_is_an_error(
    emu, run_cli, remote_env, vite_app, command, fragment
):
    env = {**remote_env, "MIXPEEK_BUILD_COMMAND": command}

    result = run_cli("deploy", str(vite_app), "-m", "x", env=env)

    assert result.code == 2, result.stderr
    assert fragment in error_line(result.stderr)
    assert_nothing_sent(emu)


def test_ctrl_c_during_the_build_stops_it_and_exits_130(emu, cli_env, remote_env, vite_app):
    (vite_app / "build.sh").write_text("echo $$ > build.pid\necho started\nsleep 30\necho never\n")
    proc = spawn_cli("deploy", str(vite_app), "-m", "x", env={**cli_env, **remote_env})
    assert proc.stderr is not None
    seen = ""
    while "started" not in seen:
        line = proc.stderr.readline()
        assert line, seen
        seen += line
    # Sent at once, so it often comes while the shell is starting `sleep`, which then runs
    # all the same (dash): the CLI passes the Ctrl-C on again, and does not wait it out.
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    stdout, rest = proc.communicate(timeout=30)

    assert proc.returncode == 130, seen + rest
    assert time.monotonic() - sent < STOP_SECONDS - 1  # stopped by Ctrl-C, not by the kill
    assert "interrupted during the build (sh build.sh); nothing was sent" in rest
    assert "never" not in rest and "Traceback" not in rest
    assert stdout == ""
    build_pid = int((vite_app / "build.pid").read_text())
    assert live_members(build_pid) == []  # the whole build's process group is gone
    assert_nothing_sent(emu)


def test_a_second_ctrl_c_while_the_build_stops_exits_at_once_and_kills_it(
    emu, cli_env, remote_env, vite_app
):
    # A build that ignores Ctrl-C: the CLI would wait STOP_SECONDS for it; a second Ctrl-C
    # must cut that short and leave nothing running.
    (vite_app / "build.sh").write_text(
        "trap 'echo build-got-int' INT\necho $$ > build.pid\necho started\n"
        "while :; do sleep 0.1; done\n"
    )
    proc = spawn_cli("deploy", str(vite_app), "-m", "x", env={**cli_env, **remote_env})
    assert proc.stderr is not None

    def read_until(marker: str) -> str:
        seen = ""
        while marker not in seen:
            line = proc.stderr.readline()
            assert line, seen
            seen += line
        return seen

    pid_file = vite_app / "build.pid"
    try:
        read_until("started")
        proc.send_signal(signal.SIGINT)
        read_until("build-got-int")  # the first Ctrl-C reached the build, which goes on
        second = time.monotonic()
        proc.send_signal(signal.SIGINT)
        # A build left running keeps our pipes open: this would then time out.
        stdout, rest = proc.communicate(timeout=30)

        assert proc.returncode == 130, rest
        assert time.monotonic() - second < STOP_SECONDS - 1
        assert "interrupted again: exiting now" in rest
        assert "Traceback" not in rest and stdout == ""
        build_pid = int(pid_file.read_text())
        deadline = time.monotonic() + 10
        while live_members(build_pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert live_members(build_pid) == []
        assert_nothing_sent(emu)
    finally:  # checked above; this only keeps a failed run from leaving a build behind
        if pid_file.exists():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.killpg(int(pid_file.read_text()), signal.SIGKILL)
        proc.kill()


def test_a_build_that_writes_the_same_output_again_reuses_the_upload(
    emu, run_cli, remote_env, vite_app
):
    # Each deploy runs the build, which writes dist/ anew: new stamps, so a new zip, but
    # the same bytes, so the same sha256, and the upload of those bytes is reused.
    first = run_cli("deploy", str(vite_app), "-m", "one", "--json", env=remote_env)
    emu.state.clear_requests()
    second = run_cli("deploy", str(vite_app), "-m", "two", "--json", env=remote_env)

    assert first.code == 0 and second.code == 0, second.stderr
    one, two = json.loads(first.stdout), json.loads(second.stdout)
    assert "no file changed since the last bundle" not in second.stderr  # a new zip
    assert two["bundle_sha256"] == one["bundle_sha256"]
    assert (one["upload_reused"], two["upload_reused"]) == (False, True)
    assert two["bundle_s3_key"] == one["bundle_s3_key"]
    assert "bundle unchanged: reusing the upload from 20" in second.stderr
    assert [r for r in emu.state.s3_requests if r["method"] == "PUT"] == []
    assert not any(r["path"].endswith("/upload-url") for r in emu.state.requests)
    assert deploy_bodies(emu)[0]["bundle_s3_key"] == one["bundle_s3_key"]

    # A build whose output differs makes other bytes: uploaded, under a new key.
    build_sh = vite_app / "build.sh"
    build_sh.write_text(build_sh.read_text().replace('"built"', '"built again"'))
    third = run_cli("deploy", str(vite_app), "-m", "three", "--json", env=remote_env)
    assert third.code == 0, third.stderr
    three = json.loads(third.stdout)
    assert three["bundle_sha256"] != one["bundle_sha256"]
    assert three["upload_reused"] is False
    assert three["bundle_s3_key"] != one["bundle_s3_key"]


def test_dry_run_runs_the_build_and_reports_it(run_cli, vite_app):
    result = run_cli("deploy", str(vite_app), "-m", "x", "--dry-run", "--json")

    assert result.code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["build"]["command"] == "sh build.sh"
    assert data["bundle_check"]["ok"] is True
    assert {f["path"] for f in data["audit"]["files"]} == {
        "index.html",
        "assets/app.js",
        "assets/app.js.map",
    }
    human = run_cli("deploy", str(vite_app), "-m", "x", "--dry-run")
    assert "build: sh build.sh (" in human.stdout
    assert (
        "bundled: dist/" in human.stdout
        and "canvas check: ok (index.html is served)" in human.stdout
    )


def test_ref_builds_in_the_commits_checkout(emu, run_cli, remote_env, vite_app, cli_env):
    git(vite_app, "init", "-q", env=cli_env)
    git(vite_app, "add", "-A", env=cli_env)
    git(vite_app, "commit", "-q", "-m", "vite app", env=cli_env)

    result = run_cli("deploy", str(vite_app), "--ref", "HEAD", "--json", env=remote_env)

    assert result.code == 0, result.stderr
    assert not (vite_app / "dist").exists()  # built in the temporary checkout, not here
    files = read_bundle(emu, json.loads(result.stdout)["bundle_s3_key"])
    assert set(files) == {"index.html", "assets/app.js", "assets/app.js.map"}


def test_bundle_command_builds_and_writes_the_output(run_cli, vite_app, tmp_path):
    out = tmp_path / "site.zip"

    result = run_cli("bundle", str(vite_app), "-o", str(out), "--json")

    assert result.code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["output_dir"] == "dist" and summary["bundle_check"]["ok"] is True
    assert set(zipfile.ZipFile(out).namelist()) == {
        "index.html",
        "assets/app.js",
        "assets/app.js.map",
    }


# -- the index.html check ------------------------------------------------------------


def test_a_site_inside_one_top_level_folder_passes(emu, run_cli, remote_env, tmp_path):
    site = tmp_path / "site-in-folder"
    (site / "public").mkdir(parents=True)
    (site / "public" / "index.html").write_text(INDEX_HTML)
    (site / "public" / "app.js").write_text("1\n")

    result = run_cli("deploy", str(site), "-m", "x", "--json", env=remote_env)

    assert result.code == 0, result.stderr
    assert json.loads(result.stdout)["bundle_check"]["entry"] == "public/index.html"


def test_a_react_projects_source_is_refused_with_what_to_set(emu, run_cli, remote_env, tmp_path):
    app = tmp_path / "cra"
    (app / "public").mkdir(parents=True)
    (app / "src").mkdir()
    (app / "public" / "index.html").write_text('<div id="root"></div>\n')
    (app / "src" / "App.js").write_text("export default () => null\n")
    (app / "package.json").write_text('{"scripts": {"build": "react-scripts build"}}\n')

    result = run_cli("deploy", str(app), "-m", "x", env=remote_env)

    assert result.code == 2
    error = error_line(result.stderr)
    assert error.startswith("error: Canvas would refuse this bundle: the bundle has no index.html")
    assert "index.html is at public/index.html" in error
    assert "build command" in error and "mixpeek init" in error
    assert_nothing_sent(emu)


def test_a_vite_source_with_its_index_html_is_warned_about(emu, run_cli, remote_env, vite_app):
    # Shipped as it is on purpose (an empty build_command turns detection off, see
    # test_detected_build.py): Canvas takes it, so it is a warning, not a refusal.
    (vite_app / "mixpeek.toml").write_text('build_command = ""\n')

    result = run_cli("deploy", str(vite_app), "-m", "x", "--dry-run", "--json")

    assert result.code == 0, result.stderr
    warning = json.loads(result.stdout)["bundle_check"]["warning"]
    assert "Canvas will serve it unbuilt" in warning
    assert f"warning: {warning}" in result.stderr


def test_a_built_dist_is_named_in_the_hint(emu, run_cli, remote_env, tmp_path):
    app = tmp_path / "built"
    (app / "dist").mkdir(parents=True)
    (app / "dist" / "index.html").write_text(INDEX_HTML)
    (app / "notes.md").write_text("n\n")

    result = run_cli("deploy", str(app), "-m", "x", env=remote_env)

    assert result.code == 2
    error = error_line(result.stderr)
    assert "no index.html at its root, nor one top-level folder" in error
    assert "index.html is at dist/index.html" in error
    assert "--output-dir dist" in error
    assert_nothing_sent(emu)


def test_two_top_level_folders_are_refused(emu, run_cli, remote_env, tmp_path):
    app = tmp_path / "two"
    for folder in ("a", "b"):
        (app / folder).mkdir(parents=True)
    (app / "a" / "index.html").write_text(INDEX_HTML)
    (app / "b" / "x.js").write_text("x\n")

    result = run_cli("deploy", str(app), "-m", "x", env=remote_env)

    assert result.code == 2
    assert "it has 2 top-level folders (a/, b/)" in error_line(result.stderr)
    assert_nothing_sent(emu)


def test_no_bundle_check_ships_anyway_and_says_so(emu, run_cli, remote_env, tmp_path):
    app = tmp_path / "unchecked"
    app.mkdir()
    (app / "main.py").write_text("print('not a site')\n")

    result = run_cli("deploy", str(app), "-m", "x", "--no-bundle-check", "--json", env=remote_env)

    assert "the Canvas bundle check is skipped (--no-bundle-check)" in result.stderr
    assert json.loads(result.stdout)["bundle_check"]["skipped"] is True
    assert deploy_bodies(emu)  # it left the machine: the service is the judge now
    assert result.code == 1  # and the emulator, like Canvas, refuses it
    assert "index.html" in result.stderr


def test_dry_run_json_reports_a_refusal_and_exits_2(run_cli, tmp_path):
    app = tmp_path / "refused"
    app.mkdir()
    (app / "main.py").write_text("x\n")

    result = run_cli("deploy", str(app), "-m", "x", "--dry-run", "--json")

    assert result.code == 2
    data = json.loads(result.stdout)
    assert data["dry_run"] is True and data["bundle_check"]["ok"] is False
    assert "no index.html" in data["bundle_check"]["problem"]
    assert error_line(result.stderr).startswith("error: Canvas would refuse this bundle")


# -- source_files --------------------------------------------------------------------


def test_files_left_out_of_source_files_are_counted_by_reason(emu, run_cli, remote_env, app_dir):
    (app_dir / "big.txt").write_text("x" * 300_000)

    result = run_cli("deploy", str(app_dir), "-m", "x", "--dry-run", "--json")

    assert result.code == 0, result.stderr
    left = json.loads(result.stdout)["source_files_left_out"]
    assert left == {"binary": 1, "too_large": 1, "over_budget": 0}  # logo.bin, big.txt
    human = run_cli("deploy", str(app_dir), "-m", "x", "--dry-run")
    assert "2 left out: 1 binary, 1 too large" in human.stdout


def test_server_functions_too_big_to_send_stop_the_deploy(emu, run_cli, remote_env, app_dir):
    (app_dir / "api").mkdir()
    for n in range(17):  # 17 x 250 KiB: over the 4 MiB total, each under the file limit
        (app_dir / "api" / f"f{n:02}.js").write_text("//" + "x" * (250 * 1024 - 3) + "\n")

    result = run_cli("deploy", str(app_dir), "-m", "x", env=remote_env)

    assert result.code == 2
    error = error_line(result.stderr)
    assert "server functions under api/ hold 4352000 bytes" in error
    assert "4194304-byte limit" in error
    assert_nothing_sent(emu)


def test_a_server_function_over_the_file_limit_stops_the_deploy(emu, run_cli, remote_env, app_dir):
    (app_dir / "api").mkdir()
    (app_dir / "api" / "huge.js").write_text("x" * 300_000)

    result = run_cli("deploy", str(app_dir), "-m", "x", env=remote_env)

    assert result.code == 2
    assert "the server function api/huge.js is 300000 bytes" in error_line(result.stderr)
    assert_nothing_sent(emu)


def test_server_functions_come_first_even_when_the_rest_is_over_budget(
    emu, run_cli, remote_env, app_dir
):
    (app_dir / "api").mkdir()
    (app_dir / "api" / "zz.js").write_text("export default () => ({})\n")
    for n in range(20):  # 20 x 250 KiB of other source: over the total on its own
        (app_dir / f"a{n:02}.txt").write_text("y" * (250 * 1024))

    result = run_cli("deploy", str(app_dir), "-m", "x", "--json", env=remote_env)

    assert result.code == 0, result.stderr
    [body] = deploy_bodies(emu)
    assert next(iter(body["source_files"])) == "api/zz.js"
    assert json.loads(result.stdout)["source_files_left_out"]["over_budget"] > 0


def test_a_credential_in_the_source_stops_an_output_dir_deploy(emu, run_cli, remote_env, vite_app):
    token = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
    (vite_app / "src" / "config.ts").write_text(f"export const token = '{token}'\n")

    result = run_cli("deploy", str(vite_app), "-m", "x", env=remote_env)

    assert result.code == 2
    assert "src/config.ts:1 holds a GitHub token" in error_line(result.stderr)
    assert token not in result.stdout + result.stderr
    assert_nothing_sent(emu)


def test_the_build_output_is_not_the_source_even_when_not_git_ignored(
    emu, run_cli, remote_env, vite_app
):
    (vite_app / ".gitignore").write_text("node_modules/\n")  # dist/ not ignored by git

    result = run_cli("deploy", str(vite_app), "-m", "x", env=remote_env)

    assert result.code == 0, result.stderr
    [body] = deploy_bodies(emu)
    assert not [p for p in body["source_files"] if p.startswith(("dist/", "node_modules/"))]


def test_an_unchanged_output_dir_redeploy_reuses_bundle_and_upload(
    emu, run_cli, remote_env, vite_app
):
    first = run_cli("deploy", str(vite_app), "-m", "one", "--no-build", "--json", env=remote_env)
    assert first.code == 2  # no dist yet: nothing was built
    built = run_cli("deploy", str(vite_app), "-m", "one", "--json", env=remote_env)
    time.sleep(2.1)  # out of the bundle cache's racy window
    again = run_cli("deploy", str(vite_app), "-m", "two", "--no-build", "--json", env=remote_env)
    third = run_cli("deploy", str(vite_app), "-m", "three", "--no-build", "--json", env=remote_env)

    assert built.code == 0 and again.code == 0 and third.code == 0, third.stderr
    assert json.loads(third.stdout)["upload_reused"] is True
    assert json.loads(third.stdout)["bundle_sha256"] == json.loads(built.stdout)["bundle_sha256"]
