"""`idfsr data prepare` against the FaceBackend protocol (a deterministic fake backend here)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.faces.align import CANONICAL_TEMPLATE_UNIT, canonical_template
from core.faces.types import DetectedFace, FaceBackend
from core.idfsr.dataset import PreparedFaces
from core.idfsr.prepare import PrepareOptions, prepare_dataset


class FakeBackend:
    """Finds one face whose size (px) is written in the red value of the top-left pixel."""

    name = "fake"
    model_id = "fake/rec-16"
    embedding_dim = 16

    def detect(self, image: np.ndarray) -> list[DetectedFace]:
        span = float(image[0, 0, 0])
        h, w = image.shape[:2]
        lms = CANONICAL_TEMPLATE_UNIT * span + [(w - span) / 2, (h - span) / 2]
        box = ((w - span) / 2, (h - span) / 2, (w + span) / 2, (h + span) / 2)
        return [DetectedFace(box, lms, 0.9, "fake")]

    def embed(self, image: np.ndarray, faces: Sequence[DetectedFace]) -> np.ndarray:
        rng = np.random.default_rng(int(image.mean() * 1000))
        v = rng.standard_normal((len(faces), 16)).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)


def _photo(path: Path, face_px: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 255, (120, 120, 3), dtype=np.uint8)
    img[0, 0, 0] = face_px
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(img).save(path)


def test_prepare_writes_a_labelled_dataset(tmp_path: Path) -> None:
    assert isinstance(FakeBackend(), FaceBackend)
    src = tmp_path / "photos"
    _photo(src / "alice" / "a1.png", 80, 1)
    _photo(src / "alice" / "a2.png", 60, 2)
    _photo(src / "bob" / "b1.png", 70, 3)
    _photo(src / "bob" / "b2.png", 10, 4)  # a 10 px face cannot make a 32 px training face
    _photo(src / "loose.png", 90, 5)
    report = prepare_dataset(src, tmp_path / "ds", FakeBackend(), PrepareOptions(size=32))
    assert report.faces == 4 and report.identities == 2 and report.photos == 5
    assert report.rejected["too_small"] == 1
    data = PreparedFaces(tmp_path / "ds")
    assert data.recognizer.model_id == "fake/rec-16" and data.recognizer.dim == 16
    labels = sorted((i["source"], i["identity"]) for i in data.items)
    assert labels == [("alice/a1.png", "alice"), ("alice/a2.png", "alice"),
                      ("bob/b1.png", "bob"), ("loose.png", None)]
    np.testing.assert_allclose(data.landmarks, np.repeat(canonical_template(32)[None], 4, 0),
                               atol=1e-3)
    assert np.allclose(np.linalg.norm(data.embeddings, axis=1), 1.0, atol=1e-5)
    assert data.face(0).shape == (32, 32, 3)
    index = json.loads((tmp_path / "ds" / "index.json").read_text())
    assert index["template"] == "canonical" and index["size"] == 32


def test_manifest_labels_win_over_folders(tmp_path: Path) -> None:
    src = tmp_path / "photos"
    _photo(src / "set" / "x.png", 80, 1)
    _photo(src / "set" / "y.png", 80, 2)
    (src / "manifest.csv").write_text("file,identity\nset/x.png,Ann\nset/y.png,\n")
    prepare_dataset(src, tmp_path / "ds", FakeBackend(), PrepareOptions(size=32))
    data = PreparedFaces(tmp_path / "ds")
    assert sorted(str(i["identity"]) for i in data.items) == ["Ann", "None"]


def test_tight_crops_are_kept_with_their_photo_outline(tmp_path: Path) -> None:
    src = tmp_path / "photos"
    _photo(src / "tight.png", 160, 1)  # the crop reaches 20 px past every edge
    report = prepare_dataset(src, tmp_path / "ds", FakeBackend(), PrepareOptions(size=32))
    assert report.faces == 1
    data = PreparedFaces(tmp_path / "ds")
    valid = data.valid_mask(0)
    assert valid is not None
    assert valid.mean() == pytest.approx((120 / 160) ** 2, abs=0.02)
    assert valid[16, 16] == 1.0 and valid[0, 0] == 0.0


def test_prepare_with_the_embedded_backend(tmp_path: Path) -> None:
    embedded = pytest.importorskip("core.faces.embedded")
    src = Path(__file__).resolve().parents[2] / "fixtures" / "faces" / "people"
    backend = embedded.EmbeddedBackend()
    report = prepare_dataset(src, tmp_path / "ds", backend, PrepareOptions(size=64))
    data = PreparedFaces(tmp_path / "ds")
    assert report.faces == len(data) == 4 and sorted(data.groups) == ["id01", "id03"]
    assert data.recognizer.model_id == backend.model_id and data.embeddings.shape == (4, 128)
    # Landmarks land near the canonical template, and a person's photos agree.
    assert np.abs(data.landmarks - canonical_template(64)).max() < 6
    e = data.embeddings
    a, b = data.groups["id01"], data.groups["id03"]
    assert float(e[a[0]] @ e[a[1]]) > float(e[a[0]] @ e[b[0]])


def test_merge_joins_datasets_and_refuses_mismatched_ones(tmp_path: Path) -> None:
    from core.errors import IdfsrError
    from core.idfsr.dataset import merge_datasets

    for name, seeds in (("a", (1, 2)), ("b", (3,))):
        for s in seeds:
            _photo(tmp_path / name / "p" / f"{s}.png", 70, s)
        prepare_dataset(tmp_path / name, tmp_path / f"ds-{name}", FakeBackend(),
                        PrepareOptions(size=32))
    merge_datasets([tmp_path / "ds-a", tmp_path / "ds-b"], tmp_path / "merged")
    merged, a, b = (PreparedFaces(tmp_path / d) for d in ("merged", "ds-a", "ds-b"))
    assert len(merged) == 3 and merged.groups == {"p": [0, 1, 2]}
    assert np.array_equal(merged.face(2), b.face(0))
    assert np.array_equal(merged.embeddings[:2], a.embeddings)
    prepare_dataset(tmp_path / "b", tmp_path / "ds-64", FakeBackend(), PrepareOptions(size=64))
    with pytest.raises(IdfsrError, match="cannot be merged"):
        merge_datasets([tmp_path / "ds-a", tmp_path / "ds-64"], tmp_path / "bad")


def test_shards_partition_the_photos_and_exclusions_hold(tmp_path: Path) -> None:
    src = tmp_path / "photos"
    for name, seeds in (("alice", (1, 2, 3)), ("bob", (4, 5)), ("carol", (6,))):
        for s in seeds:
            _photo(src / name / f"{s}.png", 70, s)
    keep_out = frozenset({"carol"})
    sources = []
    for k in range(2):
        prepare_dataset(src, tmp_path / f"s{k}", FakeBackend(),
                        PrepareOptions(size=32, shard=(k, 2), exclude=keep_out))
        sources += [i["source"] for i in PreparedFaces(tmp_path / f"s{k}").items]
    assert sorted(sources) == sorted(f"{n}/{s}.png" for n, ss in
                                     (("alice", (1, 2, 3)), ("bob", (4, 5))) for s in ss)
    with pytest.raises(Exception, match="shard 2/2"):
        prepare_dataset(src, tmp_path / "bad", FakeBackend(), PrepareOptions(shard=(2, 2)))
