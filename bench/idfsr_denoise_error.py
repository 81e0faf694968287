"""How well a model reads its conditions: clean-image error per noise level.

For fixed examples of a prepared dataset (held-out people by default) the ground truth
is noised to timestep t and the network's clean-image estimate is compared with it
(mean absolute error, -1..1 units), next to two baselines that use no network: the
estimate a zero output implies (what the noisy image alone says) and the warped
reference itself. Near t = T the noisy image says nothing, so only a network that
has learnt to use the masked LR face, the reference and the identity beats the
reference there; that end is where sampling begins.

    .venv/bin/python bench/idfsr_denoise_error.py --model M [--data D] [--faces 16]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from diffusers.schedulers.scheduling_ddpm import DDPMScheduler  # noqa: E402

from core.idfsr.batches import example_for  # noqa: E402
from core.idfsr.checkpoint import load_model  # noqa: E402
from core.idfsr.config import TrainConfig  # noqa: E402
from core.idfsr.dataset import PreparedFaces  # noqa: E402
from core.idfsr.diffusion import predicted_x0  # noqa: E402

TIMESTEPS = (10, 100, 300, 500, 700, 900, 999)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, required=True)
    ap.add_argument("--data", type=Path, default=Path("runs/heldout-64"))
    ap.add_argument("--faces", type=int, default=16)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    model = load_model(args.model)
    data = PreparedFaces(args.data)
    cfg = TrainConfig(size=model.size)  # the default conditions and degradations
    picks = np.random.default_rng(args.seed).permutation(len(data))[: args.faces]
    ex = [example_for(data, int(i), np.random.default_rng([args.seed, int(i)]), cfg,
                      dropout=False) for i in picks]
    x0 = torch.from_numpy(np.stack([e["target"] for e in ex]))
    cond = torch.from_numpy(np.stack([e["condition"] for e in ex]))
    ids = torch.from_numpy(np.stack([e["id"] for e in ex]))
    keep = torch.zeros(len(ex), dtype=torch.bool)
    alphas = torch.tensor(np.asarray(_alphas(model.scheduler_config)), dtype=torch.float32)
    pred_type = model.net.config.prediction_type
    gen = torch.Generator().manual_seed(args.seed)
    rows = []
    for tv in TIMESTEPS:
        noise = torch.randn(x0.shape, generator=gen)
        t = torch.full((len(ex),), tv)
        a, s = alphas[tv].sqrt(), (1 - alphas[tv]).sqrt()
        xt = a * x0 + s * noise
        with torch.no_grad():
            out = {name: model.net(xt, t, cond, ids, drop).float()
                   for name, drop in (("with_id", keep), ("null_id", ~keep))}
        row = {"t": tv}
        for name, o in out.items():
            est = predicted_x0(pred_type, o, xt, alphas, t).clamp(-1, 1)
            row[f"model_{name}"] = round(float((est - x0).abs().mean()), 4)
        zero = predicted_x0(pred_type, torch.zeros_like(xt), xt, alphas, t).clamp(-1, 1)
        row["zero_output"] = round(float((zero - x0).abs().mean()), 4)
        row["reference"] = round(float((cond[:, 4:7] - x0).abs().mean()), 4)
        rows.append(row)
    print(json.dumps({"model": str(args.model), "data": str(args.data), "faces": len(ex),
                      "clean_image_mae": rows}, indent=1))


def _alphas(config: dict) -> list[float]:
    """The trained schedule's cumulative alphas, from the model's saved scheduler config."""
    return DDPMScheduler.from_config(config).alphas_cumprod.tolist()


if __name__ == "__main__":
    main()
