"""SQLite's failures in plain words: every database error the user can meet becomes one
typed IdfsrError (busy, read-only, disk full, damaged, cannot open) with a sentence that says
what happened and what to do. Programming errors (no such table, constraint violations)
are left as they are: they are bugs, not conditions of the user's machine.

Used at the engine (SQLAlchemy's `handle_error` event, so every session and query raises
the typed error) and at the edges (the CLI's `run_cli`, the GUI's task runner and error
hook) for the few places that talk to the sqlite3 driver directly.
"""

from __future__ import annotations

import re
import sqlite3
import tempfile
from pathlib import Path

from sqlalchemy.exc import StatementError

from core.errors import (
    DatabaseBusy,
    DatabaseDamaged,
    DatabaseError,
    DatabaseFull,
    DatabaseReadOnly,
)
from core.fsutil import display_path

# SQLite's primary result codes (https://sqlite.org/rescode.html)
SQLITE_PERM, SQLITE_BUSY, SQLITE_LOCKED, SQLITE_READONLY = 3, 5, 6, 8
SQLITE_IOERR, SQLITE_CORRUPT, SQLITE_FULL, SQLITE_CANTOPEN = 10, 11, 13, 14
SQLITE_NOTADB = 26

# How each condition reads when SQLite gives no code (older drivers, wrapped errors).
_BY_TEXT = (
    ("database is locked", SQLITE_BUSY),
    ("database table is locked", SQLITE_LOCKED),
    ("readonly database", SQLITE_READONLY),
    ("database or disk is full", SQLITE_FULL),
    ("disk image is malformed", SQLITE_CORRUPT),
    ("file is not a database", SQLITE_NOTADB),
    ("unable to open database file", SQLITE_CANTOPEN),
    ("disk i/o error", SQLITE_IOERR),
    # Python's driver, reading a text cell whose bytes were changed on disk (bit rot, a
    # scribble inside a row): no SQLite check sees it, the row is damaged all the same.
    ("could not decode to utf-8", SQLITE_CORRUPT),
    ("malformed database schema", SQLITE_CORRUPT),
)

# A damaged schema's names are quoted in SQLite's message ("malformed database schema
# (<name>)"); when those bytes are not UTF-8, Python's driver cannot decode the message and
# raises UnicodeDecodeError holding it instead of the sqlite3 error.
READ_ERRORS = (sqlite3.Error, UnicodeDecodeError)
BUSY_TIMEOUT_MS = 15000  # how long a connection waits for another process's lock

REPAIR_HINT = ("To repair it, run `idfsr library repair` (or start the desktop app); the "
               "damaged file is kept.")


def _writable(folder: Path) -> bool:
    """Whether a file can be made in `folder` (tried: permission bits do not tell root)."""
    try:
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False


def sqlite_error(exc: BaseException) -> sqlite3.Error | None:
    """The sqlite3 error behind `exc` (itself, what SQLAlchemy wrapped, or what Python's
    driver could not decode), if any."""
    if isinstance(exc, sqlite3.Error):
        return exc
    if isinstance(exc, StatementError) and isinstance(exc.orig, BaseException):
        return sqlite_error(exc.orig)
    if isinstance(exc, UnicodeDecodeError) and isinstance(exc.object, bytes) \
            and exc.object.startswith(b"malformed database schema"):
        return sqlite3.DatabaseError(exc.object.decode("utf-8", "replace"))
    return None


def sqlite_words(err: BaseException) -> str:
    """What SQLite (or its driver) said, without the damaged bytes it may quote (they say
    nothing to the user, and may not even print)."""
    return re.sub(r" with text '.*$", " (its bytes are not text)", str(err), flags=re.S)


def primary_code(err: sqlite3.Error) -> int | None:
    """SQLite's primary result code of an error (from its extended code, else its text)."""
    code = getattr(err, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF
    text = str(err).lower()
    return next((c for words, c in _BY_TEXT if words in text), None)


def explain(exc: BaseException, path: Path | None = None) -> DatabaseError | None:
    """The typed, plain-words error for a database failure of the user's machine; None for
    anything else (a bug, or not a database error at all)."""
    if isinstance(exc, DatabaseError):
        return exc
    err = sqlite_error(exc)
    if err is None:
        return None
    code = primary_code(err)
    what = f"the library database {display_path(path)}" if path else "the library database"
    said = sqlite_words(err)
    if code in (SQLITE_BUSY, SQLITE_LOCKED):
        return DatabaseBusy(
            f"{what} is busy: another IDFSR process (the app or an `idfsr` command) kept it "
            f"locked for over {BUSY_TIMEOUT_MS / 1000:.0f} s; try again when it has finished")
    if code in (SQLITE_READONLY, SQLITE_PERM):
        return DatabaseReadOnly(
            f"{what} cannot be written: the file or its folder is read-only (SQLite: {said}); "
            "make them writable, or use a home folder you can write to (--home)")
    if code == SQLITE_FULL:
        return DatabaseFull(
            f"the disk holding {what} is full: the last change was not saved (nothing "
            "saved before it is lost); free some space and try again")
    if code in (SQLITE_CORRUPT, SQLITE_NOTADB):
        return DatabaseDamaged(
            f"{what} is damaged (SQLite: {said}); nothing more is written to it. {REPAIR_HINT}")
    if code == SQLITE_CANTOPEN and path is not None and not _writable(path.parent):
        return DatabaseReadOnly(
            f"{what} cannot be opened: its folder {display_path(path.parent)} is read-only "
            "(SQLite needs to write its log beside it); make it writable, or use a home "
            "folder you can write to (--home)")
    if code in (SQLITE_CANTOPEN, SQLITE_IOERR):
        return DatabaseError(
            f"{what} cannot be opened or read (SQLite: {said}): check that its folder "
            "exists, that the disk holding it is connected and that you may read it")
    return None
