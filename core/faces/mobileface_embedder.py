"""MobileFace (256-d) as the library's recognizer: five landmarks in a photo -> embeddings.

The same bundled module the restoration model takes its identity signal from
(core.faces.mobileface), fed the 112 px ArcFace crop our alignment cuts. Against dlib's
ResNet on LFW it is ~60x faster per face but less accurate, so dlib stays the default
recognizer and this one is the choice for large libraries (`faces.recognizer`); the
figures are in resources/models/mobileface/README.md.

Threads: torch releases the GIL while it runs, so the indexer's two workers embed side
by side (at ~1-2 ms per face, the detector's time dominates either way).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from core.faces import align
from core.faces.mobileface import MobileFaceModel, embed_crops
from core.faces.types import MOBILEFACE_ID

EMBEDDING_DIM = 256


class MobileFaceEmbedder:
    """Five landmarks in a photo -> unit-length 256-d float32 MobileFace embeddings."""

    model_id = MOBILEFACE_ID  # tied to the bundled weights' sha256 (core.faces.mobileface)
    embedding_dim = EMBEDDING_DIM

    def __init__(self, model: MobileFaceModel | None = None) -> None:
        self.model = model or MobileFaceModel()

    def crops(self, image: NDArray[np.uint8], landmarks: Sequence[object]) -> NDArray[np.uint8]:
        """(N, 112, 112, 3) aligned RGB ArcFace crops of these faces."""
        size = align.ARCFACE_SIZE
        if not landmarks:
            return np.zeros((0, size, size, 3), np.uint8)
        return np.stack([align.arcface_alignment(lm).crop(image) for lm in landmarks])

    def embed_crops(self, crops: NDArray[np.uint8]) -> NDArray[np.float32]:
        """(N, 256) unit rows of already aligned 112 px RGB crops."""
        if not len(crops):
            return np.zeros((0, EMBEDDING_DIM), np.float32)
        return embed_crops(self.model.get(), crops)

    def embed(self, image: NDArray[np.uint8], landmarks: Sequence[object]) -> NDArray[np.float32]:
        """(N, 256) unit rows of the faces with these landmarks."""
        return self.embed_crops(self.crops(image, landmarks))
