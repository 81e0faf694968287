"""The Restore page's words for people: how sure a match is, what became of each face, and
why a photo has no result (never a bare "done" when nothing was restored)."""

from __future__ import annotations

import re

from core.people.service import PersonInfo
from core.restore.report import FaceResult, PhotoResult
from idfsr_desktop.person_list_model import UNNAMED_PERSON, display_name, person_details

# Calibrated confidences (core.restore.matching): the probability the person is right.
CONFIDENCE_WORDS = ((0.9, "very likely"), (0.8, "likely"), (0.0, "unsure"))
_SHARP_PX = re.compile(r"(\d+) px across")
_PERSON_ID = re.compile(r"#(\d+)\b")  # how the engine's reasons name a person with no name


def people_names(people: list[PersonInfo]) -> dict[int, str]:
    """Person id: what the page calls them (as the people pages do, never an internal id)."""
    return {p.id: display_name(p) for p in people}


def picker_text(person: PersonInfo) -> str:
    """A person in a face's list: the name; an unnamed one with their photos, so that two
    unnamed people can be told apart ('Unnamed person · 12 photos · 1998–2004')."""
    return person.name or f"{UNNAMED_PERSON} · {person_details(person)}"


def person_name(person_id: int | None, names: dict[int, str], name: str | None = None) -> str:
    """The page's name for a person: the library's now, else the match's, else 'Unnamed
    person'."""
    return (names.get(person_id) if person_id is not None else None) or name or UNNAMED_PERSON


def without_ids(text: str, names: dict[int, str]) -> str:
    """An engine's reason ('best candidate #17 at …') with its person ids put in words."""
    return _PERSON_ID.sub(lambda found: person_name(int(found.group(1)), names), text)


def confidence_words(confidence: float) -> str:
    """'very likely', 'likely' or 'unsure' for a calibrated match confidence."""
    return next(words for floor, words in CONFIDENCE_WORDS if confidence >= floor)


def _who(face: FaceResult, names: dict[int, str], choices: dict[int, int | None]
         ) -> tuple[int | None, str | None, bool]:
    """(person id, name, chosen by the user) of a face."""
    m = face.match
    if face.number in choices:
        pid = choices[face.number]
        return pid, (person_name(pid, names) if pid is not None else None), True
    name = person_name(m.person_id, names, m.name) if m.person_id is not None else None
    return m.person_id, name, m.source == "user"


def skipped_text(face: FaceResult) -> str:
    """Why a face was left as it was, shortly: 'Skipped: already sharp (88 px)'."""
    message = face.message
    if message.startswith("already sharp"):
        found = _SHARP_PX.search(message)
        px = found.group(1) if found else f"{face.size_px:.0f}"
        return f"Skipped: already sharp ({px} px)"
    if message.startswith("not asked for"):
        return "Skipped: not asked for"
    return f"Skipped: {message}" if message else "Skipped"


def face_state_text(face: FaceResult, names: dict[int, str] | None = None,
                    choices: dict[int, int | None] | None = None) -> str:
    """A face's row in words: before restoring who it will be restored as and how sure that
    is; after, what became of it."""
    names, choices = names or {}, choices or {}
    pid, name, chosen = _who(face, names, choices)
    if face.status == "restored":
        if face.path == "personal" and name:
            return f"Restored as {name}"
        return "Restored without a known identity"
    if face.status == "skipped":
        return skipped_text(face)
    if face.status == "failed":
        return "Not restored: " + (face.message.removeprefix("could not restore this face: ")
                                   or "it failed")
    if pid is None:
        return "No one (your choice): no known identity" if chosen \
            else "No match: no known identity"
    if chosen:
        return f"{name} (your choice)"
    words = confidence_words(face.match.confidence)
    if face.match.weak_evidence:
        return f"{words.capitalize()} {name} (small face: check)"
    return f"{words.capitalize()} {name}"


def outcome_text(result: PhotoResult | None, status: str, message: str = "") -> str:
    """Why a photo ended as it did, for the status line and the status bar."""
    if status == "no_faces":
        return "No faces found: nothing to restore."
    if status in ("error", "cancelled"):
        return message or ("The restore was cancelled." if status == "cancelled"
                           else "Restoring failed.")
    faces = result.faces if result is not None else []
    restored = [f for f in faces if f.status == "restored"]
    sharp = sum(f.status == "skipped" and f.message.startswith("already sharp") for f in faces)
    failed = sum(f.status == "failed" for f in faces)
    repaired = result is not None and bool(result.output) and not restored
    if not faces:
        return ("Repaired the photo; no faces found." if repaired
                else "No faces found: nothing to restore.")
    if repaired:
        return ("Repaired the photo; all faces already sharp." if sharp == len(faces)
                else "Repaired the photo; no face was restored (see the faces).")
    if not restored:
        if sharp == len(faces):
            return "All faces already sharp: nothing to restore."
        if failed:
            return f"No face could be restored ({failed} failed; see the faces)."
        return "No face was restored: see the faces for why."
    personal = sum(f.path == "personal" for f in restored)
    text = (f"Restored {len(restored)} face{'s' if len(restored) != 1 else ''} "
            f"({personal} as known people)")
    left = [f"{sharp} already sharp"] if sharp else []
    if failed:
        left.append(f"{failed} failed")
    return text + (f"; {', '.join(left)}." if left else ".")
