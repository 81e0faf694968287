"""Long commands are never silent: plain progress lines on stderr for logs, pipes and --json."""

from __future__ import annotations

import pytest

from core.cli_support import ProgressBars
from core.jobs import Progress, ProgressThrottle


def test_plain_lines_are_throttled_per_stage(capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [100.0]
    monkeypatch.setattr("core.jobs.time.monotonic", lambda: clock[0])
    bars = ProgressBars(unit="step", units={"prepare": "photo"}, plain=True)
    bars(Progress("prepare", 0, 10, "0 faces"))
    bars(Progress("prepare", 3, 10, "2 faces"))  # too soon: no line
    clock[0] += 31
    bars(Progress("prepare", 5, 10, "4 faces"))
    bars(Progress("prepare", 10, 10, "9 faces"))  # the end of a stage always shows
    bars(Progress("train", 1, 50))
    bars(Progress("done", 0, 0))
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == ["prepare: 0/10 photo (0 faces)", "prepare: 5/10 photo (4 faces)",
                                "prepare: 10/10 photo (9 faces)", "train: 1/50 step"]


def test_disabled_bars_print_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    ProgressBars(enabled=False, plain=True)(Progress("train", 1, 2))
    assert capsys.readouterr() == ("", "")


def test_one_throttle_for_every_progress_view(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [0.0]
    monkeypatch.setattr("core.jobs.time.monotonic", lambda: clock[0])
    throttle = ProgressThrottle(1.0)
    shown = [throttle.admit(Progress("scan", n, 5)) for n in range(3)]  # all at t=0
    clock[0] = 1.5
    shown.append(throttle.admit(Progress("scan", 3, 5)))  # the interval has passed
    shown.append(throttle.admit(Progress("faces", 0, 2)))  # a new stage, at once
    shown.append(throttle.admit(Progress("faces", 1, 2)))  # too soon
    shown.append(throttle.admit(Progress("faces", 2, 2)))  # the stage's end, always
    assert shown == [True, False, False, True, True, False, True]
