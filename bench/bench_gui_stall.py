"""Benchmark: how long the desktop app's event loop stalls while it indexes a library.

Opens the real main window (offscreen), adds a folder of generated ~1 MP photos (the
library of bench_index.py) through the same path a user's "Add Folder" takes, and runs
the whole index (photos, faces with the configured backend, people) in the app's
background runner. A 10 ms timer on the UI thread records when it actually fires; a gap
longer than that is time the UI could not react. Prints JSON: the largest gap, the
99th percentile, and how long indexing took.

`--fit` measures the other long work instead: on the demo library (indexed and named
first, outside the measurement) the window fits one person's identity with the bundled
model, then restores one of the demo's old photos, as a user's clicks would.

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/bench_gui_stall.py [--photos 2000]
    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/bench_gui_stall.py --fit [--fit-steps 100]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from bench_index import make_library  # noqa: E402
from PySide6.QtCore import QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from core.context import AppContext  # noqa: E402
from idfsr_desktop.main_window import MainWindow  # noqa: E402

TICK_MS = 10


class Heartbeat:
    """A 10 ms timer on the UI thread; the gaps between its firings are the stalls."""

    def __init__(self) -> None:
        self.ticks: list[float] = []
        self.timer = QTimer()
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(lambda: self.ticks.append(time.monotonic()))
        self.timer.start()

    def figures(self, marks: dict[str, float] | None = None) -> dict[str, object]:
        self.timer.stop()
        pairs = list(zip(self.ticks, self.ticks[1:], strict=False))
        gaps = sorted(b - a for a, b in pairs)
        where = {}
        if marks and pairs:  # which phase the longest stall fell in
            a, b = max(pairs, key=lambda ab: ab[1] - ab[0])
            phase = [name for name, at in marks.items() if at <= a]
            where = {"longest_stall_after": phase[-1] if phase else "start",
                     "longest_stall_at_s": round(a - self.ticks[0], 2)}
        return {**where,
            "ticks": len(self.ticks),
            "max_stall_ms": round(1000 * gaps[-1], 1) if gaps else None,
            "p99_stall_ms": round(1000 * gaps[int(0.99 * (len(gaps) - 1))], 1) if gaps else None,
            "stalls_over_100ms": sum(g > 0.1 for g in gaps),
        }


def spin(qt: QApplication, until: object, timeout: float) -> float:
    """Run the event loop until `until()` holds; the seconds it took."""
    started = time.monotonic()
    while not until():  # type: ignore[operator]
        qt.processEvents()
        time.sleep(0.001)
        if time.monotonic() - started > timeout:
            raise SystemExit(f"timed out after {timeout:.0f} s")
    return time.monotonic() - started


def fit_and_restore(qt: QApplication, fit_steps: int, timeout: float) -> dict[str, object]:
    """Stalls while the window fits one demo person, then restores one old demo photo."""
    from core.people.service import list_people
    from core.resources import demo_library_path
    from core.restore.options import RestoreOptions
    from core.tasks.demo import run_demo

    with tempfile.TemporaryDirectory() as home:
        with AppContext.open(home) as ctx:
            run_demo(ctx, restore=False, fit_steps=0)
        with AppContext.open(home) as app:
            window = MainWindow(app)
            window.show()
            fits = window.fits
            spin(qt, lambda: fits.model_checked and window.is_idle(), timeout)
            person = next(p for p in list_people(app) if p.name)
            beat = Heartbeat()  # from the click on: torch starts, loads, fits
            marks = {"fit": time.monotonic()}
            fits.steps = fit_steps
            fits.fit([(person.id, person.name)])
            fit_s = spin(qt, lambda: not fits.is_busy(), timeout)
            state = fits.state(person.id)
            old = sorted((demo_library_path() / "old").glob("*"))[0]
            restorer = window.restorer
            window.show_page("restore")
            marks["find faces"] = time.monotonic()
            photo = restorer.add([old])[0]
            spin(qt, lambda: photo.status not in ("waiting", "finding"), timeout)
            marks["restore"] = time.monotonic()
            restorer.run([photo], RestoreOptions())
            restore_s = spin(qt, lambda: not restorer.is_running(), timeout)
            marks["show result"] = time.monotonic()
            spin(qt, lambda: time.monotonic() - marks["show result"] > 2.0, timeout)
            figures = beat.figures(marks)
            window.close()
            qt.processEvents()
    return {"bench": "gui_stall_fit", "person": person.name, "fit_steps": fit_steps,
            "fit_status": state.status if state else None, "fit_seconds": round(fit_s, 1),
            "restore_status": photo.status, "restore_seconds": round(restore_s, 1),
            "torch_in_app_process": "torch" in sys.modules, **figures,
            "load_avg": round(os.getloadavg()[0], 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photos", type=int, default=2000)
    ap.add_argument("--no-faces", action="store_true", help="Photos only (no face pass).")
    ap.add_argument("--fit", action="store_true",
                    help="Fit a demo person and restore a demo photo instead of indexing.")
    ap.add_argument("--fit-steps", type=int, default=100)
    ap.add_argument("--timeout", type=float, default=3600.0)
    args = ap.parse_args()
    if args.fit:
        qt = QApplication.instance() or QApplication([])
        print(json.dumps(fit_and_restore(qt, args.fit_steps, args.timeout), indent=2))
        return
    # bench_index.py's library when the size matches (generated once, cached)
    library = HERE / "out" / ("index-library" if args.photos == 2000
                              else f"index-library-{args.photos}")
    make_library(library, args.photos)
    qt = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as home, AppContext.open(home) as app:
        app.settings.faces.enabled = not args.no_faces
        window = MainWindow(app)
        window.show()
        beat = Heartbeat()
        started = time.monotonic()
        window.add_folder(str(library))
        marks: dict[str, float] = {}

        def mark(report: object) -> None:
            stage = getattr(report, "stage", "?")
            marks.setdefault(stage, time.monotonic())

        handle = window.index_task
        if handle is not None:
            handle.progress.connect(mark)
        while handle is None or handle.running:
            qt.processEvents()
            time.sleep(0.001)
            if handle is None and window.index_task is not None:
                handle = window.index_task
                handle.progress.connect(mark)
            if time.monotonic() - started > args.timeout:
                break
        seconds = time.monotonic() - started
        figures = beat.figures(marks)
        window.close()
        qt.processEvents()
    print(json.dumps({
        "bench": "gui_stall", "photos": args.photos, "faces": not args.no_faces,
        "index_seconds": round(seconds, 1), **figures,
        "load_avg": round(os.getloadavg()[0], 2),
    }, indent=2))


if __name__ == "__main__":
    main()
