"""The insightface backend on tiny ONNX packs built here, loaded through insightface's router."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import numpy as np
import pytest
from insightface_fakes import arcface_model, squares_image, write_pack

from core.errors import ModelCorruptError, ModelMissingError
from core.faces.insightface_backend import InsightFaceBackend, plan_tiles
from core.faces.types import FaceBackend
from core.models.insightface_pack import find_pack, route_pack, write_manifest

# Squares the fake detector reads as faces (see insightface_fakes), in a 640x480 photo.
FACES = [(100, 100, 24), (400, 300, 24)]


@pytest.fixture
def pack(tmp_path: Path) -> Path:
    return write_pack(tmp_path / "models" / "insightface" / "buffalo_l")


def backend(folder: Path, **knobs: object) -> InsightFaceBackend:
    return InsightFaceBackend(folder, device="cpu", threads=1, **knobs)  # type: ignore[arg-type]


def centre(box: tuple[float, float, float, float]) -> np.ndarray:
    return np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2])


def test_router_picks_the_detector_and_recognizer_and_ignores_the_rest(pack: Path) -> None:
    routed = route_pack(pack, device="cpu", threads=1)
    assert routed.detection_file.name == "det_10g.onnx"
    assert routed.recognition_file.name == "w600k_r50.onnx"
    assert routed.detector.taskname == "detection" and routed.detector.use_kps
    assert routed.recognizer.taskname == "recognition"


@pytest.mark.parametrize("dynamic", [False, True], ids=["fixed-input", "dynamic-input"])
def test_detect_and_embed_end_to_end(tmp_path: Path, dynamic: bool) -> None:
    folder = write_pack(tmp_path / "insightface" / "buffalo_l", dynamic=dynamic)
    b = backend(folder, tiny_faces=False)
    assert isinstance(b, FaceBackend)
    assert b.name == "insightface" and b.embedding_dim == 64
    image = squares_image(640, 480, FACES)
    faces = b.detect(image)
    assert len(faces) == 2
    found = sorted(faces, key=lambda f: f.box[0])
    for face, (x, y, side) in zip(found, FACES, strict=True):
        assert np.abs(centre(face.box) - (x + side / 2, y + side / 2)).max() <= 8
        assert face.landmarks.shape == (5, 2) and face.score > 0.5
        x0, y0, x1, y1 = face.box
        assert ((face.landmarks >= (x0, y0)) & (face.landmarks <= (x1, y1))).all()
        assert face.detector == "scrfd"
    assert [f.score for f in faces] == sorted((f.score for f in faces), reverse=True)
    emb = b.embed(image, faces)
    assert emb.dtype == np.float32 and emb.shape == (2, 64)
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    # The same face embeds the same way every time (and alone or in a batch).
    np.testing.assert_allclose(b.embed(image, faces[:1])[0], emb[0], atol=1e-5)
    assert b.embed(image, []).shape == (0, 64)


def test_recognizer_with_batch_fixed_to_one(pack: Path) -> None:
    arcface_model(pack / "w600k_r50.onnx", batch=1)
    b = backend(pack, tiny_faces=False)
    image = squares_image(640, 480, FACES)
    emb = b.embed(image, b.detect(image))
    assert emb.shape == (2, 64)
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)


def test_model_id_is_exact_and_stable(tmp_path: Path, pack: Path) -> None:
    first = backend(pack, tiny_faces=False).model_id
    assert re.fullmatch(r"insightface-buffalo_l-w600k_r50-[0-9a-f]{8}", first)
    assert backend(pack, tiny_faces=False).model_id == first
    # Other weights under the same file name never share an id (embeddings never mix).
    other = write_pack(tmp_path / "other" / "buffalo_l", seed=7)
    assert backend(other, tiny_faces=False).model_id != first


def test_tiny_faces_are_found_by_the_tile_pass(pack: Path) -> None:
    # 12 px faces on a 1600x1200 photo: 5 px for the whole-photo pass, 24 px on 2x tiles.
    image = squares_image(1600, 1200, [(500, 500, 12), (1100, 300, 12)])
    assert backend(pack, tiny_faces=False).detect(image) == []
    b = backend(pack, min_face_px=8, max_tiles=64)
    faces = b.detect(image)
    assert len(faces) == 2  # each once, though neighbouring tiles overlap
    for face, (x, y) in zip(sorted(faces, key=lambda f: f.box[0]), [(506, 506), (1106, 306)],
                            strict=True):
        assert face.detector == "scrfd-tile"
        assert np.abs(centre(face.box) - (x, y)).max() <= 4
    emb = b.embed(image, faces)
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)


def test_a_face_in_the_overlap_of_two_tiles_is_reported_once(pack: Path) -> None:
    _, tiles = plan_tiles(1200, 1600, det_side=640, min_face_px=8, max_tiles=64,
                          max_upscale=2.0)
    ax1, bx0 = tiles[0][2], tiles[1][0]
    assert bx0 < ax1  # the first two tiles overlap
    x = (bx0 + ax1) // 2 - 6  # a 12 px face wholly inside both
    faces = backend(pack, max_tiles=64).detect(squares_image(1600, 1200, [(x, 100, 12)]))
    assert len(faces) == 1


def test_plan_tiles_only_where_it_pays() -> None:
    # A photo the whole-photo pass already sees at 2x: no tiles.
    assert plan_tiles(300, 320, det_side=640, min_face_px=8, max_tiles=12, max_upscale=2)[1] == []
    # A big photo: the budget holds, the tiles cover it, and they see faces larger.
    scale, tiles = plan_tiles(3072, 4096, det_side=640, min_face_px=8, max_tiles=12,
                              max_upscale=2)
    assert 0 < len(tiles) <= 12 and scale >= 1.5 * 640 / 4096
    covered = np.zeros((3072, 4096), bool)
    for x0, y0, x1, y1 in tiles:
        assert x1 - x0 <= 640 / scale + 1 and y1 - y0 <= 640 / scale + 1
        covered[y0:y1, x0:x1] = True
    assert covered.all()
    # Turned off by the budget.
    assert plan_tiles(3072, 4096, det_side=640, min_face_px=8, max_tiles=0, max_upscale=2)[1] == []


def test_concurrent_calls_from_two_threads_agree(pack: Path) -> None:
    b = backend(pack, tiny_faces=False)
    image = squares_image(640, 480, FACES)
    expected = b.embed(image, b.detect(image))
    results: list[np.ndarray] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(5):
                results.append(b.embed(image, b.detect(image)))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(results) == 10
    for r in results:
        np.testing.assert_allclose(r, expected, atol=1e-5)


def test_unload_then_use_reloads(pack: Path) -> None:
    b = backend(pack, tiny_faces=False)
    b.unload()
    assert len(b.detect(squares_image(640, 480, FACES))) == 2


def test_missing_pack_is_a_typed_error_naming_the_command(tmp_path: Path) -> None:
    with pytest.raises(ModelMissingError, match="idfsr models get antelopev2"):
        backend(tmp_path / "insightface" / "antelopev2")


def test_pack_without_a_detector_is_corrupt(pack: Path) -> None:
    (pack / "det_10g.onnx").unlink()
    with pytest.raises(ModelCorruptError, match="no SCRFD face detector"):
        backend(pack)


def test_manifest_checksums_are_verified_before_loading(pack: Path) -> None:
    write_manifest(pack, {"detection": "det_10g.onnx", "recognition": "w600k_r50.onnx",
                          "files": {"w600k_r50.onnx": {"sha256": "0" * 64}}})
    assert find_pack(pack.parents[1], "buffalo_l") is not None
    with pytest.raises(ModelCorruptError, match="checksum"):
        backend(pack)
    (pack / "w600k_r50.onnx").unlink()
    with pytest.raises(ModelCorruptError, match="lacks w600k_r50.onnx"):
        backend(pack)
