"""Where the app keeps its data: platformdirs by default, one folder when overridden.

`IDFSR_HOME` (or `--home DIR`, which wins) moves everything, DB, caches, models, fitted
identities and outputs, under one folder, so tests and portable installs never touch
the user's real data.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "idfsr-desktop"
HOME_ENV = "IDFSR_HOME"


@dataclass(frozen=True)
class AppPaths:
    """Every folder the app writes to. Build with `AppPaths.resolve()`."""

    home: Path | None
    data: Path
    config: Path
    cache: Path
    models: Path
    outputs: Path
    logs: Path

    @classmethod
    def resolve(cls, home: str | os.PathLike[str] | None = None) -> AppPaths:
        """Paths for an explicit home, else `$IDFSR_HOME`, else the platform's folders."""
        chosen = home if home is not None else os.environ.get(HOME_ENV) or None
        if chosen is not None:
            root = Path(chosen).expanduser().absolute()
            return cls(
                home=root,
                data=root / "data",
                config=root / "config",
                cache=root / "cache",
                models=root / "models",
                outputs=root / "outputs",
                logs=root / "logs",
            )
        dirs = platformdirs.PlatformDirs(APP_NAME, appauthor=False)
        data = Path(dirs.user_data_dir)
        return cls(
            home=None,
            data=data,
            config=Path(dirs.user_config_dir),
            cache=Path(dirs.user_cache_dir),
            models=data / "models",
            outputs=Path(platformdirs.user_pictures_dir()) / "IDFSR Restored",
            logs=Path(dirs.user_log_dir),
        )

    def ensure(self) -> None:
        """Create the folders the app needs at start (outputs are made when first written)."""
        for folder in (self.data, self.config, self.cache, self.models, self.logs):
            folder.mkdir(parents=True, exist_ok=True)

    def all_roots(self) -> tuple[Path, ...]:
        """Every folder the app may write to."""
        return (self.data, self.config, self.cache, self.models, self.outputs, self.logs)

    @property
    def db_file(self) -> Path:
        """The library database."""
        return self.data / "library.db"

    @property
    def settings_file(self) -> Path:
        """The settings JSON."""
        return self.config / "settings.json"

    @property
    def thumbnails(self) -> Path:
        """Thumbnail cache (rebuildable)."""
        return self.cache / "thumbnails"

    @property
    def identities(self) -> Path:
        """Fitted per-person identity embeddings."""
        return self.data / "identities"
