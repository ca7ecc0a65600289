"""Every error body shape renders as one readable line; malformed answers become ApiError."""

from __future__ import annotations

import json

import httpx
import pytest

from mixpeek_cli.api import (
    RawJson,
    encode_body,
    parse_deploy,
    parse_logs,
    parse_upload_target,
    render_error_body,
)
from mixpeek_cli.errors import ApiError


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


def test_upload_target_needs_a_way_to_upload():
    with pytest.raises(ApiError, match="presigned_url"):
        parse_upload_target({"bundle_s3_key": "k"})
    target = parse_upload_target({"bundle_s3_key": "k", "already_uploaded": True})
    assert target.already_uploaded
    with pytest.raises(ApiError, match="headers"):
        parse_upload_target({"bundle_s3_key": "k", "presigned_url": "u", "headers": {"a": 1}})


def test_credentials_repr_hides_secrets():
    target = parse_upload_target(
        {
            "bundle_s3_key": "k",
            "credentials": {
                "access_key_id": "AKIAEXAMPLE",
                "secret_access_key": "s3cr3t",
                "session_token": "tok",
                "bucket": "b",
                "region": "us-east-1",
                "endpoint_url": None,
            },
        }
    )
    assert "s3cr3t" not in repr(target) and "tok" not in repr(target)


def test_logs_parsing():
    chunk = parse_logs({"lines": ["a", "b"], "next_offset": 2}, 0)
    assert (chunk.lines, chunk.next_offset) == (["a", "b"], 2)
    with pytest.raises(ApiError):
        parse_logs({"lines": "nope"}, 0)


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
        key: json.loads(value) if isinstance(value, RawJson) else value
        for key, value in body.items()
    }
    assert json.loads(encode_body(body)) == decoded
