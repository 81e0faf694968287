"""Long commands are never silent: plain progress lines on stderr for logs, pipes and --json."""

from __future__ import annotations

import pytest

from core.cli_support import ProgressBars
from core.jobs import Progress


def test_plain_lines_are_throttled_per_stage(capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [100.0]
    monkeypatch.setattr("core.cli_support.time.monotonic", lambda: clock[0])
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
