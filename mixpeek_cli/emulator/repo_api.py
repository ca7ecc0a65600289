"""The published repository calls: ``POST``/``DELETE /v1/apps/{id}/connect-repo`` and
``GET .../github/install-url`` (``repo_store`` keeps them).

Their answers are untyped objects [sdk]; the emulator's are documented in
docs/emulator.md. A connect while the app's GitHub App is "not installed" (the
``/_emulator`` control) is refused the way the CLI assumes the service refuses it.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from mixpeek_cli.emulator.admin_models import ConnectRepoRequest
from mixpeek_cli.emulator.errors import ApiError, not_found
from mixpeek_cli.emulator.repo_store import Connection
from mixpeek_cli.emulator.state import EmulatorState

INSTALL_URL = "https://github.com/apps/mixpeek/installations/new?state={app_id}"
NOT_INSTALLED = "github_app_not_installed"


def add_repo_routes(router: APIRouter, state: EmulatorState) -> None:
    repos = state.admin.repos

    @router.post("/apps/{app_id}/connect-repo")
    def connect_repo(app_id: str, body: ConnectRepoRequest) -> dict[str, Any]:
        if not body.repo_url.startswith("https://github.com/"):
            raise ApiError(
                400, "BadRequestError", "repo_url must be a GitHub repository URL", "bad_repo_url"
            )
        if not repos.installed(app_id):
            owner = body.repo_url.removeprefix("https://github.com/").partition("/")[0]
            raise ApiError(
                400,
                "BadRequestError",
                f"The Mixpeek GitHub App is not installed for {owner}: install it first",
                NOT_INSTALLED,
            )
        repos.connect(app_id, Connection(body.repo_url, body.branch, body.github_installation_id))
        return {
            "success": True,
            "app_id": app_id,
            "repo_url": body.repo_url,
            "repo_branch": body.branch,
        }

    @router.delete("/apps/{app_id}/connect-repo")
    def disconnect_repo(app_id: str) -> dict[str, Any]:
        if not repos.disconnect(app_id):
            raise not_found(f"Repository of app {app_id}", "repo_not_connected")
        return {"success": True, "message": f"Repository disconnected from app {app_id}"}

    @router.get("/apps/{app_id}/github/install-url")
    def install_url(app_id: str) -> dict[str, Any]:
        return {"install_url": INSTALL_URL.format(app_id=app_id)}
