"""A small real library (JPEGs of coloured squares, faces by the squares backend) with every
kind of people decision made in it, and a view of those decisions that does not depend on
database ids: for tests of exports, backups, damage and repair."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from squares_backend import SquaresBackend, squares_photo

from core.context import AppContext
from core.db.models import FacePerson, Person
from core.faces.backends import FACE_BACKEND
from core.library.service import add_root
from core.people import edits
from core.people.decisions_file import export_decisions
from core.people.service import list_people
from core.safekeeping import open_session
from core.tasks.indexing import index_everything

COLOURS = {"red": (220, 40, 40), "green": (40, 220, 40), "blue": (60, 60, 230),
           "yellow": (230, 230, 40), "cyan": (40, 220, 220)}


class PaletteBackend(SquaresBackend):
    """The squares backend with one identity per palette colour (orthogonal embeddings), so
    five colours make five people, not the three directions of colour space."""

    def __init__(self) -> None:
        super().__init__("palette-v1")

    def embed(self, image: np.ndarray, faces: Sequence[Any]) -> np.ndarray:
        palette = np.array(list(COLOURS.values()), np.float32)
        rows = []
        for f in faces:
            x0, y0, x1, y1 = (int(v) for v in f.box)
            colour = image[y0:y1, x0:x1].reshape(-1, 3).mean(axis=0)
            v = np.zeros(8, np.float32)
            v[int(np.argmin(((palette - colour) ** 2).sum(axis=1)))] = 1.0
            v[7] = 0.05
            rows.append(v / np.linalg.norm(v))
        return np.array(rows, np.float32)


def make_square_photos(folder: Path) -> Path:
    """4 photos of each colour (each one different), and a group photo of red and green."""
    for i in range(4):
        for name, colour in COLOURS.items():
            squares_photo(folder / f"{name}_{i}.jpg", [(20 + 5 * i, 20 + 3 * i, 72, colour)])
    squares_photo(folder / "group.jpg", [(10, 10, 72, COLOURS["red"]),
                                         (150, 40, 72, COLOURS["green"])])
    return folder


def index_squares(ctx: AppContext, photos: Path) -> None:
    """Add the folder and index it with the squares backend (faces and people)."""
    ctx.models.put(FACE_BACKEND, PaletteBackend())
    if not any(True for _ in _roots(ctx)):
        add_root(ctx, photos)
    index_everything(ctx)


def _roots(ctx: AppContext) -> list[str]:
    from core.library.service import list_roots

    return [r.path for r in list_roots(ctx)]


def _person_with(ctx: AppContext, stem: str) -> int:
    """The person holding the face of photo `<stem>.jpg`."""
    from core.faces.service import list_faces

    faces = [f for f in list_faces(ctx) if Path(f.photo_path).stem == stem]
    assert faces and faces[0].person_id is not None, stem
    return faces[0].person_id


def _faces_of(ctx: AppContext, stem: str) -> list[int]:
    from core.faces.service import list_faces

    return [f.id for f in list_faces(ctx) if Path(f.photo_path).stem == stem]


def make_decisions(ctx: AppContext) -> dict[str, int]:
    """Every kind of decision: names, a merge, a hidden person, a cover, a confirmation,
    a "not this person", a face taken out of everyone, a split. Returns the person ids."""
    red, green = _person_with(ctx, "red_0"), _person_with(ctx, "green_0")
    blue, yellow = _person_with(ctx, "blue_0"), _person_with(ctx, "yellow_0")
    edits.rename(ctx, red, "Alice")
    edits.rename(ctx, green, "Bob")
    edits.merge(ctx, red, [yellow])  # the user says the yellow squares are Alice too
    edits.hide(ctx, blue)
    edits.set_cover(ctx, red, _faces_of(ctx, "red_2")[0])
    edits.confirm(ctx, _faces_of(ctx, "green_1"))
    edits.reject(ctx, _faces_of(ctx, "green_3"), green)  # "not Bob"
    edits.unassign(ctx, _faces_of(ctx, "blue_3"))
    carol = edits.split(ctx, green, _faces_of(ctx, "green_2"), name="Carol")
    return {"alice": red, "bob": green, "blue": blue, "carol": carol}


def build_library(home: Path, photos: Path) -> dict[str, int]:
    """A closed home whose library is indexed and holds every kind of decision."""
    make_square_photos(photos)
    with open_session(home) as ctx:
        index_squares(ctx, photos)
        ids = make_decisions(ctx)
        assert len(list_people(ctx, include_hidden=True)) >= 5
    return ids


def decisions_view(ctx: AppContext) -> dict[str, Any]:
    """The decisions, with persons named by who they are (name, else their faces), not ids."""
    data = export_decisions(ctx)
    label = {}
    for p in data["people"]:
        label[p["id"]] = p["name"] or "faces:" + ",".join(
            sorted(f"{f['photo'][:8]}" for f in p["faces"]))
    people = sorted((label[p["id"]], p["hidden"], _k(p["cover"]),
                     tuple(sorted((_k(f), f["source"]) for f in p["faces"])))
                    for p in data["people"])
    rejections = sorted((_k(r), label.get(r["person"], "?")) for r in data["rejections"])
    unassigned = sorted(_k(u) for u in data["unassigned"])
    return {"people": people, "rejections": rejections, "unassigned": unassigned}


def _k(key: dict[str, Any] | None) -> tuple[str, tuple[float, ...]] | None:
    return None if key is None else (key["photo"], tuple(key["box"]))


def person_ids(ctx: AppContext) -> dict[str | None, int]:
    """Named persons' ids by name."""
    with ctx.db.session() as s:
        return {p.name: p.id for p in s.query(Person).filter(Person.name.is_not(None))}


def assignment_count(ctx: AppContext) -> int:
    with ctx.db.session() as s:
        return s.query(FacePerson).count()


def file_digest(path: Path) -> str | None:
    """SHA-256 of a file, None when it is not there."""
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None
