"""Model folders and training checkpoints: bit-exact round trips, safetensors only."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from idfsr_support import tiny_net

from core.errors import ModelMissingError
from core.idfsr.checkpoint import WEIGHTS_NAME, IdfsrModel, load_model, save_model
from core.idfsr.config import DiffusionConfig
from core.idfsr.diffusion import training_scheduler
from core.idfsr.train_state import (
    Ema,
    list_checkpoints,
    load_checkpoint,
    optimizer_from_safetensors,
    optimizer_to_safetensors,
    save_checkpoint,
)
from core.paths import AppPaths

PICKLE_SUFFIXES = {".bin", ".pt", ".pth", ".pkl", ".ckpt"}


def _no_pickles(folder: Path) -> None:
    assert not [p for p in folder.rglob("*") if p.suffix in PICKLE_SUFFIXES]


def test_model_folder_round_trip_is_bit_exact(tmp_path: Path) -> None:
    net = tiny_net(seed=3)
    with torch.no_grad():
        net.null_id.normal_()  # make every tensor non-trivial
    sched = training_scheduler(DiffusionConfig())
    digest = save_model(net, sched, tmp_path / "m", {"steps": 7, "data": {
        "licence": "non-commercial research use only", "source": "train/"}})
    loaded = load_model(tmp_path / "m")
    a, b = net.state_dict(), loaded.net.state_dict()
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert loaded.net.config.id_model_id == "test/rec-16" and loaded.size == 32
    assert loaded.sha256 == digest and len(digest) == 64
    assert loaded.scheduler_config["prediction_type"] == "v_prediction"
    card = (tmp_path / "m" / "README.md").read_text()
    assert "non-commercial research use only" in card and "steps: 7" in card
    _no_pickles(tmp_path / "m")


def test_missing_model_is_a_typed_error(tmp_path: Path) -> None:
    with pytest.raises(ModelMissingError):
        load_model(tmp_path)
    wrapper = IdfsrModel(AppPaths.resolve(tmp_path), "nope")
    assert not wrapper.available()
    with pytest.raises(ModelMissingError):
        wrapper.get()


def test_model_wrapper_finds_installed_models(tmp_path: Path) -> None:
    paths = AppPaths.resolve(tmp_path)
    save_model(tiny_net(), training_scheduler(DiffusionConfig()), paths.models / "idfsr" / "x")
    wrapper = IdfsrModel(paths, "x")
    assert wrapper.get() is wrapper.get()
    assert (paths.models / "idfsr" / "x" / WEIGHTS_NAME).is_file()


def _trained_optimizer() -> tuple[torch.nn.Module, torch.optim.AdamW]:
    net = tiny_net()
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
    for _ in range(2):
        net(torch.randn(1, 3, 32, 32), torch.tensor([5]), torch.randn(1, 7, 32, 32),
            torch.randn(1, 16)).square().mean().backward()
        opt.step()
    return net, opt


def test_optimizer_state_round_trip() -> None:
    net, opt = _trained_optimizer()
    tensors, meta = optimizer_to_safetensors(opt)
    fresh = torch.optim.AdamW(net.parameters(), lr=5.0)
    optimizer_from_safetensors(fresh, tensors, meta)
    sa, sb = opt.state_dict(), fresh.state_dict()
    assert sa["param_groups"] == sb["param_groups"]
    for i, state in sa["state"].items():
        for k, v in state.items():
            assert torch.equal(v, sb["state"][i][k])


def test_training_checkpoints_rotate_and_restore(tmp_path: Path) -> None:
    net, opt = _trained_optimizer()
    ema = Ema(net, 0.9)
    for step in (10, 20, 30):
        save_checkpoint(tmp_path, step, net, ema, opt, {"losses": [1.0], "lrs": [0.1]}, keep=2)
    ckpts = list_checkpoints(tmp_path)
    assert [p.name for p in ckpts] == ["step-0000020", "step-0000030"]
    _no_pickles(tmp_path)
    other = tiny_net(seed=9)
    other_opt = torch.optim.AdamW(other.parameters(), lr=1e-3)
    state = load_checkpoint(ckpts[-1], other, Ema(other, 0.9), other_opt)
    assert state["step"] == 30
    assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(),
                                                  other.state_dict().values(), strict=True))
