"""The context's model registry: built once per key, dropped models closed."""

from __future__ import annotations

from core.models.registry import ModelKey, ModelRegistry

TEXT: ModelKey[list[str]] = ModelKey("text")


class Closable:
    def __init__(self) -> None:
        self.closed = 0

    def close(self) -> None:
        self.closed += 1


def test_a_model_is_loaded_once_per_key_and_names_keep_models_apart() -> None:
    models = ModelRegistry()
    loads: list[str] = []

    def load(name: str) -> list[str]:
        loads.append(name)
        return [name]

    first = models.get(TEXT.named("a"), lambda: load("a"))
    assert models.get(TEXT.named("a"), lambda: load("again")) is first
    assert models.get(TEXT.named("b"), lambda: load("b")) == ["b"]
    assert loads == ["a", "b"]
    assert [k.name for k, _ in models.loaded("text")] == ["a", "b"]
    assert models.peek(TEXT) is None  # the unnamed key is a key of its own


def test_dropping_closes_and_the_next_use_loads_afresh() -> None:
    key: ModelKey[Closable] = ModelKey("closable")
    models = ModelRegistry()
    old = models.get(key, Closable)
    models.drop(key)
    models.drop(key)  # nothing there: nothing to close twice
    assert old.closed == 1 and models.peek(key) is None
    new = models.get(key, Closable)
    assert new is not old
    other = Closable()
    models.put(ModelKey("closable", "other"), other)
    models.drop_all()
    assert (new.closed, other.closed) == (1, 1) and models.loaded("closable") == []
