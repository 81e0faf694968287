"""A process that makes people edits, one after another, until it is killed.

    python bench/crash/edit_worker.py HOME JOURNAL SEED

After each edit has committed, it appends to JOURNAL (flushed and fsync'd) the edit's
number and the digest of all people rows (checks.people_state). So after a kill, the DB
must hold exactly the journal's last state, or one more edit (committed, not yet
journaled) whose undo gives that state.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.context import AppContext  # noqa: E402
from core.errors import IdfsrError  # noqa: E402
from core.people import edits  # noqa: E402
from crash.checks import people_state  # noqa: E402
from crash.library import SYNTH_ROOT  # noqa: E402


def _persons(ctx: AppContext) -> dict[int, list[int]]:
    """Persons of the synthetic faces, and those faces (the photos on disk are left alone:
    the index phase edits and deletes some of them, which may legitimately drop decisions)."""
    with ctx.db.session() as s:
        rows = s.connection().exec_driver_sql(
            "SELECT fp.person_id, fp.face_id FROM face_persons fp JOIN faces f "
            "ON f.id = fp.face_id JOIN photos p ON p.id = f.photo_id JOIN library_roots r "
            "ON r.id = p.root_id WHERE r.path = ? AND fp.person_id IS NOT NULL",
            (SYNTH_ROOT,)).fetchall()
    out: dict[int, list[int]] = {}
    for person, face in rows:
        out.setdefault(int(person), []).append(int(face))
    return out


def one_edit(ctx: AppContext, rng: np.random.Generator, n: int) -> str:
    """Make one random edit of the synthetic faces' persons; its kind."""
    persons = _persons(ctx)
    if len(persons) < 2:
        raise IdfsrError("too few persons left to edit")
    ids = sorted(persons)
    a, b = (int(x) for x in rng.choice(ids, 2, replace=False))
    face = int(rng.choice(persons[a]))
    kind = str(rng.choice(["rename", "rename", "reject", "move", "confirm", "merge", "split",
                           "hide", "unassign", "cover"],
                          p=[.2, .1, .15, .1, .1, .08 if len(ids) > 20 else 0, .07, .05, .05,
                             .1 + (0 if len(ids) > 20 else .08)]))
    if kind == "rename":
        edits.rename(ctx, a, f"P{n}-{a}")
    elif kind == "reject":
        edits.reject(ctx, [face], a)
    elif kind == "move":
        edits.move(ctx, [face], b)
    elif kind == "confirm":
        edits.confirm(ctx, [face])
    elif kind == "merge":
        edits.merge(ctx, a, [b])
    elif kind == "split":
        edits.split(ctx, a, persons[a][: max(1, len(persons[a]) // 3)], f"Split{n}")
    elif kind == "hide":
        edits.hide(ctx, a, hidden=bool(rng.random() < 0.7))
    elif kind == "unassign":
        edits.unassign(ctx, [face])
    else:
        edits.set_cover(ctx, a, face)
    return kind


def main() -> None:
    home, journal, seed = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    rng = np.random.default_rng(seed)
    ctx = AppContext.open(home)
    with journal.open("a", encoding="utf-8") as out:
        n = 0
        while True:
            try:
                kind = one_edit(ctx, rng, n)
            except IdfsrError:
                continue  # a refused edit changes nothing
            n += 1
            out.write(json.dumps({"n": n, "kind": kind, "state": people_state(ctx.db.path)})
                      + "\n")
            out.flush()
            os.fsync(out.fileno())


if __name__ == "__main__":
    main()
