"""A frontend deployed before `mixpeek init`: with no build setting from anywhere, deploy,
bundle and --dry-run detect it as init does and build it, or stop before sending anything.

The real CLI runs against the emulator; an `npm` of the test's own stands first in PATH,
so `npm run build` runs the project's build script without the network."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import pytest
from conftest import INDEX_HTML, git, read_bundle

from mixpeek_cli.emulator import Emulator

BUILD_SH = """\
echo "vite v5.4.0 building for production..."
echo run >> build-runs
rm -rf dist
mkdir -p dist/assets
echo '<!doctype html><script type="module" src="/assets/app.js"></script>' > dist/index.html
echo 'console.log("built")' > dist/assets/app.js
"""
# Runs the package.json build script as npm would (its argv is recorded: what was run).
FAKE_NPM = """\
#!/bin/sh
echo "$@" >> "$NPM_ARGV_LOG"
[ "$1 $2" = "run build" ] || { echo "fake npm: unexpected $*" >&2; exit 1; }
exec sh build.sh
"""
DETECTED = (
    "detected Vite (vite in package.json devDependencies; its build script, with npm): "
    "building with `npm run build`, shipping dist/ "
    "(pin it: mixpeek init, or build_command and output_dir in mixpeek.toml)"
)
BUILT = {"index.html", "assets/app.js"}


@pytest.fixture
def npm_env(tmp_path: Path) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    npm = bin_dir / "npm"
    npm.write_text(FAKE_NPM)
    npm.chmod(0o755)
    return {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "NPM_ARGV_LOG": str(tmp_path / "npm-argv"),
    }


def npm_runs(npm_env: dict[str, str]) -> list[str]:
    log = Path(npm_env["NPM_ARGV_LOG"])
    return log.read_text().splitlines() if log.exists() else []


@pytest.fixture
def vite_source(tmp_path: Path) -> Path:
    """A Vite project as `npm create vite` leaves it, before `mixpeek init`: no mixpeek.toml."""
    root = tmp_path / "vite-src"
    (root / "src").mkdir(parents=True)
    (root / "package.json").write_text(
        json.dumps(
            {
                "name": "vite-src",
                "scripts": {"dev": "vite", "build": "sh build.sh"},
                "devDependencies": {"vite": "^5.4.0"},
            }
        )
    )
    (root / "index.html").write_text(
        '<!doctype html><div id="root"></div><script type="module" src="/src/main.tsx"></script>\n'
    )
    (root / "src" / "main.tsx").write_text("document.getElementById('root')!.textContent = 'hi'\n")
    (root / ".gitignore").write_text("dist/\nnode_modules/\nbuild-runs\n")
    (root / "build.sh").write_text(BUILD_SH)
    return root


def assert_nothing_sent(emu: Emulator) -> None:
    assert emu.state.requests == []
    assert emu.state.s3_requests == []


def deploy_posts(emu: Emulator) -> list[dict]:  # type: ignore[type-arg]
    return [
        r for r in emu.state.requests if r["method"] == "POST" and r["path"].endswith("/deploy")
    ]


def error_line(stderr: str) -> str:
    [line] = [line for line in stderr.splitlines() if line.startswith("error:")]
    return line


def test_deploy_builds_a_detected_vite_project_and_ships_its_output(
    emu, run_cli, remote_env, vite_source, npm_env
):
    result = run_cli(
        "deploy", str(vite_source), "-m", "first", "--json", env={**remote_env, **npm_env}
    )

    assert result.code == 0, result.stderr
    assert DETECTED in result.stderr.splitlines()
    assert "vite v5.4.0 building for production..." in result.stderr
    assert npm_runs(npm_env) == ["run build"]
    data = json.loads(result.stdout)  # stdout holds the result alone
    assert data["build"]["command"] == "npm run build" and data["output_dir"] == "dist"
    assert data["bundle_check"]["ok"] is True and data["bundle_check"]["warning"] is None
    assert set(read_bundle(emu, data["bundle_s3_key"])) == BUILT  # no src/, no package.json
    [post] = deploy_posts(emu)
    sources = post["json"]["source_files"]
    assert "src/main.tsx" in sources and not [p for p in sources if p.startswith("dist/")]


def test_bundle_builds_a_detected_frontend_too(run_cli, vite_source, npm_env, tmp_path):
    out = tmp_path / "site.zip"

    result = run_cli("bundle", str(vite_source), "-o", str(out), "--json", env=npm_env)

    assert result.code == 0, result.stderr
    assert DETECTED in result.stderr.splitlines()
    summary = json.loads(result.stdout)
    assert summary["build"]["command"] == "npm run build" and summary["output_dir"] == "dist"
    assert set(zipfile.ZipFile(out).namelist()) == BUILT


def test_dry_run_builds_and_shows_it_and_sends_nothing(emu, run_cli, vite_source, npm_env):
    env = {**npm_env, "MIXPEEK_BASE_URL": emu.base_url}

    result = run_cli("deploy", str(vite_source), "-m", "x", "--dry-run", "--json", env=env)

    assert result.code == 0, result.stderr
    assert DETECTED in result.stderr.splitlines()
    data = json.loads(result.stdout)
    assert data["build"]["command"] == "npm run build" and data["output_dir"] == "dist"
    assert {f["path"] for f in data["audit"]["files"]} == BUILT
    assert_nothing_sent(emu)


def test_no_build_without_the_output_stops_before_anything_is_sent(
    emu, run_cli, remote_env, vite_source, npm_env
):
    result = run_cli(
        "deploy", str(vite_source), "-m", "x", "--no-build", env={**remote_env, **npm_env}
    )

    assert result.code == 2, result.stderr
    assert error_line(result.stderr) == (
        "error: detected Vite (vite in package.json devDependencies; its build script, with "
        "npm), but --no-build and there is no dist/ to ship; nothing was sent. "
        "build it first (npm run build), or deploy without --no-build"
    )
    assert result.stdout == "" and "Traceback" not in result.stderr
    assert npm_runs(npm_env) == []
    assert_nothing_sent(emu)


def test_no_build_ships_an_existing_output_without_building(
    emu, run_cli, remote_env, vite_source, npm_env
):
    (vite_source / "dist").mkdir()
    (vite_source / "dist" / "index.html").write_text(INDEX_HTML)

    result = run_cli(
        "deploy", str(vite_source), "-m", "x", "--no-build", "--json", env={**remote_env, **npm_env}
    )

    assert result.code == 0, result.stderr
    assert (
        "detected Vite (vite in package.json devDependencies; its build script, with npm): "
        "not building (--no-build), shipping the existing dist/ (pin it: mixpeek init, or "
        "build_command and output_dir in mixpeek.toml)"
    ) in result.stderr.splitlines()
    assert npm_runs(npm_env) == []
    data = json.loads(result.stdout)
    assert data["build"] is None and data["output_dir"] == "dist"
    assert set(read_bundle(emu, data["bundle_s3_key"])) == {"index.html"}


def test_a_failing_detected_build_stops_before_anything_is_sent(
    emu, run_cli, remote_env, vite_source, npm_env
):
    (vite_source / "build.sh").write_text("echo 'src/main.tsx(1): error TS1005'; exit 2\n")

    result = run_cli("deploy", str(vite_source), "-m", "x", env={**remote_env, **npm_env})

    assert result.code == 2
    assert DETECTED in result.stderr.splitlines()
    assert "the build command 'npm run build' failed with exit status 2" in error_line(
        result.stderr
    )
    assert result.stdout == ""
    assert_nothing_sent(emu)


@pytest.mark.parametrize(
    ("toml", "args", "env"),
    [
        pytest.param('build_command = ""\n', (), {}, id="toml-empty-build-command"),
        pytest.param('output_dir = "."\n', (), {}, id="toml-output-dir-dot"),
        pytest.param("", ("--build-command", ""), {}, id="flag-empty-build-command"),
        pytest.param("", ("--output-dir", "."), {}, id="flag-output-dir-dot"),
        pytest.param("", (), {"MIXPEEK_OUTPUT_DIR": "."}, id="env-output-dir-dot"),
    ],
)
def test_a_build_setting_from_any_source_turns_detection_off(
    emu, run_cli, vite_source, npm_env, toml, args, env
):
    # Each of these says "PATH as it is": it ships, with the warning about its source.
    if toml:
        (vite_source / "mixpeek.toml").write_text(toml)

    result = run_cli(
        "deploy", str(vite_source), "-m", "x", "--dry-run", "--json", *args, env={**npm_env, **env}
    )

    assert result.code == 0, result.stderr
    assert "detected" not in result.stderr
    assert npm_runs(npm_env) == []
    data = json.loads(result.stdout)
    assert data["build"] is None and data["output_dir"] is None
    assert "src/main.tsx" in {f["path"] for f in data["audit"]["files"]}
    assert "Canvas will serve it unbuilt" in data["bundle_check"]["warning"]
    assert_nothing_sent(emu)


def test_a_plain_index_html_in_a_vite_project_is_still_built(run_cli, vite_source, npm_env):
    # One rule, init's: the vite dependency makes it a Vite app, whatever index.html holds.
    (vite_source / "index.html").write_text(INDEX_HTML)

    result = run_cli("deploy", str(vite_source), "-m", "x", "--dry-run", "--json", env=npm_env)

    assert result.code == 0, result.stderr
    assert DETECTED in result.stderr.splitlines()
    assert {f["path"] for f in json.loads(result.stdout)["audit"]["files"]} == BUILT


def test_a_build_script_of_no_known_frontend_ships_as_it_is_with_a_warning(
    run_cli, vite_source, npm_env
):
    # Not a frontend init detects: nothing is built, and the source warning says what to set.
    (vite_source / "package.json").write_text(
        json.dumps({"scripts": {"build": "sh build.sh"}, "devDependencies": {"parcel": "2"}})
    )

    result = run_cli("deploy", str(vite_source), "-m", "x", "--dry-run", "--json", env=npm_env)

    assert result.code == 0, result.stderr
    assert npm_runs(npm_env) == [] and "detected" not in result.stderr
    warning = json.loads(result.stdout)["bundle_check"]["warning"]
    assert "Canvas will serve it unbuilt" in warning and "build_command" in warning
    assert f"warning: {warning}" in result.stderr


def test_plain_html_needs_no_build_and_says_nothing_about_one(run_cli, app_dir, npm_env):
    result = run_cli("deploy", str(app_dir), "-m", "x", "--dry-run", "--json", env=npm_env)

    assert result.code == 0, result.stderr
    assert "detected" not in result.stderr and npm_runs(npm_env) == []
    assert json.loads(result.stdout)["build"] is None


def test_a_next_app_without_a_static_export_stops_before_building(
    emu, run_cli, remote_env, tmp_path, npm_env
):
    app = tmp_path / "next-app"
    app.mkdir()
    (app / "package.json").write_text(
        json.dumps({"scripts": {"build": "sh build.sh"}, "dependencies": {"next": "14"}})
    )
    (app / "build.sh").write_text(BUILD_SH)

    result = run_cli("deploy", str(app), "-m", "x", env={**remote_env, **npm_env})

    assert result.code == 2
    error = error_line(result.stderr)
    assert error.startswith("error: detected Next.js (next in package.json dependencies;")
    assert "does not deploy to Canvas as it stands; nothing was sent" in error
    assert "set output: 'export' in next.config.js" in error
    assert npm_runs(npm_env) == []
    assert_nothing_sent(emu)


def test_ref_builds_the_detected_frontend_in_the_commits_checkout(
    emu, run_cli, remote_env, vite_source, npm_env, cli_env
):
    git(vite_source, "init", "-q", env=cli_env)
    git(vite_source, "add", "-A", env=cli_env)
    git(vite_source, "commit", "-q", "-m", "vite app", env=cli_env)
    env = {**remote_env, **npm_env}

    result = run_cli("deploy", str(vite_source), "--ref", "HEAD", "--json", env=env)

    assert result.code == 0, result.stderr
    assert DETECTED in result.stderr.splitlines()
    assert not (vite_source / "dist").exists()  # built in the temporary checkout
    assert set(read_bundle(emu, json.loads(result.stdout)["bundle_s3_key"])) == BUILT

    emu.state.clear_requests()
    (vite_source / "dist").mkdir()  # the working tree's build is not the commit's
    (vite_source / "dist" / "index.html").write_text(INDEX_HTML)
    no_build = run_cli("deploy", str(vite_source), "--ref", "HEAD", "--no-build", env=env)

    assert no_build.code == 2
    assert error_line(no_build.stderr).endswith(
        "there is no dist/ to ship; nothing was sent. "
        "a commit's checkout holds no build output: deploy it without --no-build"
    )
    assert_nothing_sent(emu)


def test_what_deploy_detects_is_what_init_pins(run_cli, vite_source, npm_env):
    detected = run_cli("deploy", str(vite_source), "-m", "x", "--dry-run", "--json", env=npm_env)
    init = run_cli("init", str(vite_source), "--app", "app_1", "--json")
    pinned = run_cli("deploy", str(vite_source), "-m", "x", "--dry-run", "--json", env=npm_env)

    assert detected.code == init.code == pinned.code == 0, init.stderr + pinned.stderr
    before, written, after = (json.loads(r.stdout) for r in (detected, init, pinned))
    assert (written["build_command"], written["output_dir"]) == ("npm run build", "dist")
    assert (before["build"]["command"], before["output_dir"]) == ("npm run build", "dist")
    assert (after["build"]["command"], after["output_dir"]) == ("npm run build", "dist")
    assert "detected" not in pinned.stderr  # pinned: taken as given, nothing to say
    assert before["bundle_sha256"] == after["bundle_sha256"]
