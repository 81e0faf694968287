"""Benchmark: how long the desktop app's event loop stalls while it indexes a library.

Opens the real main window (offscreen), adds a folder of generated ~1 MP photos (the
library of bench_index.py) through the same path a user's "Add Folder" takes, and runs
the whole index (photos, faces with the configured backend, people) in the app's
background runner. A 10 ms timer on the UI thread records when it actually fires; a gap
longer than that is time the UI could not react. Prints JSON: the largest gap, the
99th percentile, and how long indexing took.

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/bench_gui_stall.py [--photos 2000]
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photos", type=int, default=2000)
    ap.add_argument("--no-faces", action="store_true", help="Photos only (no face pass).")
    ap.add_argument("--timeout", type=float, default=3600.0)
    args = ap.parse_args()
    # bench_index.py's library when the size matches (generated once, cached)
    library = HERE / "out" / ("index-library" if args.photos == 2000
                              else f"index-library-{args.photos}")
    make_library(library, args.photos)
    qt = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as home, AppContext.open(home) as app:
        app.settings.faces.enabled = not args.no_faces
        window = MainWindow(app)
        window.show()
        ticks: list[float] = []
        heartbeat = QTimer()
        heartbeat.setInterval(TICK_MS)
        heartbeat.timeout.connect(lambda: ticks.append(time.monotonic()))
        heartbeat.start()
        started = time.monotonic()
        window.add_folder(str(library))
        handle = window.index_task
        while handle is None or handle.running:
            qt.processEvents()
            time.sleep(0.001)
            handle = handle or window.index_task
            if time.monotonic() - started > args.timeout:
                break
        seconds = time.monotonic() - started
        heartbeat.stop()
        window.close()
        qt.processEvents()
    gaps = sorted(b - a for a, b in zip(ticks, ticks[1:], strict=False))
    print(json.dumps({
        "bench": "gui_stall", "photos": args.photos, "faces": not args.no_faces,
        "index_seconds": round(seconds, 1), "ticks": len(ticks),
        "max_stall_ms": round(1000 * gaps[-1], 1) if gaps else None,
        "p99_stall_ms": round(1000 * gaps[int(0.99 * (len(gaps) - 1))], 1) if gaps else None,
        "stalls_over_100ms": sum(g > 0.1 for g in gaps),
        "load_avg": round(os.getloadavg()[0], 2),
    }, indent=2))


if __name__ == "__main__":
    main()
