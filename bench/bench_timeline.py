"""Benchmark: the Library timeline's windows on a 20,000-photo library, deep ones included.

The library is synthetic: photo rows as the indexer writes them (one folder, dates spread
over twenty years, one photo in ten undated), written straight into a fresh database at the
current schema. Each window is what the grid asks for as it scrolls: `limit` photos from
`offset` in the timeline order, timed by the real core.library.browse query.

Prints one JSON object: per order and window, the median milliseconds over `--runs`, and
SQLite's plan for the deepest window (whether it sorts the whole table or walks an index).

    .venv/bin/python bench/bench_timeline.py [--photos 20000] [--runs 7] [--limit 200]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy.dialects import sqlite  # noqa: E402

from core.context import AppContext  # noqa: E402
from core.library.browse import PhotoFilter, PhotoOrder, filtered_photos, photos_query  # noqa: E402

STAMP = "%Y-%m-%d %H:%M:%S.%f"


def fill(app: AppContext, photos: int, seed: int = 3) -> None:
    """`photos` rows under one root, in a random order of dates (as folders are found)."""
    rng = random.Random(seed)
    start, span = datetime(2005, 1, 1, tzinfo=UTC), 20 * 365 * 24 * 3600
    now = datetime.now(UTC).strftime(STAMP)
    rows = []
    for i in range(1, photos + 1):
        when = None if rng.random() < 0.1 else \
            (start + timedelta(seconds=rng.randrange(span))).strftime(STAMP)
        rows.append((i, 1, f"/photos/{i % 97:02d}/{i:06d}.jpg".encode(), 2_000_000 + i,
                     10**18 + i, f"{i:064x}", "JPEG", 1600, 1200, 1, when, "ok", now, now))
    with app.db.engine.begin() as conn:
        sql = conn.exec_driver_sql
        sql("INSERT INTO library_roots (id, path, added_at) VALUES (1, ?, ?)",
            (b"/photos", now))
        sql("INSERT INTO photos (id, root_id, path, size, mtime_ns, content_hash, format, "
            "width, height, orientation, captured_at, status, first_seen_at, indexed_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        sql("ANALYZE")


def timed(app: AppContext, where: PhotoFilter, order: PhotoOrder, offset: int, limit: int,
          runs: int) -> float:
    """The median milliseconds of one window."""
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        got = filtered_photos(app, where, offset=offset, limit=limit, order=order)
        times.append((time.perf_counter() - t) * 1000)
        assert got, (order, offset)
    return round(statistics.median(times), 2)


def plan(app: AppContext, where: PhotoFilter, order: PhotoOrder, offset: int,
         limit: int) -> list[str]:
    """SQLite's query plan of one window."""
    q = photos_query(where, order, offset=offset, limit=limit)
    text = str(q.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}))
    with app.db.engine.connect() as conn:
        return [row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + text)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--limit", type=int, default=200)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="idfsr-timeline-"))
    with AppContext.open(home) as app:
        fill(app, args.photos)
        deep = args.photos - args.limit
        everything, one_year = PhotoFilter(), PhotoFilter(date_from=date(2012, 1, 1),
                                                          date_to=date(2012, 12, 31))
        result: dict[str, object] = {"photos": args.photos, "limit": args.limit,
                                     "runs": args.runs, "schema": app.db.current_revision()}
        for order in (PhotoOrder.NEWEST, PhotoOrder.OLDEST):
            result[order.value] = {f"offset_{off}": timed(app, everything, order, off,
                                                          args.limit, args.runs)
                                   for off in (0, args.photos // 2, deep)}
        result["one_year_newest_ms"] = timed(app, one_year, PhotoOrder.NEWEST, 0, args.limit,
                                             args.runs)
        result["plan_deep_newest"] = plan(app, everything, PhotoOrder.NEWEST, deep, args.limit)
        result["plan_deep_oldest"] = plan(app, everything, PhotoOrder.OLDEST, deep, args.limit)
        result["plan_one_year"] = plan(app, one_year, PhotoOrder.NEWEST, 0, args.limit)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
