"""A face the detector missed, added by the user drawing a box around it.

It becomes a face like any other: landmarks (from the detector run on the box's
surroundings when it finds the face there, else placed by the recognizer's template
inside the box), an embedding by the library's recognizer, a quality, a thumbnail; then
the people pass sees it, so it joins the person it clearly looks like or waits with the
unassigned faces. It is marked `manual` so that a later face pass keeps it, and a
restore of the photo restores it along with the faces its detector finds.
"""

from __future__ import annotations

import logging
import os

import numpy as np
from sqlalchemy import insert, select

from core.context import AppContext
from core.db.models import Face, FaceEmbedding, Photo, PhotoStatus
from core.db.types import utcnow
from core.errors import IdfsrError
from core.faces.align import ARCFACE_SIZE, ARCFACE_TEMPLATE
from core.faces.quality import face_quality
from core.faces.scan import (
    MANUAL,
    face_thumbnail_path,
    scaled_face,
    thumbnail_jpeg,
    upright_rgb,
)
from core.faces.store import pack_vector, unpack_landmarks
from core.faces.types import DetectedFace, FaceBackend, RGBImage
from core.fsutil import atomic_write_bytes
from core.people.assign import assign_new_faces
from core.people.state import drop_empty_persons

log = logging.getLogger(__name__)

MIN_SIDE_PX = 8  # a smaller box holds no face anyone could name
SEARCH_MARGIN = 0.5  # of the box's side, around it, where the detector looks again
MATCH_IOU = 0.3  # a detection this close to the user's box is the face they meant


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - ix * iy
    return ix * iy / union if union > 0 else 0.0


def template_landmarks(box: tuple[float, float, float, float]) -> np.ndarray:
    """The five landmarks where the recognizer's template puts them in a square on the box."""
    x0, y0, x1, y1 = box
    side = max(x1 - x0, y1 - y0)
    left, top = (x0 + x1 - side) / 2, (y0 + y1 - side) / 2
    return ARCFACE_TEMPLATE / ARCFACE_SIZE * side + np.array([left, top])


def _found_in_box(backend: FaceBackend, image: RGBImage,
                  box: tuple[float, float, float, float]) -> DetectedFace | None:
    """The detector's own face inside the user's box, if it finds one when shown only there
    (a second look at a small region often finds what the whole photo hid)."""
    x0, y0, x1, y1 = box
    pad = SEARCH_MARGIN * max(x1 - x0, y1 - y0)
    h, w = image.shape[:2]
    cx0, cy0 = max(0, int(x0 - pad)), max(0, int(y0 - pad))
    cx1, cy1 = min(w, int(np.ceil(x1 + pad))), min(h, int(np.ceil(y1 + pad)))
    try:
        found = backend.detect(np.ascontiguousarray(image[cy0:cy1, cx0:cx1]))
    except IdfsrError:
        raise
    except Exception:  # a detector that dislikes small images: the template will do
        log.debug("second look at a drawn face failed", exc_info=True)
        return None
    best, best_iou = None, MATCH_IOU
    for f in found:
        moved = (f.box[0] + cx0, f.box[1] + cy0, f.box[2] + cx0, f.box[3] + cy0)
        overlap = _iou(moved, box)
        if overlap >= best_iou:
            best, best_iou = DetectedFace(moved, f.landmarks + np.array([cx0, cy0]), f.score,
                                          MANUAL, f.extras), overlap
    return best


def add_manual_face(ctx: AppContext, backend: FaceBackend, photo_id: int,
                    box: tuple[float, float, float, float]) -> int:
    """Store the face inside `box` (upright photo pixels) of a photo; returns its id."""
    with ctx.db.session() as s:
        photo = s.get(Photo, photo_id)
        if photo is None:
            raise IdfsrError(f"there is no photo {photo_id}")
        if photo.status != PhotoStatus.OK.value:
            raise IdfsrError("the photo cannot be read now, so no face can be added to it")
        path = photo.path
    image, scale = upright_rgb(path, ctx.settings.index.max_image_pixels,
                               ctx.settings.faces.max_side)
    height, width = image.shape[0] * scale, image.shape[1] * scale
    x0, y0, x1, y1 = (float(v) for v in box)
    x0, x1 = sorted((min(max(x0, 0.0), width), min(max(x1, 0.0), width)))
    y0, y1 = sorted((min(max(y0, 0.0), height), min(max(y1, 0.0), height)))
    if min(x1 - x0, y1 - y0) < MIN_SIDE_PX:
        raise IdfsrError(f"the box is too small for a face (under {MIN_SIDE_PX} pixels across)")
    # Work where the face pass works: on the photo as the backend saw it (maybe scaled down).
    small = (x0 / scale, y0 / scale, x1 / scale, y1 / scale)
    face = _found_in_box(backend, image, small) or DetectedFace(
        small, template_landmarks(small), 1.0, MANUAL)
    vector = backend.embed(image, [face])[0]
    quality = face_quality(image, face)
    thumbnail = thumbnail_jpeg(image, face.landmarks, ctx.settings.faces.thumbnail_size)
    full = scaled_face(face, scale)
    with ctx.db.session() as s:
        face_id = s.execute(insert(Face).values(
            photo_id=photo_id, x0=x0, y0=y0, x1=x1, y1=y1,
            landmarks=pack_vector(full.landmarks), det_score=float(full.score),
            quality=float(quality), size_px=float(full.size_px), detector=MANUAL,
            created_at=utcnow()).returning(Face.id)).scalar_one()
        s.execute(insert(FaceEmbedding).values(face_id=face_id, model_id=backend.model_id,
                                               vector=pack_vector(vector)))
    try:
        atomic_write_bytes(face_thumbnail_path(ctx, face_id), thumbnail, durable=False)
    except OSError as exc:  # a cache: cut again on demand
        log.warning("could not cache the thumbnail of face %s: %s", face_id, exc)
    assign_new_faces(ctx, backend.model_id)
    return face_id



def remove_manual_face(ctx: AppContext, face_id: int) -> None:
    """Take back a face the user drew (a detected face is refused: the next pass would find
    it again). A person left with no face goes with it."""
    with ctx.db.session() as s:
        face = s.get(Face, face_id)
        if face is None:
            raise IdfsrError(f"there is no face {face_id}")
        if face.detector != MANUAL:
            raise IdfsrError("only a face you drew can be removed; say who this face is "
                             "not, or ignore it, instead")
        s.delete(face)
        s.flush()
        drop_empty_persons(s)
    face_thumbnail_path(ctx, face_id).unlink(missing_ok=True)


def drawn_faces(ctx: AppContext, path: str | os.PathLike[str], width: int) -> list[DetectedFace]:
    """The faces the user drew on the library photo at `path`, in the pixels of its upright
    image `width` pixels wide (none when the photo is not in the library)."""
    wanted = os.fsdecode(os.path.abspath(os.fsencode(path)))
    with ctx.db.session() as s:
        photo = s.scalar(select(Photo).where(Photo.path == wanted))
        if photo is None:
            return []
        rows = s.scalars(select(Face).where(Face.photo_id == photo.id, Face.detector == MANUAL)
                         .order_by(Face.x0)).all()
        scale = width / photo.width if photo.width else 1.0
        return [DetectedFace((f.x0 * scale, f.y0 * scale, f.x1 * scale, f.y1 * scale),
                             unpack_landmarks(f.landmarks) * scale, f.det_score, MANUAL)
                for f in rows]


def with_drawn_faces(detected: list[DetectedFace],
                     drawn: list[DetectedFace]) -> list[DetectedFace]:
    """The detector's faces plus the drawn ones it did not find again, left to right."""
    extra = [d for d in drawn if all(_iou(d.box, f.box) < MATCH_IOU for f in detected)]
    if not extra:
        return detected
    return sorted([*detected, *extra], key=lambda f: (round(f.box[0], 1), round(f.box[1], 1)))
