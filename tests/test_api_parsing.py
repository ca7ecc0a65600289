"""Every error body shape renders as one readable line; malformed answers become ApiError."""

from __future__ import annotations

import json

import httpx
import pytest

from mixpeek_cli.errors import ApiError, AuthError, ExitCode
from mixpeek_cli.service.client import RawJson, encode_body
from mixpeek_cli.service.error_bodies import failure_for, render_error_body
from mixpeek_cli.service.models import (
    parse_app,
    parse_deploy,
    parse_log_data,
    parse_upload_check,
    parse_upload_url,
)


def response(status: int, *, json=None, text: str | None = None) -> httpx.Response:  # type: ignore[no-untyped-def]
    if json is not None:
        return httpx.Response(status, json=json)
    return httpx.Response(status, text=text or "")


@pytest.mark.parametrize(
    ("resp", "expected"),
    [
        (
            response(
                404,
                json={
                    "success": False,
                    "status": 404,
                    "error": {"message": "App not found", "type": "NotFoundError"},
                },
            ),
            "App not found (NotFoundError)",
        ),
        (
            response(
                422,
                json={
                    "detail": [
                        {"loc": ["body", "message"], "msg": "Field required", "type": "missing"}
                    ]
                },
            ),
            "body.message: Field required",
        ),
        (response(400, json={"detail": "bad bundle"}), "bad bundle"),
        (
            response(502, text="<html><body><h1>502 Bad Gateway</h1><p>nginx</p></body></html>"),
            "502 Bad Gateway nginx",
        ),
        (response(500, text=""), "Internal Server Error"),
        (response(500, json=[1, 2]), "[1, 2]"),
    ],
)
def test_error_bodies_render_as_one_line(resp, expected):
    text = render_error_body(resp)
    assert text == expected
    assert "\n" not in text


def test_long_non_json_bodies_are_cut():
    text = render_error_body(response(503, text="x" * 5000))
    assert len(text) == 200 and text.endswith("...")


def test_deploy_answer_without_deploy_id_is_an_api_error():
    with pytest.raises(ApiError, match="deploy_id"):
        parse_deploy({"status": "queued"}, app_id="a")
    with pytest.raises(ApiError, match="status"):
        parse_deploy({"deploy_id": "d", "status": 3}, app_id="a")


def test_unknown_status_is_kept_not_rejected():
    info = parse_deploy({"deploy_id": "d", "status": "optimizing"}, app_id="a")
    assert info.status == "optimizing" and not info.final


def test_upload_url_answer_needs_the_url_and_the_key():
    answer = parse_upload_url(
        {"upload_url": "https://s3/x?X-Amz-Signature=s", "bundle_s3_key": "k", "expires_in": 3600}
    )
    assert (answer.bundle_s3_key, answer.expires_in) == ("k", 3600)
    assert "Signature" not in repr(answer)  # the URL is a credential
    with pytest.raises(ApiError, match="upload_url"):
        parse_upload_url({"bundle_s3_key": "k"})
    with pytest.raises(ApiError, match="upload_url"):
        parse_upload_url({"upload_url": "file:///etc/passwd", "bundle_s3_key": "k"})
    with pytest.raises(ApiError, match="bundle_s3_key"):
        parse_upload_url({"upload_url": "https://s3/x"})


def test_verify_answer_needs_exists_and_tolerates_the_rest():
    check = parse_upload_check({"exists": True, "etag": '"ab"', "size_bytes": 3}, key="k")
    assert (check.bundle_s3_key, check.exists, check.etag, check.size_bytes) == (
        "k",
        True,
        '"ab"',
        3,
    )
    assert parse_upload_check({"exists": False, "size_bytes": "3"}, key="k").size_bytes is None
    with pytest.raises(ApiError, match="exists"):
        parse_upload_check({"exists": "yes"}, key="k")


def test_status_answer_fields_and_smoke_test():
    info = parse_deploy(
        {
            "deploy_id": "d",
            "status": "complete",
            "environment": "staging",
            "source": "cli_upload",
            "bundle_s3_key": "k",
            "message": "m",
            "queued_at": "2026-12-01T00:00:00Z",
            "queued_by": "ada",
            "error": None,
            "smoke_test": {"passed": False, "url": "u", "errors": ["500 on /"], "duration_ms": 12},
            "unknown_field": {"ignored": True},
        },
        app_id="a",
    )
    assert info.final and info.app_id == "a" and info.queued_by == "ada"
    assert info.smoke_test is not None
    assert info.smoke_test.to_json() == {
        "passed": False,
        "url": "u",
        "errors": ["500 on /"],
        "duration_ms": 12.0,
        "tested_at": None,
    }
    empty = parse_deploy({"deploy_id": "d", "status": "x", "smoke_test": {}}, app_id="a")
    assert empty.smoke_test is None
    failed = parse_deploy(
        {"deploy_id": "d", "status": "failed", "error": {"message": "no index.html"}}, app_id="a"
    )
    assert failed.error == "no index.html"


def test_app_answer_gives_the_slug():
    app = parse_app({"app_id": "a", "slug": "my-app", "meta": {"title": "Mine"}}, app_id="a")
    assert (app.slug, app.title) == ("my-app", "Mine")
    assert parse_app({"slug": 3}, app_id="a").slug is None


def test_log_events_are_published_objects_but_other_shapes_are_kept():
    published = parse_log_data('{"ts": 1.5, "line": "Downloading bundle from S3..."}')
    assert [(entry.line, entry.ts) for entry in published] == [
        ("Downloading bundle from S3...", 1.5)
    ]
    # Two data: lines in one event arrive joined by a newline.
    assert [e.line for e in parse_log_data('{"line": "a"}\n{"line": "b"}')] == ["a", "b"]
    assert [e.line for e in parse_log_data("plain text")] == ["plain text"]
    assert parse_log_data("{}") == [] and parse_log_data("") == []


@pytest.mark.parametrize(
    ("status", "body", "kind", "fragments"),
    [
        (401, {"error": {"message": "bad key", "type": "AuthenticationError"}}, AuthError, ["401"]),
        (
            403,
            {"error": {"message": "Canvas needs Enterprise", "type": "UnauthorizedError"}},
            AuthError,
            ["Canvas needs Enterprise (UnauthorizedError)", "Enterprise plan", "key"],
        ),
        (
            429,
            {
                "error": {
                    "message": "Rate limit exceeded",
                    "type": "TooManyRequestsError",
                    "details": {"api_name": "apps.deploy"},
                }
            },
            ApiError,
            ["rate limited on apps.deploy", "Rate limit exceeded", "per minute"],
        ),
        (429, {"error": {"message": "slow down"}}, ApiError, ["rate limited (HTTP 429)"]),
        (500, {"detail": "boom"}, ApiError, ["HTTP 500: boom"]),
    ],
)
def test_refusals_become_the_right_error(status, body, kind, fragments):
    error = failure_for(httpx.Response(status, json=body), "POST", "/v1/x", lambda t: t)
    assert type(error) is kind
    assert error.exit_code == (ExitCode.AUTH if kind is AuthError else ExitCode.API)
    for fragment in fragments:
        assert fragment in error.one_line()


@pytest.mark.parametrize(
    "body",
    [
        {"message": "caf\u00e9 \u2603", "n": 1, "files": RawJson(b'{"a.py":"x = \\"1\\"\\n"}')},
        {"files": RawJson(b"{}")},
        {"a": None, "b": [1, 2], "c": RawJson(b"[]"), "d": RawJson(b'"s"')},
        {"plain": True},
    ],
)
def test_encoded_bodies_are_the_json_of_the_whole(body: dict[str, object]) -> None:
    decoded = {
        key: json.loads(bytes(value.data)) if isinstance(value, RawJson) else value
        for key, value in body.items()
    }
    assert json.loads(encode_body(body)) == decoded


def test_presigned_urls_stay_out_of_the_answers_reprs() -> None:
    from mixpeek_cli.service.versions import parse_download

    signed = "https://s3.example/b?X-Amz-Signature=s3cr3t"
    upload = parse_upload_url({"upload_url": signed, "bundle_s3_key": "k", "expires_in": 60})
    download = parse_download({"download_url": signed}, version=3)

    assert upload.upload_url == signed and download.download_url == signed
    assert "s3cr3t" not in repr(upload) and "s3cr3t" not in repr(download)
    assert "bundle_s3_key='k'" in repr(upload) and "version=3" in repr(download)
