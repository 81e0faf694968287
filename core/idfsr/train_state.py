"""Training checkpoints without pickles: weights, EMA and optimizer state in safetensors.

A checkpoint folder `checkpoints/step-0001000/` holds model.safetensors,
ema.safetensors, optimizer.safetensors (+ the param groups in optimizer.json) and
state.json (step, loss history, config). It is written to a temporary folder and
renamed, so an interrupted save never leaves a half checkpoint behind.
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any, Generic, TypeVar

import torch
from safetensors.torch import load_file, save_file
from torch import nn

CHECKPOINTS = "checkpoints"
M = TypeVar("M", bound=nn.Module)
_PREFIX = "step-"


class Ema(Generic[M]):
    """Exponential moving average of a model's weights, kept as a full model copy."""

    def __init__(self, model: M, decay: float) -> None:
        self.decay = decay
        self.model: M = copy.deepcopy(model).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module, step: int) -> None:
        """Move the average toward `model` (with a warm-up so early weights fade fast)."""
        decay = min(self.decay, (1.0 + step) / (10.0 + step))
        ema_params: list[torch.Tensor] = list(self.model.parameters())
        params = [p.detach().to(e.dtype) for e, p in
                  zip(ema_params, model.parameters(), strict=True)]
        torch._foreach_lerp_(ema_params, params, 1.0 - decay)  # one launch, not hundreds
        for ema_b, b in zip(self.model.buffers(), model.buffers(), strict=True):
            ema_b.copy_(b)


def _state_tensors(module: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()}


def optimizer_to_safetensors(opt: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor],
                                                                   dict[str, Any]]:
    """Split an optimizer state dict into tensors (safetensors) and JSON (groups, scalars)."""
    sd = opt.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, Any] = {}
    for idx, state in sd["state"].items():
        for key, value in state.items():
            if torch.is_tensor(value):
                tensors[f"{idx}.{key}"] = value.detach().cpu().contiguous()
            else:
                scalars[f"{idx}.{key}"] = value
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def optimizer_from_safetensors(opt: torch.optim.Optimizer, tensors: dict[str, torch.Tensor],
                               meta: dict[str, Any]) -> None:
    """Load what optimizer_to_safetensors wrote into `opt` (moved to its params' device)."""
    state: dict[int, dict[str, Any]] = {}
    for name, value in list(tensors.items()) + list(meta["scalars"].items()):
        idx, key = name.split(".", 1)
        state.setdefault(int(idx), {})[key] = value
    groups = meta["param_groups"]
    for group in groups:
        if isinstance(group.get("betas"), list):
            group["betas"] = tuple(group["betas"])
    opt.load_state_dict({"state": state, "param_groups": groups})


def save_checkpoint(out_dir: Path, step: int, model: nn.Module, ema: Ema[Any],
                    opt: torch.optim.Optimizer, state: dict[str, Any], keep: int = 2) -> Path:
    """Write checkpoint `step` atomically and drop all but the newest `keep`."""
    root = out_dir / CHECKPOINTS
    final = root / f"{_PREFIX}{step:07d}"
    tmp = root / f".tmp-{step:07d}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    save_file(_state_tensors(model), tmp / "model.safetensors")
    save_file(_state_tensors(ema.model), tmp / "ema.safetensors")
    opt_tensors, opt_meta = optimizer_to_safetensors(opt)
    save_file(opt_tensors, tmp / "optimizer.safetensors")
    (tmp / "optimizer.json").write_text(json.dumps(opt_meta), encoding="utf-8")
    (tmp / "state.json").write_text(json.dumps({**state, "step": step}), encoding="utf-8")
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    for old in list_checkpoints(out_dir)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def list_checkpoints(out_dir: Path) -> list[Path]:
    """Complete checkpoints, oldest first."""
    root = out_dir / CHECKPOINTS
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and p.name.startswith(_PREFIX))


def load_checkpoint(folder: Path, model: nn.Module, ema: Ema[Any],
                    opt: torch.optim.Optimizer) -> dict[str, Any]:
    """Restore model, EMA and optimizer from a checkpoint; returns its state.json."""
    device = next(model.parameters()).device
    model.load_state_dict(load_file(folder / "model.safetensors", device=str(device)))
    ema.model.load_state_dict(load_file(folder / "ema.safetensors", device=str(device)))
    meta = json.loads((folder / "optimizer.json").read_text(encoding="utf-8"))
    optimizer_from_safetensors(opt, load_file(folder / "optimizer.safetensors"), meta)
    state: dict[str, Any] = json.loads((folder / "state.json").read_text(encoding="utf-8"))
    return state
