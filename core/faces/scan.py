"""The face pass of indexing: detect, align, embed and record every face of every photo.

Resumable: a photo records the content hash and embedding model its faces were found
with, and only photos whose content or model differ are analysed. Faces are stable
records: when a photo is analysed again (edited file, another backend), new
detections are matched to the old faces by overlap, so a face keeps its id and
everything attached to it; only faces that are no longer found are removed.
Workers analyse photos in parallel; this thread alone writes the DB, in batches.
Photos on a drive that is not there (unplugged, unmounted, a share gone) are left
pending, not recorded as failed: they are analysed when the drive is back.
"""

from __future__ import annotations

import errno
import io
import logging
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image
from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.orm import Session

from core.context import AppContext
from core.db.models import Face, FaceEmbedding, LibraryRoot, Photo, PhotoStatus
from core.db.types import utcnow
from core.errors import IdfsrError, ImageReadError, JobCancelled
from core.faces.align import NEUTRAL_GREY, canonical_alignment
from core.faces.carry import carry_decisions
from core.faces.quality import face_quality
from core.faces.store import pack_vector
from core.faces.types import DetectedFace, FaceBackend
from core.fsutil import atomic_write_bytes
from core.jobs import CancelToken, Progress, ProgressCallback, no_progress, run_on_threads
from core.library.imageio import load_image

log = logging.getLogger(__name__)

COMMIT_EVERY = 64  # photos
COMMIT_SECONDS = 2.0
MANUAL = "manual"  # the detector name of faces the user drew: a face pass keeps them
MATCH_IOU = 0.45  # a new detection this close to an old face is the same face
# Read errors that mean the file's drive went away rather than that the file is bad.
_GONE_ERRNOS = {errno.EIO, errno.ENXIO, errno.ENODEV, errno.ESTALE, errno.ENOTCONN,
                errno.EHOSTDOWN, errno.ETIMEDOUT, getattr(errno, "ENOMEDIUM", errno.ENODEV)}
# How earlier versions recorded a photo whose drive went away mid-pass (see
# core.library.imageio): such photos are analysed again rather than counted as done.
_GONE_BEFORE = ("the file was deleted while being read", "cannot read file:%")


@dataclass
class FaceScanReport:
    """What one face pass did, and where its time went (seconds summed over workers)."""

    model_id: str = ""
    photos: int = 0
    faces: int = 0
    errors: int = 0
    up_to_date: int = 0
    offline: int = 0  # photos whose drive (or file) is not there: left for when it is back
    seconds: float = 0.0
    decode_s: float = 0.0
    detect_s: float = 0.0
    embed_s: float = 0.0
    error_files: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON output."""
        return asdict(self)


@dataclass
class _Analysed:
    photo_id: int
    content_hash: str
    faces: list[DetectedFace] = field(default_factory=list)
    quality: list[float] = field(default_factory=list)
    embeddings: NDArray[np.float32] | None = None
    thumbnails: list[bytes] = field(default_factory=list)
    error: str | None = None
    offline: bool = False  # the drive went away: nothing is recorded, the photo stays pending
    path: str = ""
    decode_s: float = 0.0
    detect_s: float = 0.0
    embed_s: float = 0.0


def upright_rgb(path: str, max_pixels: int, max_side: int) -> tuple[NDArray[np.uint8], float]:
    """The photo as an RGB array no larger than `max_side`, and the factor back to full size."""
    img = load_image(Path(os.fsdecode(path)), max_pixels=max_pixels)
    try:
        scale = 1.0
        if max(img.size) > max_side:
            scale = max(img.size) / max_side
            size = (max(1, round(img.width / scale)), max(1, round(img.height / scale)))
            img = img.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
        rgb = np.asarray(img.convert("RGB"), dtype=np.uint8)
    finally:
        img.close()
    return rgb, scale


def scaled_face(face: DetectedFace, scale: float) -> DetectedFace:
    if scale == 1.0:
        return face
    x0, y0, x1, y1 = face.box
    return DetectedFace(
        (x0 * scale, y0 * scale, x1 * scale, y1 * scale),
        face.landmarks * scale,
        face.score,
        face.detector,
        face.extras,
    )


def thumbnail_jpeg(image: NDArray[np.uint8], landmarks: object, size: int) -> bytes:
    """A face's aligned thumbnail as JPEG bytes; past the photo's edge it is neutral grey,
    never a mirror image (a mirrored chin or a second half-face looks like a glitch)."""
    crop = canonical_alignment(landmarks, size).crop(image, border=cv2.BORDER_CONSTANT,
                                                     fill=NEUTRAL_GREY)
    buf = io.BytesIO()
    Image.fromarray(crop).save(buf, "JPEG", quality=88)
    return buf.getvalue()


def _drive_gone(exc: ImageReadError, path: str, root: str) -> bool:
    """Whether a read failed because the photo's drive is not there (not a bad file)."""
    cause = exc.__cause__
    if isinstance(cause, OSError) and cause.errno in _GONE_ERRNOS:
        return True
    try:
        return not os.path.isdir(root) or not os.path.lexists(path)
    except OSError:
        return True


def _analyse(
    backend: FaceBackend, photo_id: int, path: str, content_hash: str, ctx: AppContext,
    root: str = "",
) -> _Analysed:
    out = _Analysed(photo_id, content_hash, path=path)
    settings = ctx.settings.faces
    t0 = time.perf_counter()
    try:
        image, scale = upright_rgb(path, ctx.settings.index.max_image_pixels, settings.max_side)
    except ImageReadError as exc:
        # A file that vanished is marked missing by the next index, unless its drive
        # returns: either way it is not a photo whose faces failed.
        out.offline = _drive_gone(exc, path, root or os.path.dirname(path))
        out.error = None if out.offline else str(exc)
        return out
    t1 = time.perf_counter()
    try:
        found = backend.detect(image)  # the backend applies the minimum face size
        t2 = time.perf_counter()
        out.embeddings = (
            backend.embed(image, found) if found else np.zeros((0, backend.embedding_dim), "f4")
        )
        t3 = time.perf_counter()
        out.quality = [face_quality(image, f) for f in found]
        out.thumbnails = [thumbnail_jpeg(image, f.landmarks, settings.thumbnail_size)
                          for f in found]
    except IdfsrError:
        raise  # a missing or broken model stops the pass: every photo would fail alike
    except Exception as exc:  # one odd photo must not stop the pass
        log.exception("face analysis failed on %s", os.fsdecode(path))
        out.error = f"face analysis failed ({type(exc).__name__}: {exc})"
        return out
    out.faces = [scaled_face(f, scale) for f in found]
    out.decode_s, out.detect_s, out.embed_s = t1 - t0, t2 - t1, t3 - t2
    return out


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def face_thumbnail_path(ctx: AppContext, face_id: int) -> Path:
    """Where a face's aligned thumbnail is cached."""
    return ctx.paths.cache / "faces" / f"{face_id // 1000:04d}" / f"{face_id}.jpg"


class _FaceWriter:
    """Writes analysed photos from one thread, matching new faces onto old ones."""

    def __init__(self, ctx: AppContext, model_id: str, report: FaceScanReport) -> None:
        self.ctx = ctx
        self.model_id = model_id
        self.report = report
        self.batch: list[_Analysed] = []
        self.last = time.monotonic()

    def add(self, result: _Analysed) -> None:
        self.batch.append(result)
        if len(self.batch) >= COMMIT_EVERY or time.monotonic() - self.last > COMMIT_SECONDS:
            self.flush()

    def flush(self) -> None:
        thumbs: list[tuple[int, bytes]] = []
        if self.batch:
            with self.ctx.db.session() as s:
                for result in self.batch:
                    thumbs.extend(self._write(s, result))
        self.batch = []
        self.last = time.monotonic()
        for face_id, data in thumbs:
            path = face_thumbnail_path(self.ctx, face_id)
            try:  # atomic: a kill mid-write must not leave a half thumbnail to be shown
                atomic_write_bytes(path, data, durable=False)
            except OSError as exc:  # a cache: rebuilt on demand
                log.warning("could not cache face thumbnail %s: %s", path, exc)

    def _write(self, s: Session, r: _Analysed) -> list[tuple[int, bytes]]:
        if r.offline:
            self.report.offline += 1
            return []
        done = {"faces_hash": r.content_hash, "faces_model": self.model_id, "faces_error": r.error}
        if r.error is not None:
            self.report.errors += 1
            self.report.error_files.append({"path": os.fsdecode(r.path), "reason": r.error})
            s.execute(update(Photo).where(Photo.id == r.photo_id).values(**done))
            return []
        old = {
            row.id: (row.x0, row.y0, row.x1, row.y1)
            for row in s.execute(
                select(Face.id, Face.x0, Face.y0, Face.x1, Face.y1).where(
                    Face.photo_id == r.photo_id, Face.detector != MANUAL
                )
            )
        }
        previous = s.scalar(select(Photo.faces_hash).where(Photo.id == r.photo_id))
        added: dict[int, tuple[float, float, float, float]] = {}
        assert r.embeddings is not None
        thumbs: list[tuple[int, bytes]] = []
        for i, face in enumerate(r.faces):
            values = {
                "photo_id": r.photo_id,
                "x0": face.box[0],
                "y0": face.box[1],
                "x1": face.box[2],
                "y1": face.box[3],
                "landmarks": pack_vector(face.landmarks),
                "det_score": float(face.score),
                "quality": float(r.quality[i]),
                "size_px": float(face.size_px),
                "detector": face.detector[:32],
            }
            best = max(old, key=lambda fid: _iou(old[fid], face.box), default=None)
            if best is not None and _iou(old[best], face.box) >= MATCH_IOU:
                face_id = best
                del old[best]
                s.execute(update(Face).where(Face.id == face_id).values(**values))
                s.execute(
                    delete(FaceEmbedding).where(
                        FaceEmbedding.face_id == face_id, FaceEmbedding.model_id == self.model_id
                    )
                )
            else:
                face_id = s.execute(
                    insert(Face).values(**values, created_at=utcnow()).returning(Face.id)
                ).scalar_one()
                added[face_id] = face.box
            s.execute(
                insert(FaceEmbedding).values(
                    face_id=face_id, model_id=self.model_id, vector=pack_vector(r.embeddings[i])
                )
            )
            thumbs.append((face_id, r.thumbnails[i]))
        if old:  # faces no longer found in this photo
            # Those with the user's decisions hand them on, or stay (see core.faces.carry).
            kept = carry_decisions(s, old, added, content_changed=previous != r.content_hash)
            gone = [f for f in old if f not in kept]
            if gone:
                s.execute(delete(Face).where(Face.id.in_(gone)))
        s.execute(update(Photo).where(Photo.id == r.photo_id).values(**done))
        self.report.photos += 1
        self.report.faces += len(r.faces)
        self.report.decode_s += r.decode_s
        self.report.detect_s += r.detect_s
        self.report.embed_s += r.embed_s
        return thumbs


def _pending(ctx: AppContext, model_id: str, rescan: bool) -> tuple[list[Any], int]:
    with ctx.db.session() as s:
        ok = Photo.status == PhotoStatus.OK.value
        query = select(Photo.id, Photo.root_id, Photo.path, Photo.content_hash).where(ok)
        if not rescan:
            query = query.where(
                or_(
                    Photo.faces_hash.is_(None),
                    Photo.faces_hash != Photo.content_hash,
                    Photo.faces_model.is_(None),
                    Photo.faces_model != model_id,
                    *(Photo.faces_error.like(text) for text in _GONE_BEFORE),
                )
            )
        todo = list(s.execute(query.order_by(Photo.id)))
        total_ok = (
            s.connection()
            .exec_driver_sql(
                "SELECT count(*) FROM photos WHERE status = ?", (PhotoStatus.OK.value,)
            )
            .scalar_one()
        )
    return todo, int(total_ok)


def scan_faces(
    ctx: AppContext,
    backend: FaceBackend,
    *,
    rescan: bool = False,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> FaceScanReport:
    """Find and embed the faces of every photo not yet analysed with this backend's model."""
    cancel = cancel or CancelToken()
    started = time.monotonic()
    report = FaceScanReport(model_id=backend.model_id)
    todo, total_ok = _pending(ctx, backend.model_id, rescan)
    report.up_to_date = total_ok - len(todo)
    with ctx.db.session() as s:
        roots = {int(i): str(p) for i, p in s.execute(select(LibraryRoot.id, LibraryRoot.path))}
    offline = {i for i, p in roots.items() if not os.path.isdir(p)}
    if offline:  # an unplugged drive: its photos wait for it, none is marked as failed
        report.offline = sum(row.root_id in offline for row in todo)
        todo = [row for row in todo if row.root_id not in offline]
    writer = _FaceWriter(ctx, backend.model_id, report)
    workers = ctx.settings.faces.workers or os.cpu_count() or 2
    total, done = len(todo), 0
    progress(Progress("faces", 0, total, "finding faces"))

    def take(result: _Analysed) -> None:
        nonlocal done
        writer.add(result)
        done += 1
        progress(Progress("faces", done, total, "finding faces"))

    jobs = ((backend, row.id, row.path, row.content_hash, ctx, roots.get(row.root_id, ""))
            for row in todo)
    try:
        run_on_threads(_analyse, jobs, take, workers=workers, ahead=workers * 2,
                       name="idfsr-faces", cancel=cancel)
    except JobCancelled:
        writer.flush()
        raise JobCancelled(
            f"face analysis stopped after {done} of {total} photos; run it again to resume"
        ) from None
    except BaseException:
        writer.flush()  # keep what is done: the next run resumes after it
        raise
    writer.flush()
    report.seconds = time.monotonic() - started
    return report
