"""What `mixpeek env`'s commands share (commands/env_vars.py, env_files.py): names,
refusing secret-looking values, reading the map, sending it whole and checking the
answer, and what is told and returned."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from mixpeek_cli.commands.layer import Run

if TYPE_CHECKING:
    from mixpeek_cli.service.client import ApiClient


def check_name(key: str) -> None:
    from mixpeek_cli.errors import UsageError
    from mixpeek_cli.service.build_config import valid_name

    if not valid_name(key):
        raise UsageError(
            f"{key!r} is not an env var name",
            hint="letters, digits and _, not starting with a digit (e.g. FEATURE_FLAG)",
        )


def refuse_secrets(changes: Mapping[str, str], force: bool) -> None:
    """Exit 2 for a value the secret scan recognises, unless --force."""
    from mixpeek_cli.bundle.secrets.scan import scan_bytes
    from mixpeek_cli.errors import UsageError
    from mixpeek_cli.service.build_config import PROXY_KEY

    if force:
        return
    for key, value in changes.items():
        if key == PROXY_KEY:
            continue  # a key by design, and never sent to the browser
        line = f"{key}={value}\n".encode("utf-8", "surrogatepass")
        found = next(iter(scan_bytes(key, line)), None)
        if found is not None:
            raise UsageError(
                f"{key}: this looks like a secret ({found.kind}): use `mixpeek secrets set {key}`",
                hint="env vars are public, in every page; pass --force if this one is meant to be",
            )


def current_env_vars(api: ApiClient, app_id: str) -> dict[str, str]:
    from mixpeek_cli.service.build_config import env_vars_of

    return env_vars_of(api.get_app(app_id))


def replace(api: ApiClient, app_id: str, new: dict[str, str], *, removed: Iterable[str]) -> None:
    """Send ``new`` as the whole map, then check the answer holds it (else exit 5)."""
    from mixpeek_cli.service.app_admin import update_app
    from mixpeek_cli.service.build_config import check_env_vars, env_vars_body

    answer = update_app(api, app_id, env_vars_body(new))
    check_env_vars(answer, new, removed)


def hidden(changes: Mapping[str, str]) -> Any:
    """The proxy key's value, when set, masked in any failure."""
    from contextlib import nullcontext

    from mixpeek_cli.commands.hidden_value import never_shown
    from mixpeek_cli.service.build_config import PROXY_KEY

    value = changes.get(PROXY_KEY)
    return never_shown(value) if value else nullcontext()


def shown_value(key: str, value: str) -> str:
    from mixpeek_cli.service.build_config import MASKED, PROXY_KEY

    return MASKED if key == PROXY_KEY else value


def told(
    run: Run,
    what: str,
    keys: list[str],
    *,
    changed: bool,
    none: str = "nothing to change: the app has these values already",
) -> None:
    if not changed:
        run.reporter.info(none)
        return
    run.reporter.info(f"{what} {', '.join(keys)} (pages show the change from their next load)")


def result(app_id: str, env_vars: Mapping[str, str], **change: list[str]) -> dict[str, Any]:
    from mixpeek_cli.service.build_config import masked_env_vars

    return {"app_id": app_id, **change, "env_vars": masked_env_vars(env_vars)}
