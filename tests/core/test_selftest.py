"""The installation self-test (`idfsr-desktop --self-test`) from source.

The packaged app runs the same function; `make package-check` runs it there.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from core import selftest
from core.errors import IdfsrError
from core.idfsr.checkpoint import DEFAULT_MODEL
from core.jobs import Progress
from core.resources import bundled_models_root


def test_a_failing_stage_is_a_failed_verdict(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_args: object, **_kw: object) -> None:
        raise IdfsrError("the face models are missing")

    monkeypatch.setattr(selftest.demo, "run_demo", broken)
    report = selftest.run_self_test(tmp_path / "home")
    assert not report.ok
    assert report.checks[0].detail == "IdfsrError: the face models are missing"
    assert report.lines()[-1].startswith("self-test FAILED")


def test_stage_printer_says_each_stage_once() -> None:
    lines: list[str] = []
    progress = selftest.stage_printer(lines.append)
    for stage, done in (("indexing", 1), ("indexing", 2), ("fit", 1), ("indexing", 3)):
        progress(Progress(stage, done))
    assert lines == ["..    indexing", "..    fit"]


@pytest.mark.slow
@pytest.mark.skipif(not (bundled_models_root() / DEFAULT_MODEL).is_dir(),
                    reason="the bundled restoration model is not in resources/models")
def test_self_test_passes_from_source() -> None:
    report = selftest.run_self_test()  # its own temporary home
    assert report.ok, "\n".join(report.lines())
    assert {c.name for c in report.checks} >= {"index", "people", "workers", "fit", "restore",
                                               "output"}
