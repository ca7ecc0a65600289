"""What the emulator knows of each app beyond its deploys: its domains, its repository,
its team and its analytics (``EmulatorState.admin``), each store with its own lock."""

from __future__ import annotations

from dataclasses import dataclass, field

from mixpeek_cli.emulator.domain_store import DomainStore
from mixpeek_cli.emulator.health_store import HealthStore
from mixpeek_cli.emulator.repo_store import RepoStore
from mixpeek_cli.emulator.team_store import TeamStore


@dataclass(frozen=True)
class AdminState:
    domains: DomainStore = field(default_factory=DomainStore)
    repos: RepoStore = field(default_factory=RepoStore)
    team: TeamStore = field(default_factory=TeamStore)
    health: HealthStore = field(default_factory=HealthStore)

    def forget_app(self, app_id: str) -> None:
        """Drop everything of a deleted app (its domains stop resolving at once)."""
        for store in (self.domains, self.repos, self.team, self.health):
            store.forget_app(app_id)
