"""Browsing the library: photos narrowed by folder, date, faces and person; the folders to
choose from; a photo's faces with their names."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import update
from squares_backend import SquaresBackend, squares_photo

from core.context import AppContext
from core.db.models import Photo
from core.faces.backends import FACE_BACKEND
from core.library.browse import (
    PhotoFilter,
    count_photos,
    filtered_photos,
    photo_faces,
    photo_folders,
)
from core.library.service import add_root
from core.people.edits import rename
from core.tasks.indexing import index_everything

RED, GREEN = (220, 40, 40), (40, 220, 40)


def _names(photos: list) -> list[str]:
    return [Path(p.path).name for p in photos]


def test_filters_narrow_the_photos_and_combine(app: AppContext, tmp_path: Path) -> None:
    root = tmp_path / "photos"
    for i in range(3):
        squares_photo(root / "family" / f"red_{i}.jpg", [(20 + 5 * i, 20, 72, RED)])
        squares_photo(root / "family" / f"green_{i}.jpg", [(30, 20 + 4 * i, 72, GREEN)])
    squares_photo(root / "trips" / "group.jpg", [(10, 10, 72, RED), (150, 40, 72, GREEN)])
    dark = (30, 30, 30)  # too dark to be a face for the squares backend
    squares_photo(root / "trips" / "sea.jpg", [(5, 5, 40, dark)])
    squares_photo(root / "trips0" / "not-under-trips.jpg", [(60, 5, 40, dark)])  # sorts
    # right after "trips/", the edge of the folder filter's range
    add_root(app, root)
    app.models.put(FACE_BACKEND, SquaresBackend())
    index_everything(app)
    with app.db.session() as s:
        for name, day in (("red_0.jpg", date(1990, 5, 1)), ("green_1.jpg", date(1990, 5, 31)),
                          ("group.jpg", date(2001, 1, 1))):
            s.execute(update(Photo).where(Photo.path == str(root / ("trips" if name == "group.jpg"
                                                                    else "family") / name))
                      .values(captured_at=datetime(day.year, day.month, day.day, 23, 30,
                                                   tzinfo=UTC)))
    assert count_photos(app, PhotoFilter()) == 9 and not PhotoFilter().narrows

    trips = PhotoFilter(folder=str(root / "trips"))
    assert trips.narrows and _names(filtered_photos(app, trips)) == ["group.jpg", "sea.jpg"]
    assert _names(filtered_photos(app, PhotoFilter(folder=str(root / "trips") + "/"))) == [
        "group.jpg", "sea.jpg"]
    may = PhotoFilter(date_from=date(1990, 5, 1), date_to=date(1990, 5, 31))
    assert _names(filtered_photos(app, may)) == ["green_1.jpg", "red_0.jpg"]
    assert count_photos(app, PhotoFilter(date_from=date(2000, 1, 1))) == 1
    assert count_photos(app, PhotoFilter(has_faces=True)) == 7
    assert _names(filtered_photos(app, PhotoFilter(has_faces=False))) == [
        "sea.jpg", "not-under-trips.jpg"]

    faces = photo_faces(app, filtered_photos(app, trips)[0].id)
    assert len(faces) == 2 and faces[0].box[0] < faces[1].box[0]
    red = faces[0].person_id
    assert red is not None and faces[0].label == f"#{red}" and faces[0].name is None
    rename(app, red, "Ruth")
    assert photo_faces(app, filtered_photos(app, trips)[0].id)[0].label == "Ruth"
    ruth = PhotoFilter(person_id=red)
    assert _names(filtered_photos(app, ruth)) == ["red_0.jpg", "red_1.jpg", "red_2.jpg",
                                                  "group.jpg"]
    both = PhotoFilter(person_id=red, folder=str(root / "family"), date_to=date(1995, 1, 1))
    assert _names(filtered_photos(app, both)) == ["red_0.jpg"]
    assert _names(filtered_photos(app, ruth, offset=1, limit=2)) == ["red_1.jpg", "red_2.jpg"]
    assert photo_faces(app, filtered_photos(app, PhotoFilter(has_faces=False))[0].id) == []

    assert photo_folders(app) == [str(root), str(root / "family"), str(root / "trips"),
                                  str(root / "trips0")]
