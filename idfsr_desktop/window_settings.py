"""The GUI's own remembered state (window geometry, the page shown, the library filters): one
INI file in the app's config folder, so a `--home` (or a test's) keeps it with everything else."""

from __future__ import annotations

from PySide6.QtCore import QSettings

from core.context import AppContext

SETTINGS_FILE = "desktop.ini"


def window_settings(ctx: AppContext) -> QSettings:
    """The GUI's own settings (window geometry…), kept in the app's config folder."""
    return QSettings(str(ctx.paths.config / SETTINGS_FILE), QSettings.Format.IniFormat)
