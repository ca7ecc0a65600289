"""How many cores this process may run on: the zip's workers and the scan's child ask."""

from __future__ import annotations

import os


def usable_cores() -> int:
    """The cores the scheduler lets this process use (``taskset``, cgroups' cpusets), else
    the machine's count where that cannot be asked (macOS, Windows)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)
