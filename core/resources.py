"""Locate bundled data from source and from a frozen build: the one place that knows where.

Two kinds of bundled data, one lookup each:

- `resources/` (demo library, icons, the default restoration model): `resource_path()`;
- data shipped inside an installed package (the Alembic migrations, the weights of the
  embedded face models): `package_data_path()`.

From source they are where the checkout and the venv keep them; in the app built by
`packaging/idfsr-desktop.spec` they lie under PyInstaller's `sys._MEIPASS`, laid out the
same way (`resources/...`, `<package>/...`), and the spec collects exactly the files
these functions are asked for.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

from core.errors import IdfsrError

RESOURCES_ENV = "IDFSR_RESOURCES"


def bundle_root() -> Path | None:
    """The frozen app's data folder (PyInstaller's `sys._MEIPASS`), or None from source."""
    frozen_root = getattr(sys, "_MEIPASS", None)
    return Path(frozen_root) if frozen_root else None


def is_frozen() -> bool:
    """Whether this process is the packaged app rather than Python running the source."""
    return bundle_root() is not None


def resources_root() -> Path:
    """The folder that holds the bundled resources, wherever the app runs from."""
    override = os.environ.get(RESOURCES_ENV)
    if override:
        return Path(override)
    bundle = bundle_root()
    if bundle is not None:
        return bundle / "resources"
    return Path(__file__).resolve().parent.parent / "resources"


def resource_path(*parts: str) -> Path:
    """Path of a bundled resource; raises IdfsrError with a clear message if it is absent."""
    path = resources_root().joinpath(*parts)
    if not path.exists():
        raise IdfsrError(f"bundled resource missing: {path} (is the installation complete?)")
    return path


def demo_library_path() -> Path:
    """The bundled demo photo library."""
    return resource_path("demo")


def bundled_models_root() -> Path:
    """The folder of the restoration models shipped with the app (it may hold none)."""
    return resources_root() / "models"


def package_data_path(package: str, *parts: str) -> Path | None:
    """Where `parts` lie inside the installed package `package` (dotted), or None when the
    package is not installed. Whether the file itself is there is the caller's to check.

    Frozen, the package's data sits in the bundle under the package's own path; from
    source it is found without importing the package (some build global state on import).
    """
    bundle = bundle_root()
    if bundle is not None:
        folder = bundle.joinpath(*package.split("."))
        return folder.joinpath(*parts) if folder.is_dir() else None
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):  # a parent package is missing or broken
        return None
    if spec is None:
        return None
    if spec.submodule_search_locations:
        folder = Path(next(iter(spec.submodule_search_locations)))
    elif spec.origin and spec.has_location:
        folder = Path(spec.origin).parent
    else:
        return None
    return folder.joinpath(*parts)
