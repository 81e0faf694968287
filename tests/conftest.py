"""Shared test setup: every app directory points into tmp_path; Qt runs offscreen."""

from __future__ import annotations

import faulthandler
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from core.context import AppContext  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Slow tests run only when asked for (IDFSR_SLOW=1 or `-m slow`)."""
    if os.environ.get("IDFSR_SLOW") == "1" or "slow" in (config.getoption("-m") or ""):
        return
    skip = pytest.mark.skip(reason="slow: set IDFSR_SLOW=1 (make test-all) to run")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


EXIT_GRACE_S = 120  # how long the test process may take to exit once the tests are done


def pytest_unconfigure(config: pytest.Config) -> None:
    """A test run that ends must end the process: if something left behind (a thread, a
    child process, a queue) holds the exit, print every thread's stack and exit with an
    error after EXIT_GRACE_S, so the run fails with the reason instead of hanging CI."""
    faulthandler.dump_traceback_later(EXIT_GRACE_S, exit=True, file=sys.__stderr__)


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No test ever touches the real user's data folders."""
    home = tmp_path / "idfsr-home"
    monkeypatch.setenv("IDFSR_HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    return home


@pytest.fixture
def app(isolated_home: Path) -> Iterator[AppContext]:
    """An AppContext on the isolated home."""
    ctx = AppContext.open(isolated_home)
    yield ctx
    ctx.close()


@pytest.fixture
def no_bundled_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The app's bundled resources as shipped, but without the restoration model: for the
    behaviour of an installation whose model is missing. Request it before the window."""
    from core.resources import resources_root

    real = resources_root().resolve()
    resources = tmp_path / "resources-without-model"
    (resources / "models").mkdir(parents=True)
    for entry in real.iterdir():
        if entry.name != "models":
            (resources / entry.name).symlink_to(entry)
    monkeypatch.setenv("IDFSR_RESOURCES", str(resources))
    return resources
