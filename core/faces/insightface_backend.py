"""The insightface model-pack backend: SCRFD detection with 5 landmarks, ArcFace embeddings.

The pack's files are loaded through insightface's own model_zoo router (see
core.models.insightface_pack); alignment uses our templates (core.faces.align), so
crops, thumbnails and restoration all agree on face geometry.

Tiny faces: SCRFD sees the whole photo letterboxed into 640x640, so on a 4000 px photo
a face must be some 60 px wide to be found. When that loses faces the user asked
for (`min_face_px`), a second pass runs the detector on overlapping, enlarged tiles,
within a tile budget, and the passes are merged by core.faces.detections.merge
(NMS with score-weighted voting, shared with the embedded backend).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from core.errors import ModelCorruptError, ModelMissingError
from core.faces.align import (
    ARCFACE_SIZE,
    ARCFACE_TEMPLATE,
    Alignment,
    align_to,
    arcface_alignment,
)
from core.faces.detections import Detections, concat, merge
from core.faces.types import DetectedFace, RGBImage
from core.fsutil import sha256_file
from core.models.base import InferenceModel, verify_sha256
from core.models.insightface_pack import (
    InstalledPack,
    RoutedPack,
    embedding_dim,
    read_manifest,
    route_pack,
)

# SCRFD finds faces reliably from about this many pixels of its own input.
TILE_FACE_PX = 20.0
# The tile pass runs only if it sees faces at least this many times larger than pass one.
MIN_GAIN = 1.5
# Tiles this flat (grey-level standard deviation) hold no face: skipped.
FLAT_TILE_STD = 4.0
_EMBED_BATCH = 32


@dataclass(frozen=True)
class _Loaded:
    routed: RoutedPack
    model_id: str
    embedding_dim: int
    det_side: int  # the detector's square input side
    rec_side: int  # the recognizer's square input side
    rec_batch_one: bool  # a recognizer exported with batch size fixed to 1


class _PackModel(InferenceModel[_Loaded]):
    """One pack folder under the model contract: locate, verify, load once, unload."""

    def __init__(self, folder: Path, *, device: str, threads: int | None, det_size: int,
                 det_thresh: float, cache_dir: Path | None) -> None:
        super().__init__()
        self.folder = folder
        self.name = f"insightface/{folder.name}"
        self.device, self.threads, self.cache_dir = device, threads, cache_dir
        self.det_size, self.det_thresh = det_size, det_thresh

    def _locate(self) -> Path:
        if not self.folder.is_dir() or not any(self.folder.glob("*.onnx")):
            pack = self.folder.name
            raise ModelMissingError(
                pack, f"insightface model pack {pack!r} is not installed "
                      f"(looked in {self.folder}); run `idfsr models get {pack}`")
        return self.folder

    def _pack(self, path: Path) -> InstalledPack:
        files = tuple(sorted(p.name for p in path.glob("*.onnx")))
        return InstalledPack(path.name, path, files, read_manifest(path))

    def _verify(self, path: Path) -> None:
        pack = self._pack(path)
        for role in (pack.detection, pack.recognition):
            if not role:  # hand-installed packs have no recorded roles or checksums
                continue
            if not (path / role).is_file():
                raise ModelCorruptError(f"model pack {path.name!r} lacks {role}; reinstall it "
                                        f"with `idfsr models get {path.name} --force`")
            verify_sha256(path / role, pack.sha256(role))

    def _load(self, path: Path) -> _Loaded:
        pack = self._pack(path)
        roles = [pack.detection, pack.recognition]
        files = [r for r in roles if r] if all(roles) else None
        routed = route_pack(path, files, device=self.device, threads=self.threads,
                            cache_dir=self.cache_dir)
        det = routed.detector
        # Set once, before any thread uses it: every insightface version reads these.
        det.det_thresh = self.det_thresh
        det.nms_thresh = 0.4
        static = getattr(det, "static_input_size", None)
        det_side = int(min(static)) if static else self.det_size
        rec = routed.recognizer
        rec_file = routed.recognition_file
        digest = pack.sha256(rec_file.name) or sha256_file(rec_file)
        model_id = f"insightface-{path.name}-{rec_file.stem}-{digest[:8]}"
        batch = list(getattr(rec, "input_shape", []) or [None])[0]
        return _Loaded(routed, model_id, embedding_dim(rec), det_side,
                       int(rec.input_size[0]), batch == 1)


class InsightFaceBackend:
    """FaceBackend over an insightface pack folder (e.g. `<models>/insightface/buffalo_l`).

    The pack is loaded (and its model id computed) when the backend is built; `unload()`
    frees it and the next call loads it again. Safe to call from several threads.
    `cache_dir` keeps runtime caches (compiled CoreML models) inside the app's folders.
    """

    name = "insightface"

    def __init__(
        self,
        folder: Path,
        *,
        device: str = "auto",
        threads: int | None = None,
        det_size: int = 640,
        det_thresh: float = 0.5,
        nms_iou: float = 0.4,
        tiny_faces: bool = True,
        min_face_px: float = 8.0,
        max_tiles: int = 12,
        max_upscale: float = 2.0,
        cache_dir: Path | None = None,
    ) -> None:
        self.pack = folder.name
        self.nms_iou = nms_iou
        self.tiny_faces, self.min_face_px = tiny_faces, min_face_px
        self.max_tiles, self.max_upscale = max_tiles, max_upscale
        self._model = _PackModel(folder, device=device, threads=threads, det_size=det_size,
                                 det_thresh=det_thresh, cache_dir=cache_dir)
        loaded = self._model.get()
        self.model_id: str = loaded.model_id
        self.embedding_dim: int = loaded.embedding_dim

    def unload(self) -> None:
        """Free the pack's sessions; the next detect/embed loads them again."""
        self._model.unload()

    # ---- detection ------------------------------------------------------------------

    def detect(self, image: RGBImage) -> list[DetectedFace]:
        """All faces, the whole-photo pass merged with the tile pass, best score first."""
        loaded = self._model.get()
        det = loaded.routed.detector
        side = loaded.det_side
        bgr = np.ascontiguousarray(image[..., ::-1])
        boxes, kps = det.detect(bgr, input_size=(side, side))
        parts = [_detections(boxes, kps, "scrfd")]
        if self.tiny_faces:
            scale, tiles = plan_tiles(image.shape[0], image.shape[1], det_side=side,
                                      min_face_px=self.min_face_px, max_tiles=self.max_tiles,
                                      max_upscale=self.max_upscale)
            # Larger faces are pass one's job; from tiles they are mostly cut-off parts.
            largest = 2 * TILE_FACE_PX * max(image.shape[:2]) / side
            for tile in tiles:
                found = _detect_tile(det, bgr, tile, scale, side)
                parts.append(found.take(found.sizes <= largest))
        return merge(concat(parts), self.nms_iou).to_faces()

    # ---- embedding ------------------------------------------------------------------

    def embed(self, image: RGBImage, faces: Sequence[DetectedFace]) -> NDArray[np.float32]:
        """One unit-norm float32 row per face, from its 5-landmark ArcFace crop."""
        loaded = self._model.get()
        if not faces:
            return np.zeros((0, self.embedding_dim), np.float32)
        rec = loaded.routed.recognizer
        # The recognizer reads BGR (it swaps channels itself), like insightface's own crops.
        side = loaded.rec_side
        crops = [np.ascontiguousarray(_alignment(f.landmarks, side).crop(image)[..., ::-1])
                 for f in faces]
        step = 1 if loaded.rec_batch_one else _EMBED_BATCH
        feats = np.concatenate([np.asarray(rec.get_feat(crops[i:i + step]), np.float32)
                                for i in range(0, len(crops), step)])
        norms = np.linalg.norm(feats, axis=1, keepdims=True)
        return (feats / np.maximum(norms, 1e-12)).astype(np.float32)


def _alignment(landmarks: NDArray[np.float64], side: int) -> Alignment:
    if side == ARCFACE_SIZE:  # every pack we know
        return arcface_alignment(landmarks)
    # A recognizer with another input size gets the same template, scaled.
    return align_to(landmarks, ARCFACE_TEMPLATE * (side / ARCFACE_SIZE), side)


def _detections(boxes: Any, kps: Any, source: str, scale: float = 1.0,
                offset: tuple[float, float] = (0.0, 0.0)) -> Detections:
    """SCRFD's (N, 5) boxes+scores and (N, 5, 2) keypoints, mapped to photo coordinates."""
    if boxes is None or len(boxes) == 0 or kps is None:
        return Detections.empty()
    boxes = np.asarray(boxes, np.float64)
    shift = np.array(offset, dtype=np.float64)
    corners = boxes[:, :4].reshape(-1, 2, 2) / scale + shift
    points = np.asarray(kps, np.float64).reshape(-1, 5, 2) / scale + shift
    return Detections.build(corners.reshape(-1, 4), boxes[:, 4], points, source)


def plan_tiles(
    height: int,
    width: int,
    *,
    det_side: int,
    min_face_px: float,
    max_tiles: int,
    max_upscale: float,
) -> tuple[float, list[tuple[int, int, int, int]]]:
    """The scale and tiles (x0, y0, x1, y1) of the tiny-face pass; no tiles when it cannot pay.

    The ideal scale brings a `min_face_px` face to TILE_FACE_PX detector pixels (at most
    `max_upscale`); when that needs more than `max_tiles` tiles the scale is lowered, and
    the pass is dropped once it would see faces less than MIN_GAIN times larger than the
    whole-photo pass already does.
    """
    whole = det_side / max(height, width)
    scale = min(max_upscale, TILE_FACE_PX / max(min_face_px, 1.0))
    while scale >= whole * MIN_GAIN and max_tiles > 0:
        tiles = _grid(height, width, det_side / scale, whole)
        if len(tiles) <= max_tiles:
            return scale, tiles
        scale /= 1.15
    return scale, []


def _grid(height: int, width: int, side: float, whole: float) -> list[tuple[int, int, int, int]]:
    # Overlap: every face the whole-photo pass may miss fits whole in some tile.
    overlap = min(side / 2, max(0.15 * side, 1.5 * TILE_FACE_PX / whole))
    tile = int(side)

    def starts(length: int) -> list[int]:
        if length <= tile:
            return [0]
        n = math.ceil((length - overlap) / (tile - overlap))
        return [round(i * (length - tile) / (n - 1)) for i in range(n)]

    return [(x, y, min(x + tile, width), min(y + tile, height))
            for y in starts(height) for x in starts(width)]


def _detect_tile(det: Any, bgr: NDArray[np.uint8], tile: tuple[int, int, int, int],
                 scale: float, side: int) -> Detections:
    x0, y0, x1, y1 = tile
    region = bgr[y0:y1, x0:x1]
    if float(cv2.cvtColor(region, cv2.COLOR_BGR2GRAY).std()) < FLAT_TILE_STD:
        return Detections.empty()
    w = min(side, max(1, round((x1 - x0) * scale)))
    h = min(side, max(1, round((y1 - y0) * scale)))
    interp = cv2.INTER_CUBIC if scale > 1 else cv2.INTER_AREA
    canvas = np.zeros((side, side, 3), np.uint8)  # exact scale: pad instead of letterboxing
    canvas[:h, :w] = cv2.resize(region, (w, h), interpolation=interp)
    boxes, kps = det.detect(canvas, input_size=(side, side))
    sx, sy = w / (x1 - x0), h / (y1 - y0)
    found = _detections(boxes, kps, "scrfd-tile", (sx + sy) / 2, (x0, y0))
    # Drop faces cut by an inner tile edge: the overlapping neighbour sees them whole.
    edge = 2.0 / scale  # two detector pixels
    b = found.boxes
    cut = np.zeros(len(found), dtype=bool)
    if x0 > 0:
        cut |= b[:, 0] <= x0 + edge
    if y0 > 0:
        cut |= b[:, 1] <= y0 + edge
    if x1 < bgr.shape[1]:
        cut |= b[:, 2] >= x1 - edge
    if y1 < bgr.shape[0]:
        cut |= b[:, 3] >= y1 - edge
    return found.take(~cut)
