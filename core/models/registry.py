"""The models a context has loaded, each under a typed key, built once on first use.

A key names its kind and, where a context holds several of a kind, which one (an IDFSR
model by name and device, a recognizer by model id). The type parameter says what the
key holds, so `registry.get(FACE_BACKEND, ...)` is a FaceBackend to the type checker
without a cast at each use. The keys and the functions that build what they hold live
with the code that knows how (core.faces.backends, core.idfsr.restorers,
core.model_status); this module knows none of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

T = TypeVar("T")


@dataclass(frozen=True)
class ModelKey(Generic[T]):
    """Where a loaded model of one kind (and, optionally, one name) is kept."""

    kind: str
    name: str = ""

    def named(self, name: str) -> ModelKey[T]:
        """The key of the model of this kind called `name`."""
        return ModelKey(self.kind, name)


def _close(value: object) -> None:
    close = getattr(value, "close", None)
    if callable(close):
        close()


class ModelRegistry:
    """Loaded models by key; dropping one ends any child process it runs in."""

    def __init__(self) -> None:
        self._loaded: dict[ModelKey[Any], Any] = {}

    def get(self, key: ModelKey[T], load: Callable[[], T]) -> T:
        """The model under `key`, loaded by `load()` the first time it is asked for."""
        if key not in self._loaded:
            self._loaded[key] = load()
        return cast(T, self._loaded[key])

    def peek(self, key: ModelKey[T]) -> T | None:
        """The model under `key` if it is loaded, else None (nothing is loaded)."""
        return cast("T | None", self._loaded.get(key))

    def put(self, key: ModelKey[T], model: T) -> None:
        """Keep `model` under `key` (a caller that built it, or a test's stand-in)."""
        self._loaded[key] = model

    def loaded(self, kind: str) -> list[tuple[ModelKey[Any], Any]]:
        """The keys and models of one kind that are loaded now."""
        return [(k, v) for k, v in self._loaded.items() if k.kind == kind]

    def drop(self, key: ModelKey[Any]) -> None:
        """Forget the model under `key` (if any), closing it."""
        if key in self._loaded:
            _close(self._loaded.pop(key))

    def drop_all(self) -> None:
        """Forget every loaded model, closing each."""
        loaded = list(self._loaded.values())
        self._loaded.clear()
        for value in loaded:
            _close(value)
