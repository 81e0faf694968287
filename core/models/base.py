"""The one contract of every model wrapper: locate, verify, load once under a lock, use, unload.

A wrapper subclasses :class:`InferenceModel` and implements `_locate` and `_load`.
Callers use `get()` (loads on first use, thread-safe) and may `unload()` to free
memory; a missing model raises ModelMissingError, which the CLI prints and the GUI
turns into an offer to install it.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Generic, TypeVar

from core.errors import ModelCorruptError
from core.fsutil import sha256_file

T = TypeVar("T")

def verify_sha256(path: Path, expected: str | None) -> None:
    """Raise ModelCorruptError unless the file's sha256 is `expected` (None: no check)."""
    if expected is None:
        return
    actual = sha256_file(path)
    if actual.lower() != expected.lower():
        raise ModelCorruptError(
            f"{path.name} does not match its checksum "
            f"(expected {expected[:12]}…, got {actual[:12]}…); reinstall the model"
        )


class InferenceModel(ABC, Generic[T]):
    """Lazily loaded model weights, shared by threads."""

    #: short name shown to the user
    name: str = "model"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loaded: T | None = None

    @abstractmethod
    def _locate(self) -> Path:
        """Where the weights are; raise ModelMissingError when they are not installed."""

    @abstractmethod
    def _load(self, path: Path) -> T:
        """Build the runnable model from verified weights at `path`."""

    def _verify(self, path: Path) -> None:
        """Check the weights before loading (default: nothing); raise ModelCorruptError."""

    @property
    def is_loaded(self) -> bool:
        return self._loaded is not None

    def available(self) -> bool:
        """Whether the weights are installed (without loading them)."""
        try:
            self._locate()
        except Exception:
            return False
        return True

    def get(self) -> T:
        """The loaded model, loading it on first use (exactly once, under the lock)."""
        loaded = self._loaded
        if loaded is not None:
            return loaded
        with self._lock:
            if self._loaded is None:
                path = self._locate()
                self._verify(path)
                self._loaded = self._load(path)
            return self._loaded

    def unload(self) -> None:
        """Drop the loaded model so its memory can be freed; the next get() reloads."""
        with self._lock:
            self._loaded = None
