"""Choosing where torch runs: CUDA, Apple MPS or CPU, automatically or by setting."""

from __future__ import annotations

import torch

from core.errors import IdfsrError

DEVICE_CHOICES = ("auto", "cuda", "mps", "cpu")


def mps_available() -> bool:
    """Whether Apple's Metal backend can be used."""
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def select_device(preference: str = "auto") -> torch.device:
    """The device for `preference` ("auto": CUDA, else MPS, else CPU); raises if unavailable."""
    if preference == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps") if mps_available() else torch.device("cpu")
    if preference == "cuda" and not torch.cuda.is_available():
        raise IdfsrError("no CUDA GPU is available; choose the device 'auto' or 'cpu'")
    if preference == "mps" and not mps_available():
        raise IdfsrError("Apple MPS is not available on this machine; choose 'auto' or 'cpu'")
    if preference not in DEVICE_CHOICES:
        raise IdfsrError(f"unknown device {preference!r} (choose from {', '.join(DEVICE_CHOICES)})")
    return torch.device(preference)
