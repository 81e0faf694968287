"""The one-pass restorer: network, restoration with guidance and references, fitting,
training and saving, on a tiny seeded model."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from accelerate import Accelerator
from idfsr_support import SIZE, make_faces, tiny_restorer, tiny_restorer_model, unit_rows

from core.idfsr.checkpoint import load_model, save_model
from core.idfsr.config import LossConfig, load_train_config
from core.idfsr.degrade import DegradationParams, degrade
from core.idfsr.fit import FitConfig, fit_identity
from core.idfsr.losses import RestoreLoss, charbonnier
from core.idfsr.restorer_net import RestorerNet
from core.idfsr.sample import FaceInput, SampleOptions, restore_face
from core.idfsr.train import train


def _face(seed: int = 0) -> tuple[FaceInput, np.ndarray]:
    imgs, lms = make_faces(4, seed=seed)
    lr = degrade(imgs[0], DegradationParams(scale=4.0, seed=seed))
    refs = ((imgs[2], lms[2]), (imgs[3], lms[3]))
    return FaceInput(lr.lr_up, lr.lr_size, lms[0], imgs[1], lms[1], refs), imgs[0]


def test_identity_and_its_absence_change_the_output() -> None:
    net = tiny_restorer().eval()
    cond = torch.randn(2, 7, SIZE, SIZE)
    ids = torch.from_numpy(unit_rows(2, 0))
    with torch.no_grad():
        a = net(cond, ids)
        b = net(cond, ids.flip(0))
        null = net(cond, ids, torch.ones(2, dtype=torch.bool))
        null_other = net(cond, ids.flip(0), torch.ones(2, dtype=torch.bool))
    assert a.shape == (2, 3, SIZE, SIZE)
    assert not torch.allclose(a, b)  # the identity reaches the output
    assert torch.equal(null, null_other)  # a dropped identity is the null one, whatever it was


def test_a_denoiser_needs_timesteps() -> None:
    net = RestorerNet(sample_size=SIZE, noisy_channels=3, timestep=True, id_dim=4,
                      block_out_channels=(16, 32), layers_per_block=(1, 1),
                      attention_levels=(False, True), self_attention_levels=(False, False),
                      norm_num_groups=8, token_dim=16, head_dim=8)
    cond, noisy = torch.randn(1, 7, SIZE, SIZE), torch.randn(1, 3, SIZE, SIZE)
    ids = torch.ones(1, 4)
    with pytest.raises(ValueError, match="timesteps"):
        net(cond, ids, noisy=noisy)
    assert net(cond, ids, noisy=noisy, timesteps=torch.tensor([5])).shape == (1, 3, SIZE, SIZE)


def test_one_candidate_per_reference_and_guidance_extrapolates() -> None:
    model = tiny_restorer_model()
    face, _ = _face()
    emb = unit_rows(1, 3)[0]
    opts = SampleOptions(candidates=3, guidance=1.0, consistency=0.0)
    three = restore_face(model, face, emb, opts)
    assert sorted(c.seed for c in three) == [0, 1, 2]  # candidate k used reference k
    assert len({c.image.tobytes() for c in three}) == 3
    one = restore_face(model, face, emb, SampleOptions(candidates=1, guidance=1.0,
                                                       consistency=0.0))
    assert len(one) == 1 and one[0].seed == 0
    guided = restore_face(model, face, emb, SampleOptions(candidates=1, guidance=3.0,
                                                          consistency=0.0))
    null = restore_face(model, face, None, SampleOptions(candidates=1, consistency=0.0))
    # Guidance moves the restoration further from the null identity's than no guidance does.
    d_plain = np.abs(one[0].image.astype(int) - null[0].image.astype(int)).mean()
    d_guided = np.abs(guided[0].image.astype(int) - null[0].image.astype(int)).mean()
    assert d_guided > d_plain > 0
    # No reference at all: one candidate, however many were asked.
    bare = FaceInput(face.lr_up, face.lr_size, face.landmarks)
    assert len(restore_face(model, bare, emb, opts)) == 1


def test_consistency_pulls_toward_the_input_at_half_its_size() -> None:
    model = tiny_restorer_model()
    face, _ = _face()
    free = restore_face(model, face, None, SampleOptions(candidates=1, consistency=0.0))[0]
    held = restore_face(model, face, None, SampleOptions(candidates=1, consistency=1.0))[0]
    assert held.consistency_error < free.consistency_error


def test_fitting_moves_only_the_identity_and_lowers_the_loss() -> None:
    model = tiny_restorer_model()
    before = {k: v.clone() for k, v in model.net.state_dict().items()}
    imgs, lms = make_faces(6, seed=4)
    init = unit_rows(1, 5)[0]
    cfg = FitConfig(steps=12, batch_size=3, learning_rate=0.05,
                    degradation=load_train_config("tiny").degradation)
    result = fit_identity(model, imgs, lms, init, config=cfg)
    assert all(torch.equal(before[k], v) for k, v in model.net.state_dict().items())
    assert not np.allclose(result.embedding, init)
    assert np.mean(result.losses[-4:]) < np.mean(result.losses[:4])


def test_restore_loss_parts_and_weights() -> None:
    pred, target = torch.zeros(2, 3, 32, 32), torch.ones(2, 3, 32, 32) * 0.5
    weight = torch.ones(2, 1, 32, 32)
    weight[1, :, :, :16] = 0  # half of the second crop is padding: it does not count
    per = charbonnier(pred, target, weight)
    assert per.shape == (2,) and torch.allclose(per, torch.full((2,), 0.5), atol=1e-3)
    total, parts = RestoreLoss(LossConfig(pixel=1.0, low_pixel=0.5), 32)(pred, target, weight)
    assert set(parts) == {"pixel", "low"}
    assert torch.allclose(total, parts["pixel"] + 0.5 * parts["low"])
    with pytest.raises(ValueError, match="recognizer"):
        RestoreLoss(LossConfig(identity=1.0), 32)


def test_train_save_and_load_a_restorer(dataset: Path, tmp_path: Path) -> None:
    cfg = load_train_config("tiny").model_copy(update={"objective": "restore"})
    cfg = cfg.model_copy(update={"restorer": cfg.restorer.model_copy(update={
        "block_out_channels": [16, 32], "layers_per_block": [1, 1],
        "attention_levels": [False, True], "self_attention_levels": [False, False],
        "norm_num_groups": 8, "token_dim": 32, "head_channels": 8})})
    report = train(cfg, dataset, tmp_path / "run", accelerator=Accelerator(cpu=True))
    assert report.step == cfg.steps and report.model is not None
    assert (tmp_path / "run" / "samples").is_dir()  # the validation grid was drawn
    loaded = load_model(report.model)
    assert loaded.is_restorer and loaded.scheduler_config == {}
    assert loaded.net.config.id_model_id == "test/rec-16"
    assert not (report.model / "scheduler").exists()
    card = (report.model / "README.md").read_text()
    assert "one pass" in card and "FiLM" in card
    # Saved and loaded again, it restores exactly as before.
    again = tmp_path / "again"
    save_model(loaded.net, None, again, loaded.training)
    face, _ = _face()
    a = restore_face(loaded, face, unit_rows(1, 0)[0], SampleOptions(candidates=1))
    b = restore_face(load_model(again), face, unit_rows(1, 0)[0], SampleOptions(candidates=1))
    assert np.array_equal(a[0].image, b[0].image)


def test_half_export_is_smaller_and_computes_in_float32(dataset: Path, tmp_path: Path) -> None:
    from core.idfsr.train import export_checkpoint

    cfg = load_train_config("tiny").model_copy(update={"objective": "restore", "steps": 2})
    cfg = cfg.model_copy(update={"restorer": cfg.restorer.model_copy(update={
        "block_out_channels": [16, 32], "layers_per_block": [1, 1],
        "attention_levels": [False, True], "self_attention_levels": [False, False],
        "norm_num_groups": 8, "token_dim": 32, "head_channels": 8})})
    train(cfg, dataset, tmp_path / "run", accelerator=Accelerator(cpu=True))
    full = export_checkpoint(cfg, dataset, tmp_path / "run", tmp_path / "full")
    half = export_checkpoint(cfg, dataset, tmp_path / "run", tmp_path / "half", half=True)
    weights = "diffusion_pytorch_model.safetensors"
    assert (half / weights).stat().st_size < 0.6 * (full / weights).stat().st_size
    a, b = load_model(full), load_model(half)
    assert all(p.dtype == torch.float32 for p in b.net.parameters())
    face, _ = _face()
    emb = unit_rows(1, 0)[0]
    ra = restore_face(a, face, emb, SampleOptions(candidates=1))[0].image.astype(int)
    rb = restore_face(b, face, emb, SampleOptions(candidates=1))[0].image.astype(int)
    assert np.abs(ra - rb).max() <= 2


def test_pixel_grid_is_removed_and_the_face_kept() -> None:
    from core.idfsr.sample import remove_pixel_grid

    yy, xx = torch.meshgrid(torch.arange(64.0), torch.arange(64.0), indexing="ij")
    smooth = (torch.sin(xx / 7) * torch.cos(yy / 5) * 0.6)[None, None].repeat(1, 3, 1, 1)
    envelope = 0.1 + 0.1 * (xx / 63)  # a grid whose strength varies across the face
    grid = envelope * (torch.where(xx % 2 == 0, 1.0, -1.0) + torch.where(yy % 2 == 0, 0.5, -0.5)
                       + torch.where((xx + yy) % 2 == 0, 0.3, -0.3))
    out = remove_pixel_grid(smooth + grid)
    assert (out - smooth).abs().mean() < 0.1 * grid.abs().mean()
    assert torch.allclose(remove_pixel_grid(smooth), smooth, atol=0.02)
    # fine detail that is not the grid (a 3-pixel pattern) stays
    fine = 0.3 * torch.sin(xx * 2 * math.pi / 3)[None, None].repeat(1, 3, 1, 1)
    assert (remove_pixel_grid(fine) - fine).abs().mean() < 0.12 * fine.abs().mean()
