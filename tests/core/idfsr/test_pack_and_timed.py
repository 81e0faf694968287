"""Moving a dataset to a training machine (pack/unpack) and training for a set time."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
from accelerate import Accelerator

from core.errors import IdfsrError
from core.idfsr.config import load_train_config
from core.idfsr.dataset import PreparedFaces
from core.idfsr.pack import pack_dataset, unpack_dataset
from core.idfsr.train import learning_rate, train_for
from core.idfsr.train_state import list_checkpoints


def test_a_pack_unpacks_to_the_same_dataset(dataset: Path, tmp_path: Path) -> None:
    src = PreparedFaces(dataset)
    pack = tmp_path / "faces.npz"
    summary = pack_dataset(dataset, pack, quality=100)
    assert summary["faces"] == len(src) and pack.stat().st_size == summary["bytes"]
    out = unpack_dataset(pack, tmp_path / "again")
    assert len(out) == len(src) and out.size == src.size
    assert out.recognizer == src.recognizer and out.groups == src.groups
    assert out.items == src.items
    np.testing.assert_allclose(out.landmarks, src.landmarks)
    np.testing.assert_allclose(out.embeddings, src.embeddings, atol=2e-3)
    for i in range(len(src)):  # WebP is lossy (its colour is at half resolution) but close
        a, b = out.face(i).astype(float), src.face(i).astype(float)
        assert np.abs(a - b).mean() < 8.0 and np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.95


def test_a_pack_keeps_only_faces_a_config_would_train_on(dataset: Path, tmp_path: Path) -> None:
    index_file = dataset / "index.json"
    index = json.loads(index_file.read_text())
    for n, item in enumerate(index["items"]):
        item["face_px"] = 40.0 + 10 * n  # 40, 50, ... 110
    index_file.write_text(json.dumps(index))
    summary = pack_dataset(dataset, tmp_path / "p.npz", min_face_px=100)
    assert summary["faces"] == 2 and summary["of"] == 8
    kept = unpack_dataset(tmp_path / "p.npz", tmp_path / "kept")
    assert [it["face_px"] for it in kept.items] == [100.0, 110.0]
    np.testing.assert_allclose(kept.embeddings[1], PreparedFaces(dataset).embeddings[7],
                               atol=2e-3)
    with pytest.raises(IdfsrError, match="at least"):
        pack_dataset(dataset, tmp_path / "none.npz", min_face_px=1e12)


def test_a_broken_pack_says_so(tmp_path: Path) -> None:
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a pack")
    with pytest.raises(IdfsrError, match="not a readable dataset pack"):
        unpack_dataset(bad, tmp_path / "out")


def test_train_for_plans_the_schedule_to_end_on_time(dataset: Path, tmp_path: Path) -> None:
    cfg = load_train_config("tiny").model_copy(update={
        "steps": 10_000, "warmup_steps": 3, "log_every": 1, "save_every": 1000,
        "validate_every": 0})
    t0 = time.monotonic()
    report = train_for(cfg, dataset, tmp_path / "run", 12.0, reserve=2.0,
                       accelerator=Accelerator(cpu=True))
    took = time.monotonic() - t0
    assert took < 16.0
    # Finished its own planned schedule (not the config's 10 000 steps), with a model.
    assert report.model is not None and report.step == report.total_steps < 10_000
    assert report.step > cfg.warmup_steps
    planned = cfg.model_copy(update={"steps": report.total_steps})
    assert learning_rate(planned, report.step - 1) == pytest.approx(
        0.1 * cfg.learning_rate, rel=0.05)
    assert list_checkpoints(tmp_path / "run")
