"""Choosing the face backend from the settings: auto, insightface, embedded."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest
from insightface_fakes import write_pack

from core.context import AppContext
from core.errors import ModelMissingError
from core.faces.backends import choose_backend, open_backend
from core.faces.insightface_backend import InsightFaceBackend
from core.paths import AppPaths
from core.settings import Settings


class StubEmbedded:
    name = "embedded"
    model_id = "embedded-stub"
    embedding_dim = 128

    def __init__(self, **knobs: object) -> None:
        self.knobs = knobs  # what open_backend passed from the settings


@pytest.fixture
def paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppPaths:
    # The embedded backend is tested on its own; here only the choice matters.
    stub = types.ModuleType("core.faces.embedded")
    stub.EmbeddedBackend = StubEmbedded  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "core.faces.embedded", stub)
    return AppPaths.resolve(tmp_path / "home")


def settings(backend: str, pack: str = "buffalo_l") -> Settings:
    s = Settings(face_backend=backend)  # type: ignore[arg-type]
    s.faces.pack = pack
    s.device = "cpu"
    return s


def test_auto_without_a_pack_is_embedded(paths: AppPaths) -> None:
    assert choose_backend(paths, settings("auto")).backend == "embedded"
    assert isinstance(open_backend(paths, settings("auto")), StubEmbedded)


def test_auto_and_insightface_use_an_installed_pack(paths: AppPaths) -> None:
    write_pack(paths.models / "insightface" / "buffalo_l")
    for wanted in ("auto", "insightface"):
        backend = open_backend(paths, settings(wanted))
        assert isinstance(backend, InsightFaceBackend) and backend.pack == "buffalo_l"


def test_another_installed_pack_stands_in_for_the_configured_one(paths: AppPaths) -> None:
    write_pack(paths.models / "insightface" / "antelopev2")
    choice = choose_backend(paths, settings("auto", pack="buffalo_l"))
    assert choice.pack is not None and choice.pack.name == "antelopev2"
    assert "not installed" in choice.reason


def test_embedded_wins_when_chosen_even_with_a_pack(paths: AppPaths) -> None:
    write_pack(paths.models / "insightface" / "buffalo_l")
    assert isinstance(open_backend(paths, settings("embedded")), StubEmbedded)


def test_insightface_without_a_pack_says_how_to_get_one(paths: AppPaths) -> None:
    with pytest.raises(ModelMissingError, match="idfsr models get buffalo_l"):
        open_backend(paths, settings("insightface"))


def test_open_backend_takes_the_app_context(app: AppContext) -> None:
    write_pack(app.paths.models / "insightface" / "buffalo_l")
    app.settings = app.settings.model_copy(update={"device": "cpu"})
    assert isinstance(open_backend(app), InsightFaceBackend)
