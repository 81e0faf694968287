"""ONNX Runtime sessions: the one place that picks execution providers and threads."""

from __future__ import annotations

import os
from pathlib import Path

import onnxruntime as ort

# Providers we use when the installed onnxruntime offers them, best first.
_PREFERRED = ("CUDAExecutionProvider", "CoreMLExecutionProvider", "CPUExecutionProvider")


def providers(device: str = "auto") -> list[str]:
    """Execution providers for `device` ("auto", "cpu", "cuda", ...), always ending in CPU."""
    available = set(ort.get_available_providers())
    if device == "cpu":
        return ["CPUExecutionProvider"]
    wanted = [p for p in _PREFERRED if p in available]
    if device == "cuda":
        wanted = [p for p in wanted if p in ("CUDAExecutionProvider", "CPUExecutionProvider")]
    return wanted or ["CPUExecutionProvider"]


def default_threads() -> int:
    """Intra-op threads for one session: the cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def session(
    model: Path | bytes, *, device: str = "auto", threads: int | None = None
) -> ort.InferenceSession:
    """An inference session for an ONNX file or its bytes, quiet and with bounded threads."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or default_threads()
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only: the runtime's warnings are not the user's concern
    source = str(model) if isinstance(model, Path) else model
    return ort.InferenceSession(source, sess_options=options, providers=providers(device))
