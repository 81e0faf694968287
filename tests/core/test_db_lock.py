"""The lock between processes that guards the database's schema upgrade and its repair."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from core.db.lock import LockTimeout, file_lock

ROOT = Path(__file__).resolve().parents[2]


def test_a_second_holder_waits_then_gives_up_with_a_plain_message(tmp_path: Path) -> None:
    lock = tmp_path / "deep" / "library.db.lock"  # the folder is made as needed
    with file_lock(lock, timeout=5, what="the library"):
        started = time.monotonic()
        with (pytest.raises(LockTimeout, match="busy with the library for over 0 s") as err,
              file_lock(lock, timeout=0.2, what="the library")):
            pass
        assert time.monotonic() - started >= 0.2
        assert str(lock) in str(err.value)
    with file_lock(lock, timeout=0.2):  # released: free again at once
        pass
    assert lock.is_file() and lock.stat().st_size == 0  # the file stays, empty


def test_two_threads_of_one_process_exclude_each_other(tmp_path: Path) -> None:
    lock = tmp_path / "x.lock"
    inside: list[int] = []
    overlaps: list[int] = []

    def work(n: int) -> None:
        for _ in range(5):
            with file_lock(lock, timeout=10):
                inside.append(n)
                if len(inside) > 1:
                    overlaps.append(n)
                time.sleep(0.005)
                inside.remove(n)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert overlaps == []


def test_a_killed_holder_leaves_no_stuck_lock(tmp_path: Path) -> None:
    lock = tmp_path / "x.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time\nfrom pathlib import Path\nfrom core.db.lock import file_lock\n"
         "with file_lock(Path(sys.argv[1]), timeout=5):\n"
         "    print('held', flush=True)\n    time.sleep(60)\n", str(lock)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(LockTimeout), file_lock(lock, timeout=0.1):
            pass
        holder.kill()  # SIGKILL: no chance to release
        holder.wait(10)
        with file_lock(lock, timeout=2):
            pass
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait(10)
