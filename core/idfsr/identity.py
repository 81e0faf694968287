"""Fitted identity files: one small safetensors file per person, no pickles.

Tensors: `id_embedding` (D,) and `loss_curve` (steps,). Metadata (JSON strings): format,
person, person_id (for a person of the library), base model sha256, recognizer model id,
steps, seconds, faces used, created. An identity fitted on one base model is meaningless
on another: loaders check the hash.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from core.errors import IdfsrError
from core.models.safetensors_file import read_header

FORMAT = "idfsr-identity/1"


@dataclass(frozen=True)
class IdentityFile:
    """A fitted person embedding and what it was fitted on."""

    embedding: NDArray[np.float32]
    loss_curve: NDArray[np.float32]
    meta: dict[str, Any]

    @property
    def base_model_sha256(self) -> str:
        return str(self.meta.get("base_model_sha256", ""))


def save_identity(path: Path, embedding: NDArray[Any], loss_curve: list[float],
                  meta: dict[str, Any]) -> Path:
    """Write an identity file; `meta` values are stored as JSON strings."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {
        "id_embedding": torch.from_numpy(np.asarray(embedding, np.float32).copy()),
        "loss_curve": torch.tensor(loss_curve, dtype=torch.float32),
    }
    full = {"format": FORMAT, "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            **meta}
    tmp = path.with_suffix(".tmp")
    try:
        save_file(tensors, tmp, metadata={k: json.dumps(v) for k, v in full.items()})
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a full disk leaves no half identity behind
        raise
    return path


def load_identity(path: Path, expect_model_sha256: str | None = None) -> IdentityFile:
    """Read an identity file; with `expect_model_sha256`, refuse one fitted on another model.
    A pickle, a truncated or an altered file is refused (IdfsrError), never executed."""
    read_header(path, "identity file")  # our own check first: clear messages, no pickles
    try:
        with safe_open(str(path), framework="pt") as fh:
            raw = fh.metadata() or {}
            emb = fh.get_tensor("id_embedding").numpy()
            curve = fh.get_tensor("loss_curve").numpy()
        meta = {k: json.loads(v) for k, v in raw.items()}
    except (OSError, RuntimeError, ValueError, SafetensorError) as exc:  # missing key, …
        raise IdfsrError(f"{path} is not a readable identity file: {exc}") from exc
    if meta.get("format") != FORMAT:
        raise IdfsrError(f"{path} is not an IDFSR identity file")
    if emb.ndim != 1 or not np.isfinite(emb).all():
        raise IdfsrError(f"{path} holds a damaged identity embedding (shape {emb.shape})")
    ident = IdentityFile(emb, curve, meta)
    if expect_model_sha256 and ident.base_model_sha256 != expect_model_sha256:
        raise IdfsrError(f"{path.name} was fitted on another model "
                         f"({ident.base_model_sha256[:12]}…); fit this person again")
    return ident
