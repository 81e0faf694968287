"""The embedded face backend: offline, pip-installed, the default when no insightface pack is.

Detection is RetinaFace-MobileNet0.25 in passes, merged by NMS with weighted voting:

- main pass: the photo scaled to at most `max_side`; finds faces from ~24 px there;
- coarse pass, only when the main pass finds nothing, or a face past ~400 px, in a
  big image: half scale, for faces larger than the network's anchors (close-ups);
- tiny pass, for faces down to `min_face_px`: the network on an upscaled copy (3x
  for 8 px), but not of the whole photo. Tiny faces come in crowds of similar size,
  and the main pass sees the larger of them, or at least low-scoring candidates;
  the pass covers the region around those "seeds". Photos small enough that the
  upscaled copy is cheap get it everywhere. With `thorough=True` (restoring one
  photo, where seconds do not matter) it covers the whole photo and adds
  libfacedetection at 2x.

Why RetinaFace for tiny faces (fixture faces shrunk to 8-24 px, 62 faces): at 3x it
finds 95% at 8 px and 98% from 12 px, and its landmarks err about half as much as
libfacedetection's at 2x (84% at 8 px, 98% from 10 px); on this CPU it costs ~90 ms
per megapixel against ~200 ms, and it releases the GIL while libfacedetection
does not. libfacedetection adds ~1-2 points of recall at 8 px, hence the thorough
mode. Cost of the heuristic (bench/eval_embedded.py): ~80 ms per ordinary 1 MP
photo; on 1 MP scans holding a group with 8-16 px faces it finds 78-95% of them
in 0.2-0.4 s, where the whole photo at 3x would find 86-97% in 1.0-1.4 s.

Embedding is dlib's ResNet on a 150 px chip cut by our own alignment
(core.faces.dlib_embedder), or with `recognizer="mobileface-v1"` (settings
`faces.recognizer`) the bundled MobileFace on the 112 px ArcFace crop
(core.faces.mobileface_embedder): ~60x faster per face, less accurate, so dlib stays
the default. Threads: one shared ONNX session, one intra-op thread
per call, so that the indexer's two workers run two calls side by side on two
cores; dlib keeps the GIL (see dlib_embedder), so one worker embeds while the
other detects.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from core.faces import retinaface, yuface_detector
from core.faces.child_calls import ChildCalls
from core.faces.detections import Detections, concat, merge
from core.faces.dlib_embedder import EMBEDDING_DIM, DlibEmbedder, DlibRecognizer
from core.faces.types import DLIB_ID, EMBEDDED_RECOGNIZERS, MOBILEFACE_ID, DetectedFace, RGBImage

if TYPE_CHECKING:
    from core.faces.mobileface_embedder import MobileFaceEmbedder

# The smallest face RetinaFace finds reliably at a given input scale (95% at 24 px),
# and the size from which its landmarks are as good as they get.
_RELIABLE_PX = 24.0
_SHARP_PX = 32.0
# Main-pass detections at least this confident and this small (in its input) are
# evidence of tiny faces nearby; 0.05 fires on 1 in 7 ordinary photos, where the
# region it opens is small and cheap.
_SEED_SCORE = 0.05
_SEED_MAX_PX = 32.0
# Tiny faces come in crowds of similar size (an old group photo). A tiny candidate
# more than this many times smaller than the photo's largest face is almost always
# texture (beads, a print, a poster) or a face too small to matter next to it.
_CROWD_RATIO = 4.0
# Scores needed: `threshold` for faces the network saw at 24 px or less, rising to
# _CLEAR_SCORE at 64 px. Seen large, real faces score 0.95-1.0 while magnified
# textures (a record, a chandelier, a flower) score 0.5-0.8; seen small, real faces
# score lower, so a single threshold either drops them or keeps the textures.
_CLEAR_SCORE = 0.8
# Past this size (in the network's input) boxes shrink and split: the largest anchor
# is 512 px. A face seen this large is looked at again at half the scale.
_BIG_PX = 400.0
# libfacedetection's landmarks are coarser (integer pixels, NME ~1.7x RetinaFace's).
_YUFACE_TRUST = 0.3


def _trust(dets: Detections, scale: float) -> Detections:
    """Trust grows with the size the network saw the face at, up to _SHARP_PX, and falls
    again past its biggest anchors, where boxes come out too small."""
    seen = dets.sizes * scale
    small = np.clip(seen / _SHARP_PX, 0.1, 1.0) ** 2
    large = np.clip(_BIG_PX / np.maximum(seen, 1e-6), 0.05, 1.0) ** 2
    return dets.with_trust(small * large)


def _label(name: str, scale: float) -> str:
    return f"{name}@{scale:.2g}"


class EmbeddedBackend:
    """RetinaFace (+ libfacedetection) detection and dlib ResNet 128-d (or MobileFace
    256-d) embeddings."""

    name = "embedded"
    model_id = DLIB_ID  # the default recognizer's; an instance may use another
    embedding_dim = EMBEDDING_DIM

    def __init__(
        self,
        *,
        min_face_px: float = 8.0,
        max_side: int = 1280,
        tiny_faces: bool = True,
        threshold: float = 0.6,
        tiny_max_pixels: int = 6_000_000,
        tiny_free_pixels: int = 1_000_000,
        thorough_max_pixels: int = 24_000_000,
        threads: int = 1,
        device: str = "cpu",
        child_process: bool = False,
        recognizer: str = DLIB_ID,
    ) -> None:
        """Build the backend (models load on first use).

        min_face_px: smallest face looked for; sets the tiny pass's upscale
          (24 / min_face_px, at most 3x).
        max_side: the main pass sees the photo scaled down to this longest side; faces
          under ~24 px at that scale are left to the tiny pass.
        tiny_faces: allow the tiny pass at all (settings.faces.tiny_faces).
        threshold: detector score needed by faces the network saw small; faces it saw
          at 64 px or more need max(threshold, 0.8).
        tiny_max_pixels: cap on the upscaled region, which bounds one tiny pass to
          about half a second on one core.
        tiny_free_pixels: photos that are this small once upscaled get the tiny pass
          everywhere, seeds or not (it costs less than 0.1 s).
        thorough_max_pixels: the same cap for `detect(..., thorough=True)` (about 2 s).
        threads: ONNX intra-op threads per call. 1 suits the indexer (one worker per
          core, so calls run side by side); give 2+ to a lone caller.
        device: ONNX device; CPU by default because the dlib half of this backend runs
          on the CPU anyway and the detector's input shape changes with every photo.
        child_process: run the extensions that keep the GIL (dlib's network, yuface) in a
          child process, so this process's other threads run meanwhile (for the desktop
          app; see core.faces.child_calls).
        recognizer: the embedding model id, one of core.faces.types.EMBEDDED_RECOGNIZERS.
        """
        if min_face_px <= 0 or max_side < 64:
            raise ValueError("min_face_px must be positive and max_side at least 64")
        if recognizer not in EMBEDDED_RECOGNIZERS:
            raise ValueError(f"unknown recognizer {recognizer!r}; the embedded backend has "
                             f"{', '.join(EMBEDDED_RECOGNIZERS)}")
        self.min_face_px = float(min_face_px)
        self.max_side = int(max_side)
        self.tiny_faces = tiny_faces
        self.threshold = float(threshold)
        self.tiny_max_pixels = int(tiny_max_pixels)
        self.tiny_free_pixels = int(tiny_free_pixels)
        self.thorough_max_pixels = int(thorough_max_pixels)
        self.retina = retinaface.RetinaFaceModel(device=device, threads=threads)
        self.child = ChildCalls() if child_process else None
        self.yuface = yuface_detector.YuFaceModel(child=self.child)
        self.embedder: DlibEmbedder | MobileFaceEmbedder
        if recognizer == MOBILEFACE_ID:  # torch releases the GIL: no child process needed
            from core.faces.mobileface_embedder import MobileFaceEmbedder  # heavy: torch

            self.embedder = MobileFaceEmbedder()
            self.embedding_dim = MobileFaceEmbedder.embedding_dim
        else:
            self.embedder = DlibEmbedder(DlibRecognizer(child=self.child))
        self.model_id = recognizer

    def close(self) -> None:
        """End the child process, if there is one (it restarts if the backend is used again)."""
        if self.child is not None:
            self.child.close()

    # -- detection ----------------------------------------------------------------

    def _retina(self, image: RGBImage, scale: float, threshold: float) -> Detections:
        dets = retinaface.detect(
            self.retina.get(), image, scale=scale, threshold=threshold,
            source=_label("retina", scale),
        )
        return _trust(dets, scale)

    def _confident(self, dets: Detections, scale: float) -> Detections:
        """The detections whose score clears the bar for the size the network saw them at."""
        seen = dets.sizes * scale
        ramp = np.clip((seen - _RELIABLE_PX) / (64.0 - _RELIABLE_PX), 0.0, 1.0)
        high = max(self.threshold, _CLEAR_SCORE)
        return dets.take(dets.scores >= self.threshold + ramp * (high - self.threshold))

    def _tiny_scale(self) -> float:
        """Photo -> tiny-pass input scale: `min_face_px` faces become reliably detectable."""
        return min(3.0, _RELIABLE_PX / self.min_face_px)

    def _tiny_region(
        self, image: RGBImage, seeds: Detections, thorough: bool
    ) -> tuple[int, int, int, int] | None:
        """The photo rectangle the tiny pass covers, or None to skip it."""
        h, w = image.shape[:2]
        scale = self._tiny_scale()
        if thorough or h * w * scale * scale <= self.tiny_free_pixels:
            return 0, 0, w, h
        if len(seeds) == 0:
            return None
        biggest = float(seeds.sizes.max())
        margin = max(48.0, 4.0 * biggest)
        x0, y0 = seeds.boxes[:, :2].min(axis=0) - margin
        x1, y1 = seeds.boxes[:, 2:].max(axis=0) + margin
        return max(0, int(x0)), max(0, int(y0)), min(w, int(np.ceil(x1))), min(h, int(np.ceil(y1)))

    def _tiny_pass(
        self, image: RGBImage, region: tuple[int, int, int, int], main_scale: float,
        thorough: bool,
    ) -> list[Detections]:
        x0, y0, x1, y1 = region
        area = float((x1 - x0) * (y1 - y0))
        if area <= 0:
            return []
        budget = self.thorough_max_pixels if thorough else self.tiny_max_pixels
        scale = min(self._tiny_scale(), float(np.sqrt(budget / area)))
        if scale <= main_scale * 1.2:
            return []  # the main pass already looked at this resolution
        crop = np.ascontiguousarray(image[y0:y1, x0:x1])
        offset = np.array([x0, y0], dtype=np.float64)
        retina = self._confident(self._retina(crop, scale, self.threshold), scale)
        # The main pass is the authority on faces it can see: a large "face" that only
        # the upscaled pass finds is a texture that looks like one when magnified.
        parts = [retina.take(retina.sizes * main_scale < _SEED_MAX_PX)]
        if thorough:
            yu_scale = min(2.0, scale)
            yu = yuface_detector.detect(
                self.yuface, crop, scale=yu_scale, threshold=self.threshold,
                source=_label("yuface", yu_scale),
            )
            yu = self._confident(yu.take(yu.sizes * main_scale < _SEED_MAX_PX), yu_scale)
            yu = _trust(yu, yu_scale)
            parts.append(yu.with_trust(yu.trust * _YUFACE_TRUST))
        return [
            Detections(
                p.boxes + np.tile(offset, 2), p.scores, p.landmarks + offset, p.sources, p.trust
            )
            for p in parts
        ]

    def detect_passes(self, image: RGBImage, *, thorough: bool = False) -> Detections:
        """All faces, merged over passes, as arrays (see the module docstring for the passes)."""
        h, w = image.shape[:2]
        main_scale = min(1.0, self.max_side / max(h, w))
        seen = self._retina(image, main_scale, min(self.threshold, _SEED_SCORE))
        main = self._confident(seen, main_scale)
        parts = [main]
        biggest_seen = float(main.sizes.max()) * main_scale if len(main) else 0.0
        if (biggest_seen == 0.0 or biggest_seen > _BIG_PX) and max(h, w) * main_scale > 640:
            # Boxes past the anchors come out too small: aim the biggest at ~200 px.
            coarse = main_scale * min(0.5, 200.0 / max(biggest_seen, 1.0))
            parts.append(self._confident(self._retina(image, coarse, self.threshold), coarse))
        wants_tiny = self.tiny_faces and self.min_face_px * main_scale < _RELIABLE_PX
        if wants_tiny or thorough:
            seeds = seen.take(seen.sizes * main_scale < _SEED_MAX_PX)
            if len(main):
                seeds = seeds.take(seeds.sizes * _CROWD_RATIO >= main.sizes.max())
            region = self._tiny_region(image, seeds, thorough)
            if region is not None:
                parts.extend(self._tiny_pass(image, region, main_scale, thorough))
        merged = merge(concat(parts), iou=0.4, contained=0.8)
        return merged.take(merged.sizes >= 0.75 * self.min_face_px)

    def detect(self, image: RGBImage, *, thorough: bool = False) -> list[DetectedFace]:
        """All faces in an upright RGB image, highest score first."""
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"expected an H x W x 3 RGB image, got shape {image.shape}")
        return self.detect_passes(image, thorough=thorough).to_faces()

    # -- embedding ----------------------------------------------------------------

    def embed(self, image: RGBImage, faces: Sequence[DetectedFace]) -> NDArray[np.float32]:
        """(len(faces), embedding_dim) float32 rows of unit length."""
        return self.embedder.embed(np.asarray(image), [f.landmarks for f in faces])
