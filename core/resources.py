"""Locate bundled data (demo library, default models) from source and from a frozen build."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from core.errors import IdfsrError


def resources_root() -> Path:
    """The folder that holds the bundled resources, wherever the app runs from."""
    override = os.environ.get("IDFSR_RESOURCES")
    if override:
        return Path(override)
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:  # PyInstaller unpacks data next to the bundled modules
        return Path(frozen_root) / "resources"
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
