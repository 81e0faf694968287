"""The larger damage run (not part of `make bench`; its CI-sized form is
tests/core/test_db_damage.py): copies of a library full of people decisions, damaged many
ways, each followed through every command, `library check`, a repair (restore; every 10th
a rebuild from the photos, every 10th offset 5 a salvage) and the decisions compared with
the original (tests/damage_support.try_damage). Also, for one damage of each kind, every
command run as a real process through the installed entry point.

Prints one JSON object: outcomes per kind (detected and repaired; harmless, with every
decision intact; found in use, when the checks pass but a command meets the damage (a
row's text no longer text), says so in one line and the database is then refused until
repaired; undetected, when the checks pass on a file whose contents changed, which only
the `scribble` kind can do; failed, with the reason), the repairs used, timings.

    .venv/bin/python bench/db_damage.py [--truncations 100] [--pages 150] [--scribbles 40]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from damage_support import (  # noqa: E402
    COMMANDS,
    build_damage_library,
    damages,
    files_of,
    try_damage,
)
from decisions_support import PaletteBackend  # noqa: E402

from core.db.health import check_database  # noqa: E402
from core.tasks import indexing  # noqa: E402


def _processes(ways: list, library: dict, work: Path) -> dict[str, object]:
    """One damage of each kind: every command as a real process, on a copy."""
    checked, problems = 0, []
    for damage in {w.kind: w for w in ways}.values():
        home = work / f"process-{damage.name}"
        shutil.copytree(library["root"] / "home", home)
        db = home / "data" / "library.db"
        damage.apply(db)
        if not check_database(db).damaged:
            continue
        before = files_of(db)
        for args in COMMANDS:
            done = subprocess.run(
                [sys.executable, "-c", "from core.cli import entry; entry()", "--home",
                 str(home), *(a.format(home=home) for a in args)],
                capture_output=True, text=True, cwd=ROOT, timeout=300)
            lines = done.stderr.strip().splitlines()
            checked += 1
            if (done.returncode != 1 or "Traceback" in done.stderr or len(lines) != 1
                    or "is damaged" not in lines[0]):
                problems.append({"damage": damage.name, "command": args,
                                 "stderr": done.stderr[-500:]})
        if files_of(db) != before:
            problems.append({"damage": damage.name, "written": True})
        shutil.rmtree(home)
    return {"commands_run": checked, "problems": problems}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--truncations", type=int, default=100)
    parser.add_argument("--pages", type=int, default=150)
    parser.add_argument("--scribbles", type=int, default=40)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-processes", action="store_true")
    args = parser.parse_args()
    indexing.face_backend = lambda ctx: PaletteBackend()  # type: ignore[assignment]
    work = Path(tempfile.mkdtemp(prefix="idfsr-damage-"))
    started = time.perf_counter()
    try:
        library = build_damage_library(work / "library")
        ways = damages(library["db"], other_library=library["other"], photo=library["photo"],
                       work=work / "logs", seed=args.seed, truncations=args.truncations,
                       pages=args.pages, scribbles=args.scribbles)
        results, failures = [], []
        t = time.perf_counter()
        for n, damage in enumerate(ways):
            try:
                results.append(try_damage(damage, n, library, work))
            except Exception as exc:  # noqa: BLE001 - every way it goes wrong is counted
                why = (str(exc).splitlines() or [type(exc).__name__])[0][:300]
                if not isinstance(exc, AssertionError):
                    why = f"{type(exc).__name__}: {why}"
                outcome = "undetected" if "undetected damage" in why else "failed"
                results.append({"kind": damage.kind, "name": damage.name, "outcome": outcome})
                if outcome == "failed":
                    failures.append({"damage": damage.name, "why": why})
                shutil.rmtree(work / f"{n:03d}-{damage.name}", ignore_errors=True)
        per_damage_s = (time.perf_counter() - t) / max(1, len(ways))
        processes = None if args.no_processes else _processes(ways, library, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    outcomes: dict[str, dict[str, int]] = {}
    for r in results:
        outcomes.setdefault(r["kind"], {}).setdefault(r["outcome"], 0)
        outcomes[r["kind"]][r["outcome"]] += 1
    print(json.dumps({
        "bench": "db_damage",
        "damages": len(ways),
        "outcomes": outcomes,
        "repairs": dict(Counter(r["repair"] for r in results if "repair" in r)),
        "failures": failures,
        "processes": processes,
        "seconds_per_damage": round(per_damage_s, 3),
        "seconds": round(time.perf_counter() - started, 1),
    }, indent=2))
    sys.exit(1 if failures or (processes and processes["problems"]) else 0)


if __name__ == "__main__":
    main()
