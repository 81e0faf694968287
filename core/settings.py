"""Typed settings with a schema version and ordered migrations, stored as JSON."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.errors import SettingsError
from core.fsutil import atomic_write_bytes

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1

# MIGRATIONS[n] turns a settings dict of schema n into one of schema n + 1.
Migration = Callable[[dict[str, Any]], dict[str, Any]]
MIGRATIONS: dict[int, Migration] = {}


class IndexSettings(BaseModel):
    """How the library is scanned."""

    model_config = ConfigDict(extra="ignore")

    thumbnail_size: int = Field(256, ge=64, le=1024)
    thumbnails_on_index: bool = True
    max_image_pixels: int = Field(250_000_000, ge=1_000_000)
    workers: int = Field(0, ge=0, description="decode threads; 0 = one per CPU core")
    follow_symlinks: bool = True
    skip_hidden: bool = True


class FaceSettings(BaseModel):
    """How faces are found and indexed."""

    model_config = ConfigDict(extra="ignore")

    enabled: bool = True
    workers: int = Field(0, ge=0, description="photos analysed at once; 0 = one per CPU core")
    max_side: int = Field(4096, ge=512, le=16384, description="larger photos are scaled down")
    tiny_faces: bool = True
    min_face_px: int = Field(8, ge=4, le=256)
    thumbnail_size: int = Field(160, ge=64, le=512)
    pack: str = Field("buffalo_l", description="insightface pack used when installed")
    # The embedded backend's recognizer. dlib is the default because it is the more
    # accurate (LFW, resources/models/mobileface/README.md); MobileFace embeds ~60x faster.
    # Changing it re-embeds the library on the next index, keeping every user decision.
    recognizer: Literal["dlib-resnet-v1", "mobileface-v1"] = Field(
        "dlib-resnet-v1", description="embedded backend's face recognizer")


class RestoreSettings(BaseModel):
    """The Restore page's starting knobs (the engine's defaults until the user sets them) and
    how long restored results wait in the work folder before they are pruned."""

    model_config = ConfigDict(extra="ignore")

    steps: int = Field(25, ge=1, le=1000)
    candidates: int = Field(4, ge=1, le=16)
    fidelity: float = Field(0.5, ge=0.0, le=1.0)
    identity_strength: float = Field(1.0, ge=0.0, le=10.0)
    scale: float = Field(0.0, ge=0.0, le=4.0, description="output scale; 0: auto")
    keep_work_days: int = Field(14, ge=0, le=3650,
                                description="unexported results older than this are removed "
                                            "at start; 0 = never")


class BackupSettings(BaseModel):
    """Rolling backups of the library database (core.safekeeping)."""

    model_config = ConfigDict(extra="ignore")

    enabled: bool = True
    keep: int = Field(5, ge=1, le=100, description="rolling backups kept, newest first")
    interval_hours: float = Field(24.0, ge=0.0, le=24.0 * 365,
                                  description="at most one rolling backup per this many hours")


class Settings(BaseModel):
    """Everything the user can set. Unknown keys from other versions are ignored."""

    model_config = ConfigDict(extra="ignore")

    schema_version: int = SCHEMA_VERSION
    index: IndexSettings = IndexSettings()  # pydantic copies defaults per instance
    faces: FaceSettings = FaceSettings()
    restore: RestoreSettings = RestoreSettings()
    backups: BackupSettings = BackupSettings()
    face_backend: Literal["auto", "insightface", "embedded"] = "auto"
    device: str = "auto"
    output_dir: Path | None = None
    models_dir: Path | None = None  # None: the app's own models folder


def migrate(raw: dict[str, Any]) -> dict[str, Any]:
    """Bring a settings dict of any earlier schema up to SCHEMA_VERSION, step by step."""
    version = int(raw.get("schema_version", 1))
    if version > SCHEMA_VERSION:
        raise SettingsError(
            f"settings schema {version} was written by a newer version of the app "
            f"(this one understands up to {SCHEMA_VERSION})"
        )
    while version < SCHEMA_VERSION:
        step = MIGRATIONS.get(version)
        if step is None:
            raise SettingsError(f"no migration from settings schema {version}")
        raw = step(dict(raw))
        version += 1
        raw["schema_version"] = version
    return raw


def load_settings(path: Path) -> Settings:
    """Read settings; a missing file gives defaults, an unreadable one is set aside."""
    if not path.exists():
        return Settings()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(raw, dict):
            raise ValueError("not a JSON object")
        return Settings.model_validate(migrate(raw))
    except (ValueError, ValidationError, UnicodeDecodeError) as exc:
        kept = path.with_name(f"{path.name}.unreadable-{time.strftime('%Y%m%d-%H%M%S')}")
        path.replace(kept)
        log.warning("settings file %s was unreadable (%s); kept as %s, using defaults",
                    path, exc, kept)
        return Settings()


def save_settings(settings: Settings, path: Path) -> None:
    """Write settings atomically."""
    data = settings.model_dump_json(indent=2).encode("utf-8")
    atomic_write_bytes(path, data)
