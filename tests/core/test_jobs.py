"""The job API: progress reports and cancel tokens."""

from __future__ import annotations

import threading

import pytest

from core.errors import JobCancelled
from core.jobs import CancelToken, Progress, run_on_threads


def test_fraction() -> None:
    assert Progress("x", 5, 10).fraction == 0.5
    assert Progress("x", 5, None).fraction is None
    assert Progress("x", 12, 10).fraction == 1.0


def test_cancel_token_from_another_thread() -> None:
    token = CancelToken()
    token.raise_if_cancelled()  # not cancelled: no error
    t = threading.Thread(target=token.cancel)
    t.start()
    t.join()
    assert token.cancelled
    with pytest.raises(JobCancelled):
        token.raise_if_cancelled()


def test_run_on_threads_hands_every_result_to_the_calling_thread() -> None:
    here = threading.get_ident()
    taken: list[tuple[int, int]] = []
    run_on_threads(lambda a, b: a * b, ((n, 3) for n in range(20)),
                   lambda r: taken.append((r, threading.get_ident())),
                   workers=3, ahead=4, name="test-pool", cancel=CancelToken())
    assert sorted(r for r, _ in taken) == [n * 3 for n in range(20)]
    assert {ident for _, ident in taken} == {here}


def test_run_on_threads_stops_on_cancel_without_starting_the_rest() -> None:
    token = CancelToken()
    started: list[int] = []
    lock = threading.Lock()

    def work(n: int) -> int:
        with lock:
            started.append(n)
        return n

    def take(n: int) -> None:
        token.cancel()  # the first result stops the run

    with pytest.raises(JobCancelled):
        run_on_threads(work, ((n,) for n in range(1000)), take, workers=2, ahead=4,
                       name="test-pool", cancel=token)
    assert 1 <= len(started) <= 4  # no more than were queued when it stopped
