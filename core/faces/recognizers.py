"""The differentiable face recognizers the restoration model is conditioned and trained on.

A restoration model names the recognizer whose embeddings it takes (`id_model_id`); this
module opens that recognizer by its id, once per process and device, as an
`IdentityRecognizer`: embeddings of canonical restoration crops (for a person's mean
identity, for fitting), and the differentiable embeddings and feature maps that the
restore objective's identity and feature losses use. Only recognizers built into the
product are here: none of them is the judge of the benchmarks.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Protocol

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn

from core.errors import ModelMissingError
from core.faces.align_torch import canonical_to_arcface
from core.faces.mobileface import MobileFaceModel


class RecognizerConfig(Protocol):
    """What IdentityRecognizer reads of a recognizer's config."""

    @property
    def model_id(self) -> str: ...

    @property
    def embedding_dim(self) -> int: ...


class RecognizerNet(Protocol):
    """A recognizer module: 112 px ArcFace crops, RGB in -1..1 -> unit rows (+ feature maps)."""

    @property
    def config(self) -> RecognizerConfig: ...

    def __call__(self, x: torch.Tensor) -> torch.Tensor: ...

    def features(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]: ...


class IdentityRecognizer:
    """A frozen recognizer seen from the canonical crops the restoration model works on."""

    def __init__(self, net: RecognizerNet, device: torch.device | str = "cpu") -> None:
        if not isinstance(net, nn.Module):
            raise TypeError(f"a recognizer must be a torch module, got {type(net).__name__}")
        net.to(device).eval().requires_grad_(False)  # in place: a module moves itself
        self.net = net
        self.model_id = net.config.model_id
        self.dim = net.config.embedding_dim

    @property
    def device(self) -> torch.device:
        return next(self.net.parameters()).device

    def features(self, images: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """(B, 3, S, S) canonical crops in -1..1 -> (unit embeddings, feature maps);
        differentiable with respect to the images."""
        return self.net.features(canonical_to_arcface(images))

    def embed_canonical(self, crops: NDArray[np.uint8], batch: int = 32) -> NDArray[np.float32]:
        """(N, S, S, 3) uint8 RGB canonical crops -> (N, D) float32 unit rows."""
        out = np.zeros((len(crops), self.dim), np.float32)
        for start in range(0, len(crops), batch):
            chunk = torch.from_numpy(np.ascontiguousarray(crops[start:start + batch]))
            x = (chunk.permute(0, 3, 1, 2).float() / 127.5 - 1.0).to(self.device)
            with torch.inference_mode():
                out[start:start + len(chunk)] = self.net(canonical_to_arcface(x)).cpu().numpy()
        return out


MOBILEFACE_ID = "mobileface-v1"
# model id -> how to load its (verified) module; each call gives a fresh module.
_LOADERS: dict[str, Callable[[], RecognizerNet]] = {
    MOBILEFACE_ID: lambda: MobileFaceModel().get(),
}
_OPEN: dict[tuple[str, str], IdentityRecognizer] = {}
_LOCK = threading.Lock()


def builtin_recognizers() -> tuple[str, ...]:
    """The model ids `open_recognizer` knows (bundled with the product)."""
    return tuple(_LOADERS)


def open_recognizer(model_id: str, device: torch.device | str = "cpu") -> IdentityRecognizer:
    """The recognizer with this model id on this device (loaded once per process)."""
    key = (model_id, str(torch.device(device)))
    with _LOCK:
        if key not in _OPEN:
            if model_id not in _LOADERS:
                raise ModelMissingError(
                    "recognizer", f"the restoration model wants embeddings of {model_id!r}; "
                    f"this installation has {', '.join(map(repr, _LOADERS))} only")
            net = _LOADERS[model_id]()
            if net.config.model_id != model_id:
                raise ModelMissingError(
                    "recognizer", f"the installed recognizer is {net.config.model_id!r}, "
                    f"not {model_id!r}")
            _OPEN[key] = IdentityRecognizer(net, device)
        return _OPEN[key]
