"""The GitHub repository each app deploys from, and whether the Mixpeek GitHub App is
installed for it (per app; installed unless a test says otherwise), behind their own lock.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class Connection:
    repo_url: str
    branch: str
    github_installation_id: int | None


class RepoStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._connections: dict[str, Connection] = {}
        self._not_installed: set[str] = set()

    def installed(self, app_id: str) -> bool:
        with self._lock:
            return app_id not in self._not_installed

    def set_installed(self, app_id: str, installed: bool) -> None:
        with self._lock:
            if installed:
                self._not_installed.discard(app_id)
            else:
                self._not_installed.add(app_id)

    def connect(self, app_id: str, connection: Connection) -> None:
        with self._lock:
            self._connections[app_id] = connection

    def disconnect(self, app_id: str) -> bool:
        """False when the app was connected to nothing."""
        with self._lock:
            return self._connections.pop(app_id, None) is not None

    def of_app(self, app_id: str) -> Connection | None:
        with self._lock:
            return self._connections.get(app_id)

    def forget_app(self, app_id: str) -> None:
        with self._lock:
            self._connections.pop(app_id, None)
            self._not_installed.discard(app_id)
