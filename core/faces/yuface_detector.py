"""libfacedetection (YuNet) from PyPI `yuface`: a second opinion on tiny faces.

The network is compiled into the package's extension; it returns integer boxes,
scores in percent and five landmarks in our order (viewer's left eye first).

Threads: the extension keeps the GIL and parallelises with its own bundled
OpenMP runtime, which on a shared 2-core machine ran ten times slower than one
thread (spinning workers). We pin that private runtime to one thread per calling
thread; the setting is per thread in OpenMP, so it is made before every call. Where the
GIL must stay free (the desktop app) the calls run in a child process instead
(`YuFaceModel(child=...)`, see core.faces.child_calls).
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from core.errors import ModelMissingError
from core.faces.child_calls import ChildCalls
from core.faces.detections import Detections
from core.models.base import InferenceModel
from core.resources import package_data_path

RawDetect = Callable[[NDArray[np.uint8]], NDArray[Any]]


class YuFaceModel(InferenceModel[tuple[RawDetect, Callable[[int], Any] | None]]):
    """The yuface extension and a handle on its private OpenMP runtime."""

    name = "libfacedetection (yuface)"

    def __init__(self, *, child: ChildCalls | None = None) -> None:
        super().__init__()
        # The extension keeps the GIL, so calls never overlap anyway; the lock says so
        # explicitly instead of relying on it.
        self.call_lock = threading.Lock()
        self.child = child

    def _locate(self) -> Path:
        folder = package_data_path("yuface")
        if folder is None:
            raise ModelMissingError(
                "yuface",
                "the tiny-face detector is missing: install it with `pip install yuface`",
            )
        return folder

    def _load(self, path: Path) -> tuple[RawDetect, Callable[[int], Any] | None]:
        if self.child is not None:
            child, libs = self.child, path.parent / "yuface.libs"
            return (lambda bgr: child.yuface_detect(libs, bgr)), None
        from yuface.yuface import detect as raw_detect  # the extension, without its wrapper

        set_threads = None
        for lib in sorted((path.parent / "yuface.libs").glob("libgomp*")):
            set_threads = ctypes.CDLL(str(lib)).omp_set_num_threads
            break
        return raw_detect, set_threads


def detect(
    model: YuFaceModel,
    image_rgb: NDArray[np.uint8],
    *,
    scale: float = 1.0,
    threshold: float = 0.5,
    source: str = "yuface",
) -> Detections:
    """Faces in an RGB image run through libfacedetection at `scale`, in the image's coordinates."""
    raw_detect, set_threads = model.get()
    h, w = image_rgb.shape[:2]
    if scale != 1.0:
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        interp = cv2.INTER_AREA if scale < 1.0 else cv2.INTER_LINEAR
        image_rgb = np.asarray(cv2.resize(image_rgb, size, interpolation=interp), np.uint8)
    bgr = np.ascontiguousarray(image_rgb[:, :, ::-1])
    with model.call_lock:
        if set_threads is not None:
            set_threads(1)
        raw = raw_detect(bgr)
    # Rows: score (percent), x, y, w, h, five (x, y) landmarks, then an internal field.
    rows = np.asarray(raw, dtype=np.float64).reshape(-1, 16)
    rows = rows[rows[:, 0] > threshold * 100.0]
    if len(rows) == 0:
        return Detections.empty()
    factor = np.array([image_rgb.shape[1] / w, image_rgb.shape[0] / h])
    corners = np.stack([rows[:, 1:3], rows[:, 1:3] + rows[:, 3:5]], axis=1)
    boxes = ((corners + 0.5) / factor - 0.5).reshape(-1, 4)
    points = (rows[:, 5:15].reshape(-1, 5, 2) + 0.5) / factor - 0.5
    return Detections.build(boxes, rows[:, 0] / 100.0, points, source)
