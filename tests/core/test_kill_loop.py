"""The CI-sized kill loop: `bench/kill_loop.py --quick`, one SIGKILL in each phase (index,
recluster, people edits), every check passed; the fit and restore phases in a slow test.
The long run (50+ kills) is the same script with `--kills 50` and no `--quick`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.fsutil import atomic_write_bytes, sweep_temp_files

ROOT = Path(__file__).resolve().parents[2]


def test_short_kill_loop(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "kill_loop.py"), "--kills", "3", "--quick",
         "--seed", "11", "--work", str(tmp_path / "work")],
        capture_output=True, text=True, timeout=240, check=False)
    assert proc.stdout, proc.stderr[-3000:]
    result = json.loads(proc.stdout)
    assert result["failures"] == [], result["failures"]
    assert proc.returncode == 0
    assert set(result["phases"]) == {"index", "recluster", "edits"}
    assert result["survived"] == result["kills_attempted"] == 3
    assert result["kills_mid_run"] >= 2  # a process may now and then finish before its kill


@pytest.mark.slow
def test_kill_loop_of_fitting_and_restoring(tmp_path: Path) -> None:
    # A person fitted and old photos restored (a tiny seeded model), each killed once.
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "kill_loop.py"), "--kills", "2", "--quick",
         "--phases", "fit,restore", "--seed", "5", "--work", str(tmp_path / "work")],
        capture_output=True, text=True, timeout=1200, check=False)
    assert proc.stdout, proc.stderr[-3000:]
    result = json.loads(proc.stdout)
    assert result["failures"] == [], result["failures"]
    assert proc.returncode == 0
    assert set(result["phases"]) == {"fit", "restore"}
    assert result["survived"] == result["kills_attempted"] == 2


def test_sweep_removes_only_stale_temp_files(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    atomic_write_bytes(cache / "faces" / "0000" / "1.jpg", b"whole")
    stale = cache / "faces" / "0000" / ".2.jpg.abc123.tmp"
    fresh = cache / "thumbnails" / "ab" / ".ab12.jpg.def456.tmp"
    for path in (stale, fresh):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"half a thumb")
    old = time.time() - 3600
    os.utime(stale, (old, old))
    assert sweep_temp_files(cache, older_than_s=600) == 1
    assert not stale.exists() and fresh.exists()  # a write in progress elsewhere is left
    assert (cache / "faces" / "0000" / "1.jpg").read_bytes() == b"whole"
    assert sweep_temp_files(tmp_path / "absent") == 0
