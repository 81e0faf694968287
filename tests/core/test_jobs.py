"""The job API: progress reports and cancel tokens."""

from __future__ import annotations

import threading

import pytest

from core.errors import JobCancelled
from core.jobs import CancelToken, Progress


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
