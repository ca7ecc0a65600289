"""The app's GitHub repository: connect, disconnect, the GitHub App's install URL, and the
repository the app says it is connected to (``repo_url``, ``repo_branch`` of AppResponse).

The answers of ``connect-repo`` and ``github/install-url`` are untyped objects [sdk]: what
the CLI reads of them is assumed (docs/api.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mixpeek_cli.errors import ApiError, MixpeekError

if TYPE_CHECKING:
    from mixpeek_cli.service.client import ApiClient

# How the service says the Mixpeek GitHub App cannot reach the repository [assumed]: the
# refusal's code, else a message naming both the GitHub App and its installation.
NOT_INSTALLED_CODE = "github_app_not_installed"
# Where the install URL may be in the untyped answer, first match wins [assumed].
_URL_KEYS = ("install_url", "installation_url", "url")


@dataclass(frozen=True, kw_only=True)
class Connection:
    repo_url: str | None
    branch: str | None


def _text(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) and value else None


def connected_repo(api: ApiClient, app_id: str) -> Connection:
    """What the app says it deploys from (both None: no repository is connected)."""
    data = api.call("GET", f"/v1/apps/{app_id}")
    return Connection(repo_url=_text(data, "repo_url"), branch=_text(data, "repo_branch"))


def connect(api: ApiClient, app_id: str, repo_url: str, branch: str) -> Connection:
    data = api.call(
        "POST",
        f"/v1/apps/{app_id}/connect-repo",
        json_body={"repo_url": repo_url, "branch": branch},
    )
    # The answer is untyped: what it says when it says it, else what was asked.
    return Connection(
        repo_url=_text(data, "repo_url") or repo_url,
        branch=_text(data, "repo_branch") or _text(data, "branch") or branch,
    )


def disconnect(api: ApiClient, app_id: str) -> None:
    api.call("DELETE", f"/v1/apps/{app_id}/connect-repo")


def install_url(api: ApiClient, app_id: str) -> str | None:
    """Where to install the Mixpeek GitHub App; None when the answer holds no https URL."""
    data = api.call("GET", f"/v1/apps/{app_id}/github/install-url")
    candidates = [data.get(key) for key in _URL_KEYS] + list(data.values())
    for value in candidates:
        if isinstance(value, str) and value.startswith("https://"):
            return value
    return None


def app_not_installed(failure: MixpeekError) -> bool:
    """Whether a refused connect-repo means the GitHub App is not installed [assumed]."""
    if isinstance(failure, ApiError) and failure.code == NOT_INSTALLED_CODE:
        return True
    status = failure.status_code if isinstance(failure, ApiError) else None
    if status is not None and (status >= 500 or status == 429):
        return False  # a failing or busy service says nothing about the installation
    text = failure.message.lower()
    return "github app" in text and "install" in text
