"""What a face backend is and what it returns.

A backend turns an upright RGB photo into detected faces (box, five landmarks,
score) and turns detected faces into L2-normalised embeddings. Everything above
the backend (the indexer, the face index, people, restoration) sees only these
types, so the embedded models and the insightface packs are interchangeable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

RGBImage = NDArray[np.uint8]  # H x W x 3, RGB, orientation already applied

# The embedded backend's recognizers by model id, the default first (settings
# `faces.recognizer`): dlib's ResNet, and MobileFace (core.faces.mobileface_embedder).
DLIB_ID = "dlib-resnet-v1"
MOBILEFACE_ID = "mobileface-v1"
EMBEDDED_RECOGNIZERS = (DLIB_ID, MOBILEFACE_ID)


@dataclass(frozen=True)
class DetectedFace:
    """One face found in a photo, in that photo's pixel coordinates."""

    box: tuple[float, float, float, float]  # x0, y0, x1, y1
    landmarks: NDArray[np.float64]  # (5, 2): eyes, nose, mouth corners (see core.faces.align)
    score: float  # detector confidence, 0..1
    detector: str = ""  # which detector (and scale pass) found it, for diagnostics
    extras: dict[str, float] = field(default_factory=dict, compare=False)

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]

    @property
    def size_px(self) -> float:
        """The face's size in photo pixels: the larger side of its box."""
        return max(self.width, self.height)


@runtime_checkable
class FaceBackend(Protocol):
    """A detector + embedder pair.

    `model_id` names the embedder's weights exactly (embeddings of different model
    ids are never compared); `name` is what the user picks in settings.
    """

    name: str
    model_id: str
    embedding_dim: int

    def detect(self, image: RGBImage) -> list[DetectedFace]:
        """All faces in the image, tiny ones included, sorted by score (highest first)."""
        ...

    def embed(self, image: RGBImage, faces: Sequence[DetectedFace]) -> NDArray[np.float32]:
        """(len(faces), embedding_dim) float32 rows, each of unit L2 norm."""
        ...
