"""Choosing where torch runs: CUDA, Apple MPS or CPU, automatically or by setting; and
telling when the accelerator ran out of memory."""

from __future__ import annotations

import gc

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


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether `exc` is torch running out of accelerator memory (CUDA or Apple MPS).

    CUDA raises its own OutOfMemoryError; MPS raises a RuntimeError that says so.
    """
    cuda_oom = getattr(torch.cuda, "OutOfMemoryError", None)
    if cuda_oom is not None and isinstance(exc, cuda_oom):
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


def release_memory(device: torch.device) -> None:
    """Hand the allocator's cached blocks back, so a smaller retry starts from a clean slate."""
    gc.collect()  # the failed attempt's tensors, kept alive by the traceback's frames
    if device.type == "cuda" and torch.cuda.is_available():
        torch.cuda.empty_cache()
    elif device.type == "mps" and mps_available():
        torch.mps.empty_cache()


def fast_bfloat16(device: torch.device) -> bool:
    """Whether bfloat16 arithmetic is native (and so faster) on this device: CUDA with
    bf16, or a CPU with AVX-512 BF16 / AMX. Elsewhere it is emulated and slower."""
    if device.type == "cuda":
        return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())
    if device.type == "cpu":
        check = getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", None)
        return bool(check is not None and check())
    return False
