"""Validation sample grids: fixed held-out faces restored by the EMA network during training."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from core.idfsr.batches import example_for
from core.idfsr.conditioning import from_unit
from core.idfsr.config import TrainConfig
from core.idfsr.dataset import PreparedFaces
from core.idfsr.examples import Example
from core.idfsr.network import IdfsrNet
from core.idfsr.report import image_grid, save_png
from core.idfsr.restorer_net import RestorerNet
from core.idfsr.sample import denoise, initial_noise


def validation_examples(data: PreparedFaces, indices: list[int], cfg: TrainConfig
                        ) -> list[Example]:
    """The same n examples at every validation (fixed seeds, no condition dropout)."""
    # Spread over the set: the indices of one person sit together.
    n = min(cfg.validation_faces, len(indices))
    chosen = [indices[int(k)] for k in np.linspace(0, len(indices) - 1, n)] if n else []
    return [example_for(data, i, np.random.default_rng([cfg.seed, 104729, i]), cfg,
                        dropout=False) for i in chosen]


def render_validation(net: IdfsrNet | RestorerNet, scheduler_config: dict,
                      examples: list[Example], steps: int, path: Path, seed: int = 0) -> Path:
    """One row per face: LR input | masked LR | warped reference | no-ID sample | sample | GT."""
    cond = torch.from_numpy(np.stack([e["condition"] for e in examples]))
    ids = torch.from_numpy(np.stack([e["id"] for e in examples]))
    if isinstance(net, RestorerNet):
        with torch.no_grad():
            device = net.device
            with_id = net(cond.to(device), ids.to(device)).clamp(-1, 1)
            dropped = torch.ones(len(examples), dtype=torch.bool, device=device)
            without = net(cond.to(device), ids.to(device), dropped).clamp(-1, 1)
    else:
        assert isinstance(net, IdfsrNet)
        noise = initial_noise([seed + i for i in range(len(examples))], cond.shape[-1])
        with_id = denoise(net, scheduler_config, cond, ids, noise, steps=steps)
        without = denoise(net, scheduler_config, cond, None, noise, steps=steps)
    rows = []
    for i, e in enumerate(examples):
        c = e["condition"]
        rows.append([e["lr"], from_unit(c[:3]), from_unit(c[4:7]),
                     from_unit(without[i].cpu().numpy()), from_unit(with_id[i].cpu().numpy()),
                     from_unit(e["target"])])
    return save_png(image_grid(rows), path)
