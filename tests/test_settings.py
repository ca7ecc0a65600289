"""Settings resolution: flag > env > mixpeek.toml > default, and validation before any I/O."""

from __future__ import annotations

from pathlib import Path

import pytest

from mixpeek_cli.config.settings import resolve_settings
from mixpeek_cli.errors import UsageError


def write_project(root: Path, text: str) -> None:
    (root / "mixpeek.toml").write_text(text)


def test_defaults(tmp_path):
    s = resolve_settings(root=tmp_path, env={})
    assert (s.base_url, s.environment, s.poll_interval, s.timeout) == (
        "https://api.mixpeek.com",
        "production",
        1.0,
        900.0,
    )
    assert s.app_id is None and s.api_key is None


def test_flag_beats_env_beats_file(tmp_path):
    write_project(tmp_path, 'app_id = "from_file"\nenvironment = "staging"\n')
    env = {"MIXPEEK_APP_ID": "from_env", "MIXPEEK_ENVIRONMENT": "production"}

    assert resolve_settings(root=tmp_path, env={}).app_id == "from_file"
    assert resolve_settings(root=tmp_path, env={}).environment == "staging"
    assert resolve_settings(root=tmp_path, env=env).app_id == "from_env"
    assert resolve_settings(root=tmp_path, env=env).environment == "production"
    flagged = resolve_settings(root=tmp_path, env=env, app_id="from_flag", environment="staging")
    assert (flagged.app_id, flagged.environment) == ("from_flag", "staging")


def test_empty_env_var_counts_as_unset(tmp_path):
    write_project(tmp_path, 'app_id = "from_file"\n')
    assert resolve_settings(root=tmp_path, env={"MIXPEEK_APP_ID": ""}).app_id == "from_file"


def test_env_values_are_parsed(tmp_path):
    env = {
        "MIXPEEK_POLL_INTERVAL": "0.25",
        "MIXPEEK_BASE_URL": "http://127.0.0.1:8787/",
        "MIXPEEK_API_KEY": "k",
    }
    s = resolve_settings(root=tmp_path, env=env)
    assert s.poll_interval == 0.25
    assert s.base_url == "http://127.0.0.1:8787"
    assert s.api_key == "k"


@pytest.mark.parametrize(
    ("kwargs", "env", "fragment"),
    [
        ({"environment": "qa"}, {}, "staging or production"),
        ({}, {"MIXPEEK_ENVIRONMENT": "prod"}, "staging or production"),
        ({"app_id": "a/b"}, {}, "invalid app id"),
        ({"app_id": "my app"}, {}, "invalid app id"),
        ({"app_id": "app\x07"}, {}, "invalid app id"),
        ({"poll_interval": 0.0}, {}, "poll interval"),
        ({}, {"MIXPEEK_POLL_INTERVAL": "fast"}, "poll interval"),
        ({"timeout": -1.0}, {}, "timeout"),
        ({"base_url": "api.mixpeek.com"}, {}, "base URL"),
    ],
)
def test_invalid_values_are_usage_errors(tmp_path, kwargs, env, fragment):
    with pytest.raises(UsageError) as info:
        resolve_settings(root=tmp_path, env=env, **kwargs)
    assert fragment in info.value.one_line()


def test_malformed_project_file_names_line_and_column(tmp_path):
    write_project(tmp_path, 'app_id = "ok"\nenvironment = staging\n')
    with pytest.raises(UsageError) as info:
        resolve_settings(root=tmp_path, env={})
    message = info.value.one_line()
    assert "mixpeek.toml is not valid TOML" in message
    assert "line 2" in message and "column" in message


def test_require_remote_names_what_to_set(tmp_path):
    s = resolve_settings(root=tmp_path, env={"MIXPEEK_API_KEY": "k"})
    with pytest.raises(UsageError, match="MIXPEEK_APP_ID"):
        s.require_remote()
    s = resolve_settings(root=tmp_path, env={"MIXPEEK_APP_ID": "a"})
    with pytest.raises(UsageError, match="MIXPEEK_API_KEY"):
        s.require_remote()
    s = resolve_settings(root=tmp_path, env={"MIXPEEK_APP_ID": "a", "MIXPEEK_API_KEY": "k"})
    assert s.require_remote() == ("a", "k")


def test_namespace_flag_env_file_and_unset(tmp_path):
    assert resolve_settings(root=tmp_path, env={}).namespace is None
    write_project(tmp_path, 'namespace = "ns_file"\n')
    assert resolve_settings(root=tmp_path, env={}).namespace == "ns_file"
    env = {"MIXPEEK_NAMESPACE": "ns_env"}
    assert resolve_settings(root=tmp_path, env=env).namespace == "ns_env"
    flagged = resolve_settings(root=tmp_path, env=env, namespace="ns_flag")
    assert (flagged.namespace, flagged.sources["namespace"]) == ("ns_flag", "flag")


@pytest.mark.parametrize("bad", ["has space", "a\nb", "x/y", "-lead"])
def test_a_namespace_that_cannot_be_a_header_value_is_refused(tmp_path, bad):
    with pytest.raises(UsageError, match="invalid namespace"):
        resolve_settings(root=tmp_path, env={}, namespace=bad)


@pytest.mark.parametrize(
    ("base", "environment", "expected"),
    [
        ("https://api.mixpeek.com", "production", "https://my-app.mxp.co"),
        ("https://api.mixpeek.com", "staging", "https://staging-my-app.mxp.co"),
        ("http://127.0.0.1:8787", "production", "http://my-app.localhost:8787"),
        ("http://localhost:9000", "staging", "http://staging-my-app.localhost:9000"),
        ("https://mixpeek-proxy.example.com", "production", "https://my-app.mxp.co"),
    ],
)
def test_the_site_url_comes_from_the_slug(base, environment, expected):
    from mixpeek_cli.service.urls import site_url

    assert site_url(base, "my-app", environment) == expected


def test_build_command_and_output_dir_flag_env_file(tmp_path):
    write_project(tmp_path, 'build_command = "npm run build"\noutput_dir = "dist"\n')
    from_file = resolve_settings(root=tmp_path, env={})
    assert (from_file.build_command, from_file.output_dir) == ("npm run build", "dist")
    env = {"MIXPEEK_BUILD_COMMAND": "pnpm build", "MIXPEEK_OUTPUT_DIR": "out"}
    from_env = resolve_settings(root=tmp_path, env=env)
    assert (from_env.build_command, from_env.output_dir) == ("pnpm build", "out")
    flagged = resolve_settings(root=tmp_path, env=env, build_command="", output_dir="./web/")
    assert (flagged.build_command, flagged.output_dir) == (None, "web")  # "": no build
    assert flagged.sources["build_command"] == "flag"


@pytest.mark.parametrize("bad", ["/abs/dist", "../dist", "a/../../b", "C:\\dist"])
def test_an_output_dir_outside_path_is_refused(tmp_path, bad):
    with pytest.raises(UsageError, match="invalid output directory"):
        resolve_settings(root=tmp_path, env={}, output_dir=bad)


def test_a_build_command_that_is_not_a_string_is_refused(tmp_path):
    write_project(tmp_path, "build_command = 3\n")
    with pytest.raises(UsageError, match="invalid build command"):
        resolve_settings(root=tmp_path, env={})
