"""The packaged app's data: what the spec bundles exists, and the lookups find it from source
and in a frozen layout.

The full freeze (`make package`, then `make package-check`) takes too long for the test
run; packaging/README.md describes that check. Here the bundle's data folder is laid
out from the same manifest the spec uses, and `sys._MEIPASS` points at it as it does in
the frozen app.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest

from core import resources
from core.db.database import Database, head_revision, migrations_dir
from core.errors import IdfsrError, ModelMissingError
from core.faces import dlib_embedder, mobileface, retinaface, yuface_detector
from core.idfsr.checkpoint import model_search_path
from core.paths import AppPaths

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"


def _load(name: str) -> ModuleType:
    # packaging/ is no package (it would shadow PyPI's `packaging`): load by path.
    spec = importlib.util.spec_from_file_location(f"idfsr_packaging_{name}",
                                                  PACKAGING / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


manifest = _load("manifest")


def _destinations() -> set[str]:
    return {f"{f.dest_dir}/{f.source.name}" for f in manifest.data_files()}


def test_every_file_the_spec_bundles_exists() -> None:
    files = manifest.data_files()
    assert files and all(f.source.is_file() for f in files)
    dests = _destinations()
    assert len(dests) == len(files), "two files would land on one path in the bundle"
    assert {"core/db/migrations/env.py", "core/db/migrations/script.py.mako",
            "retinaface/weights.py",
            f"face_recognition_models/models/{dlib_embedder.MODEL_FILE}"} <= dests
    # The restoration model's recognizer (core.faces.recognizers), read at run time.
    assert {f"resources/models/{mobileface.MODEL_NAME}/{name}" for name in (
        mobileface.WEIGHTS_NAME, mobileface.CHECKSUM_NAME, mobileface.CONFIG_NAME)} <= dests
    revisions = {p.name for p in migrations_dir().glob("versions/*.py")}
    assert revisions and {f"core/db/migrations/versions/{n}" for n in revisions} <= dests
    # Whatever resources/ holds for the app goes along, the bundled model's files included.
    for folder in manifest.RESOURCE_DIRS:
        for path in (ROOT / "resources" / folder).rglob("*"):
            if path.is_file():
                assert path.relative_to(ROOT).as_posix() in dests


def test_the_spec_takes_its_data_from_the_manifest() -> None:
    spec = PACKAGING / "idfsr-desktop.spec"
    text = spec.read_text(encoding="utf-8")
    compile(text, str(spec), "exec")
    assert "manifest.data_files()" in text
    assert "launch.py" in text and (PACKAGING / "launch.py").is_file()
    assert manifest.variant() in manifest.VARIANTS


def test_lookups_from_source() -> None:
    assert not resources.is_frozen()
    assert resources.resources_root() == ROOT / "resources"
    assert resources.demo_library_path() == ROOT / "resources" / "demo"
    assert migrations_dir() == ROOT / "core" / "db" / "migrations"
    assert resources.package_data_path("core.idfsr", "configs") == ROOT / "core/idfsr/configs"
    assert resources.package_data_path("no_such_package_here") is None
    assert resources.package_data_path("no_such_package_here.sub") is None


def test_resources_env_overrides_the_lookup(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(resources.RESOURCES_ENV, str(tmp_path))
    assert resources.resources_root() == tmp_path
    with pytest.raises(IdfsrError, match="bundled resource missing"):
        resources.resource_path("demo")


@pytest.fixture
def frozen_bundle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The frozen app's data folder, laid out as the spec lays it out, as `sys._MEIPASS`."""
    bundle = tmp_path / "_internal"
    for item in manifest.data_files():
        target = bundle / item.dest_dir / item.source.name
        target.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(item.source, target)
    monkeypatch.setattr(sys, "_MEIPASS", str(bundle), raising=False)
    monkeypatch.delenv(resources.RESOURCES_ENV, raising=False)
    return bundle


def test_lookups_when_frozen(frozen_bundle: Path) -> None:
    assert resources.is_frozen() and resources.bundle_root() == frozen_bundle
    assert resources.resources_root() == frozen_bundle / "resources"
    assert resources.demo_library_path() == frozen_bundle / "resources" / "demo"
    assert resources.bundled_models_root() == frozen_bundle / "resources" / "models"
    assert migrations_dir() == frozen_bundle / "core" / "db" / "migrations"
    assert model_search_path(AppPaths.resolve())[1].parent == frozen_bundle / "resources/models"
    assert dlib_embedder.DlibRecognizer()._locate() == (
        frozen_bundle / "face_recognition_models" / "models" / dlib_embedder.MODEL_FILE)
    assert retinaface.RetinaFaceModel()._locate() == frozen_bundle / "retinaface" / "weights.py"
    assert mobileface.MobileFaceModel()._locate() == (
        frozen_bundle / "resources" / "models" / mobileface.MODEL_NAME)
    # Not bundled: looked for in the bundle only, never in the venv next to it.
    assert resources.package_data_path("yuface") is None
    with pytest.raises(ModelMissingError):
        yuface_detector.YuFaceModel()._locate()


def test_a_frozen_app_upgrades_its_database_from_the_bundled_migrations(
        frozen_bundle: Path, tmp_path: Path) -> None:
    db = Database.open(tmp_path / "library.db")
    try:
        assert db.current_revision() == head_revision()
    finally:
        db.close()
