"""Typed errors that carry a message meant for the user, not a traceback."""

from __future__ import annotations


class IdfsrError(Exception):
    """Base of every error the app expects and explains to the user."""


class JobCancelled(IdfsrError):
    """A long job stopped because its cancel token was set."""

    def __init__(self, message: str = "cancelled") -> None:
        super().__init__(message)


class SettingsError(IdfsrError):
    """The settings file cannot be used (e.g. written by a newer version)."""


class DatabaseError(IdfsrError):
    """The library database cannot be opened, upgraded, read or written."""


class DatabaseDamaged(DatabaseError):
    """The library database is damaged; nothing more is written to it until it is repaired.

    `diagnosis` (a core.db.health.Diagnosis, when the damage was found by a check) says what
    is wrong in plain words."""

    def __init__(self, message: str, diagnosis: object | None = None) -> None:
        super().__init__(message)
        self.diagnosis = diagnosis


class DatabaseBusy(DatabaseError):
    """Another process kept the library database locked for longer than we wait."""


class DatabaseReadOnly(DatabaseError):
    """The library database, or its folder, cannot be written."""


class DatabaseFull(DatabaseError):
    """The disk holding the library database is full."""


class LibraryError(IdfsrError):
    """A library operation was refused (e.g. a root that is not a folder)."""


class ImageReadError(IdfsrError):
    """An image could not be read; `kind` is a short stable code, the message says why."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class ModelMissingError(IdfsrError):
    """A needed model is not installed; `model` names it, the message says how to get it."""

    def __init__(self, model: str, message: str) -> None:
        super().__init__(message)
        self.model = model


class ModelCorruptError(IdfsrError):
    """A model file is present but fails verification (wrong checksum, unreadable)."""
