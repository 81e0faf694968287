"""The benchmark judge (bench/judge_faceres.py): it reproduces TF.js's own faceres outputs and
tells the fixture people apart. It lives under bench/ (never used by the product or in
training), so it is imported from there."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors import safe_open

from core.faces import align

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "bench"))

import judge_faceres  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "recognizers"
SPEC = json.loads((FIXTURES / "reference.json").read_text("utf-8"))["models"]["faceres"]


@pytest.fixture(scope="module")
def judge() -> judge_faceres.FaceresJudge:
    torch.set_num_threads(1)
    return judge_faceres.FaceresJudge()


@pytest.fixture(scope="module")
def crops() -> np.ndarray:
    return np.stack([np.asarray(Image.open(FIXTURES / "faceres" / name).convert("RGB"))
                     for name in SPEC["crops"]])


def test_reproduces_the_tfjs_reference_outputs(judge: judge_faceres.FaceresJudge,
                                               crops: np.ndarray) -> None:
    spec = judge_faceres.INPUTS[judge.convention]
    assert SPEC["input"]["channel_order"] == spec.channel_order
    assert SPEC["input"]["offset"] == list(spec.offset)
    expected = np.asarray([SPEC["expected"][name] for name in SPEC["crops"]], np.float32)
    with torch.inference_mode():
        raw = judge.net(judge_faceres.to_input(crops, judge.convention)).numpy()
    assert raw.shape == (len(crops), judge_faceres.EMBEDDING_DIM)
    assert np.abs(raw - expected).max() < 1e-4
    rows = judge.embed_224(crops)
    cosine = (rows * expected).sum(1) / np.linalg.norm(expected, axis=1)
    assert cosine.min() >= 0.9999
    np.testing.assert_allclose(np.linalg.norm(rows, axis=1), 1.0, atol=1e-5)


def test_weights_are_stored_as_the_package_stores_them() -> None:
    with safe_open(str(judge_faceres.DEFAULT_PATH), "pt") as fh:
        dtypes = {fh.get_tensor(k).dtype for k in fh.keys()}  # noqa: SIM118
        meta = fh.metadata()
    assert dtypes == {torch.float16}
    assert meta["model_id"] == "hse-faceres-vggface2"


def test_same_person_crops_score_higher_than_different_people(
        judge: judge_faceres.FaceresJudge, crops: np.ndarray) -> None:
    rows = judge.embed_224(crops)
    people = np.asarray([name.split("_")[0] for name in SPEC["crops"]])
    sims = rows @ rows.T
    iu = np.triu_indices(len(rows), 1)
    same = (people[:, None] == people[None, :])[iu]
    assert sims[iu][same].min() > sims[iu][~same].max() + 0.1


def test_canonical_crops_give_the_faceres_crop(judge: judge_faceres.FaceresJudge) -> None:
    """embed_aligned takes the restoration model's canonical crops: the warp must put the
    landmarks where the faceres template wants them, at any crop size."""
    rng = np.random.default_rng(1)
    photo = np.asarray(Image.fromarray(rng.integers(0, 255, (30, 40, 3), np.uint8)).resize(
        (800, 600), Image.Resampling.BICUBIC))
    # Shaped like the canonical template, so that both routes map the landmarks exactly.
    landmarks = align.CANONICAL_TEMPLATE_UNIT * 280.0 + np.array([250.0, 150.0])
    direct = align.align_to(landmarks, judge_faceres.faceres_template(judge.zoom),
                            judge_faceres.INPUT_SIZE).crop(photo).astype(np.float32)
    shifted = align.align_to(landmarks + 4.0, judge_faceres.faceres_template(judge.zoom),
                             judge_faceres.INPUT_SIZE).crop(photo).astype(np.float32)
    for size in (96, 256):  # a small crop loses detail, never geometry
        canonical = align.canonical_alignment(landmarks, size).crop(photo)
        via = judge.crop_224(canonical[None])[0].astype(np.float32)
        assert via.shape == direct.shape
        error = np.abs(via - direct)[16:-16, 16:-16].mean()
        assert error < 0.5 * np.abs(via - shifted)[16:-16, 16:-16].mean()
        assert error < (1.0 if size >= 256 else 4.0)
    rows = judge.embed_aligned(align.canonical_alignment(landmarks, 256).crop(photo)[None])
    assert rows.shape == (1, judge_faceres.EMBEDDING_DIM)
    assert judge.embed_aligned(np.zeros((0, 64, 64, 3), np.uint8)).shape == (0, 1024)
