"""The SDK oracle (tests/sdk_oracle.py) sees the emulator's exchanges and catches what the
SDK's models refuse: planted keys and types in real recorded requests and answers."""

from __future__ import annotations

import copy
import re
import time
import uuid
from typing import Any

import httpx
import pytest
from sdk_oracle import OPERATIONS, UNTYPED, Oracle, check, model, operation

from mixpeek_cli.emulator import Emulator, EmulatorState
from mixpeek_cli.emulator.app import create_app

AUTH = {"Authorization": "Bearer sk_test_oracle"}


@pytest.fixture
def api(emu: Emulator) -> Any:
    with httpx.Client(base_url=emu.base_url, headers=AUTH, timeout=10) as client:
        yield client


def exchanges(oracle: Oracle, method: str, suffix: str) -> list[dict[str, Any]]:
    """The exchanges finished so far (taken away from the oracle) that match."""
    # The answer is sent before the middleware hands the exchange on: wait for it.
    deadline = time.monotonic() + 5
    taken: list[dict[str, Any]] = []
    while True:
        taken += oracle.take()
        found = [e for e in taken if e["method"] == method and e["path"].endswith(suffix)]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.01)


def test_every_exchange_reaches_the_oracle_with_its_answer(
    api: httpx.Client, sdk_oracle: Oracle
) -> None:
    app_id = f"app_{uuid.uuid4().hex[:8]}"
    answer = api.post(f"/v1/apps/{app_id}/deploy/upload-url", json={"filename": "b.zip"})
    assert answer.status_code == 200

    [exchange] = exchanges(sdk_oracle, "POST", "/deploy/upload-url")
    assert exchange["json"] == {"filename": "b.zip"}
    assert (exchange["status"], exchange["response"], exchange["fault"]) == (
        200,
        answer.json(),
        False,
    )
    assert check(exchange) == []


def test_a_planted_extra_key_or_wrong_type_in_a_request_is_caught(
    api: httpx.Client, sdk_oracle: Oracle
) -> None:
    app_id = f"app_{uuid.uuid4().hex[:8]}"
    api.post(f"/v1/apps/{app_id}/deploy/upload-url", json={"filename": "b.zip"})
    [real] = exchanges(sdk_oracle, "POST", "/deploy/upload-url")
    call = f"POST /v1/apps/{app_id}/deploy/upload-url -> 200"

    extra = copy.deepcopy(real)
    extra["json"]["bundle_name"] = "b.zip"
    [finding] = check(extra)
    assert finding.startswith(f"{call}: request.bundle_name: not declared by UploadUrlRequest")

    wrong = copy.deepcopy(real)
    wrong["json"]["filename"] = 7
    [finding] = check(wrong)
    assert finding.startswith(f"{call}: request.filename: Input should be a valid string")
    assert "UploadUrlRequest" in finding

    # A body where the operation takes none.
    promote = {**real, "path": f"/v1/apps/{app_id}/promote", "response": None}
    assert any("the operation takes none" in f for f in check(promote))


def test_a_planted_extra_key_or_wrong_type_in_an_answer_is_caught(
    api: httpx.Client, sdk_oracle: Oracle
) -> None:
    app_id = f"app_{uuid.uuid4().hex[:8]}"
    assert api.get(f"/v1/apps/{app_id}").status_code == 200
    [real] = exchanges(sdk_oracle, "GET", f"/v1/apps/{app_id}")
    assert check(real) == []
    call = f"GET /v1/apps/{app_id} -> 200"

    nested = copy.deepcopy(real)
    nested["response"]["meta"]["colour"] = "red"
    [finding] = check(nested)
    assert finding.startswith(f"{call}: answer.meta.colour: not declared by PageMeta")

    wrong = copy.deepcopy(real)
    wrong["response"]["version"] = "3"
    [finding] = check(wrong)
    assert finding.startswith(f"{call}: answer.version: Input should be a valid integer")

    # An error answer is an ErrorResponse.
    error = {
        **real,
        "status": 404,
        "response": {"success": False, "status": 404, "error": {"message": "x", "kind": "y"}},
    }
    found = check(error)
    assert any("answer.error.kind: not declared by ErrorDetail" in f for f in found)
    assert any("answer.error.type" in f for f in found)


def test_a_version_lists_items_are_version_records(api: httpx.Client, sdk_oracle: Oracle) -> None:
    app_id = f"app_{uuid.uuid4().hex[:8]}"
    assert api.get(f"/v1/apps/{app_id}/versions").json() == {"versions": [], "total": 0}
    [real] = exchanges(sdk_oracle, "GET", "/versions")
    planted = copy.deepcopy(real)
    planted["response"] = {"versions": [{"version": 1, "content_hash": "ab"}], "total": 1}
    [finding] = check(planted)
    assert "answer.versions[0].content_hash: not declared by VersionRecord" in finding


def test_answers_made_by_faults_are_exempt(
    emu: Emulator, api: httpx.Client, sdk_oracle: Oracle
) -> None:
    emu.state.add_fault(method="GET", path="/versions$", status=500, body={"odd": True})
    app_id = f"app_{uuid.uuid4().hex[:8]}"
    assert api.get(f"/v1/apps/{app_id}/versions").json() == {"odd": True}
    [faulted] = exchanges(sdk_oracle, "GET", "/versions")
    assert faulted["fault"] is True
    assert check(faulted) == []
    # The same answer, not made by a fault, is a finding.
    assert check({**faulted, "fault": False}) != []


def test_every_route_the_emulator_serves_has_its_sdk_models() -> None:
    state = EmulatorState("oracle-bucket", "http://127.0.0.1:9")
    paths = create_app(state).openapi()["paths"]
    served = 0
    for path, methods in paths.items():
        if not path.startswith("/v1/"):
            continue
        sample = re.sub(r"\{[^}]+\}", "x1", path)
        for method in methods:
            op = operation(method, sample)
            assert op is not None, f"{method} {path} has no entry in sdk_oracle.OPERATIONS"
            served += 1
    assert served >= 14
    # Every model named loads, those of calls the emulator does not serve yet too.
    for op in OPERATIONS:
        for name in (op.request, op.response, op.items and op.items[1]):
            if name and name != UNTYPED:  # UNTYPED: the SDK's plain `object`
                assert hasattr(model(name), "from_dict"), name
