"""App paths, settings schema and migrations."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core import settings as settings_mod
from core.errors import SettingsError
from core.paths import AppPaths
from core.settings import SCHEMA_VERSION, Settings, load_settings, save_settings


def test_home_env_moves_everything(isolated_home: Path) -> None:
    paths = AppPaths.resolve()
    assert paths.home == isolated_home
    for folder in paths.all_roots():
        assert folder.is_relative_to(isolated_home)
    assert paths.db_file.is_relative_to(isolated_home)


def test_explicit_home_wins_over_env(tmp_path: Path) -> None:
    paths = AppPaths.resolve(tmp_path / "other")
    assert paths.home == tmp_path / "other"
    assert paths.thumbnails.is_relative_to(tmp_path / "other")


def test_platform_dirs_when_no_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("IDFSR_HOME")
    paths = AppPaths.resolve()
    assert paths.home is None
    assert paths.data.is_relative_to(tmp_path / "xdg-data")
    assert paths.cache.is_relative_to(tmp_path / "xdg-cache")
    assert paths.config.is_relative_to(tmp_path / "xdg-config")


def test_settings_round_trip(tmp_path: Path) -> None:
    s = Settings()
    s.index.thumbnail_size = 320
    s.face_backend = "embedded"
    save_settings(s, tmp_path / "settings.json")
    loaded = load_settings(tmp_path / "settings.json")
    assert loaded == s
    assert json.loads((tmp_path / "settings.json").read_text())["schema_version"] == SCHEMA_VERSION


def test_missing_settings_give_defaults(tmp_path: Path) -> None:
    assert load_settings(tmp_path / "nope.json") == Settings()


def test_corrupt_settings_are_kept_aside_not_lost(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text("{not json")
    assert load_settings(path) == Settings()
    kept = list(tmp_path.glob("settings.json.unreadable-*"))
    assert len(kept) == 1 and kept[0].read_text() == "{not json"


def test_invalid_value_is_refused_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"schema_version": 1, "index": {"thumbnail_size": 5}}))
    assert load_settings(path).index.thumbnail_size == 256
    assert list(tmp_path.glob("settings.json.unreadable-*"))


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"schema_version": SCHEMA_VERSION + 1}))
    with pytest.raises(SettingsError, match="newer version"):
        load_settings(path)
    assert path.exists()  # never clobbered


def test_migrations_run_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A schema-1 file goes through each step up to a (pretend) schema 3."""
    calls: list[int] = []

    def v1_to_v2(raw: dict) -> dict:
        calls.append(1)
        raw["device"] = raw.pop("gpu", "auto")
        return raw

    def v2_to_v3(raw: dict) -> dict:
        calls.append(2)
        raw["face_backend"] = "embedded"
        return raw

    monkeypatch.setattr(settings_mod, "SCHEMA_VERSION", 3)
    monkeypatch.setattr(settings_mod, "MIGRATIONS", {1: v1_to_v2, 2: v2_to_v3})
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"schema_version": 1, "gpu": "cuda:0"}))
    s = settings_mod.load_settings(path)
    assert calls == [1, 2]
    assert s.device == "cuda:0" and s.face_backend == "embedded"
