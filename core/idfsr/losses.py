"""What the restorer is trained (and a person's identity fitted) to get right.

- pixels: a Charbonnier distance at full resolution and at a lower one (exposure and
  shape, what a user sees first), only where the crop shows the photo;
- identity: 1 - cosine between a face recognizer's embeddings of the restored face and
  of the ground truth (core.faces.recognizers: differentiable, on its own 5-point crop);
- features: L1 between the recognizer's intermediate feature maps, a perceptual
  distance that knows what matters in a face.
The recognizer is frozen and is never the one that judges identity in the benchmarks.
"""

from __future__ import annotations

from typing import Protocol

import torch
import torch.nn.functional as F
from torch import nn

from core.idfsr.config import LossConfig


class IdentityCritic(Protocol):
    """A frozen, differentiable face recognizer seen from canonical crops."""

    def features(self, images: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """(B, 3, S, S) canonical faces in -1..1 -> (unit embeddings, feature maps)."""
        ...


def charbonnier(pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor,
                eps: float = 1e-3) -> torch.Tensor:
    """Per-sample robust L1 over the pixels where `weight` (B, 1, H, W) counts."""
    err = torch.sqrt((pred.float() - target.float()) ** 2 + eps * eps) * weight
    return err.sum(dim=(1, 2, 3)) / (weight.sum(dim=(1, 2, 3)) * pred.shape[1]).clamp(min=1.0)


class RestoreLoss(nn.Module):
    """The restore objective's loss for S x S canonical faces in -1..1."""

    def __init__(self, cfg: LossConfig, size: int, critic: IdentityCritic | None = None) -> None:
        super().__init__()
        if (cfg.identity > 0 or cfg.features > 0) and critic is None:
            raise ValueError("identity and feature losses need a recognizer")
        self.cfg, self.size = cfg, size
        self.critic = critic

    def forward(self, pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor,
                target_embedding: torch.Tensor | None = None,
                ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """(per-sample total loss, per-sample parts). `target_embedding`: the recognizer's
        embedding to aim at (default: that of `target`)."""
        cfg = self.cfg
        parts: dict[str, torch.Tensor] = {}
        parts["pixel"] = charbonnier(pred, target, weight)
        total = cfg.pixel * parts["pixel"]
        if cfg.low_pixel > 0:
            low = self.size // 4
            parts["low"] = charbonnier(F.interpolate(pred, size=low, mode="area"),
                                       F.interpolate(target, size=low, mode="area"),
                                       F.interpolate(weight, size=low, mode="area"))
            total = total + cfg.low_pixel * parts["low"]
        if self.critic is not None and (cfg.identity > 0 or cfg.features > 0):
            emb, feats = self.critic.features(pred.float())
            with torch.no_grad():
                t_emb, t_feats = self.critic.features(target.float())
            if target_embedding is not None:
                t_emb = target_embedding.to(emb)
            if cfg.identity > 0:
                parts["identity"] = 1.0 - (emb * t_emb).sum(dim=1)
                total = total + cfg.identity * parts["identity"]
            if cfg.features > 0:
                feat = torch.stack([(a - b).abs().mean(dim=(1, 2, 3))
                                    for a, b in zip(feats, t_feats, strict=True)]).mean(0)
                parts["features"] = feat
                total = total + cfg.features * feat
        return total, parts
