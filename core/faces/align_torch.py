"""Differentiable face alignment in torch: warps between the crops the models work on.

`align` cuts crops from photos (OpenCV, numpy); this module re-samples crops already
cut, inside a torch graph, so that a loss computed on one crop (a recognizer's ArcFace
crop) passes its gradient back to another (the restoration model's canonical crop).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from core.faces import align


def canonical_to_arcface(crops: torch.Tensor) -> torch.Tensor:
    """(N, C, S, S) canonical restoration crops -> (N, C, 112, 112) ArcFace crops, differentiable.

    The same similarity transform `align` uses (canonical template -> ArcFace template),
    sampled bilinearly with border replication; pixel centres as in OpenCV.
    """
    size = crops.shape[-1]
    # Maps ArcFace pixel coordinates to canonical ones: what grid_sample needs.
    back = align.estimate_similarity(align.ARCFACE_TEMPLATE, align.canonical_template(size))
    out = align.ARCFACE_SIZE
    # Normalised coords (align_corners=False): u = (2p + 1) / n - 1.
    to_px = np.array([[out / 2, 0, (out - 1) / 2], [0, out / 2, (out - 1) / 2], [0, 0, 1]])
    to_unit = np.array([[2 / size, 0, 1 / size - 1], [0, 2 / size, 1 / size - 1], [0, 0, 1]])
    theta = (to_unit @ np.vstack([back, [0, 0, 1]]) @ to_px)[:2]
    grid = F.affine_grid(
        torch.as_tensor(theta, dtype=crops.dtype, device=crops.device).expand(len(crops), 2, 3),
        [len(crops), crops.shape[1], out, out], align_corners=False)
    return F.grid_sample(crops, grid, mode="bilinear", padding_mode="border", align_corners=False)
