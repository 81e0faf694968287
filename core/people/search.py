"""The library search resolved against this library: its visible people and its folders.

The words themselves (names, folders, dates) are parsed in `core.library.search`; this module
only supplies what they are matched against, from the people layer above it.
"""

from __future__ import annotations

from core.context import AppContext
from core.library.browse import photo_folders
from core.library.search import LibrarySearch, parse_search
from core.people.service import PersonInfo, list_people


def search_library(ctx: AppContext, text: str) -> LibrarySearch[PersonInfo]:
    """`parse_search` against the library's visible people and its folders."""
    return parse_search(text, list_people(ctx, best=0), photo_folders(ctx))
