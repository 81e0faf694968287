"""What the app can run with: face backend and pack offer, restoration model hash, device."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from core.context import AppContext
from core.model_status import (
    device_status,
    face_model_status,
    restoration_model,
)
from core.models.catalog import DEFAULT_PACK, INSIGHTFACE_LICENCE


def test_embedded_models_and_an_offer_when_no_pack_is_installed(app: AppContext) -> None:
    status = face_model_status(app)
    assert status.active == "embedded" and status.embedded
    assert status.installed_packs == ()
    assert status.offer is not None and status.offer.name == DEFAULT_PACK
    assert status.offer.licence == INSIGHTFACE_LICENCE


def test_insightface_required_but_missing_is_a_reason_not_an_error(app: AppContext) -> None:
    app.settings.face_backend = "insightface"
    status = face_model_status(app)
    assert status.active is None and "idfsr models get" in status.reason


def test_models_dir_setting_moves_the_models_folder(app: AppContext, tmp_path: Path) -> None:
    shared = tmp_path / "shared-models"
    app.settings.models_dir = shared
    app.save_settings()
    with AppContext.open(app.paths.home) as again:
        assert again.paths.models == shared
    app.settings.models_dir = None
    app.apply_models_dir()
    assert app.paths.models == app.paths.home / "models"


def test_restoration_model_is_found_and_hashed_once(app: AppContext,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from core.idfsr.checkpoint import DEFAULT_MODEL, WEIGHTS_NAME

    folder = app.paths.models / "idfsr" / DEFAULT_MODEL
    folder.mkdir(parents=True)
    weights = folder / WEIGHTS_NAME
    weights.write_bytes(b"weights v1")
    (folder / "config.json").write_text(json.dumps({}))
    found = restoration_model(app)
    assert found is not None and found.path == folder
    assert found.sha256 == hashlib.sha256(b"weights v1").hexdigest()

    calls: list[Path] = []
    import core.model_status as status_mod
    real = status_mod.sha256_file
    monkeypatch.setattr(status_mod, "sha256_file", lambda p: calls.append(p) or real(p))
    assert restoration_model(app) == found and calls == []  # cached
    weights.write_bytes(b"weights v2, longer")
    assert restoration_model(app).sha256 == hashlib.sha256(b"weights v2, longer").hexdigest()
    assert calls == [weights]
    assert restoration_model(app, "no-such-model") is None


def test_model_lookup_matches_the_checkpoint_module_without_importing_torch(
        app: AppContext) -> None:
    import subprocess
    import sys

    from core.idfsr.checkpoint import DEFAULT_MODEL, WEIGHTS_NAME, model_search_path
    from core.model_status import DEFAULT_MODEL_NAME, WEIGHTS_FILE, model_folders

    assert (DEFAULT_MODEL_NAME, WEIGHTS_FILE) == (DEFAULT_MODEL, WEIGHTS_NAME)
    assert model_folders(app, "m") == model_search_path(app.paths, "m")
    # the desktop app's startup check of fitted identities must not pull torch in
    probe = ("import sys; from core.context import AppContext; "
             "from core.model_status import restoration_model; "
             f"ctx = AppContext.open({str(app.paths.home / 'probe')!r}); "
             "restoration_model(ctx); ctx.close(); "
             "sys.exit(('torch' in sys.modules) + 2 * ('diffusers' in sys.modules))")
    assert subprocess.run([sys.executable, "-c", probe], check=False).returncode == 0


def test_device_status_names_the_device() -> None:
    auto = device_status()
    assert auto.kind in {"cpu", "cuda", "mps"} and auto.problem is None and auto.name
    assert device_status("cpu").name.startswith("CPU (")
    bad = device_status("tpu")
    assert bad.kind is None and bad.problem and "tpu" in bad.problem


def test_device_status_from_a_child_process_matches_this_one(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import sys
    from types import SimpleNamespace

    import core.model_status as status_mod

    here = status_mod._device_status_here("cpu")
    # as in an app that has not imported torch yet
    monkeypatch.setattr(status_mod, "sys", SimpleNamespace(modules={}, executable=sys.executable))
    assert device_status("cpu") == here
    monkeypatch.setattr(status_mod, "_PROBE_TIMEOUT_S", 0.001)  # the child fails: answer here
    assert device_status("cpu") == here
