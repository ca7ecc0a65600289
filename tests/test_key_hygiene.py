"""The API key is checked before it is used and masked in everything printed (issue 19 row 1),
and damaged input files end in one line, not a traceback (row 8)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
from conftest import API_KEY, calls
from netfaults import serve

from mixpeek_cli.errors import ApiError
from mixpeek_cli.output.runner import Output, run_command
from mixpeek_cli.service.redact import MASK, scrub

# A key as a person might paste it: two halves around a character no key holds.
LEFT, RIGHT = "sk_live_Q7d9Lm2Xa8", "Zt4Rb6Kc1Vn3Pw5Hy0"
COMMANDS = [("deploy", "-m", "x"), ("whoami",), ("apps", "list"), ("versions", "list")]


def forms(key: str) -> list[str]:
    """Every way the key could show up in output: whole, in halves, encoded, escaped."""
    found = [key, quote(key, safe=""), quote(key), quote_plus(key), json.dumps(key)[1:-1]]
    found += [repr(key)[1:-1], repr(key.encode("utf-8"))[2:-1]]
    found += [part for part in (LEFT, RIGHT) if part in key]
    return found


def assert_no_key(text: str, key: str) -> None:
    for form in forms(key):
        assert form not in text, f"{form!r} was printed"
        assert form.lower() not in text.lower(), f"{form!r} was printed (in another case)"


def one_error_line(stderr: str) -> str:
    assert "Traceback" not in stderr
    [error] = [line for line in stderr.splitlines() if line.startswith("error:")]
    return error


def command_args(command: tuple[str, ...], app_dir: Path) -> list[str]:
    if command[0] == "deploy":
        return ["deploy", str(app_dir), *command[1:]]
    if command[0] == "whoami":
        return ["whoami", str(app_dir)]
    return list(command)


# -- a key holding a character no key has is refused before any request ---------------


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_a_key_with_a_newline_inside_is_refused_naming_its_source_and_never_shown(
    emu, run_cli, remote_env, app_dir, command, as_json
):
    key = f"{LEFT}\n{RIGHT}"
    args = command_args(command, app_dir) + (["--json"] if as_json else [])

    result = run_cli(*args, env={**remote_env, "MIXPEEK_API_KEY": key})

    assert result.code == 2, result.stderr
    expected = "the API key (from MIXPEEK_API_KEY) holds a newline. re-copy it"
    assert one_error_line(result.stderr) == f"error: {expected}"
    if as_json:
        assert json.loads(result.stdout) == {
            "error": expected,
            "exit_code": 2,
            "deploy_id": None,
            "maybe_created": False,
        }
    else:
        assert result.stdout == ""
    assert_no_key(result.out_and_err, key)
    assert calls(emu) == []


@pytest.mark.parametrize(
    ("middle", "kind"),
    [
        ("\r", "a carriage return"),
        ("\t", "a tab"),
        (" ", "a space"),
        ("\x1b", "a control character (U+001B)"),
        ("\x7f", "a control character (U+007F)"),
        ("\u00e9", "a non-ASCII character (U+00E9 LATIN SMALL LETTER E WITH ACUTE)"),
        ("\u2013", "a non-ASCII character (U+2013 EN DASH)"),
        ("\u00a0", "a non-ASCII character (U+00A0 NO-BREAK SPACE)"),
    ],
)
def test_each_kind_of_bad_character_is_named(emu, run_cli, remote_env, app_dir, middle, kind):
    key = f"{LEFT}{middle}{RIGHT}"

    result = run_cli("deploy", str(app_dir), "-m", "x", env={**remote_env, "MIXPEEK_API_KEY": key})

    assert result.code == 2, result.stderr
    assert f"holds {kind}. re-copy it" in one_error_line(result.stderr)
    assert_no_key(result.out_and_err, key)
    assert calls(emu) == []


def test_a_bad_key_given_as_a_flag_names_the_flag(emu, run_cli, remote_env, app_dir):
    key = f"{LEFT}\t{RIGHT}"

    result = run_cli("versions", "list", "--json", "--api-key", key, env=remote_env)

    assert result.code == 2
    error = "the API key (from --api-key) holds a tab. re-copy it"
    assert json.loads(result.stdout)["error"] == error
    assert_no_key(result.out_and_err, key)
    assert calls(emu) == []


@pytest.mark.parametrize(
    ("given", "told"),
    [
        (API_KEY + "\n", "holds a newline at its end"),
        (API_KEY + "\r\n", "holds a carriage return at its end"),
        ("  " + API_KEY, "holds a space at its start"),
        (" \n", "holds a space at its start"),
    ],
)
def test_a_key_with_blanks_around_it_is_refused_too(emu, run_cli, remote_env, app_dir, given, told):
    # The key as given is not the key: refused (issue 19), saying where the blank is.
    result = run_cli(
        "deploy", str(app_dir), "-m", "x", env={**remote_env, "MIXPEEK_API_KEY": given}
    )

    assert result.code == 2, result.stderr
    assert one_error_line(result.stderr) == (
        f"error: the API key (from MIXPEEK_API_KEY) {told}. re-copy it"
    )
    assert API_KEY not in result.out_and_err
    assert calls(emu) == []


def test_all_missing_settings_are_named_at_once(emu, run_cli, app_dir):
    result = run_cli("versions", "list", env={"MIXPEEK_BASE_URL": emu.base_url})

    assert result.code == 2
    assert one_error_line(result.stderr) == (
        "error: no app id and no API key. pass -a/--app APP_ID, set MIXPEEK_APP_ID, or add "
        "app_id to mixpeek.toml; and set MIXPEEK_API_KEY, pass --api-key, or run mixpeek login"
    )
    assert calls(emu) == []


# -- the stored key -----------------------------------------------------------------


def credentials(cli_env: dict[str, str]) -> Path:
    return Path(cli_env["XDG_CONFIG_HOME"]) / "mixpeek" / "credentials.json"


def login(cli_env: dict[str, str], stdin: bytes) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "mixpeek_cli", "login"],
        env=cli_env,
        input=stdin,
        capture_output=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("typed", "kind"),
    [
        (f"{LEFT}\t{RIGHT}\n", "a tab"),
        (f"{LEFT} {RIGHT}\n", "a space"),
        (f"{LEFT}\u00e9{RIGHT}\n", "a non-ASCII character (U+00E9"),
        (f"{LEFT}\x00{RIGHT}\n", "a NUL byte"),
    ],
)
def test_login_refuses_to_store_a_bad_key(cli_env, typed, kind):
    done = login(cli_env, typed.encode("utf-8"))

    assert done.returncode == 2
    err = done.stderr.decode()
    assert f"the API key (from stdin) holds {kind}" in one_error_line(err)
    assert_no_key(done.stdout.decode() + err, typed.strip())
    assert not credentials(cli_env).exists()


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b'{"api_key": "sk_\xff\xfe"}', "holds no valid API key"),  # not UTF-8
        (b"\x00\x01\x02", "holds no valid API key"),
        (b'["sk_live_in_a_list"]', "holds no valid API key"),
        (b'{"api_key": 12345678901}', "holds no valid API key"),
        (
            json.dumps({"api_key": f"{LEFT}\n{RIGHT}"}).encode(),
            "credentials.json) holds a newline. run mixpeek login again",
        ),
    ],
)
def test_a_damaged_stored_key_is_one_line_never_a_traceback(
    emu, run_cli, cli_env, remote_env, app_dir, content, fragment
):
    path = credentials(cli_env)
    path.parent.mkdir(mode=0o700, parents=True)
    path.write_bytes(content)
    path.chmod(0o600)
    env = {k: v for k, v in remote_env.items() if k != "MIXPEEK_API_KEY"}

    for args in (["whoami", str(app_dir)], ["deploy", str(app_dir), "-m", "x", "--json"]):
        result = run_cli(*args, env=env)
        assert result.code == 2, result.stderr
        assert fragment in one_error_line(result.stderr)
        assert_no_key(result.out_and_err, f"{LEFT}\n{RIGHT}")
    assert calls(emu) == []


# -- mixpeek.toml (row 8) -------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (b'app_id = "caf\xe9"\n', "mixpeek.toml is not UTF-8 text (byte 0xE9 on line 1)"),
        (b'# r\xe9sum\xe9\napp_id = "a"\n', "mixpeek.toml is not UTF-8 text (byte 0xE9 on line 1)"),
        (b'app_id = "a"\n\xff\xfe', "mixpeek.toml is not UTF-8 text (byte 0xFF on line 2)"),
        (b"app_id = 5\n", "mixpeek.toml: app_id must be a string, not a number"),
        (b"environment = [1]\n", "mixpeek.toml: environment must be a string, not an array"),
        (b"namespace = true\n", "mixpeek.toml: namespace must be a string, not a boolean"),
        (b"output_dir = {a = 1}\n", "mixpeek.toml: output_dir must be a string, not a table"),
        (b'app_id = "caf\xc3\xa9"\n', "invalid app id 'caf\u00e9' (from mixpeek.toml)"),
        (b'environment = "qa"\n', "invalid environment 'qa' (from mixpeek.toml)"),
    ],
)
def test_a_bad_project_file_exits_2_naming_the_file_or_setting(
    emu, run_cli, remote_env, app_dir, content, error
):
    (app_dir / "mixpeek.toml").write_bytes(content)
    env = {k: v for k, v in remote_env.items() if k != "MIXPEEK_APP_ID"}

    for args in (["deploy", str(app_dir), "-m", "x"], ["whoami", str(app_dir)]):
        result = run_cli(*args, env=env)
        assert result.code == 2, result.stderr
        assert error in one_error_line(result.stderr)
        assert len(result.stderr.splitlines()) == 1
    assert calls(emu) == []


def test_a_byte_order_mark_in_mixpeek_toml_is_read_past(run_cli, tmp_path):
    (tmp_path / "mixpeek.toml").write_bytes(b'\xef\xbb\xbfapp_id = "bom_app"\n')

    result = run_cli("whoami", str(tmp_path), "--json", "--no-check")

    assert result.code == 0, result.stderr
    assert json.loads(result.stdout)["app_id"] == {"value": "bom_app", "source": "mixpeek.toml"}


# -- what a server echoes is masked in every form ----------------------------------------

# Characters that URL-encoding changes, so each encoded form differs from the raw one.
ODD_KEY = "sk_live_Q7d9+Lm2/Xa8=Zt4~Rb6&Kc1"


def echo_authorization(request) -> None:  # type: ignore[no-untyped-def]
    """A misbehaving API: every answer a 400 quoting the Authorization header back."""
    auth = request.headers.get("Authorization", "")
    token = auth.partition(" ")[2]
    length = int(request.headers.get("Content-Length") or 0)
    if length:
        request.rfile.read(length)
    message = (
        f"bad request; query was ?auth={quote_plus(auth)}&k={quote(token, safe='')}"
        f" path /{quote(token)} lower {quote(token, safe='').lower()}"
        f" twice {quote(quote(token, safe=''), safe='')} repr {token!r}"
    )
    body = json.dumps({"error": {"message": message, "type": "BadRequestError"}}).encode()
    request.send_response(400)
    request.send_header("Content-Type", "application/json")
    request.send_header("Content-Length", str(len(body)))
    request.end_headers()
    request.wfile.write(body)


def odd_forms() -> list[str]:
    token = ODD_KEY
    return [
        token,
        quote(token, safe=""),
        quote(token),
        quote_plus(token),
        quote(token, safe="").lower(),
        quote(quote(token, safe=""), safe=""),
        quote_plus(f"Bearer {token}"),
    ]


@pytest.mark.parametrize("flags", [(), ("--json",), ("--json", "-v")], ids=["text", "json", "v"])
@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_a_key_echoed_by_the_server_is_masked_in_every_form(
    run_cli, remote_env, app_dir, command, flags
):
    with serve(echo_authorization) as api:
        env = {**remote_env, "MIXPEEK_BASE_URL": api, "MIXPEEK_API_KEY": ODD_KEY}
        result = run_cli(*command_args(command, app_dir), *flags, env=env)

    assert result.code == 5, result.stderr
    assert "Traceback" not in result.stderr
    assert "bad request; query was" in result.out_and_err  # the server's words, masked
    assert MASK in result.out_and_err
    for form in odd_forms():
        assert form not in result.out_and_err, f"{form!r} was printed"
    if "--json" in flags:
        json.loads(result.stdout)  # masking left the document whole


# -- scrub, the masking itself -----------------------------------------------------------


def test_scrub_masks_every_form_and_leaves_the_rest():
    secret = "sk_live_ab/c+d é\n"
    text = " | ".join(
        [
            secret,
            quote(secret),
            quote(secret, safe=""),
            quote_plus(secret),
            quote(secret, safe="").lower(),
            json.dumps(secret),
            repr(secret),
            repr(secret.encode()),
            secret.strip(),
            "the rest",
        ]
    )
    masked = scrub(text, secret)

    assert masked == ("*** | *** | *** | *** | *** | \"***\" | '***' | b'***' | *** | the rest"), (
        masked
    )


def test_scrub_ignores_short_secrets_and_masks_a_longer_form_whole():
    assert scrub("the key is key", "key") == "the key is key"
    assert scrub("abcdefg", "abcdefg") == "abcdefg"  # 7 characters: left alone
    assert scrub("x abcdefgh y", "abcdefgh") == f"x {MASK} y"
    # The encoded form holds the raw prefix "sk_live_a": all of it goes, not just that.
    assert scrub("sk_live_a%2Fb", "sk_live_a/b") == MASK


def test_the_runner_masks_the_message_its_cause_and_the_json(capsys):
    def body(console, reporter):  # type: ignore[no-untyped-def]
        try:
            raise ValueError(f"Illegal header value b'Bearer {API_KEY}\\n'")
        except ValueError as exc:
            raise ApiError(f"echoed {quote_plus(API_KEY + '/')}") from exc

    output = Output(json=True, verbose=True, redact=lambda text: scrub(text, API_KEY))
    code = run_command(output, body)

    captured = capsys.readouterr()
    assert code == 5
    assert API_KEY not in captured.out + captured.err
    assert f"caused by ValueError: Illegal header value b'Bearer {MASK}\\n'" in captured.err
    assert json.loads(captured.out)["error"] == f"echoed {MASK}%2F"
