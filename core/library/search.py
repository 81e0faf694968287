"""Searching the library with a few words: people by name, photos by person, folder and date.

Every word must match (so "obama 2019" is Obama's photos of 2019); one word matches a photo
through any of the people whose name holds it, the folders whose name holds it, or the date
it names ("2019", "march", "march 2019", "2019-03", "2019-03-14"). A month with its year is
one term. The words are resolved against the people and folders once, into plain terms that
`browse.PhotoFilter` carries and turns into SQL.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy import exists, false, func, or_

from core.db.models import Face, FacePerson, Photo

MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
          "september", "october", "november", "december")
FIRST_YEAR, LAST_YEAR = 1800, 2200  # four digits outside this are not taken for a year
_DAY = re.compile(r"^(\d{4})-(\d{1,2})(?:-(\d{1,2}))?$")


@dataclass(frozen=True)
class DateSpan:
    """Photos captured from `start` up to, not including, `end` (UTC days, as the filters)."""

    start: date
    end: date


@dataclass(frozen=True)
class SearchTerm:
    """One word of a search (or a month with its year); a photo matches it through any of
    its people, folders or dates."""

    text: str
    person_ids: tuple[int, ...] = ()
    folders: tuple[str, ...] = ()  # photos anywhere under one of these
    span: DateSpan | None = None
    month: int | None = None  # 1-12: this month of any year

    @property
    def is_date(self) -> bool:
        """Whether the word names a date."""
        return self.span is not None or self.month is not None


class Named(Protocol):
    """A person as the search reads one: an id and a name (None while unnamed)."""

    @property
    def id(self) -> int: ...
    @property
    def name(self) -> str | None: ...


P = TypeVar("P", bound=Named)


@dataclass(frozen=True)
class LibrarySearch(Generic[P]):
    """What a search found: the people it names, and the terms every photo must match."""

    text: str
    people: tuple[P, ...]
    terms: tuple[SearchTerm, ...]


def month_of(word: str) -> int | None:
    """1-12 for a month's name or an abbreviation of three letters or more, else None."""
    if len(word) < 3 or not word.isalpha():
        return None
    for number, name in enumerate(MONTHS, start=1):
        if name.startswith(word):
            return number
    return None


def _year_of(word: str) -> int | None:
    if len(word) == 4 and word.isdigit() and FIRST_YEAR <= int(word) <= LAST_YEAR:
        return int(word)
    return None


def _month_span(year: int, month: int) -> DateSpan:
    end = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return DateSpan(date(year, month, 1), end)


def _date_word(word: str) -> DateSpan | None:
    """The span an ISO-like word names: "2019", "2019-03" or "2019-03-14"."""
    year = _year_of(word)
    if year is not None:
        return DateSpan(date(year, 1, 1), date(year + 1, 1, 1))
    found = _DAY.match(word)
    if not found or _year_of(found[1]) is None:
        return None
    try:
        if found[3] is None:
            return _month_span(int(found[1]), int(found[2]))
        day = date(int(found[1]), int(found[2]), int(found[3]))
    except ValueError:  # month 13, February 30th
        return None
    return DateSpan(day, date.fromordinal(day.toordinal() + 1))


def search_words(text: str) -> list[str]:
    """The words of a search, lower case; a month and its year ("march 2019", "2019 march")
    become one word "march 2019"."""
    raw = [w for w in re.split(r"[\s,]+", text.casefold()) if w]
    words: list[str] = []
    i = 0
    while i < len(raw):
        here, after = raw[i], raw[i + 1] if i + 1 < len(raw) else ""
        if month_of(here) is not None and _year_of(after) is not None:
            words.append(f"{here} {after}")
            i += 2
        elif _year_of(here) is not None and month_of(after) is not None:
            words.append(f"{after} {here}")
            i += 2
        else:
            words.append(here)
            i += 1
    return words


def _roots(folders: list[str]) -> list[str]:
    """The folders that are under no other folder of the list (the library's roots)."""
    ordered = sorted(folders, key=len)
    roots: list[str] = []
    for folder in ordered:
        if not any(_inside(folder, root) for root in roots):
            roots.append(folder)
    return roots


def _inside(child: str, parent: str) -> bool:
    return child == parent or child.startswith(parent.rstrip(os.sep) + os.sep)


def _matching_folders(word: str, folders: list[str]) -> tuple[str, ...]:
    """The outermost folders at or below a root whose own name holds `word`."""
    found: set[str] = set()
    for root in _roots(folders):
        for folder in folders:
            if not _inside(folder, root):
                continue
            # The folders between a root and a folder of photos count too ("2019/trip" finds
            # "2019" even when it holds only subfolders); those above the root do not.
            path = root.rstrip(os.sep)
            parts = [os.path.basename(path)] + os.path.relpath(folder, root).split(os.sep)
            for depth, part in enumerate(parts):
                if depth > 0:
                    if part == os.curdir:
                        break
                    path = os.path.join(path, part)
                if word in part.casefold():
                    found.add(path)
                    break
    outermost = [f for f in found if not any(f != o and _inside(f, o) for o in found)]
    return tuple(sorted(outermost))


def _term(word: str, people: Iterable[Named], folders: list[str]) -> SearchTerm:
    span: DateSpan | None = None
    month: int | None = None
    if " " in word:  # "march 2019", joined by search_words
        name, year = word.split(" ")
        span = _month_span(int(year), month_of(name) or 1)
        return SearchTerm(word, span=span)
    span = _date_word(word)
    if span is None:
        month = month_of(word)
    ids = tuple(p.id for p in people if p.name and word in p.name.casefold())
    return SearchTerm(word, ids, _matching_folders(word, folders), span, month)


def parse_search(text: str, people: Sequence[P], folders: list[str]) -> LibrarySearch[P]:
    """Resolve a search against the people and the folders of photos (`browse.photo_folders`);
    `core.people.search.search_library` gives it the library's own.

    The people found (by name) are those matched by every word that is not only a date: "obama 2019"
    and "obama march" find Obama, "barack obama" finds Barack Obama but not Michelle."""
    terms = tuple(_term(word, people, folders) for word in search_words(text))
    found: set[int] | None = None
    for term in terms:
        if term.is_date and not term.person_ids:
            continue
        found = set(term.person_ids) if found is None else found & set(term.person_ids)
    matched = tuple(sorted((p for p in people if found and p.id in found),
                           key=lambda p: ((p.name or "").casefold(), p.id)))
    return LibrarySearch(text.strip(), matched, terms)



def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def under_folder(folder: str) -> Any:
    """SQL: the photo is anywhere under `folder`."""
    # Paths are stored as bytes, compared bytewise: everything under "/a/b/" sorts in
    # ["/a/b/", "/a/b0") ('0' follows the separator), which the path index answers.
    prefix = folder.rstrip(os.sep) + os.sep
    return (Photo.path >= prefix) & (Photo.path < prefix[:-1] + chr(ord(os.sep) + 1))


def with_person(person_ids: Iterable[int]) -> Any:
    """SQL: a face of one of these persons is in the photo."""
    ids = list(person_ids)
    return exists().where(Face.photo_id == Photo.id, FacePerson.face_id == Face.id,
                          FacePerson.person_id.in_(ids))


def term_condition(term: SearchTerm) -> Any:
    """SQL: the photo matches the term through a person, a folder or its date."""
    either = []
    if term.person_ids:
        either.append(with_person(term.person_ids))
    either.extend(under_folder(folder) for folder in term.folders)
    if term.span is not None:
        either.append((Photo.captured_at >= _day_start(term.span.start))
                      & (Photo.captured_at < _day_start(term.span.end)))
    if term.month is not None:
        # SQLite keeps the UTC capture time as "YYYY-MM-DD HH:MM:SS…".
        either.append(func.strftime("%m", Photo.captured_at) == f"{term.month:02d}")
    return or_(*either) if either else false()
