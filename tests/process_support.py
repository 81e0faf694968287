"""Helpers for tests of child processes."""

from __future__ import annotations

import os
import time
from pathlib import Path


def running(pid: int) -> bool:
    """Whether the process runs (an exited one nobody reaped yet, a zombie, does not)."""
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    try:  # Linux: the state follows the name in parentheses
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def gone_within(pid: int, seconds: float) -> bool:
    """Whether the process has ended within `seconds`."""
    end = time.monotonic() + seconds
    while running(pid):
        if time.monotonic() > end:
            return False
        time.sleep(0.1)
    return True
