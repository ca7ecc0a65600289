"""`mixpeek apps show [APP]`: one app at a glance (registered by commands/apps.py).

Its URL, what each environment serves (history/live.py), its domains, repo, auth mode and
monitoring, and how many env vars and secrets it has (never their values). Everything in
it is the service's text: shown through :func:`~mixpeek_cli.printable.printable`.
"""

from __future__ import annotations

from typing import Any

from mixpeek_cli.commands.app_admin import Target, app_and_client
from mixpeek_cli.commands.layer import Run, command
from mixpeek_cli.printable import printable

_MONITORS = (
    ("error_boundary_enabled", "error boundary"),
    ("sentry_enabled", "sentry"),
    ("posthog_enabled", "posthog"),
    ("auto_fix_enabled", "auto-fix"),
)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _domains(raw: Any) -> list[dict[str, Any]]:
    if not isinstance(raw, list):
        return []
    return [
        {
            "domain": item["domain"],
            "status": _text(item.get("status")),
            "is_primary": item.get("is_primary") is True,
        }
        for item in raw
        if isinstance(item, dict) and _text(item.get("domain"))
    ]


def _monitoring(config: Any) -> str:
    if not isinstance(config, dict):
        return "the service's defaults"
    if config.get("enabled") is False:
        return "off"
    on = [name for key, name in _MONITORS if config.get(key) is not False]
    return "on: " + ", ".join(on) if on else "on"


def _live(version: int | None, known: bool) -> str:
    if version:
        return f"version {version}"
    return "nothing" if known else "unknown"


def _render(run: Run, shown: dict[str, Any]) -> str:
    live = shown["live"]
    repo = shown["repo"]
    domains = [
        f"{d['domain']} ({d['status'] or 'status unknown'}{', primary' if d['is_primary'] else ''})"
        for d in shown["domains"]
    ]
    rows = [
        ("app", f"{shown['app_id']} ({shown['slug'] or 'no slug'})"),
        ("title", shown["title"] or "-"),
        ("url", shown["url"] or "-"),
        ("active", "yes" if shown["is_active"] is not False else "no (taken down)"),
        ("production", _live(live["production"], "production" in shown["live_known"])),
        ("staging", _live(live["staging"], "staging" in shown["live_known"])),
        ("domains", ", ".join(domains) or "none"),
        ("repo", f"{repo['url']} ({repo['branch'] or 'default branch'})" if repo else "none"),
        ("auth", shown["auth_mode"]),
        ("monitoring", _monitoring(shown["monitoring"])),
        ("env vars", str(shown["env_vars"])),
        ("secrets", str(shown["secrets"])),
    ]
    return "\n".join(printable(f"{name:<12}{' '.join(value.split())}") for name, value in rows)


@command(remote=True, app=True, render=_render)
def show(run: Run, target: Target = None) -> dict[str, Any]:
    """Show one app: its URL, what each environment serves, domains, repo, auth mode,
    monitoring, and how many env vars and secrets it has (never their values)."""
    from mixpeek_cli.history.live import ENVIRONMENTS, find_live
    from mixpeek_cli.service.build_config import env_vars_of, secret_names_of
    from mixpeek_cli.service.urls import app_site_url

    app_id, client = app_and_client(run, target)
    with client as api:
        app = api.get_app(app_id)
        live = find_live(api, app_id, api.list_versions(app_id), app=app)
    extra = app.extra
    auth = extra.get("auth_config")
    repo_url = _text(extra.get("repo_url"))
    base = run.settings.base_url
    return {
        "app_id": app_id,
        "slug": app.slug,
        "title": app.title,
        "url": app_site_url(base, app.slug, app.url, "production"),
        "staging_url": app_site_url(base, app.slug, None, "staging"),
        "is_active": extra.get("is_active") if isinstance(extra.get("is_active"), bool) else None,
        "live": {env: live.version(env) for env in ENVIRONMENTS},
        "live_known": [env for env in ENVIRONMENTS if live.known(env)],
        "domains": _domains(extra.get("custom_domains")),
        "repo": {"url": repo_url, "branch": _text(extra.get("repo_branch"))} if repo_url else None,
        "auth_mode": (_text(auth.get("mode")) if isinstance(auth, dict) else None) or "public",
        "monitoring": extra.get("monitoring_config")
        if isinstance(extra.get("monitoring_config"), dict)
        else None,
        "env_vars": len(env_vars_of(app)),
        "secrets": len(secret_names_of(app)),
    }
