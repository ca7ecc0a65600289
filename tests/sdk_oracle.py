"""The service's own SDK as the contract's oracle (issue 21): a pytest plugin.

``mixpeek`` 1.3.783 (the dev extra) is generated from the live OpenAPI. Every /v1 exchange
an in-process emulator finishes during the suite (``state.EXCHANGE_OBSERVERS``) is checked
against its models:

* the request body against the operation's request model: only the keys it declares
  (nested models too) and its strict types (``from_dict``). A body the emulator itself
  refused with FastAPI's 422 validation answer is left out: the emulator is as strict, so
  the test sending it already sees the refusal (the tests of that refusal send such
  bodies on purpose). A body sent to an operation that takes none is a finding.
* the JSON answer against the response model: declared keys only (nested models too,
  and a version list's items as ``VersionRecord``) and ``from_dict``. Errors against
  ``ErrorResponse``; FastAPI's own ``{"detail": ...}`` (422 validation, unknown route)
  against its standard shape, by hand: the SDK's ``HTTPValidationError`` is unusable (its
  ``ValidationError`` is another model of the same name, from the namespaces API).
* answers made by ``/_emulator/faults`` (the record's ``fault``: the middleware sets it
  when a fault with a status answered) are exempt: tests plant odd answers on purpose.

Each test's exchanges are checked when it ends: a mismatch fails its teardown, naming the
call and the field. Exchanges that finish between tests are checked at the end of the run
(with xdist each worker sends its findings to the controller), which then fails.

Only the model modules needed are loaded (``import mixpeek`` loads 1,352 models, ~6-9 s):
``mixpeek`` and ``mixpeek.models`` are put in ``sys.modules`` as bare packages first, so
their ``__init__`` files never run. About 0.25 s per process, on first use.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import re
import sys
import threading
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

import pytest

from mixpeek_cli.emulator.state import EXCHANGE_OBSERVERS

SDK_VERSION = "1.3.783"
_ID = r"[^/]+"
_APP = rf"/v1/apps/{_ID}"


@dataclass(frozen=True)
class Operation:
    method: str
    pattern: str  # the path, a regular expression matched in full
    request: str | None  # the request model's module (None: the call takes no body)
    response: str | None  # the answer's model's module (None: not JSON, e.g. SSE; UNTYPED)
    items: tuple[str, str] | None = None  # (key, model module) of an untyped list's items


# An answer the SDK types ``object``: any JSON object (no model to check it against).
UNTYPED = "object"

# The calls the emulator serves and those later issues add (checked when they appear).
OPERATIONS = (
    Operation("POST", rf"{_APP}/deploy/upload-url", "upload_url_request", "upload_url_response"),
    Operation(
        "POST", rf"{_APP}/deploy/verify-upload", "verify_upload_request", "verify_upload_response"
    ),
    Operation("POST", rf"{_APP}/deploy", "deploy_request", "deploy_response"),
    Operation("GET", rf"{_APP}/deploys/{_ID}", None, "deploy_status_response"),
    Operation("GET", rf"{_APP}/deploys/{_ID}/logs/stream", None, None),
    Operation("GET", r"/v1/apps", None, "list_apps_response"),
    Operation("POST", r"/v1/apps", "create_app_request", "app_response"),
    Operation("GET", _APP, None, "app_response"),
    Operation("PATCH", _APP, "update_app_request", "app_response"),
    Operation("DELETE", _APP, None, "generic_delete_response"),
    Operation(
        "GET",
        rf"{_APP}/versions",
        None,
        "version_list_response",
        ("versions", "version_record"),
    ),
    Operation("GET", rf"{_APP}/versions/{_ID}", None, "version_detail_response"),
    Operation("GET", rf"{_APP}/versions/{_ID}/diff/{_ID}", None, "version_diff_response"),
    Operation("GET", rf"{_APP}/versions/{_ID}/download", None, "download_url_response"),
    Operation(
        "POST",
        rf"{_APP}/versions/{_ID}/restore",
        "restore_version_request",
        "restore_version_response",
    ),
    Operation("POST", rf"{_APP}/promote", None, "promote_response"),
    Operation("GET", rf"{_APP}/logs", None, "app_logs_response"),
    Operation("GET", rf"{_APP}/domains", None, "list_domains_response"),
    Operation("POST", rf"{_APP}/domains", "add_domain_request", "domain_response"),
    Operation("POST", rf"{_APP}/domains/{_ID}/verify", None, "domain_response"),
    Operation("DELETE", rf"{_APP}/domains/{_ID}", None, "generic_delete_response"),
    Operation("POST", rf"{_APP}/connect-repo", "connect_repo_request", UNTYPED),
    Operation("DELETE", rf"{_APP}/connect-repo", None, UNTYPED),
    Operation("GET", rf"{_APP}/github/install-url", None, UNTYPED),
    Operation("GET", rf"{_APP}/users", None, "list_users_response"),
    Operation("POST", rf"{_APP}/users/invite", "invite_user_request", "app_invitation_response"),
    Operation("GET", rf"{_APP}/users/invitations", None, "list_invitations_response"),
    Operation("DELETE", rf"{_APP}/users/invitations/{_ID}", None, "generic_delete_response"),
    Operation("DELETE", rf"{_APP}/users/{_ID}", None, "generic_delete_response"),
    Operation("PATCH", rf"{_APP}/users/{_ID}/role", "update_role_request", "app_user_response"),
    Operation("GET", rf"{_APP}/error-rate", None, "error_rate_response"),
    Operation("GET", rf"{_APP}/analytics", None, "app_analytics_response"),
)


def operation(method: str, path: str) -> Operation | None:
    for op in OPERATIONS:
        if op.method == method.upper() and re.fullmatch(op.pattern, path):
            return op
    return None


# -- the SDK's models -----------------------------------------------------------------------


@cache
def _models_package() -> str:
    """Make ``mixpeek.models.<module>`` importable without running the packages' __init__."""
    spec = importlib.util.find_spec("mixpeek")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"the SDK oracle needs mixpeek=={SDK_VERSION} (the dev extra)")
    from importlib.metadata import version

    if version("mixpeek") != SDK_VERSION:
        raise RuntimeError(f"the SDK oracle is pinned to mixpeek=={SDK_VERSION}")
    root = spec.submodule_search_locations[0]
    if "mixpeek" not in sys.modules:
        for name, path in (("mixpeek", root), ("mixpeek.models", f"{root}/models")):
            package = types.ModuleType(name)
            package.__path__ = [path]
            sys.modules[name] = package
    return "mixpeek.models"


@cache
def model(module: str) -> type[Any]:
    """The SDK's model class defined in ``mixpeek/models/<module>.py``."""
    loaded = importlib.import_module(f"{_models_package()}.{module}")
    wanted = module.replace("_", "")
    [cls] = [
        value
        for name, value in vars(loaded).items()
        if name.lower() == wanted and isinstance(value, type)
    ]
    return cls


def declared(cls: type[Any]) -> list[str]:
    """The JSON keys a model declares (the generator's ``__properties``)."""
    keys: list[str] = getattr(cls, f"_{cls.__name__}__properties")
    return keys


def _models_in(annotation: Any) -> Iterator[tuple[str, type[Any]]]:
    """The SDK models an annotation holds, with how: "" itself, "[]" list items, "{}" map
    values."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Union or isinstance(annotation, types.UnionType):
        for arg in args:
            yield from _models_in(arg)
    elif origin is list and args:
        for how, cls in _models_in(args[0]):
            yield ("[]" + how, cls)
    elif origin is dict and len(args) == 2:
        for how, cls in _models_in(args[1]):
            yield ("{}" + how, cls)
    elif isinstance(annotation, type) and hasattr(annotation, "from_dict"):
        yield ("", annotation)


def undeclared_keys(cls: type[Any], data: Any, where: str) -> list[str]:
    """Every key of ``data`` (and of its nested objects) that the model does not declare."""
    if not isinstance(data, dict):
        return []
    names = declared(cls)
    found = [
        f"{where}.{key}: not declared by {cls.__name__} (declared: {', '.join(names)})"
        for key in data
        if key not in names
    ]
    for name, field in cls.model_fields.items():
        key = field.alias or name
        if key in data:
            for how, inner in _models_in(field.annotation):
                found += _nested(inner, how, data[key], f"{where}.{key}")
    return found


def _nested(cls: type[Any], how: str, value: Any, where: str) -> list[str]:
    if how == "":
        return undeclared_keys(cls, value, where)
    if how.startswith("[]") and isinstance(value, list):
        return [
            p for i, item in enumerate(value) for p in _nested(cls, how[2:], item, f"{where}[{i}]")
        ]
    if how.startswith("{}") and isinstance(value, dict):
        return [p for k, item in value.items() for p in _nested(cls, how[2:], item, f"{where}.{k}")]
    return []


def conforms(cls: type[Any], data: Any, where: str) -> list[str]:
    """What is wrong with ``data`` as the model's JSON: undeclared keys, then what its
    ``from_dict`` refuses (one finding per field)."""
    if not isinstance(data, dict):
        return [f"{where}: {cls.__name__} is an object, got {type(data).__name__}"]
    from pydantic import ValidationError

    found = undeclared_keys(cls, data, where)
    try:
        # model_validate names a nested field by its whole path (a nested from_dict raises
        # with the inner model's path); from_dict, the SDK's own reading, must pass too.
        cls.model_validate(data)
        cls.from_dict(data)
    except ValidationError as exc:
        for error in exc.errors():
            field = ".".join(str(part) for part in error["loc"])
            shown = json.dumps(error.get("input"), default=str)[:80]
            found.append(f"{where}.{field}: {error['msg']} ({cls.__name__}; got {shown})")
    return found


# -- one exchange ---------------------------------------------------------------------------


def _fastapi_detail(body: Any) -> list[str]:
    """FastAPI's own error body: ``{"detail": "Not Found"}`` or the 422 validation list."""
    detail = body.get("detail") if isinstance(body, dict) else None
    if set(body) != {"detail"}:
        return [f"answer: FastAPI's error body has only 'detail', got {sorted(body)}"]
    if isinstance(detail, str):
        return []
    if not isinstance(detail, list):
        return ["answer.detail: a string or a list of validation errors"]
    found = []
    for i, item in enumerate(detail):
        ok = (
            isinstance(item, dict)
            and isinstance(item.get("loc"), list)
            and isinstance(item.get("msg"), str)
            and isinstance(item.get("type"), str)
            and set(item) <= {"type", "loc", "msg", "input", "ctx", "url"}
        )
        if not ok:
            found.append(f"answer.detail[{i}]: not a validation error {{type, loc, msg}}: {item}")
    return found


def _refused_as_invalid(exchange: dict[str, Any]) -> bool:
    body = exchange.get("response")
    return exchange.get("status") == 422 and isinstance(body, dict) and "detail" in body


def check(exchange: dict[str, Any]) -> list[str]:
    """What the SDK's models find wrong in one recorded exchange, each finding naming the
    call (method, path, status) and the field."""
    method, path = exchange["method"], exchange["path"]
    status = exchange.get("status")
    call = f"{method} {path} -> {status}"
    op = operation(method, path)
    found: list[str] = []
    sent = exchange.get("json")
    answered = isinstance(status, int) and status < 400
    if op is None and answered:
        found.append("no operation of the SDK is known for this call (tests/sdk_oracle.py)")
    elif op is not None and not _refused_as_invalid(exchange) and (sent or exchange.get("body")):
        if op.request is None:
            found.append(f"request: a body, but the operation takes none: {exchange['body'][:80]}")
        elif sent is None:
            found.append(f"request: the body is not JSON: {exchange['body'][:80]!r}")
        else:
            found += conforms(model(op.request), sent, "request")
    answer = exchange.get("response")
    if answer is None or exchange.get("fault"):
        pass
    elif answered:
        if op is not None and op.response is None:
            found.append("answer: JSON where the operation answers none")
        elif op is not None and op.response == UNTYPED:
            if not isinstance(answer, dict):
                found.append(f"answer: the SDK's `object`, got {type(answer).__name__}")
        elif op is not None and op.response is not None:
            found += conforms(model(op.response), answer, "answer")
            if op.items is not None and isinstance(answer, dict):
                key, items = op.items
                for i, item in enumerate(answer.get(key) or []):
                    found += conforms(model(items), item, f"answer.{key}[{i}]")
    elif isinstance(answer, dict) and "detail" in answer:
        found += _fastapi_detail(answer)
    else:
        found += conforms(model("error_response"), answer, "answer")
    return [f"{call}: {finding}" for finding in found]


# -- the plugin -----------------------------------------------------------------------------


class Oracle:
    """Collects the exchanges emulators in this process finish, and checks them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: list[dict[str, Any]] = []
        self.exchanges_checked = 0
        self.between_tests: list[str] = []

    def observe(self, exchange: dict[str, Any]) -> None:
        with self._lock:
            self._pending.append(exchange)

    def take(self) -> list[dict[str, Any]]:
        """The exchanges finished since the last take."""
        with self._lock:
            taken, self._pending = self._pending, []
        return taken

    def check_taken(self) -> list[str]:
        taken = self.take()
        self.exchanges_checked += len(taken)
        return [finding for exchange in taken for finding in check(exchange)]


_ORACLE_KEY = pytest.StashKey[Oracle]()
_WORKER_FINDINGS = "sdk_oracle_findings"


def pytest_configure(config: pytest.Config) -> None:
    oracle = Oracle()
    config.stash[_ORACLE_KEY] = oracle
    EXCHANGE_OBSERVERS.append(oracle.observe)


def pytest_unconfigure(config: pytest.Config) -> None:
    oracle = config.stash.get(_ORACLE_KEY, None)
    if oracle is not None and oracle.observe in EXCHANGE_OBSERVERS:
        EXCHANGE_OBSERVERS.remove(oracle.observe)


@pytest.fixture
def sdk_oracle(request: pytest.FixtureRequest) -> Oracle:
    """This process's oracle: a test that plants a bad exchange takes it away itself."""
    return request.config.stash[_ORACLE_KEY]


@pytest.fixture(autouse=True)
def _sdk_oracle_checks_each_test(sdk_oracle: Oracle) -> Iterator[None]:
    # What finished before this test (an emulator's start, a straggler) is the run's.
    sdk_oracle.between_tests += sdk_oracle.check_taken()
    yield
    findings = sdk_oracle.check_taken()
    if findings:
        pytest.fail(
            "the SDK's models (mixpeek==" + SDK_VERSION + ") refuse:\n  " + "\n  ".join(findings),
            pytrace=False,
        )


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    oracle = config.stash.get(_ORACLE_KEY, None)
    if oracle is None:
        return
    findings = oracle.between_tests + oracle.check_taken()
    workeroutput = getattr(config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: the controller reports
        workeroutput[_WORKER_FINDINGS] = findings
        return
    findings += config.stash.get(_FROM_WORKERS, [])
    if findings:
        config.stash[_REPORT] = findings
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


_FROM_WORKERS = pytest.StashKey[list[str]]()
_REPORT = pytest.StashKey[list[str]]()


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    output = getattr(node, "workeroutput", None) or {}
    findings = output.get(_WORKER_FINDINGS) or []
    if findings:
        stash = node.config.stash
        stash[_FROM_WORKERS] = [*stash.get(_FROM_WORKERS, []), *findings]


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    findings = config.stash.get(_REPORT, [])
    if findings:
        terminalreporter.section("SDK oracle: exchanges outside any test", red=True)
        for finding in findings:
            terminalreporter.line(finding)
