"""`init`, `link`, `login`, `logout`, `whoami`: mixpeek.toml and the stored key, via the CLI."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import API_KEY, APP_ID, CliRun
from terminal import run_on_a_terminal

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


@pytest.fixture
def piped(cli_env: dict[str, str]):  # type: ignore[no-untyped-def]
    """Run the CLI with text on stdin (run_cli gives it /dev/null)."""

    def run(stdin: str, *args: str, env: dict[str, str] | None = None) -> CliRun:
        proc = subprocess.run(
            [sys.executable, "-m", "mixpeek_cli", *args],
            env={**cli_env, **(env or {})},
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
        )
        return CliRun(proc.returncode, proc.stdout, proc.stderr)

    return run


def credentials_file(cli_env: dict[str, str]) -> Path:
    return Path(cli_env["XDG_CONFIG_HOME"]) / "mixpeek" / "credentials.json"


def read_toml(path: Path) -> dict:  # type: ignore[type-arg]
    with path.open("rb") as fh:
        return tomllib.load(fh)


def test_init_writes_mixpeek_toml_from_flags(run_cli, tmp_path):
    result = run_cli("init", str(tmp_path), "--app", "app_123", "-e", "staging")

    assert result.code == 0, result.stderr
    path = tmp_path / "mixpeek.toml"
    assert result.stdout == f"{path}\n"
    assert read_toml(path) == {"app_id": "app_123", "environment": "staging"}


def test_init_without_a_terminal_never_prompts(run_cli, tmp_path):
    # stdin is /dev/null: a prompt would read EOF; the command must refuse instead.
    result = run_cli("init", str(tmp_path))

    assert result.code == 2
    assert "no app id" in result.stderr
    assert "--app" in result.stderr
    assert not (tmp_path / "mixpeek.toml").exists()


def test_init_refuses_an_existing_app_id_and_force_keeps_other_keys(run_cli, tmp_path):
    path = tmp_path / "mixpeek.toml"
    path.write_text('# my app\napp_id = "old_app"\ncustom = 1\n\n[tool]\nx = "y"\n')

    refused = run_cli("init", str(tmp_path), "--app", "new_app")
    assert refused.code == 2
    assert "already names app 'old_app'" in refused.stderr
    assert "mixpeek link" in refused.stderr

    forced = run_cli("init", str(tmp_path), "--app", "new_app", "-e", "staging", "--force")
    assert forced.code == 0, forced.stderr
    assert "app_id was 'old_app', now 'new_app'" in forced.stderr
    text = path.read_text()
    assert text.startswith("# my app\n")
    assert read_toml(path) == {
        "app_id": "new_app",
        "custom": 1,
        "environment": "staging",
        "tool": {"x": "y"},
    }


def test_init_rejects_invalid_values(run_cli, tmp_path):
    bad_env = run_cli("init", str(tmp_path), "--app", "a1", "-e", "dev")
    assert bad_env.code == 2
    assert "invalid environment 'dev'" in bad_env.stderr
    bad_app = run_cli("init", str(tmp_path), "--app", "../etc")
    assert bad_app.code == 2
    assert not (tmp_path / "mixpeek.toml").exists()


def test_link_sets_app_id_and_keeps_everything_else(run_cli, tmp_path):
    path = tmp_path / "mixpeek.toml"
    path.write_text('environment = "staging"  # keep me\n')

    first = run_cli("link", "app_one", str(tmp_path), "--json")
    assert first.code == 0, first.stderr
    assert json.loads(first.stdout) == {
        "path": str(path),
        "created": False,
        "app_id": "app_one",
        "previous_app_id": None,
    }
    second = run_cli("link", "app_two", str(tmp_path))
    assert second.code == 0, second.stderr
    assert "app_id was 'app_one', now 'app_two'" in second.stderr
    assert 'environment = "staging"  # keep me' in path.read_text()
    assert read_toml(path) == {"app_id": "app_two", "environment": "staging"}


def test_link_creates_the_file_and_deploy_uses_it(emu, run_cli, remote_env, app_dir):
    assert run_cli("link", "linked_app", str(app_dir)).code == 0
    env = {k: v for k, v in remote_env.items() if k != "MIXPEEK_APP_ID"}

    result = run_cli("deploy", str(app_dir), "-m", "linked", "--json", env=env)

    assert result.code == 0, result.stderr
    assert json.loads(result.stdout)["app_id"] == "linked_app"


def test_login_stores_the_key_privately_and_deploy_uses_it(
    emu, piped, run_cli, cli_env, remote_env, app_dir
):
    stored = piped(API_KEY + "\n", "login")

    assert stored.code == 0, stored.stderr
    path = credentials_file(cli_env)
    assert stored.stdout == f"{path}\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert API_KEY not in stored.out_and_err

    env = {k: v for k, v in remote_env.items() if k != "MIXPEEK_API_KEY"}
    deployed = run_cli("deploy", str(app_dir), "-m", "stored key", env=env)
    assert deployed.code == 0, deployed.stderr
    [request] = [r for r in emu.state.requests if r["path"].endswith("/deploy")]
    assert request["headers"]["authorization"] == "Bearer ***"
    assert API_KEY not in deployed.out_and_err


def test_the_stored_key_is_the_lowest_priority(piped, run_cli, cli_env, tmp_path):
    assert piped("sk_stored_0001\n", "login").code == 0
    env = {"MIXPEEK_APP_ID": APP_ID}

    # --no-check: these are about where settings come from, and the key is not real.
    from_store = run_cli("whoami", str(tmp_path), "--json", "--no-check", env=env)
    assert from_store.code == 0, from_store.stderr
    data = json.loads(from_store.stdout)
    assert data["api_key"] == {"set": True, "source": "user config"}
    assert data["app_id"] == {"value": APP_ID, "source": "env MIXPEEK_APP_ID"}

    from_env = run_cli(
        "whoami", str(tmp_path), "--json", "--no-check", env={**env, "MIXPEEK_API_KEY": "sk_e"}
    )
    assert json.loads(from_env.stdout)["api_key"] == {"set": True, "source": "env MIXPEEK_API_KEY"}
    from_flag = run_cli(
        "whoami", str(tmp_path), "--json", "--no-check", "--api-key", "sk_f", env=env
    )
    assert json.loads(from_flag.stdout)["api_key"] == {"set": True, "source": "flag"}


def test_whoami_names_every_source_and_never_the_key(run_cli, tmp_path):
    (tmp_path / "mixpeek.toml").write_text('app_id = "from_file"\n')
    env = {"MIXPEEK_API_KEY": API_KEY, "MIXPEEK_BASE_URL": "http://127.0.0.1:9"}

    result = run_cli("whoami", str(tmp_path), "-e", "staging", "--no-check", env=env)

    assert result.code == 0, result.stderr
    out = result.stdout
    assert "check:       not checked: --no-check" in out
    assert "api key:     set (from env MIXPEEK_API_KEY)" in out
    assert "app id:      from_file (from mixpeek.toml)" in out
    assert "environment: staging (from flag)" in out
    assert "base url:    http://127.0.0.1:9 (from env MIXPEEK_BASE_URL)" in out
    # No part of the key: not the whole, not a prefix, not a suffix.
    for fragment in (API_KEY, API_KEY[:8], API_KEY[-4:]):
        assert fragment not in result.out_and_err


def test_whoami_without_anything_set(run_cli, tmp_path):
    result = run_cli("whoami", str(tmp_path), "--json")

    assert result.code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["api_key"] == {"set": False, "source": "unset"}
    assert data["app_id"] == {"value": None, "source": "unset"}
    assert data["environment"] == {"value": "production", "source": "default"}


def test_logout_removes_the_key(piped, run_cli, cli_env):
    assert piped("sk_to_remove\n", "login").code == 0
    path = credentials_file(cli_env)

    first = run_cli("logout", "--json")
    assert first.code == 0
    assert json.loads(first.stdout) == {"removed": True, "path": str(path)}
    assert not path.exists()
    second = run_cli("logout", "--json")
    assert json.loads(second.stdout) == {"removed": False, "path": str(path)}


def test_a_readable_key_file_warns_and_a_broken_one_is_a_usage_error(piped, run_cli, cli_env):
    assert piped("sk_loose\n", "login").code == 0
    path = credentials_file(cli_env)
    os.chmod(path, 0o644)

    loose = run_cli("whoami")
    assert loose.code == 0
    assert f"warning: {path} can be read by other users: run chmod 600 {path}" in loose.stderr

    path.write_text("not json")
    broken = run_cli("whoami")
    assert broken.code == 2
    assert "holds no valid API key" in broken.stderr


def test_login_rejects_an_empty_or_multi_word_key(piped, cli_env):
    empty = piped("\n", "login")
    assert empty.code == 2
    assert "no API key given" in empty.stderr
    spaced = piped("sk one two\n", "login", "--api-key-stdin")
    assert spaced.code == 2
    assert "the API key (from stdin) holds a space" in spaced.stderr
    assert not credentials_file(cli_env).exists()


def on_a_terminal(cli_env, answers: list[str], *args: str, env=None):  # type: ignore[no-untyped-def]
    return run_on_a_terminal({**cli_env, **(env or {})}, answers, *args)


def test_init_asks_on_a_terminal(cli_env, tmp_path):
    code, stderr = on_a_terminal(cli_env, ["app_typed", "staging"], "init", str(tmp_path))

    assert code == 0, stderr
    assert "App id" in stderr
    assert read_toml(tmp_path / "mixpeek.toml") == {"app_id": "app_typed", "environment": "staging"}


def test_init_never_asks_when_ci_is_set_even_on_a_terminal(cli_env, tmp_path):
    code, stderr = on_a_terminal(cli_env, [], "init", str(tmp_path), env={"CI": "true"})

    assert code == 2
    assert "App id" not in stderr
    assert not (tmp_path / "mixpeek.toml").exists()


def test_login_asks_without_echo_on_a_terminal(cli_env):
    code, stderr = on_a_terminal(cli_env, ["sk_typed_key_42"], "login")

    assert code == 0, stderr
    assert "sk_typed_key_42" not in stderr
    assert json.loads(credentials_file(cli_env).read_text()) == {"api_key": "sk_typed_key_42"}
