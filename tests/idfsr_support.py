"""Builders shared by the IDFSR tests: tiny networks, synthetic faces, a small dataset."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
import torch

from core.faces.align import canonical_template
from core.idfsr.checkpoint import LoadedModel
from core.idfsr.config import DiffusionConfig, TrainConfig, load_train_config
from core.idfsr.dataset import DatasetWriter, Recognizer
from core.idfsr.diffusion import training_scheduler
from core.idfsr.network import IdfsrNet
from core.idfsr.restorer_net import RestorerNet
from core.idfsr.train import build_network

SIZE = 32
ID_DIM = 16


TEST_RECOGNIZER = Recognizer("test", "test/rec-16", ID_DIM)


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Torch limited to `n` threads for a while (the test machine is shared; tiny models
    need no more)."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def tiny_config(size: int = SIZE, ref_grid: int = 2,
                objective: Literal["diffusion", "restore"] = "diffusion") -> TrainConfig:
    """core/idfsr/configs/tiny.json at this size: what every tiny test network is built from."""
    cfg = load_train_config("tiny")
    network = cfg.network.model_copy(update={"ref_grid": ref_grid})
    return cfg.model_copy(update={"size": size, "network": network, "objective": objective})


def tiny_net(seed: int = 0, ref_grid: int = 2, *, size: int = SIZE,
             recognizer: Recognizer = TEST_RECOGNIZER) -> IdfsrNet:
    """A ~0.3M-parameter network (tiny.json) with seeded weights."""
    torch.manual_seed(seed)
    net = build_network(tiny_config(size, ref_grid), recognizer)
    assert isinstance(net, IdfsrNet)
    return net


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


def tiny_restorer(seed: int = 0, id_model_id: str = "test/rec-16", id_dim: int = ID_DIM, *,
                  size: int = SIZE, wake: float = 0.02) -> RestorerNet:
    """A one-pass restorer of ~0.2M parameters (tiny.json) with seeded weights.

    Its zero-initialised last convolutions get small random values (`wake`), so that a
    restoration differs from its input."""
    torch.manual_seed(seed)
    net = build_network(tiny_config(size, objective="restore"),
                        Recognizer("test", id_model_id, id_dim))
    assert isinstance(net, RestorerNet)
    with torch.no_grad():
        for p in net.parameters():
            if p.dim() > 1 and p.abs().sum() == 0:
                p.normal_(0.0, wake)
    return net


def tiny_restorer_model(seed: int = 0) -> LoadedModel:
    """tiny_restorer as a LoadedModel (not saved anywhere)."""
    net = tiny_restorer(seed).eval().requires_grad_(False)
    return LoadedModel(net, {}, Path("."), "1" * 64)
