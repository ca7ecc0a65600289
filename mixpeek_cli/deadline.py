"""The one deadline of a command run: ``--timeout`` seconds from the command's start.

Every wait is bounded by it, the network's (connect, read, write, a retry's back-off, an
upload, a download, a follow) included, so ``--timeout 10`` means the command has ended
about ten seconds after it started, whatever the server does.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Deadline:
    at: float  # on ``clock``'s scale
    seconds: float  # the --timeout it stands for, for messages
    clock: Callable[[], float] = field(default=time.monotonic, compare=False, repr=False)

    @classmethod
    def after(cls, seconds: float, clock: Callable[[], float] = time.monotonic) -> Deadline:
        return cls(clock() + seconds, seconds, clock)

    def left(self) -> float:
        """Seconds left, never negative."""
        return max(0.0, self.at - self.clock())

    @property
    def expired(self) -> bool:
        return self.clock() >= self.at

    def allows(self, wait: float) -> bool:
        """Whether waiting ``wait`` seconds still ends before the deadline."""
        return self.clock() + wait < self.at
