"""The damage test (CI-sized; `bench/db_damage.py` runs the larger one): copies of a library
full of people decisions, damaged 54 ways (cut short at random lengths, random pages
overwritten with garbage, the header zeroed, the schema's text garbled, emptied, a JPEG in
its place, the log of another database beside it). For each
(tests/damage_support.try_damage): every command says so in one line and exits 1, with no
traceback; `library check` finds it; the damaged files are never written; and after
`library repair --restore` every decision is back (from the backup, and the newer ones
from the export). Every 10th is rebuilt from the photos instead, every 10th (offset 5)
salvaged: the decisions come back from the export then too. A damage SQLite finds
harmless (a cut in unused space) must leave every decision as it was. The app's start on
each of them: tests/gui/test_gui_repair_dialog.py."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from damage_support import build_damage_library, damages, try_damage
from decisions_support import PaletteBackend

from core.tasks import indexing


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return build_damage_library(tmp_path_factory.mktemp("damage"))


@pytest.fixture(autouse=True)
def palette_faces(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every face pass of this test (`index`, a rebuild) uses the palette backend."""
    monkeypatch.setattr(indexing, "face_backend", lambda ctx: PaletteBackend())


def test_fifty_ways_to_damage_a_library(library: dict, tmp_path: Path) -> None:
    ways = damages(library["db"], other_library=library["other"], photo=library["photo"],
                   work=tmp_path / "work", seed=20)
    assert len(ways) >= 50 and {w.kind for w in ways} == {
        "truncate", "page", "header", "schema", "empty", "photo", "foreign_wal"}
    results = [try_damage(w, n, library, tmp_path) for n, w in enumerate(ways)]
    by_kind = Counter((r["kind"], r["outcome"]) for r in results)
    repairs = Counter(r.get("repair") for r in results if r["outcome"] == "detected")
    print("\ndamage test:", dict(sorted(by_kind.items())), dict(repairs))
    # Every way but a cut in the file's unused tail is damage, and it is found.
    for kind in ("page", "header", "schema", "empty", "photo", "foreign_wal"):
        assert by_kind[(kind, "harmless")] == 0, kind
    assert by_kind[("truncate", "detected")] >= 15
    assert repairs["rebuild"] >= 4 and sum(v for k, v in repairs.items()
                                           if k and k.startswith("salvage")) >= 4


def test_a_cut_in_the_unused_tail_is_harmless_and_nothing_is_lost(library: dict,
                                                                  tmp_path: Path) -> None:
    """The last byte of the last page is unused: SQLite reads the page whole without it."""
    from damage_support import Damage, _truncate

    size = library["db"].stat().st_size
    result = try_damage(Damage("truncate", "last-byte", _truncate(size - 1)), 1, library,
                        tmp_path)
    assert result["outcome"] == "harmless"
