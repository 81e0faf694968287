"""Fixtures for the GUI tests: generated photo folders and a main window on the isolated home."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pytestqt.qtbot import QtBot
from restore_support import tiny_restoration_model
from squares_backend import SquaresBackend, squares_photo

from core.context import AppContext
from core.faces.backends import FACE_BACKEND
from core.idfsr.checkpoint import DEFAULT_MODEL
from core.tasks.demo import run_demo
from idfsr_desktop.main_window import MainWindow
from idfsr_desktop.task_runner import InlineExecutor

MakePhotos = Callable[..., Path]


@pytest.fixture(autouse=True)
def collect_earlier_widgets() -> None:
    """Collect the last test's Qt objects now, in the GUI thread: left to the cyclic GC, they
    could be destroyed from whichever thread allocates next (an indexing worker), and a QObject
    destroyed off its own thread can crash the process."""
    gc.collect()


def write_photos(folder: Path, count: int, *, size: tuple[int, int] = (96, 72),
                 fmt: str = "JPEG") -> list[Path]:
    """`count` distinct images (a shifted colour gradient each) in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    width, height = size
    x = np.linspace(0, 255, width, dtype=np.float32)[None, :]
    y = np.linspace(0, 255, height, dtype=np.float32)[:, None]
    suffix = ".jpg" if fmt == "JPEG" else f".{fmt.lower()}"
    paths = []
    for i in range(count):
        rgb = np.stack([(x + 7 * i) % 256 + 0 * y, y + 0 * x, (x + y + 13 * i) % 256], axis=-1)
        path = folder / f"photo_{i:04d}{suffix}"
        options = {"compress_level": 1} if fmt == "PNG" else {"quality": 85}
        Image.fromarray(rgb.astype(np.uint8)).save(path, fmt, **options)
        paths.append(path)
    return paths


@pytest.fixture
def make_photos(tmp_path: Path) -> MakePhotos:
    """Make a folder of generated photos under tmp_path; returns the folder."""

    def make(name: str, count: int, **options: object) -> Path:
        folder = tmp_path / name
        write_photos(folder, count, **options)  # type: ignore[arg-type]
        return folder

    return make


@pytest.fixture(scope="session")
def many_photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """300 PNGs big enough (PNG has no JPEG draft decoding) that indexing takes seconds."""
    folder = tmp_path_factory.mktemp("many") / "photos"
    write_photos(folder, 300, size=(1024, 768), fmt="PNG")
    return folder


@pytest.fixture
def tasks() -> InlineExecutor:
    """Where the window's background tasks run: in the GUI thread, on the event loop's next
    pass or at once by `tasks.drain()`, so a test waits on no thread pool."""
    return InlineExecutor()


@pytest.fixture
def window(qtbot: QtBot, app: AppContext, tasks: InlineExecutor,
           request: pytest.FixtureRequest) -> Iterator[MainWindow]:
    """A shown main window over the test's AppContext, shut down before the context closes.
    Its tasks run on `tasks`; a test marked `threaded` gets the real thread pool (for what
    needs a task to run while the test acts: cancelling it, the window staying live)."""
    threaded = request.node.get_closest_marker("threaded") is not None
    win = MainWindow(app, tasks=None if threaded else tasks)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.close()


# ---- a small library of "faces" the squares backend recognises by colour ----------------------

RED, GREEN, BLUE = (220, 40, 40), (40, 220, 40), (60, 60, 230)
SQUARE_PEOPLE = {"red": RED, "green": GREEN, "blue": BLUE}


@pytest.fixture
def squares_library(tmp_path: Path) -> Path:
    """Three "people" (red 5 faces, green 5, blue 4) in 13 photos, one of them a group."""
    folder = tmp_path / "squares"
    for i in range(4):
        for name, colour in SQUARE_PEOPLE.items():
            squares_photo(folder / f"{name}_{i}.jpg", [(20 + 5 * i, 20 + 3 * i, 72, colour)])
    squares_photo(folder / "group.jpg", [(10, 10, 72, RED), (150, 40, 72, GREEN)])
    return folder


@pytest.fixture
def people_window(qtbot: QtBot, window: MainWindow, app: AppContext,
                  squares_library: Path) -> MainWindow:
    """The window over the squares library, indexed (three people, no names yet)."""
    app.models.put(FACE_BACKEND, SquaresBackend())
    window.add_folder(str(squares_library))
    wait_until_indexed(qtbot, window)
    settle(qtbot, window, window.is_idle, timeout=20_000)
    return window


def settle(qtbot: QtBot, window: MainWindow, done: Callable[[], bool],
           timeout: int = 10_000) -> None:
    """Until `done()`: the window's pending tasks run to the end when they run inline (and
    `done()` must hold then), else waited for on the thread pool."""
    executor = window.runner.executor
    if isinstance(executor, InlineExecutor):
        executor.drain()
        assert done()
    else:
        qtbot.waitUntil(done, timeout=timeout)


def wait_until_indexed(qtbot: QtBot, window: MainWindow, timeout: int = 60_000) -> None:
    """Until the window's indexing run has ended."""
    settle(qtbot, window,
           lambda: window.index_task is not None and not window.index_task.running, timeout)



@pytest.fixture(scope="session")
def restore_demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo library indexed and its people named, with a tiny seeded restoration model as
    the default: built once for the tests of the Restore page, which each work on a copy."""
    home = tmp_path_factory.mktemp("restore-demo")
    with AppContext.open(home) as ctx:
        run_demo(ctx, restore=False)
        tiny_restoration_model(ctx.paths.models / "idfsr" / DEFAULT_MODEL)
    return home

