"""Sampling: deterministic per seed, identity guidance, LR consistency, ranking, cancel."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from idfsr_support import ID_DIM, SIZE, unit_rows

from core.errors import JobCancelled
from core.idfsr.checkpoint import LoadedModel
from core.idfsr.degrade import DegradationParams, degrade
from core.idfsr.sample import FaceInput, LrConsistency, SampleOptions, restore_face
from core.jobs import CancelToken, Progress

FAST = SampleOptions(steps=3, candidates=2, guidance=2.0)


def _face(faces: tuple[np.ndarray, np.ndarray]) -> FaceInput:
    imgs, lms = faces
    lr = degrade(imgs[0], DegradationParams(scale=4.0, seed=0))
    return FaceInput(lr.lr_up, lr.lr_size, lms[0], imgs[1], lms[1])


def test_same_seed_same_faces(model: LoadedModel, faces: tuple) -> None:
    emb = unit_rows(1, 0)[0]
    a = restore_face(model, _face(faces), emb, FAST)
    b = restore_face(model, _face(faces), emb, FAST)
    assert [c.seed for c in a] == [c.seed for c in b]
    assert all(np.array_equal(x.image, y.image) for x, y in zip(a, b, strict=True))
    assert a[0].image.shape == (SIZE, SIZE, 3) and a[0].image.dtype == np.uint8
    assert sorted(c.seed for c in a) == [0, 1]
    assert not np.array_equal(a[0].image, a[1].image)  # two seeds, two candidates


def test_candidates_ranked_by_lr_consistency(model: LoadedModel, faces: tuple) -> None:
    out = restore_face(model, _face(faces), None, SampleOptions(steps=2, candidates=3))
    errors = [c.consistency_error for c in out]
    assert errors == sorted(errors)


@pytest.mark.parametrize("sampler", ["ddim", "dpm++"])
def test_guidance_and_samplers(model: LoadedModel, faces: tuple, sampler: str) -> None:
    with torch.no_grad():  # give identity a visible effect in the untrained net
        for p in model.net.id_mlp.parameters():
            p.normal_()
    emb = unit_rows(1, 1)[0]
    base = SampleOptions(steps=3, candidates=1, sampler=sampler, guidance=1.0)
    plain = restore_face(model, _face(faces), emb, base)[0].image
    guided = restore_face(model, _face(faces), emb,
                          SampleOptions(steps=3, candidates=1, sampler=sampler, guidance=3.0))
    assert not np.array_equal(plain, guided[0].image)


def test_consistency_projection_matches_the_lr() -> None:
    g = torch.Generator().manual_seed(0)
    lr = torch.rand(1, 3, 32, 32, generator=g) * 2 - 1
    x0 = torch.rand(2, 3, 32, 32, generator=g) * 2 - 1
    op = LrConsistency(lr, 8)
    before = op.error(x0)
    after = op.error(op.project(x0, 1.0))
    assert (after < 0.1 * before).all()


def test_cancel_between_steps(model: LoadedModel, faces: tuple) -> None:
    token = CancelToken()
    seen: list[int] = []

    def progress(p: Progress) -> None:
        seen.append(p.done)
        if p.done == 2:
            token.cancel()

    with pytest.raises(JobCancelled):
        restore_face(model, _face(faces), None, SampleOptions(steps=5, candidates=1, start=1.0),
                     progress=progress, cancel=token)
    assert seen == [1, 2]


def test_wrong_size_is_refused(model: LoadedModel) -> None:
    face = FaceInput(np.zeros((16, 16, 3), np.uint8), 4, np.zeros((5, 2)))
    with pytest.raises(ValueError):
        restore_face(model, face, np.ones(ID_DIM, np.float32), FAST)


@pytest.mark.parametrize("sampler", ["ddim", "dpm++"])
def test_start_below_one_begins_from_the_lr_face(model: LoadedModel, faces: tuple,
                                                 sampler: str) -> None:
    face = _face(faces)
    lr = face.lr_up.astype(np.float32)
    runs = {}
    for start in (1.0, 0.1):
        steps: list[int] = []
        out = restore_face(model, face, None,
                           SampleOptions(steps=10, candidates=1, sampler=sampler, start=start),
                           progress=lambda p, s=steps: s.append(p.done))
        runs[start] = (len(steps), float(np.abs(out[0].image.astype(np.float32) - lr).mean()))
    assert runs[1.0][0] == 10 and runs[0.1][0] == 1  # only the last tenth of the schedule
    assert runs[0.1][1] < 0.5 * runs[1.0][1]  # the LR face survives a light noising


def test_a_grey_face_comes_back_grey(model: LoadedModel, faces: tuple) -> None:
    imgs, lms = faces
    grey = np.repeat(imgs[0].mean(axis=2, keepdims=True), 3, axis=2).astype(np.uint8)
    lr = degrade(grey, DegradationParams(scale=4.0, seed=0))
    face = FaceInput(lr.lr_up, lr.lr_size, lms[0], imgs[1], lms[1])  # colour reference
    out = restore_face(model, face, None, SampleOptions(steps=2, candidates=1))[0].image
    spread = out.astype(int).max(axis=2) - out.astype(int).min(axis=2)
    assert spread.max() <= 1  # equal channels up to rounding
