"""The restoration job: old photos in, new photos with their faces restored out.

Per photo: load it upright -> find every face, tiny ones included -> match each face to
a person (or nobody) -> for each face: the person's identity (fitted on demand), a
reference photo of them, the aligned LR crop, K sampled candidates ranked by identity
and LR consistency, the best one tone-matched and pasted back through the exact inverse
-> the rest of the photo enlarged conventionally -> a new file with its notes. A face
with no person takes the generic path (the null identity) and says so. Originals are
only read. One bad photo never stops the others; Ctrl-C stops between steps and leaves
nothing half written.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image
from sqlalchemy import or_, select

from core.context import AppContext
from core.db.models import Photo
from core.errors import IdfsrError, ImageReadError, JobCancelled
from core.faces.backends import face_backend
from core.faces.types import DetectedFace, FaceBackend
from core.fsutil import display_path, sha256_file
from core.jobs import CancelToken, Progress, ProgressCallback, no_progress
from core.library.imageio import inspect_image, load_image, suffix_supported
from core.people.manual import drawn_faces, with_drawn_faces
from core.people.service import resolve_person
from core.restore import compose, outputs
from core.restore.encoding import app_version, encode_image, png_bytes, read_source_info
from core.restore.matching import MIN_CONFIDENCE, Match, match_faces, user_match
from core.restore.notes import (
    NoteFace,
    NoteFaceBackend,
    NoteModel,
    NoteOptions,
    RestoreNote,
    now_iso,
    xmp_packet,
)
from core.restore.options import AUTO_SCALE, NOBODY, RestoreOptions
from core.restore.photo_fix import fix_photo
from core.restore.recognition import cosine, detect_all
from core.restore.report import FaceResult, FaceStatus, PhotoResult, RestoreReport, RestoreStatus
from core.tasks.restore_session import RestoreSession

STAGE = "restore"
FACE_STAGE = "face"  # done: the faces of the photo before this one
CANDIDATE = "candidate-"  # crop kind of a face's sampled candidates: candidate-1, ...
LARGE_FACE = 0.9  # faces this share of the model's size or more are left as they are
DAMAGE_MASK = "damage-mask"  # the repair's mask, saved with the crops


def collect_inputs(inputs: Sequence[Path]) -> tuple[list[Path], list[PhotoResult]]:
    """Image files named or found (recursively) under the inputs, and inputs that are not.

    Earlier outputs (an image with its `.idfsr.json` note beside it, and its crops
    folder) are left out, so restoring a folder into itself twice restores no output.
    """
    found: list[Path] = []
    problems: list[PhotoResult] = []

    def is_output(p: Path) -> bool:
        return outputs.sidecar_paths(p)[0].exists()

    def is_crops(folder: Path) -> bool:
        stem = folder.name.removesuffix(outputs.CROPS)
        return stem != folder.name and (folder.parent / (stem + outputs.SIDE_JSON)).exists()

    for item in inputs:
        path = Path(item)
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                here = Path(root)
                dirs[:] = sorted(d for d in dirs
                                 if not d.startswith(".") and not is_crops(here / d))
                for name in sorted(files):
                    p = here / name
                    if not name.startswith(".") and suffix_supported(name) and not is_output(p):
                        found.append(p)
        elif path.is_file():
            found.append(path)
        else:
            problems.append(PhotoResult(str(path), RestoreStatus.ERROR, "no such file or folder"))
    unique = list(dict.fromkeys(Path(os.path.abspath(p)) for p in found))
    return unique, problems


def _sha256(path: Path) -> str | None:
    try:
        return sha256_file(path)
    except OSError:
        return None


def library_copies(ctx: AppContext, path: Path) -> tuple[list[int], datetime | None]:
    """Library photos that are this file (same path or same content), and their date."""
    digest = _sha256(path)
    wanted = os.fsdecode(os.path.abspath(os.fsencode(path)))
    with ctx.db.session() as s:
        cond = Photo.path == wanted
        if digest:
            cond = or_(cond, Photo.content_hash == digest)
        rows = s.execute(select(Photo.id, Photo.captured_at).where(cond)).all()
    date = next((r[1] for r in rows if r[1] is not None), None)
    return [int(r[0]) for r in rows], date


def auto_scale(face_spans: Sequence[float], model_size: int) -> float:
    """The output scale at which the largest restored face still gets its full detail.

    A face whose crop spans `span` photo pixels is restored at `model_size` pixels; at
    scale k it covers span * k pixels of the output, so k <= model_size / span keeps every
    output pixel of it real detail. Half steps, 1 to 4; 2 when no face is restored.
    """
    if not face_spans:
        return 2.0
    k = math.floor(2.0 * model_size / max(face_spans)) / 2.0
    return float(min(4.0, max(1.0, k)))


def _output_scale(w: int, h: int, wanted: float, limit: int) -> tuple[float, str | None]:
    """The output scale, reduced so that the output stays within the pixel limit."""
    if w * h * wanted * wanted <= limit:
        return wanted, None
    scale = max(1.0, math.floor(math.sqrt(limit / (w * h)) * 100) / 100)
    return scale, (f"--scale {wanted:g} would make a {w * wanted:.0f}x{h * wanted:.0f} photo, "
                   f"above the {limit / 1e6:.0f} MP limit; enlarged {scale:g}x instead")


def candidate_crop(index: int) -> str:
    """The crop kind under which a face's candidate (0-based) is saved: 'candidate-1', ..."""
    return f"{CANDIDATE}{index + 1}"


def _resolve_choices(ctx: AppContext, choices: dict[int, str]) -> dict[int, int | None]:
    return {face: (None if ref.strip().lower() == NOBODY else resolve_person(ctx, ref))
            for face, ref in choices.items()}


def keep_finer_detail(before: NDArray[np.uint8], after: NDArray[np.uint8],
                      per_model_px: float) -> NDArray[np.uint8]:
    """`after`'s change to `before` kept only at the coarse scale the model worked at.

    `per_model_px`: output pixels per pixel of the model's crop. The change is low-passed
    below the model's own resolution, so what the model could not resolve (and blurred
    when enlarged) is the photo's: before + lowpass(after - before).
    """
    change = after.astype(np.float32) - before.astype(np.float32)
    sigma = max(0.5, 0.5 * per_model_px)
    coarse = cv2.GaussianBlur(change, (0, 0), sigma)
    return np.clip(np.rint(before.astype(np.float32) + coarse), 0, 255).astype(np.uint8)


def _restore_face(run: RestoreSession, rgb: NDArray[np.uint8], canvas: NDArray[np.uint8],
                  det: DetectedFace, embedding: NDArray[np.float32], fr: FaceResult,
                  photo_date: datetime | None, colourless_photo: bool) -> dict[str, Any]:
    """Restore one face into the canvas; fills `fr`; returns the crops worth saving."""
    size = run.loaded.size
    aligned = compose.align_face(rgb, det.landmarks, size)
    fr.lr_size = aligned.lr_size
    large = aligned.face_px >= LARGE_FACE * size
    if large and not run.options.large_faces:
        fr.status, fr.path = FaceStatus.SKIPPED, ""
        fr.message = (f"already sharp: the face is {aligned.face_px:.0f} px across, as much "
                      f"as the model restores ({size} px); --large-faces cleans it too")
        return {}
    person = fr.match.person_id
    if person is not None:
        centroid = run.centroid(person)
        if centroid is not None:
            fr.identity_similarity_before = cosine(embedding, centroid)
    done = run.restore_aligned(aligned.lr_up, aligned.lr_size, aligned.landmarks, person,
                               photo_landmarks=det.landmarks, photo_date=photo_date,
                               colourless=colourless_photo)
    fr.path, fr.identity_file = done.path, done.identity_file
    fr.reference = done.reference.to_dict() if done.reference is not None else None
    fr.candidates = done.candidates
    fr.seeds = [c.seed for c in done.candidates]
    fr.identity_similarity_after = done.identity_similarity
    result = done.image
    if run.options.keep_grain:
        sigma = compose.grain_sigma(rgb, det.box)
        result = compose.add_grain(result, aligned.lr_size, sigma, run.options.seed + fr.number)
    finer = aligned.face_px > size  # the photo holds detail finer than the model's
    if finer:
        where = compose.enlarged(aligned.alignment, rgb.shape, canvas.shape)
        x0, y0, x1, y1 = where.photo_box(canvas.shape)
        before = canvas[y0:y1, x0:x1].copy()
    compose.paste_face(canvas, result, aligned, rgb.shape)
    fr.status = FaceStatus.RESTORED
    if finer:
        # The model's output, enlarged onto a face this large, is blurrier than the
        # photo: only its coarse change is kept, the photo's own finer detail stays.
        per_model_px = aligned.face_px / size * canvas.shape[1] / rgb.shape[1]
        canvas[y0:y1, x0:x1] = keep_finer_detail(before, canvas[y0:y1, x0:x1], per_model_px)
        done.notes.append(f"cleaned at the model's {size} px: the face is "
                          f"{aligned.face_px:.0f} px across, so its finer detail is the photo's")
    elif large:
        done.notes.append(f"cleaned at the model's {size} px: the face is "
                          f"{aligned.face_px:.0f} px across, so it is no sharper than that")
    fr.message = "; ".join(done.notes)
    crops = {"lr": aligned.lr_up, "result": result}
    if done.reference is not None:
        crops["reference"] = done.reference.crop.crop
    for k, image in enumerate(done.candidate_images):  # for choosing another one later
        crops[candidate_crop(k)] = image
    return crops


@dataclass
class _Found:
    """One photo read and its faces found and matched: what restoring it starts from."""

    rgb: NDArray[np.uint8]
    gray: bool
    detected: list[DetectedFace]
    embeddings: NDArray[np.float32]
    matches: list[Match]
    photo_date: datetime | None
    warnings: list[str]


def _find(ctx: AppContext, backend: FaceBackend, path: Path, o: RestoreOptions) -> _Found:
    """Read the photo, find every face and match it (the user's choices win)."""
    max_pixels = ctx.settings.index.max_image_pixels
    with load_image(path, max_pixels=max_pixels) as img:
        gray = img.mode == "L"
        rgb = np.ascontiguousarray(np.asarray(img.convert("RGB")))
    # The faces the user drew on this library photo, which the detector misses, come too.
    detected = with_drawn_faces(detect_all(backend, rgb), drawn_faces(ctx, path, rgb.shape[1]))
    if not detected:
        return _Found(rgb, gray, [], np.zeros((0, backend.embedding_dim), np.float32), [],
                      None, [])
    embeddings = backend.embed(rgb, detected)
    copies, photo_date = library_copies(ctx, path)
    if photo_date is None:
        try:
            photo_date = inspect_image(path, max_pixels=max_pixels)[0].captured_at
        except ImageReadError:
            photo_date = None
    sizes = [f.size_px for f in detected]
    auto = match_faces(ctx, backend.model_id, embeddings, sizes, exclude_photos=copies,
                       min_confidence=o.min_confidence if o.min_confidence is not None
                       else MIN_CONFIDENCE)
    chosen = _resolve_choices(ctx, o.choices_for(path))
    warnings = [f"--person {number}=...: the photo has only {len(detected)} face(s)"
                for number in sorted(n for n in chosen if n > len(detected))]
    matches: list[Match] = [
        user_match(ctx, chosen[i + 1], sizes[i], backend.model_id, auto[i])
        if i + 1 in chosen else auto[i] for i in range(len(detected))]
    return _Found(rgb, gray, detected, embeddings, matches, photo_date, warnings)


def find_faces(ctx: AppContext, path: Path, options: RestoreOptions | None = None, *,
               progress: ProgressCallback = no_progress,
               cancel: CancelToken | None = None) -> PhotoResult:
    """The faces of one photo and who they are, as a restore would see them; nothing restored.

    For review before restoring: the faces are numbered as `restore_photos` numbers them
    (what `PersonChoice.face` refers to), each with its match and status "pending"; a
    photo without faces has status "no_faces"; an unreadable one raises ImageReadError.
    No model is loaded.
    """
    options = options or RestoreOptions()
    path = Path(os.path.abspath(path))
    progress(Progress("faces", 0, 1, f"finding faces in {path.name}"))
    (cancel or CancelToken()).raise_if_cancelled()
    found = _find(ctx, face_backend(ctx), path, options)
    h, w = found.rgb.shape[:2]
    status = RestoreStatus.FOUND if found.detected else RestoreStatus.NO_FACES
    result = PhotoResult(str(path), status, "" if found.detected else "no faces found",
                         width=w, height=h, warnings=found.warnings)
    for i, det in enumerate(found.detected):
        result.faces.append(FaceResult(i + 1, det.box, np.asarray(det.landmarks).tolist(),
                                       det.size_px, det.score, found.matches[i]))
    progress(Progress("faces", 1, 1, "done"))
    return result


def restore_photo(run: RestoreSession, path: Path, out_dir: Path) -> PhotoResult:
    """Restore the faces of one photo and write the result; errors become the result's status."""
    started = time.monotonic()
    ctx, o = run.ctx, run.options
    result = PhotoResult(str(path))
    max_pixels = ctx.settings.index.max_image_pixels
    found = _find(ctx, run.backend, path, o)
    rgb, gray, detected = found.rgb, found.gray, found.detected
    h, w = rgb.shape[:2]
    result.width, result.height = w, h
    if not detected:
        return _repair_only(run, path, out_dir, result, found, started)
    wanted = o.scale
    if wanted == AUTO_SCALE:
        size = run.loaded.size
        spans = [compose.face_span(det.landmarks, size)
                 for i, det in enumerate(detected) if o.faces is None or i + 1 in o.faces]
        wanted = auto_scale([s for s in spans if s < LARGE_FACE * size], size)
    scale, warning = _output_scale(w, h, wanted, o.max_output_pixels or max_pixels)
    result.scale = scale
    if warning:
        result.warnings.append(warning)
    result.warnings.extend(found.warnings)
    embeddings, matches, photo_date = found.embeddings, found.matches, found.photo_date
    colourless_photo = gray or compose.is_colourless(rgb)
    run.cancel.raise_if_cancelled()
    # The whole photo first: the faces are restored from the repaired pixels, so the
    # scratch across a face never reaches the face model.
    fix = fix_photo(rgb, repair_damage=o.repair, tone=o.tone, mask=_edited_mask(o, path),
                    keep_monochrome=o.keep_monochrome, faces=[d.box for d in detected],
                    cancel=run.cancel)
    result.repair = fix.to_dict()
    rgb = fix.pixels
    run.cancel.raise_if_cancelled()
    canvas = fix.enlarge(scale)
    face_crops: dict[str, NDArray[np.uint8]] = {}
    for i, det in enumerate(detected):
        run.cancel.raise_if_cancelled()
        # Sampling and fitting report per face; this says which face of the photo they are.
        run.progress(Progress(FACE_STAGE, i, len(detected), f"face {i + 1} of {len(detected)}"))
        fr = FaceResult(i + 1, det.box, np.asarray(det.landmarks).tolist(), det.size_px,
                        det.score, matches[i])
        result.faces.append(fr)
        if o.faces is not None and fr.number not in o.faces:
            fr.status, fr.message = FaceStatus.SKIPPED, "not asked for (--faces)"
            continue
        try:
            crops = _restore_face(run, rgb, canvas, det, embeddings[i], fr, photo_date,
                                  colourless_photo)
        except (ValueError, np.linalg.LinAlgError, cv2.error) as exc:
            fr.status, fr.message = FaceStatus.FAILED, f"could not restore this face: {exc}"
            continue
        for name, crop in crops.items():
            face_crops[f"face-{fr.number:02d}-{name}"] = crop
    result.seconds = time.monotonic() - started
    if not any(f.status == FaceStatus.RESTORED for f in result.faces):
        if not fix.changed:
            # A copy that is only enlarged, labelled as restored by AI, would mislead.
            result.status = RestoreStatus.UNCHANGED
            result.message = "no face was restored (see the faces): nothing written"
            return result
        result.message = "repaired the photo; no face was restored (see the faces)"
    pixels: NDArray[np.uint8] = (np.asarray(cv2.cvtColor(canvas, cv2.COLOR_RGB2GRAY), np.uint8)
                                 if gray else canvas)
    if fix.mask is not None and fix.stats is not None and fix.stats.pixels:
        face_crops[DAMAGE_MASK] = fix.mask  # for the app to show (saved with the crops)
    _write(run, path, out_dir, result, pixels, face_crops)
    result.status = RestoreStatus.RESTORED
    result.seconds = time.monotonic() - started
    return result


def _repair_only(run: RestoreSession, path: Path, out_dir: Path, result: PhotoResult,
                 found: _Found, started: float) -> PhotoResult:
    """A photo without faces: written when its repair or tone changed it, else left alone."""
    o = run.options
    result.warnings.extend(found.warnings)
    fix = None
    if o.repair or o.tone > 0:
        run.cancel.raise_if_cancelled()
        fix = fix_photo(found.rgb, repair_damage=o.repair, tone=o.tone,
                        mask=_edited_mask(o, path), keep_monochrome=o.keep_monochrome,
                        cancel=run.cancel)
    if fix is None or not fix.changed:
        result.status = RestoreStatus.NO_FACES
        result.message = "no faces found: nothing to restore, nothing written"
        result.seconds = time.monotonic() - started
        return result
    h, w = found.rgb.shape[:2]
    wanted = auto_scale([], run.loaded.size) if o.scale == AUTO_SCALE else o.scale
    scale, warning = _output_scale(w, h, wanted,
                                   o.max_output_pixels or run.ctx.settings.index.max_image_pixels)
    result.scale = scale
    if warning:
        result.warnings.append(warning)
    result.repair = fix.to_dict()
    canvas = fix.enlarge(scale)
    pixels: NDArray[np.uint8] = (np.asarray(cv2.cvtColor(canvas, cv2.COLOR_RGB2GRAY), np.uint8)
                                 if found.gray else canvas)
    crops = {DAMAGE_MASK: fix.mask} if fix.mask is not None and fix.stats and fix.stats.pixels \
        else {}
    _write(run, path, out_dir, result, pixels, crops)
    result.status = RestoreStatus.RESTORED
    result.message = "repaired the photo; no faces found"
    result.seconds = time.monotonic() - started
    return result


def _edited_mask(o: RestoreOptions, path: Path) -> NDArray[np.uint8] | None:
    """The damage mask the user edited for this photo (None: detect it)."""
    where = o.mask_for(path)
    if where is None:
        return None
    try:
        with Image.open(where) as img:
            return np.asarray(img.convert("L"), np.uint8)
    except OSError as exc:
        raise IdfsrError(f"cannot read the edited damage mask {where.name}: {exc}") from exc


def _note(run: RestoreSession, path: Path, result: PhotoResult) -> RestoreNote:
    """The sidecar's content."""
    return RestoreNote(
        app=f"IDFSR Desktop {app_version()}", created_at=now_iso(),
        source=display_path(path), source_sha256=_sha256(path), output=result.output,
        model=NoteModel(path=str(run.loaded.path), sha256=run.loaded.sha256,
                        size=run.loaded.size),
        face_backend=NoteFaceBackend(name=run.backend.name, model_id=run.backend.model_id),
        options=NoteOptions.model_validate(run.options.to_dict()),
        scale=result.scale, width=result.width, height=result.height,
        faces=[NoteFace.of(f) for f in result.faces], repair=result.repair,
        warnings=result.warnings)


def _write(run: RestoreSession, path: Path, out_dir: Path, result: PhotoResult,
           pixels: NDArray[np.uint8], face_crops: dict[str, NDArray[np.uint8]]) -> None:
    restored = [f for f in result.faces if f.status == FaceStatus.RESTORED]
    persons = sorted({f.match.name or f"#{f.match.person_id}" for f in restored
                      if f.path == "personal"})
    xmp = xmp_packet(source=path.name, model_sha256=run.loaded.sha256, persons=persons,
                             faces=len(restored),
                             personal=sum(f.path == "personal" for f in restored))
    info = read_source_info(path)
    data, suffix, warnings = encode_image(pixels, info, xmp)
    result.warnings.extend(warnings)
    crops = ({name: png_bytes(c) for name, c in face_crops.items()}
             if run.options.save_crops else {})
    run.cancel.raise_if_cancelled()  # last point to stop with nothing written

    def notes(image: Path, put: outputs.Put) -> None:
        side_json, side_xmp, crops_dir = outputs.sidecar_paths(image)
        for f in result.faces:
            f.crops = {}
        for name, png in crops.items():
            written = crops_dir / f"{name}.png"
            put(written, png)
            if name == DAMAGE_MASK:
                if result.repair and result.repair.get("damage"):
                    result.repair["damage"]["mask_file"] = str(written)
                continue
            number, _, kind = name.removeprefix("face-").partition("-")
            for f in result.faces:
                if f.number == int(number):
                    f.crops[kind] = str(written)
        put(side_xmp, xmp)
        result.output, result.xmp, result.sidecar = str(image), str(side_xmp), str(side_json)
        put(side_json, _note(run, path, result).to_bytes())

    try:
        outputs.write_output(out_dir, path.stem, suffix, data, notes)
    except BaseException:
        result.output = result.xmp = result.sidecar = None
        for f in result.faces:
            f.crops = {}
        raise


def restore_photos(
    ctx: AppContext,
    inputs: Sequence[Path],
    out_dir: Path,
    options: RestoreOptions | None = None,
    *,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> RestoreReport:
    """Restore every photo named or found under `inputs` into `out_dir` (a long job)."""
    started = time.monotonic()
    options = options or RestoreOptions()
    options.check()
    cancel = cancel or CancelToken()
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise IdfsrError(f"{display_path(out_dir)} is a file; --out must be a folder")
    _resolve_choices(ctx, {c.face: c.person for c in options.persons})  # unknown names: now
    outputs.sweep_unfinished(out_dir)  # what a killed run left: never shown as a result
    files, problems = collect_inputs(inputs)
    report = RestoreReport(photos=list(problems))
    if not files:
        if not problems:
            raise IdfsrError("no images to restore in the given inputs")
        return report
    run = RestoreSession.open(ctx, options, progress=progress, cancel=cancel)
    loaded = run.loaded
    report.model = {"path": str(loaded.path), "sha256": loaded.sha256, "size": loaded.size}
    for n, path in enumerate(files):
        progress(Progress(STAGE, n, len(files), f"restoring {path.name}"))
        try:
            cancel.raise_if_cancelled()
            result = restore_photo(run, path, out_dir)
        except JobCancelled:
            report.cancelled = True
            report.photos.append(PhotoResult(str(path), RestoreStatus.CANCELLED,
                                             "stopped before it was written"))
            break
        except ImageReadError as exc:
            result = PhotoResult(str(path), RestoreStatus.ERROR, f"cannot read the photo: {exc}")
        except IdfsrError as exc:
            result = PhotoResult(str(path), RestoreStatus.ERROR, str(exc))
        except OSError as exc:
            result = PhotoResult(str(path), RestoreStatus.ERROR,
                                 f"cannot write the result: {exc.strerror or exc}")
            if isinstance(exc, outputs.OutputWriteError) and exc.disk_trouble:
                # Every other photo would fail alike, after minutes of work each.
                report.photos.append(result)
                report.photos += [PhotoResult(str(p), RestoreStatus.ERROR,
                                              f"not restored: {exc.reason}")
                                  for p in files[n + 1:]]
                break
        except (RuntimeError, MemoryError) as exc:
            from core.idfsr.device import is_out_of_memory  # heavy: torch

            if not isinstance(exc, MemoryError) and not is_out_of_memory(exc):
                raise
            result = PhotoResult(str(path), RestoreStatus.ERROR,
                                 "not enough memory to restore this photo "
                                 "(try fewer --candidates or a smaller --scale)")
        report.photos.append(result)
    report.fitted = run.fitted
    report.notes = list(run.memory.notes)
    report.seconds = time.monotonic() - started
    progress(Progress(STAGE, len(files), len(files), "done"))
    return report
