"""The phases of the kill loop: what each starts (to be killed), what it checks after the
kill, and how the interrupted job is finished.

A phase is a class with `name`, `prepare` (make work for the next run), `command` (the
process to start and kill), `started` (whether its work is under way: the kill then
lands within `work_seconds`), `after_kill` (phase-specific checks on the killed state),
`note` (what the report should say about the kill) and `resume` (run the job again to
the end and check it picked up where it stopped).
The checks every phase shares (DB health, the user's decisions, partial files) are in
the driver. The phases that run the restoration model (fitting, restoring) are in
crash/model_phases.py.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from crash.checks import people_state, photo_progress
from crash.library import SYNTH_ROOT, composite, demo_portraits

REPO = Path(__file__).resolve().parents[2]
IDFSR = [str(Path(sys.executable).with_name("idfsr"))]
if not Path(IDFSR[0]).exists():
    IDFSR = [sys.executable, "-c", "from core.cli import entry; entry()"]


@dataclass
class Run:
    """The shared state of one kill loop: where things are, the seeded dice."""

    home: Path
    library: Path
    work: Path
    rng: np.random.Generator
    model: str = ""  # the embedding model of the library (the real backend's)
    timings: dict[str, float] = field(default_factory=dict)
    restoration_model: Path | None = None  # a tiny one, for the fit and restore phases

    @property
    def db_file(self) -> Path:
        return self.home / "data" / "library.db"

    def synth_root(self) -> int:
        with sqlite3.connect(self.db_file, timeout=30) as conn:
            row = conn.execute("SELECT id FROM library_roots WHERE path = ?",
                               (SYNTH_ROOT,)).fetchone()
        return int(row[0]) if row else -1

    def idfsr(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        """Run `idfsr` on this home to the end; raises with its stderr if it fails."""
        proc = subprocess.run([*IDFSR, "--home", str(self.home), *args], capture_output=True,
                              text=True, timeout=timeout, check=False, cwd=self.work)
        if proc.returncode != 0 or "Traceback" in proc.stderr:
            raise RuntimeError(f"idfsr {' '.join(args)} failed ({proc.returncode}):\n"
                               f"{proc.stderr[-3000:]}")
        return proc


class IndexPhase:
    """`idfsr index`: new and changed photos to read, faces to find and embed, new faces to
    give a person. Killed anywhere in that; the rerun must skip what was committed."""

    name = "index"

    def __init__(self, new_per_run: int) -> None:
        self.new_per_run = new_per_run
        self.count = 0
        self.rescan = False
        self.before: dict[str, Any] = {}

    def prepare(self, run: Run) -> None:
        portraits = demo_portraits()
        gen = run.library / "generated"
        for _ in range(self.new_per_run):
            self.count += 1
            src = portraits[int(run.rng.integers(len(portraits)))]
            composite(src, gen / f"roll{self.count // 50:02d}" / f"g{self.count:05d}.jpg",
                      run.rng)
        churn = sorted(gen.rglob("*.jpg"))[:-self.new_per_run]  # never photos of decisions
        if len(churn) > 4:
            for path in run.rng.choice(churn, 2, replace=False):
                if run.rng.random() < 0.5:
                    Path(path).unlink()  # gone: marked missing
                else:
                    src = portraits[int(run.rng.integers(len(portraits)))]
                    composite(src, Path(path), run.rng)  # edited: read and analysed again
        self.rescan = bool(run.rng.random() < 0.15)

    def command(self, run: Run) -> list[str]:
        return [*IDFSR, "--home", str(run.home), "index", *(["--rescan"] if self.rescan else [])]

    def started(self, run: Run, output_seen: bool) -> bool:
        return output_seen  # the progress bars draw as soon as the work begins

    def work_seconds(self, run: Run) -> float:
        return run.timings.get("index_rescan" if self.rescan else "index", 5.0)

    def after_kill(self, run: Run) -> list[str]:
        self.before = photo_progress(run.db_file, run.model)
        return []

    def note(self) -> dict[str, Any]:
        """How far the killed run got (for the report)."""
        return {"rescan": self.rescan, "photo_rows": len(self.before.get("photos", {})),
                "photos_with_faces_done": len(self.before.get("faces_done", set()))}

    def resume(self, run: Run) -> list[str]:
        disk = {str(p): p.stat() for p in run.library.rglob("*.jpg") if not
                any(part.startswith(".") for part in p.relative_to(run.library).parts)}
        report = json.loads(run.idfsr("index", "--json").stdout)
        problems = []
        known = self.before["photos"]
        expect_new = sum(1 for p in disk if p not in known)
        if report["new"] != expect_new:
            problems.append(f"rerun read {report['new']} new photos, {expect_new} were not "
                            "committed before the kill")
        unchanged = {p for p, st in disk.items() if known.get(p) == (st.st_size,
                                                                     st.st_mtime_ns)}
        synthetic = {p for p in self.before["faces_done"] if p.startswith(
            os.fsdecode(SYNTH_ROOT) + "/")}  # an unreachable root: its photos stay as they are
        expect_done = len(unchanged & self.before["faces_done"]) + len(synthetic)
        if report["faces"] and report["faces"]["up_to_date"] != expect_done:
            problems.append(f"rerun found faces of {report['faces']['up_to_date']} photos up "
                            f"to date, {expect_done} were done before the kill")
        synth = run.synth_root()
        with sqlite3.connect(run.db_file, timeout=30) as conn:
            pending = conn.execute(
                "SELECT count(*) FROM photos WHERE status = 'ok' AND root_id != ? AND "
                "(faces_hash IS NULL OR faces_hash != content_hash OR faces_model != ?)",
                (synth, run.model)).fetchone()[0]
            rows = conn.execute("SELECT count(*) FROM photos WHERE status = 'ok' AND "
                                "root_id != ?", (synth,)).fetchone()[0]
        if pending:
            problems.append(f"{pending} photos still without their faces after the rerun")
        if rows != len(disk):
            problems.append(f"{rows} photos indexed, {len(disk)} on disk")
        return problems


class ReclusterPhase:
    """`idfsr people recluster`: read every face, cluster, write the persons. Killed
    anywhere; user decisions must not move, and a rerun must finish."""

    name = "recluster"

    def prepare(self, run: Run) -> None:
        pass

    def command(self, run: Run) -> list[str]:
        return [*IDFSR, "--home", str(run.home), "people", "recluster"]

    def started(self, run: Run, output_seen: bool) -> bool:
        return output_seen

    def work_seconds(self, run: Run) -> float:
        return run.timings.get("recluster", 3.0)

    def after_kill(self, run: Run) -> list[str]:
        return []

    def note(self) -> dict[str, Any]:
        return {}

    def resume(self, run: Run) -> list[str]:
        report = json.loads(run.idfsr("people", "recluster", "--json").stdout)
        return [] if report["faces"] > 0 else ["the rerun clustered no face"]


class EditsPhase:
    """People edits in a loop (bench/crash/edit_worker.py), killed at a random moment:
    every journaled edit is there, and the one in flight is all there or not at all."""

    name = "edits"

    def __init__(self) -> None:
        self.journal = Path()
        self.start_edit = 0
        self.start_state = ""
        self.last: dict[str, Any] = {}

    def prepare(self, run: Run) -> None:
        self.journal = run.work / f"edits-{time.monotonic_ns()}.jsonl"
        self.start_edit = _last_edit(run.db_file)
        self.start_state = people_state(run.db_file)
        self.seed = int(run.rng.integers(1 << 31))

    def command(self, run: Run) -> list[str]:
        worker = Path(__file__).with_name("edit_worker.py")
        return [sys.executable, str(worker), str(run.home), str(self.journal), str(self.seed)]

    def started(self, run: Run, output_seen: bool) -> bool:
        return self.journal.exists() and self.journal.stat().st_size > 0  # a first edit done

    def work_seconds(self, run: Run) -> float:
        return 3.0

    def after_kill(self, run: Run) -> list[str]:
        lines = self.journal.read_text("utf-8").splitlines() if self.journal.exists() else []
        entries = []
        for line in lines:
            try:
                entries.append(json.loads(line))
            except json.JSONDecodeError:
                break  # the kill cut the last line: that edit counts as not journaled
        journaled = entries[-1]["state"] if entries else self.start_state
        committed = _last_edit(run.db_file) - self.start_edit
        state = people_state(run.db_file)
        self.last = {"edits_committed": committed,
                     "in_flight_committed": committed == len(entries) + 1}
        if committed == len(entries):
            return [] if state == journaled else [
                f"after {committed} edits the people rows differ from the journal's"]
        if committed == len(entries) + 1:  # the kill fell between commit and journal
            undone = _state_after_undo(run.db_file, run.work)
            return [] if undone == journaled else [
                "the edit in flight was only partly committed (its undo does not give the "
                "state before it)"]
        return [f"{committed} edits committed, {len(entries)} journaled: an edit was lost "
                "or duplicated"]

    def note(self) -> dict[str, Any]:
        return dict(self.last)

    def resume(self, run: Run) -> list[str]:
        return []  # nothing to finish: each edit is its own transaction


def _last_edit(db_file: Path) -> int:
    with sqlite3.connect(db_file, timeout=30) as conn:
        return int(conn.execute("SELECT coalesce(max(id), 0) FROM people_edits").fetchone()[0])


def _state_after_undo(db_file: Path, work: Path) -> str:
    """people_state of a copy of the DB with its last edit undone."""
    from core.context import AppContext
    from core.people.history import undo

    home = Path(tempfile.mkdtemp(prefix="undo-check-", dir=work))
    try:
        (home / "data").mkdir(parents=True)
        src, dst = sqlite3.connect(db_file), sqlite3.connect(home / "data" / "library.db")
        with dst:
            src.backup(dst)
        src.close()
        dst.close()
        ctx = AppContext.open(home)
        try:
            undo(ctx, 1)
        finally:
            ctx.close()
        return people_state(home / "data" / "library.db")
    finally:
        shutil.rmtree(home, ignore_errors=True)


PHASES = {"index": IndexPhase, "recluster": ReclusterPhase, "edits": EditsPhase}


def env_for_children() -> dict[str, str]:
    """The environment of the processes we start: no app home from outside."""
    env = dict(os.environ)
    env.pop("IDFSR_HOME", None)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env
