"""Choosing another sampled candidate of a face: every candidate is kept beside the output,
and the photo is composed again from the original as a new file, without the model."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.context import AppContext
from core.errors import IdfsrError
from core.restore.options import PersonChoice, RestoreOptions
from core.tasks.recompose import candidate_paths, chosen_index, recompose
from core.tasks.restore import restore_photos

FAST = dict(steps=2, candidates=3, fit_steps=2)


def _pixels(path: str | None) -> np.ndarray:
    with Image.open(path or "") as img:
        return np.asarray(img).astype(np.int16)


def test_another_candidate_makes_a_new_output_from_the_original(
        lib: AppContext, model_dir: Path, old_photos: Path, tmp_path: Path) -> None:
    source = old_photos / "grey.png"
    original = hashlib.sha256(source.read_bytes()).hexdigest()
    options = RestoreOptions(**FAST, model=str(model_dir), faces=(2,), save_crops=True,
                             persons=(PersonChoice(2, "none"),))
    (photo,) = restore_photos(lib, [source], tmp_path / "work", options).photos
    assert photo.status == "restored", photo.message
    face = photo.faces[1]
    kept = candidate_paths(face)
    assert len(kept) == 3 and all(p is not None for p in kept)
    first = chosen_index(face)
    assert first is not None
    other = (first + 1) % 3

    # The same choice again gives the same pixels (the composition is exact, PNG is lossless).
    same = recompose(lib, photo, {})
    assert same.output != photo.output
    assert np.array_equal(_pixels(same.output), _pixels(photo.output))

    changed = recompose(lib, photo, {2: other})
    assert Path(changed.output or "").name == "grey-restored-3.png"
    assert hashlib.sha256(source.read_bytes()).hexdigest() == original
    assert Path(photo.output or "").is_file()  # the earlier output stays
    before, after = _pixels(photo.output), _pixels(changed.output)
    assert before.shape == after.shape and not np.array_equal(before, after)
    x0, y0, x1, y1 = (round(v * photo.scale) for v in face.box)
    pad = (x1 - x0) * 2
    outside = np.ones(before.shape, bool)
    outside[max(0, y0 - pad):y1 + pad, max(0, x0 - pad):x1 + pad] = False
    assert np.array_equal(before[outside], after[outside])  # only around the face
    new_face = changed.faces[1]
    assert chosen_index(new_face) == other and chosen_index(face) == first
    assert new_face.identity_similarity_after == face.candidates[other].identity_similarity
    assert np.array_equal(_pixels(new_face.crops["result"]),
                          _pixels(str(kept[other])).astype(np.int16))
    assert len(candidate_paths(new_face)) == 3 and None not in candidate_paths(new_face)
    note = json.loads(Path(changed.sidecar or "").read_text())
    assert note["recomposed_from"] == photo.output and note["output"] == changed.output
    assert [c["chosen"] for c in note["faces"][1]["candidates"]] == [
        i == other for i in range(3)]
    assert note["faces"][0]["status"] == "skipped"

    with pytest.raises(IdfsrError, match="no candidate 4"):
        recompose(lib, photo, {2: 3})


def test_without_kept_candidates_or_with_a_changed_original_it_says_why(
        lib: AppContext, model_dir: Path, old_photos: Path, tmp_path: Path) -> None:
    source = tmp_path / "grey.png"
    source.write_bytes((old_photos / "grey.png").read_bytes())
    options = RestoreOptions(**FAST, model=str(model_dir), faces=(2,),
                             persons=(PersonChoice(2, "none"),))
    (plain,) = restore_photos(lib, [source], tmp_path / "work", options).photos
    with pytest.raises(IdfsrError, match="not kept"):
        recompose(lib, plain, {2: 0})
    (kept,) = restore_photos(lib, [source], tmp_path / "work",
                             replace(options, save_crops=True)).photos
    Image.open(source).transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(source)
    with pytest.raises(IdfsrError, match="has changed"):
        recompose(lib, kept, {2: 0})
