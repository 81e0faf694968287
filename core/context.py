"""The application context: paths, settings and DB, built once and passed down (no globals)."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from core.db.database import Database
from core.db.files import files_stamp
from core.db.types import utcnow
from core.errors import IdfsrError
from core.models.registry import ModelRegistry
from core.paths import AppPaths
from core.settings import Settings, load_settings, save_settings


@dataclass
class AppContext:
    """Everything a core function needs to know about this installation."""

    paths: AppPaths
    settings: Settings
    db: Database
    # Loaded models, each built on first use under a typed key (core.models.registry).
    models: ModelRegistry = field(default_factory=ModelRegistry)
    # A person is waiting on this process's event loop (the desktop app): models whose
    # calls hold the GIL for long run in child processes (see core.faces.dlib_embedder).
    interactive: bool = False
    # The time, for what is dated by it (rolling backups); tests give a fake clock.
    clock: Callable[[], datetime] = field(default_factory=lambda: utcnow)
    # The DB's files as they were when opened: whether this session wrote (core.safekeeping).
    opened_stamp: Any = None
    # Run by `close` before the DB closes, each in turn: the end of a user's session
    # (core.safekeeping.open_session adds the export of the decisions and the backups).
    on_close: list[Callable[[AppContext], object]] = field(default_factory=list)

    @classmethod
    def open(cls, home: str | os.PathLike[str] | None = None, *, checked: bool = False,
             on_close: Iterable[Callable[[AppContext], object]] = ()) -> AppContext:
        """Resolve paths (`home` > $IDFSR_HOME > platform folders), load settings, check and
        open the DB (DatabaseDamaged, saying why, when it is damaged). `checked`: the caller
        has just checked it (the app's start), so it is not read through twice. `on_close`:
        what `close` runs first."""
        paths = AppPaths.resolve(home)
        try:
            paths.ensure()
        except OSError as exc:
            raise IdfsrError(f"cannot create the app's folders ({exc.strerror or exc}: "
                             f"{exc.filename}); use a home folder you can write to") from exc
        settings = load_settings(paths.settings_file)
        db = Database.open(paths.db_file, check=not checked)
        ctx = cls(paths=paths, settings=settings, db=db, on_close=list(on_close))
        ctx.opened_stamp = files_stamp(paths.db_file)
        ctx.apply_models_dir()
        return ctx

    def apply_models_dir(self) -> None:
        """Point `paths.models` at the settings' models folder (or back at the app's own), and
        forget the models loaded from the old one."""
        default = AppPaths.resolve(self.paths.home).models
        chosen = self.settings.models_dir
        wanted = Path(chosen).expanduser().absolute() if chosen is not None else default
        if wanted != self.paths.models:
            self.paths = replace(self.paths, models=wanted)
            self.release_models()

    def save_settings(self) -> None:
        """Persist the current settings."""
        save_settings(self.settings, self.paths.settings_file)

    def release_models(self) -> None:
        """Forget the loaded models, ending any child process one of them runs in."""
        self.models.drop_all()

    def close(self) -> None:
        """Run the `on_close` calls (a failure is logged, never raised: it must not lose the
        close), release loaded models and the DB."""
        for call in self.on_close:
            try:
                call(self)
            except Exception:
                logging.getLogger(__name__).exception("closing the session: %r failed", call)
        self.release_models()
        self.db.close()

    def __enter__(self) -> AppContext:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
