"""The face extensions that keep the GIL while they run, called in a child process.

dlib's recognition network and libfacedetection (yuface) hold the GIL for their whole
call: 100-500 ms per photo during which no other thread of the process runs. In a process
with an event loop (the desktop app) that freezes the window, so there they run in a
core.child_process child instead: the calling thread waits on a pipe, which releases the
GIL. Calls keep their order and run one at a time, as they would under the GIL anyway.

Each extension is loaded once in the child, on its first call. A child that died (killed,
out of memory) is replaced once per call; `close()` ends it, and so does this process
ending, even by a kill (the child watches for it).
"""

from __future__ import annotations

import ctypes
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray

from core.child_process import ChildProcess, ChildProcessEnded

log = logging.getLogger(__name__)

T = TypeVar("T")

# What the child has loaded, by what it was loaded from (the child's own globals).
_loaded: dict[str, Any] = {}


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
        self._child = ChildProcess(name="idfsr-faces")

    def _call(self, fn: Callable[..., T], *args: Any) -> T:
        try:
            return self._child.call(fn, *args)
        except ChildProcessEnded:
            log.warning("the face models' process ended; starting another")
            return self._child.call(fn, *args)

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
        return self._child.pid

    def close(self) -> None:
        """End the child (it is started again if called later)."""
        self._child.stop()
