"""Old photos restored end to end: real group photos shrunk to 12-20 px faces, the bundled
demo library as the people, a tiny seeded model, the real loading, fitting and writing."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from restore_support import png_bomb, untyped_keys

from core.context import AppContext
from core.errors import JobCancelled
from core.idfsr.restorers import load_idfsr
from core.jobs import CancelToken, Progress
from core.people.identity_store import fit_status
from core.restore.notes import read_note
from core.restore.options import PersonChoice, RestoreOptions
from core.restore.report import FaceStatus
from core.tasks.restore import restore_photos

FAST = dict(steps=2, candidates=2, fit_steps=2)


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.iterdir()) if p.is_file()}


def test_group_photo_restored_as_its_people(lib: AppContext, model_dir: Path, old_photos: Path,
                                            tmp_path: Path) -> None:
    before = _digest(old_photos)
    out = tmp_path / "out"
    options = RestoreOptions(**FAST, model=str(model_dir), save_crops=True,
                             persons=(PersonChoice(1, "Barack Obama", "group.jpg"),))
    reports: list[Progress] = []
    report = restore_photos(lib, [old_photos / "group.jpg"], out, options,
                            progress=reports.append)
    assert _digest(old_photos) == before, "an original was written"
    (photo,) = report.photos
    assert photo.status == "restored", photo.message
    faces = photo.faces
    assert len(faces) >= 7 and all(12 <= f.size_px <= 21 for f in faces)
    # Each face is announced before its work (a person's fit happens within their face).
    announced = [(p.done, p.total) for p in reports if p.stage == "face"]
    assert announced == [(i, len(faces)) for i in range(len(faces))]
    stages = [(p.stage, p.done) for p in reports if p.stage in ("face", "fit")]
    first_fit = next(i for i, s in enumerate(stages) if s[0] == "fit")
    assert stages.index(("face", 0)) < first_fit < stages.index(("face", 1))
    # Face 1 is Obama because the user said so; Biden is recognised by himself.
    assert faces[0].match.name == "Barack Obama" and faces[0].match.source == "user"
    assert faces[1].match.name == "Joe Biden" and faces[1].match.source == "auto"
    assert faces[1].match.confidence >= 0.7 and faces[1].match.weak_evidence
    for f in faces[:2]:
        assert f.status == "restored" and f.path == "personal"
        assert f.identity_file and Path(f.identity_file).is_file()
        assert f.reference is not None and f.reference["face_id"] > 0
        assert f.identity_similarity_before is not None
        assert f.identity_similarity_after is not None
        assert sum(c.chosen for c in f.candidates) == 1 and len(f.seeds) == 2
    # The six strangers of t1.jpg have no person: the generic path, and marked so.
    strangers = faces[2:]
    assert all(f.match.person_id is None and f.path == "generic" for f in strangers)
    assert all(f.status == "restored" and f.identity_file is None for f in strangers)
    # The people met were fitted on demand, once each.
    assert {f["person_id"] for f in report.fitted} == {faces[0].match.person_id,
                                                        faces[1].match.person_id}
    assert set(fit_status(lib, load_idfsr(lib, str(model_dir)).sha256)) >= {
        faces[0].match.person_id, faces[1].match.person_id}

    # The new photo: same format, twice the size, upright; its notes beside it.
    written = Path(photo.output or "")
    assert written.parent == out and written.name == "group-restored.jpg"
    with Image.open(old_photos / "group.jpg") as src, Image.open(written) as img:
        assert img.format == "JPEG" and img.size == (2 * src.width, 2 * src.height)
        assert img.getexif().get(0x0112) == 1
        assert b"compositeWithTrainedAlgorithmicMedia" in (img.info.get("xmp") or b"")
    note = json.loads(Path(photo.sidecar or "").read_text())
    typed = read_note(Path(photo.sidecar or ""))  # every key written is a typed field
    assert untyped_keys(typed) == [] and json.loads(typed.to_bytes()) == note
    assert typed.faces[0].status is FaceStatus.RESTORED
    assert note["source_sha256"] == before["group.jpg"]
    assert note["model"]["sha256"] == load_idfsr(lib, str(model_dir)).sha256
    assert note["options"]["steps"] == 2
    assert note["options"]["persons"] == ["group.jpg:1=Barack Obama"]
    assert "restored by AI" in note["note"]
    for face in note["faces"]:
        assert {"box", "landmarks", "match", "candidates", "seeds", "path", "status"} <= set(face)
        assert len(face["landmarks"]) == 5 and len(face["box"]) == 4
        assert face["match"]["confidence"] is not None and face["candidates"]
    assert note["faces"][1]["person"]["name"] == "Joe Biden"
    assert "Joe Biden" in Path(photo.xmp or "").read_text()
    crops = sorted(p.name for p in Path(faces[0].crops["result"]).parent.iterdir())
    assert {"face-01-lr.png", "face-01-reference.png", "face-01-result.png",
            "face-03-lr.png", "face-03-result.png"} <= set(crops)
    assert "face-03-reference.png" not in crops  # a stranger has no reference

    # Restoring again never overwrites: a second, numbered file.
    again = restore_photos(lib, [old_photos / "group.jpg"], out,
                           RestoreOptions(**FAST, model=str(model_dir), faces=(2,)))
    assert Path(again.photos[0].output or "").name == "group-restored-2.jpg"
    assert again.fitted == []  # fitted identities are reused
    assert _digest(old_photos) == before


def test_grey_photo_stays_grey_and_faces_can_be_left_alone(
        lib: AppContext, model_dir: Path, old_photos: Path, tmp_path: Path) -> None:
    options = RestoreOptions(**FAST, model=str(model_dir), scale=1.5, faces=(2,),
                             persons=(PersonChoice(2, "none"),))
    report = restore_photos(lib, [old_photos / "grey.png"], tmp_path / "out", options)
    (photo,) = report.photos
    assert photo.status == "restored", photo.message
    first, second = photo.faces
    assert first.status == "skipped" and "--faces" in first.message
    assert second.match.source == "user" and second.match.person_id is None
    assert second.path == "generic" and report.fitted == []
    with Image.open(photo.output or "") as img:
        assert img.format == "PNG" and img.mode == "L"
        assert img.size == (round(1.5 * photo.width), round(1.5 * photo.height))


def test_folder_input_skips_earlier_outputs_and_reports_bad_files(
        lib: AppContext, model_dir: Path, old_photos: Path, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(old_photos / "grey.png", folder / "grey.png")
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    Image.new("RGB", (1, 1), (128, 128, 128)).save(folder / "dot.png")
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (80, 120, 3), np.uint8)).save(
        folder / "noise.png")
    options = RestoreOptions(**FAST, model=str(model_dir), persons=(PersonChoice(1, "none"),
                                                                   PersonChoice(2, "none")))
    report = restore_photos(lib, [folder, tmp_path / "missing.jpg"], folder, options)
    by_name = {Path(p.source).name: p for p in report.photos}
    assert by_name["missing.jpg"].status == "error"
    assert "no such file" in by_name["missing.jpg"].message
    assert by_name["broken.jpg"].status == "error"
    assert by_name["broken.jpg"].message.startswith("cannot read the photo:")
    assert by_name["dot.png"].status == "no_faces" and by_name["noise.png"].status == "no_faces"
    assert by_name["grey.png"].status == "restored"
    assert report.errors == 2
    # Outputs went into the input folder; a second run does not restore them again.
    second = restore_photos(lib, [folder], folder, options)
    assert sorted(Path(p.source).name for p in second.photos) == [
        "broken.jpg", "dot.png", "grey.png", "noise.png"]


def test_face_cut_by_the_border(lib: AppContext, model_dir: Path, old_photos: Path,
                                tmp_path: Path) -> None:
    with Image.open(old_photos / "grey.png") as img:
        # Obama's face spans about x 24..39: cut through it.
        img.crop((30, 0, img.width, img.height)).save(tmp_path / "cut.png")
    options = RestoreOptions(**FAST, model=str(model_dir), persons=(PersonChoice(1, "none"),
                                                                   PersonChoice(2, "none")))
    report = restore_photos(lib, [tmp_path / "cut.png"], tmp_path / "out", options)
    (photo,) = report.photos
    assert photo.status == "restored", photo.message
    edge = photo.faces[0]
    assert edge.box[0] < 0.5  # the detector sees the face running off the photo
    assert all(f.status == "restored" for f in photo.faces), [f.message for f in photo.faces]
    with Image.open(photo.output or "") as img:
        assert img.size == (2 * photo.width, 2 * photo.height)


def test_huge_image_is_refused_with_a_reason(lib: AppContext, model_dir: Path,
                                             tmp_path: Path) -> None:
    (tmp_path / "huge.png").write_bytes(png_bomb())
    report = restore_photos(lib, [tmp_path / "huge.png"], tmp_path / "out",
                            RestoreOptions(**FAST, model=str(model_dir)))
    (photo,) = report.photos
    assert photo.status == "error" and "MP" in photo.message and "limit" in photo.message
    assert not (tmp_path / "out").exists()


def test_output_scale_is_capped_by_the_pixel_limit(lib: AppContext, model_dir: Path,
                                                   old_photos: Path, tmp_path: Path) -> None:
    options = RestoreOptions(**FAST, model=str(model_dir), scale=4.0, max_output_pixels=60_000,
                             persons=(PersonChoice(1, "none"), PersonChoice(2, "none")))
    (photo,) = restore_photos(lib, [old_photos / "grey.png"], tmp_path / "out", options).photos
    assert photo.status == "restored" and 1.0 <= photo.scale < 4.0
    assert any("MP limit" in w for w in photo.warnings)
    with Image.open(photo.output or "") as img:
        assert img.width * img.height <= 60_000


def test_cancel_leaves_nothing_half_written(lib: AppContext, model_dir: Path,
                                            old_photos: Path, tmp_path: Path) -> None:
    token = CancelToken()

    def progress(p: Progress) -> None:
        if p.stage == "sample" and p.done == 1:
            token.cancel()

    out = tmp_path / "out"
    options = RestoreOptions(**FAST, model=str(model_dir), persons=(PersonChoice(1, "none"),
                                                                   PersonChoice(2, "none")))
    report = restore_photos(lib, [old_photos / "grey.png", old_photos / "group.jpg"], out,
                            options, progress=progress, cancel=token)
    assert report.cancelled and [p.status for p in report.photos] == ["cancelled"]
    assert not out.exists() or not any(out.iterdir())
    with pytest.raises(JobCancelled):
        token.raise_if_cancelled()
