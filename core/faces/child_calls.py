"""A child process for the face extensions that keep the GIL while they run.

dlib's recognition network and libfacedetection (yuface) hold the GIL for their whole
call: 100-500 ms per photo during which no other thread of the process runs. In a process
with an event loop (the desktop app) that freezes the window, so there they run here
instead: the calling thread waits on a pipe, which releases the GIL. Calls keep their
order and run one at a time, as they would under the GIL anyway.

Each extension is loaded once in the child, on its first call. A child that died (killed,
out of memory) is replaced once per call; `close()` ends it, and so does this process
ending, even by a kill (the child watches for it).
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray

log = logging.getLogger(__name__)

T = TypeVar("T")

# What the child has loaded, by what it was loaded from (the child's own globals).
_loaded: dict[str, Any] = {}


def _watch_parent(parent: int) -> None:
    """In the child: exit once the process that started it is gone (killed, crashed), since
    nobody is left to ask for anything."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="idfsr-parent-watch", daemon=True).start()


def _dlib_descriptors(model_file: str, chips: list[NDArray[np.uint8]]) -> NDArray[np.float64]:
    net = _loaded.get(model_file)
    if net is None:
        import dlib

        net = _loaded[model_file] = dlib.face_recognition_model_v1(model_file)
    return np.asarray([np.asarray(v) for v in net.compute_face_descriptor(chips)])


def _yuface_detect(libs: str, bgr: NDArray[np.uint8]) -> NDArray[Any]:
    raw = _loaded.get("yuface")
    if raw is None:
        from yuface.yuface import detect

        raw = _loaded["yuface"] = detect
        for lib in sorted(Path(libs).glob("libgomp*")):  # one OpenMP thread, as in-process
            ctypes.CDLL(str(lib)).omp_set_num_threads(1)
            break
    return np.asarray(raw(bgr))


class ChildCalls:
    """Runs the extensions' calls in one child process, started on first use."""

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def _executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                    initializer=_watch_parent, initargs=(os.getpid(),))
            return self._pool

    def _call(self, fn: Callable[..., T], *args: Any) -> T:
        pool = self._executor()
        try:
            return pool.submit(fn, *args).result()
        except BrokenProcessPool:
            log.warning("the face models' process ended; starting another")
            with self._lock:
                if self._pool is pool:
                    self._pool = None
            pool.shutdown(wait=False, cancel_futures=True)
            return self._executor().submit(fn, *args).result()

    def dlib_descriptors(self, model_file: Path, chips: Sequence[NDArray[Any]]
                         ) -> NDArray[np.float64]:
        """dlib's compute_face_descriptor on these 150x150 chips: (N, 128)."""
        return self._call(_dlib_descriptors, str(model_file),
                          [np.ascontiguousarray(c) for c in chips])

    def yuface_detect(self, libs: Path, bgr: NDArray[np.uint8]) -> NDArray[Any]:
        """yuface's raw detect on a BGR image (`libs`: its bundled OpenMP folder)."""
        return self._call(_yuface_detect, str(libs), np.ascontiguousarray(bgr))

    @property
    def pid(self) -> int | None:
        """The child's process id once started (tests, diagnostics)."""
        processes = getattr(self._pool, "_processes", None) or {}
        return next(iter(processes), None)

    def close(self) -> None:
        """End the child (it is started again if called later)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
