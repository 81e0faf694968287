"""Builders shared by the IDFSR tests: tiny networks, synthetic faces, a small dataset."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch

from core.faces.align import canonical_template
from core.idfsr.checkpoint import LoadedModel
from core.idfsr.config import DiffusionConfig
from core.idfsr.dataset import DatasetWriter, Recognizer
from core.idfsr.diffusion import training_scheduler
from core.idfsr.network import IdfsrNet
from core.idfsr.restorer_net import RestorerNet

SIZE = 32
ID_DIM = 16


def tiny_net(seed: int = 0, ref_grid: int = 2) -> IdfsrNet:
    """A ~0.3M-parameter network at 32 px with seeded weights."""
    torch.manual_seed(seed)
    return IdfsrNet(sample_size=SIZE, id_dim=ID_DIM, id_model_id="test/rec-16",
                    id_tokens=2, ref_grid=ref_grid, block_out_channels=(16, 32),
                    attention_levels=(False, True), layers_per_block=1, norm_num_groups=8,
                    cross_attention_dim=32, attention_head_dim=16)


def tiny_model(seed: int = 0) -> LoadedModel:
    """tiny_net with the default schedule as a LoadedModel (not saved anywhere)."""
    sched = training_scheduler(DiffusionConfig())
    net = tiny_net(seed).eval().requires_grad_(False)
    return LoadedModel(net, dict(sched.config), Path("."), "0" * 64)


def make_faces(n: int, seed: int, size: int = SIZE) -> tuple[np.ndarray, np.ndarray]:
    """n smooth synthetic 'faces' (blobs on a background) and jittered template landmarks."""
    rng = np.random.default_rng(seed)
    faces, lms = [], []
    template = canonical_template(size)
    for _ in range(n):
        base = rng.integers(0, 255, (6, 6, 3)).astype(np.uint8)
        img = cv2.resize(base, (size, size), interpolation=cv2.INTER_CUBIC)
        pts = template + rng.normal(0, 0.5, template.shape)
        for x, y in pts[:2]:  # dark "eyes" so that warps have something to move
            cv2.circle(img, (int(round(x)), int(round(y))), 1, (20, 20, 20), -1)
        faces.append(img)
        lms.append(pts)
    return np.stack(faces), np.stack(lms)


def unit_rows(n: int, seed: int) -> np.ndarray:
    """n random unit vectors of the test recognizer's dimension."""
    v = np.random.default_rng(seed).standard_normal((n, ID_DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def write_dataset(folder: Path, n: int = 8) -> Path:
    """A prepared dataset: faces 0-2 'alice', 3-5 'bob', the rest unlabelled."""
    faces, lms = make_faces(n, seed=1)
    emb = unit_rows(n, seed=2)
    writer = DatasetWriter(folder, SIZE, Recognizer("test", "test/rec-16", ID_DIM),
                           {"source": "synthetic", "licence": "test data"})
    for i in range(n):
        ident = "alice" if i < 3 else "bob" if i < 6 else None
        writer.add(faces[i], lms[i], emb[i], {"source": f"f{i}.png", "identity": ident})
    writer.close()
    return folder


def tiny_restorer(seed: int = 0, id_model_id: str = "test/rec-16",
                  id_dim: int = ID_DIM) -> RestorerNet:
    """A one-pass restorer of ~0.2M parameters at 32 px with seeded weights."""
    torch.manual_seed(seed)
    net = RestorerNet(sample_size=SIZE, id_dim=id_dim, id_model_id=id_model_id, id_tokens=2,
                      block_out_channels=(16, 32), layers_per_block=(1, 1),
                      attention_levels=(False, True), self_attention_levels=(False, False),
                      head_channels=8, norm_num_groups=8, token_dim=32, head_dim=16)
    # Seeded weights that make a restoration differ from its input: the zero-initialised
    # last convolutions of each block get small random values.
    with torch.no_grad():
        for p in net.parameters():
            if p.abs().sum() == 0 and p.dim() > 1:
                p.normal_(0.0, 0.02)
    return net


def tiny_restorer_model(seed: int = 0) -> LoadedModel:
    """tiny_restorer as a LoadedModel (not saved anywhere)."""
    net = tiny_restorer(seed).eval().requires_grad_(False)
    return LoadedModel(net, {}, Path("."), "1" * 64)
