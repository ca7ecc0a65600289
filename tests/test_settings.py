"""Settings resolution: flag > env > mixpeek.toml > default, and validation before any I/O."""

from __future__ import annotations

from pathlib import Path

import pytest

from mixpeek_cli.config.settings import check_api_key, read_project_file, resolve_settings
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


def test_require_remote_names_everything_missing_at_once(tmp_path):
    s = resolve_settings(root=tmp_path, env={})
    with pytest.raises(UsageError) as info:
        s.require_remote()
    assert info.value.one_line() == (
        "no app id and no API key. pass -a/--app APP_ID, set MIXPEEK_APP_ID, or add app_id "
        "to mixpeek.toml; and set MIXPEEK_API_KEY, pass --api-key, or run mixpeek login"
    )


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
    with pytest.raises(UsageError, match="build_command must be a string, not a number"):
        resolve_settings(root=tmp_path, env={})


@pytest.mark.parametrize(
    ("given", "kind"),
    [
        ("sk_a\nsk_b", "a newline"),
        ("sk_a\rsk_b", "a carriage return"),
        ("sk_a\tsk_b", "a tab"),
        ("sk_a\x00", "a NUL byte at its end"),
        ("sk_a sk_b", "a space"),
        ("sk_a\x08", "a control character (U+0008) at its end"),
        ("\u200bsk_a", "a non-ASCII character (U+200B ZERO WIDTH SPACE) at its start"),
        ("sk_a\u00a0", "a non-ASCII character (U+00A0 NO-BREAK SPACE) at its end"),
        ("sk_a\r\n", "a carriage return at its end"),
        (" sk_a", "a space at its start"),
    ],
)
def test_a_key_holding_what_no_key_holds_is_refused_by_source(tmp_path, given, kind):
    for env, flag, source in (
        ({"MIXPEEK_API_KEY": given}, None, "MIXPEEK_API_KEY"),
        ({}, given, "--api-key"),
    ):
        with pytest.raises(UsageError) as info:
            resolve_settings(root=tmp_path, env=env, api_key=flag)
        assert info.value.one_line() == f"the API key (from {source}) holds {kind}. re-copy it"
        assert "sk_a" not in info.value.one_line()
    with pytest.raises(UsageError, match="from mixpeek login"):
        resolve_settings(root=tmp_path, env={}, stored_key=lambda: given)


def test_only_a_key_read_as_a_line_loses_the_blanks_around_it(tmp_path):
    # A prompt's, stdin's or the stored file's line: its ending is no part of the key.
    assert check_api_key(" \tsk_key\r\n", "x", line=True) == "sk_key"
    stored = resolve_settings(root=tmp_path, env={}, stored_key=lambda: "sk_stored")
    assert (stored.api_key, stored.sources["api_key"]) == ("sk_stored", "user config")
    # A flag or an environment variable is the key as given: blanks there are refused.
    for env, flag in (({"MIXPEEK_API_KEY": "sk_env\n"}, None), ({}, " sk_flag ")):
        with pytest.raises(UsageError, match="re-copy it"):
            resolve_settings(root=tmp_path, env=env, api_key=flag)


def test_a_project_file_that_is_not_utf8_names_the_file_and_line(tmp_path):
    (tmp_path / "mixpeek.toml").write_bytes(b'app_id = "a"\n# caf\xe9\n')
    with pytest.raises(UsageError) as info:
        read_project_file(tmp_path)
    assert info.value.one_line() == (
        f"{tmp_path / 'mixpeek.toml'} is not UTF-8 text (byte 0xE9 on line 2). save it as UTF-8"
    )


@pytest.mark.parametrize(
    ("text", "what"),
    [
        ("app_id = 5", "app_id must be a string, not a number"),
        ("environment = [1]", "environment must be a string, not an array"),
        ("namespace = 1.5", "namespace must be a string, not a number"),
        ("output_dir = false", "output_dir must be a string, not a boolean"),
        ("app_id = 1979-05-27", "app_id must be a string, not a date"),
        ("[app_id]\nx = 1", "app_id must be a string, not a table"),
    ],
)
def test_a_project_setting_of_the_wrong_type_is_refused(tmp_path, text, what):
    write_project(tmp_path, text + "\n")
    with pytest.raises(UsageError) as info:
        resolve_settings(root=tmp_path, env={"MIXPEEK_APP_ID": "env_app"})
    assert f"mixpeek.toml: {what}" in info.value.one_line()


def test_a_bad_value_names_where_it_was_set(tmp_path):
    write_project(tmp_path, 'environment = "prod"\nnamespace = "a b"\n')
    with pytest.raises(UsageError, match=r"invalid environment 'prod' \(from mixpeek.toml\)"):
        resolve_settings(root=tmp_path, env={})
    with pytest.raises(UsageError, match=r"invalid namespace 'a b' \(from mixpeek.toml\)"):
        resolve_settings(root=tmp_path, env={}, environment="staging")
    with pytest.raises(UsageError, match=r"invalid app id 'a/b' \(from MIXPEEK_APP_ID\)"):
        resolve_settings(root=tmp_path, env={"MIXPEEK_APP_ID": "a/b"}, environment="staging")
