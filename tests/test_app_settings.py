"""The pieces of `mixpeek env` and `mixpeek secrets` that need no subprocess: dotenv files,
the PATCH bodies and the check of their answers, and the emulator's PATCH rule for maps
(docs/api.md, "How a PATCH changes a map")."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from conftest import API_KEY

from mixpeek_cli.config.dotenv_file import format_dotenv, parse_dotenv
from mixpeek_cli.emulator import Emulator
from mixpeek_cli.errors import ApiError, UsageError
from mixpeek_cli.service.build_config import (
    check_env_vars,
    check_secrets,
    env_vars_body,
    masked_env_vars,
    secrets_body,
    valid_name,
)
from mixpeek_cli.service.models import parse_app

# -- dotenv files -------------------------------------------------------------------------


def test_a_pulled_file_reads_back_as_the_same_values() -> None:
    values = {
        "PLAIN": "dark",
        "QUOTES": 'say "hi" and \\ back',
        "LINES": "one\ntwo\r\n\tthree",
        "NOT_EXPANDED": "${HOME} $PATH",
        "EMPTY": "",
        "HASH": "#not a comment",
        "UNICODE": "ünï €",
        "SINGLE": "it's",
    }
    text = format_dotenv(values, "a header\nof two lines")

    assert text.startswith("# a header\n# of two lines\n")
    assert len(text.splitlines()) == 2 + len(values)  # one line per value, newlines escaped
    assert {e.key: e.value for e in parse_dotenv(text, "f")} == values


def test_a_dotenv_file_is_read_as_its_loaders_read_it() -> None:
    text = "# comment\n\nexport A=1\nB = 'single ${X}'\nC=\"two\nlines\"\nA=2 # again\n"

    entries = parse_dotenv(text, ".env")

    assert [(e.key, e.value, e.line) for e in entries] == [
        ("A", "1", 3),
        ("B", "single ${X}", 4),
        ("C", "two\nlines", 5),
        ("A", "2", 7),
    ]


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("OK=1\nNAME\n", ".env:2: NAME has no value"),
        ('OK=1\n\n\nX="unterminated\n', ".env:4: not a KEY=VALUE line"),
        ("a b c\n", ".env:1: not a KEY=VALUE line"),
    ],
)
def test_a_line_that_is_not_key_value_is_an_error_naming_it(text: str, said: str) -> None:
    with pytest.raises(UsageError) as failure:
        parse_dotenv(text, ".env")
    assert said in failure.value.one_line()


# -- bodies and checks --------------------------------------------------------------------


def app_answer(env_vars: dict[str, str] | None, secrets: list[str] | None) -> Any:
    build = {"env_vars": env_vars, "secrets": {n: "***" for n in secrets or []}}
    return parse_app({"app_id": "a", "slug": "s", "build_config": build}, app_id="a")


def test_bodies_hold_the_one_map_and_never_a_masked_value_being_set() -> None:
    assert env_vars_body({"A": "1"}) == {"build_config": {"env_vars": {"A": "1"}}}
    assert secrets_body(["OLD", "KEY"], {"KEY": "v"}) == {
        "build_config": {"secrets": {"OLD": "***", "KEY": "v"}}
    }
    assert secrets_body([], {}) == {"build_config": {"secrets": {}}}
    with pytest.raises(ValueError):
        secrets_body(["A"], {"B": "***"})
    assert masked_env_vars({"MIXPEEK_API_KEY": "sk", "A": "1"}) == {
        "MIXPEEK_API_KEY": "***",
        "A": "1",
    }
    assert valid_name("FEATURE_1") and valid_name("_x")
    assert not any(valid_name(n) for n in ("1A", "A-B", "A B", "", "A=B"))


def test_the_check_names_what_the_answer_lost_and_never_a_value() -> None:
    check_env_vars(app_answer({"A": "1", "B": "2"}, []), {"A": "1", "B": "2"}, ["C"])
    check_secrets(app_answer({}, ["S", "T"]), ["S", "T"], ["U"])

    with pytest.raises(ApiError) as failure:
        check_env_vars(app_answer({"B": "other", "C": "3"}, []), {"A": "1", "B": "2"}, ["C"])
    line = failure.value.one_line()
    assert "lost the env var A" in line
    assert "holds another value for the env var B" in line
    assert "still has the env var C" in line
    assert "'other'" not in line and "=other" not in line  # names only, never a value
    assert failure.value.exit_code == 5

    with pytest.raises(ApiError) as failure:
        check_secrets(app_answer(None, None), ["S", "T"], [])
    assert "lost the secrets S, T" in failure.value.one_line()


# -- the emulator's PATCH rule ------------------------------------------------------------


@pytest.fixture
def api(emu: Emulator) -> httpx.Client:
    headers = {"Authorization": f"Bearer {API_KEY}"}
    return httpx.Client(base_url=emu.base_url, headers=headers, timeout=30)


def test_a_patch_replaces_the_named_map_whole_and_keeps_everything_else(
    api: httpx.Client, emu: Emulator
) -> None:
    import uuid

    made = api.post(
        "/v1/apps",
        json={
            "slug": f"rule-{uuid.uuid4().hex[:8]}",
            "meta": {"title": "Rule", "description": "kept"},
            "build_config": {
                "env_vars": {"A": "1", "B": "2"},
                "secrets": {"S": "s-value", "T": "t-value"},
                "api_allow": [{"methods": ["GET"], "pattern": "/v1/retrievers/*"}],
            },
            "monitoring_config": {"sentry_enabled": False},
        },
    ).json()
    app_id = made["app_id"]

    env = api.patch(f"/v1/apps/{app_id}", json={"build_config": {"env_vars": {"C": "3"}}})
    assert env.status_code == 200, env.text
    build = env.json()["build_config"]
    assert build["env_vars"] == {"C": "3"}  # replaced whole, not merged
    assert build["secrets"] == {"S": "***", "T": "***"}  # untouched, masked
    assert build["api_allow"] == [{"methods": ["GET"], "pattern": "/v1/retrievers/*"}]
    assert env.json()["meta"] == {"title": "Rule", "description": "kept"}
    assert env.json()["monitoring_config"] == {"sentry_enabled": False}

    kept = api.patch(
        f"/v1/apps/{app_id}", json={"build_config": {"secrets": {"S": "***", "U": "u-value"}}}
    )
    assert kept.json()["build_config"]["secrets"] == {"S": "***", "U": "***"}
    record = emu.state._apps[app_id]  # the stored values, which no answer shows
    assert record.secrets == {"S": "s-value", "U": "u-value"}

    unknown = api.patch(f"/v1/apps/{app_id}", json={"build_config": {"secrets": {"Z": "***"}}})
    assert unknown.status_code == 400
    assert unknown.json()["error"]["code"] == "secret_value_masked"
    assert emu.state._apps[app_id].secrets == {"S": "s-value", "U": "u-value"}

    strict = api.patch(f"/v1/apps/{app_id}", json={"build_config": {"env_var": {}}})
    assert strict.status_code == 422 and "extra_forbidden" in strict.text

    every_answer = " ".join(str(r.get("response")) for r in emu.state.requests)
    assert not any(v in every_answer for v in ("s-value", "t-value", "u-value"))


def test_dry_run_checks_the_slug_and_writes_nothing(api: httpx.Client, emu: Emulator) -> None:
    import uuid

    first, second = (f"dry-{uuid.uuid4().hex[:8]}" for _ in range(2))
    app_id = api.post("/v1/apps", json={"slug": first, "meta": {"title": "x"}}).json()["app_id"]
    api.post("/v1/apps", json={"slug": second, "meta": {"title": "y"}})

    taken = api.patch(f"/v1/apps/{app_id}", params={"dry_run": "true"}, json={"slug": second})
    assert taken.status_code == 409 and taken.json()["error"]["type"] == "AlreadyExistsError"
    reserved = api.patch(f"/v1/apps/{app_id}", params={"dry_run": "true"}, json={"slug": "www"})
    assert reserved.status_code == 400
    free = f"{first}-x"
    checked = api.patch(f"/v1/apps/{app_id}", params={"dry_run": "true"}, json={"slug": free})
    assert checked.status_code == 200
    assert api.get(f"/v1/apps/{app_id}").json()["slug"] == first
