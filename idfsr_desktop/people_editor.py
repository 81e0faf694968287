"""The one place the GUI changes people: each user decision is one core edit, logged for undo.

Edits are single small transactions, so they run in the GUI thread and the views see
the result at once. A refused edit (IdfsrError) becomes a `failed` signal with the
reason, never an exception in a slot. After every change, `changed` tells every view
to re-read what it shows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from PySide6.QtCore import QObject, Signal

from core.context import AppContext
from core.errors import IdfsrError
from core.people import edits, history, manual, strangers

T = TypeVar("T")


def _count(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


class PeopleEditor(QObject):
    """Calls core.people.edits / history; says what happened in words."""

    changed = Signal()  # people data changed: views re-read
    done = Signal(str)  # what was done, for the status bar
    failed = Signal(str, str)  # title, reason

    def __init__(self, ctx: AppContext, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._ctx = ctx

    def _apply(self, title: str, edit: Callable[[], T],
               message: str | Callable[[T], str]) -> tuple[bool, T | None]:
        """Run one edit: (True, its result), or (False, None) after saying why it was refused."""
        try:
            result = edit()
        except IdfsrError as exc:
            self.failed.emit(title, str(exc))
            return False, None
        self.changed.emit()
        self.done.emit(message(result) if callable(message) else message)
        return True, result

    def rename(self, person_id: int, name: str) -> bool:
        """Name a person ('' removes the name)."""
        clean = name.strip()
        return self._apply("Cannot rename", lambda: edits.rename(self._ctx, person_id, clean),
                           f"Renamed to {clean}." if clean else "Name removed.")[0]

    def merge(self, into: int, others: Iterable[int], label: str = "") -> bool:
        """Make `others` part of `into` (`label`: how to call `into` in the message)."""
        drop = list(others)
        return self._apply("Cannot merge", lambda: edits.merge(self._ctx, into, drop),
                           f"Merged into {label}." if label else "Merged.")[0]

    def split(self, person_id: int, face_ids: Iterable[int], name: str | None = None
              ) -> int | None:
        """Make these faces of a person a new person; its id."""
        ids = list(face_ids)
        return self._apply("Cannot make a new person",
                           lambda: edits.split(self._ctx, person_id, ids, name),
                           lambda new: f"{_count(len(ids), 'face')} became a new person.")[1]

    def new_person(self, face_ids: Iterable[int], name: str | None = None) -> int | None:
        """Make these faces (from anywhere) a new person; its id."""
        ids = list(face_ids)
        return self._apply("Cannot make a new person",
                           lambda: edits.new_person(self._ctx, ids, name),
                           lambda new: f"{_count(len(ids), 'face')} became "
                                       + (name or "a new person") + ".")[1]

    def move(self, face_ids: Iterable[int], person_id: int, label: str = "") -> bool:
        """Put faces with another person."""
        ids = list(face_ids)
        return self._apply("Cannot move faces", lambda: edits.move(self._ctx, ids, person_id),
                           f"Moved {_count(len(ids), 'face')} to {label or 'another person'}.")[0]

    def reject(self, face_ids: Iterable[int], person_id: int) -> bool:
        """"Not this person": the faces leave it for good."""
        ids = list(face_ids)
        return self._apply("Cannot remove faces",
                           lambda: edits.reject(self._ctx, ids, person_id),
                           f"{_count(len(ids), 'face')} marked as not this person.")[0]

    def confirm(self, face_ids: Iterable[int], person_id: int) -> bool:
        """Confirm faces as this person's."""
        ids = list(face_ids)
        return self._apply("Cannot confirm faces",
                           lambda: edits.confirm(self._ctx, ids, person_id),
                           f"Confirmed {_count(len(ids), 'face')}.")[0]

    def unassign(self, face_ids: Iterable[int]) -> bool:
        """Take faces out of every person."""
        ids = list(face_ids)
        return self._apply("Cannot unassign faces", lambda: edits.unassign(self._ctx, ids),
                           f"{_count(len(ids), 'face')} now belong to nobody.")[0]

    def set_cover(self, person_id: int, face_id: int) -> bool:
        """Show the person with this face."""
        return self._apply("Cannot set the cover",
                           lambda: edits.set_cover(self._ctx, person_id, face_id),
                           "Cover face set.")[0]

    def hide(self, person_id: int, hidden: bool = True) -> bool:
        """Hide a person from the people grid and suggestions (or show them again)."""
        return self._apply("Cannot hide" if hidden else "Cannot show",
                           lambda: edits.hide(self._ctx, person_id, hidden),
                           "Person hidden; “Show hidden” lists them again." if hidden
                           else "Person shown.")[0]

    def ignore_strangers(self) -> int:
        """Set tiny, blurred and lonely unassigned faces aside; how many."""
        found = strangers.stranger_faces(self._ctx)
        if not found:
            return 0
        _, n = self._apply("Cannot ignore strangers",
                           lambda: strangers.ignore_faces(self._ctx, found, "strangers"),
                           lambda n: f"{_count(n or 0, 'stranger')} ignored; Edit ▸ Undo "
                                     "brings them back.")
        return n or 0

    def remove_drawn_face(self, face_id: int) -> bool:
        """Take back a face the user drew (not an undoable people edit: draw it again)."""
        return self._apply("Cannot remove the face",
                           lambda: manual.remove_manual_face(self._ctx, face_id),
                           "Face removed.")[0]

    def undo(self) -> bool:
        """Undo the last edit not undone yet."""
        return self._apply("Nothing to undo", lambda: history.undo(self._ctx),
                           lambda done: f"Undone: {done[0]}." if done else "Undone.")[0]

    def undo_summary(self) -> str | None:
        """What Undo would undo, or None when there is nothing."""
        for edit in history.history(self._ctx, history.KEEP):
            if not edit.undone:
                return edit.summary
        return None
