"""Choosing another of a face's sampled candidates: the photo composed again, as a new file.

A restore that saves its crops keeps every candidate of every restored face
(`face-NN-candidate-K.png`: tone-matched, before any grain). Choosing another one needs
no model: the original is read again, enlarged as before, and each restored face's
chosen candidate is pasted back through the same alignment. The result is a new output
with its own notes and crops; the earlier output stays, the original is only read.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image

from core.context import AppContext
from core.errors import IdfsrError
from core.fsutil import sha256_file
from core.jobs import CancelToken, Progress, ProgressCallback, no_progress
from core.library.imageio import load_image
from core.restore import compose, outputs
from core.restore.encoding import encode_image, png_bytes, read_source_info
from core.restore.notes import NoteError, NoteFace, now_iso, read_note, xmp_packet
from core.restore.photo_fix import fix_photo
from core.restore.report import FaceResult, FaceStatus, PhotoResult
from core.tasks.restore import candidate_crop

STAGE = "compose"


def chosen_index(face: FaceResult) -> int | None:
    """The 0-based index of the candidate the face shows now (None: it was not restored)."""
    return next((i for i, c in enumerate(face.candidates) if c.chosen), None)


def candidate_paths(face: FaceResult) -> list[Path | None]:
    """The kept image of each of the face's candidates, in order (None where not kept)."""
    out: list[Path | None] = []
    for k in range(len(face.candidates)):
        where = face.crops.get(candidate_crop(k))
        out.append(Path(where) if where and Path(where).is_file() else None)
    return out


def _read_rgb(path: Path) -> NDArray[np.uint8]:
    with Image.open(path) as img:
        return np.ascontiguousarray(np.asarray(img.convert("RGB")))


def recompose(ctx: AppContext, result: PhotoResult, choices: dict[int, int],
              out_dir: Path | None = None, *, progress: ProgressCallback = no_progress,
              cancel: CancelToken | None = None) -> PhotoResult:
    """A new output of `result` with these faces (number -> 0-based candidate) changed.

    Faces not in `choices` keep the candidate they show. Raises IdfsrError when the
    candidates were not kept, the index is out of range, or the original has changed
    since; the new file goes into `out_dir` (default: beside the earlier output).
    """
    cancel = cancel or CancelToken()
    if result.output is None or result.sidecar is None:
        raise IdfsrError("this photo has no restored output to choose candidates in")
    try:
        note = read_note(Path(result.sidecar))
    except NoteError as exc:
        raise IdfsrError(f"{exc}; restore the photo again") from None
    size = note.model.size
    if size <= 0:
        raise IdfsrError(f"{Path(result.sidecar).name} does not say the model's size; "
                         "restore the photo again")
    source = Path(result.source)
    progress(Progress(STAGE, 0, 1, f"composing {source.name} again"))
    try:
        if note.source_sha256 not in (None, sha256_file(source)):
            raise IdfsrError(f"{source.name} has changed since it was restored; restore it "
                             "again")
        with load_image(source, max_pixels=ctx.settings.index.max_image_pixels) as img:
            gray = img.mode == "L"
            rgb = np.ascontiguousarray(np.asarray(img.convert("RGB")))
    except OSError as exc:
        raise IdfsrError(f"cannot read the original {source.name}: {exc}") from exc
    # The photo repaired and toned as the restore did (notes from before repair: neither).
    fix = fix_photo(rgb, repair_damage=bool(note.options.repair),
                    tone=float(note.options.tone or 0.0),
                    keep_monochrome=note.options.keep_monochrome is not False,
                    faces=[f.box for f in result.faces], cancel=cancel)
    rgb = fix.pixels
    canvas = fix.enlarge(result.scale)
    faces = [copy.copy(f) for f in result.faces]
    crops: dict[str, bytes] = {}
    for original, face in zip(result.faces, faces, strict=True):
        cancel.raise_if_cancelled()
        face.crops = {}
        current = chosen_index(face)
        if face.status != FaceStatus.RESTORED or current is None:
            continue
        pick = choices.get(face.number, current)
        if not 0 <= pick < len(face.candidates):
            raise IdfsrError(f"face {face.number} has no candidate {pick + 1}")
        kept = candidate_paths(original)[pick]
        if kept is None:
            raise IdfsrError("the candidates of this photo were not kept; restore it again "
                             "to choose among them")
        pixels = _read_rgb(kept)
        aligned = compose.align_face(rgb, face.landmarks, size)
        if note.options.keep_grain:
            sigma = compose.grain_sigma(rgb, face.box)
            pixels = compose.add_grain(pixels, aligned.lr_size, sigma,
                                       (note.options.seed or 0) + face.number)
        compose.paste_face(canvas, pixels, aligned, rgb.shape)
        face.candidates = [replace(c, chosen=i == pick) for i, c in enumerate(face.candidates)]
        face.identity_similarity_after = face.candidates[pick].identity_similarity
        for kind, where in original.crops.items():
            if kind != "result" and Path(where).is_file():
                crops[f"face-{face.number:02d}-{kind}"] = Path(where).read_bytes()
        crops[f"face-{face.number:02d}-result"] = png_bytes(pixels)
    image: NDArray[np.uint8] = (np.asarray(cv2.cvtColor(canvas, cv2.COLOR_RGB2GRAY), np.uint8)
                                if gray else canvas)
    restored = [f for f in faces if f.status == FaceStatus.RESTORED]
    persons = sorted({f.match.name or f"#{f.match.person_id}" for f in restored
                      if f.path == "personal"})
    xmp = xmp_packet(source=source.name, model_sha256=note.model.sha256,
                             persons=persons, faces=len(restored),
                             personal=sum(f.path == "personal" for f in restored))
    data, suffix, warnings = encode_image(image, read_source_info(source), xmp)
    done = replace(result, faces=faces,
                   warnings=list(dict.fromkeys([*result.warnings, *warnings])))
    cancel.raise_if_cancelled()  # last point to stop with nothing written

    def notes(target: Path, put: outputs.Put) -> None:
        side_json, side_xmp, crops_dir = outputs.sidecar_paths(target)
        for name, png in crops.items():
            written = crops_dir / f"{name}.png"
            put(written, png)
            number, _, kind = name.removeprefix("face-").partition("-")
            next(f for f in faces if f.number == int(number)).crops[kind] = str(written)
        put(side_xmp, xmp)
        done.output, done.xmp, done.sidecar = str(target), str(side_xmp), str(side_json)
        put(side_json, note.model_copy(update={
            "output": str(target), "recomposed_from": result.output, "created_at": now_iso(),
            "faces": [NoteFace.of(f) for f in faces], "warnings": done.warnings}).to_bytes())

    outputs.write_output(Path(out_dir or Path(result.output).parent), source.stem, suffix,
                         data, notes)
    progress(Progress(STAGE, 1, 1, "done"))
    return done
