"""Crash safety: SIGKILL `idfsr` at random points, restart, check nothing was lost.

    .venv/bin/python bench/kill_loop.py [--kills 50] [--seed 0]
                                        [--phases index,recluster,edits,fit,restore]
                                        [--quick] [--work DIR] [--keep]

Builds a library (the demo photos, photos generated from them, thousands of synthetic
faces), makes the user's decisions (names, merges, rejections, hidden persons), then
round-robins over the phases (bench/crash/phases.py): start the phase's process, kill it
at a random moment (mostly while it works, sometimes while it starts), and check:
`PRAGMA integrity_check` ok and `foreign_key_check` empty; every user decision made
before the kill still there (the edits phase: every committed edit there, the one in
flight all there or not at all); no half-written cached image visible (temp files are
counted: readers never see them, the next index sweeps stale ones); and the job, run
again, finishes from where it stopped. The fit and restore phases (a tiny seeded
restoration model) add: no partial identity file and no restored photo without its notes
or half written is visible after the kill, and the rerun completes.
Prints one JSON object: kills per phase, how many were really killed mid-run, how many
survived every check, and what failed.
`--quick` is the CI-sized library (tests/core/test_kill_loop.py runs it).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from crash.checks import db_health, decisions, differences, partial_files  # noqa: E402
from crash.library import DEMO, add_synthetic_faces, composite, demo_portraits  # noqa: E402
from crash.model_phases import MODEL_PHASES, tiny_model  # noqa: E402
from crash.phases import PHASES, IndexPhase, Run, env_for_children  # noqa: E402

ALL_PHASES: dict[str, Any] = {**PHASES, **MODEL_PHASES}

EMBEDDING_DIMS = {"dlib-resnet": 128, "insightface": 512}


def setup(run: Run, quick: bool, with_model: bool = False) -> dict[str, Any]:
    """The library, its first index and clustering, the user's first decisions, and (for
    the fit and restore phases) the tiny restoration model."""
    lib = run.library
    t0 = time.monotonic()
    run.idfsr("library", "status")  # start-up alone: imports, settings, a new DB
    run.timings["startup"] = time.monotonic() - t0
    if not quick:
        shutil.copytree(DEMO / "portraits", lib / "demo")
    portraits = demo_portraits()
    for i in range(6 if quick else 24):
        composite(portraits[i % len(portraits)], lib / "generated" / "base" / f"b{i:03d}.jpg",
                  run.rng)
    run.idfsr("library", "add", str(lib))
    t0 = time.monotonic()
    first = json.loads(run.idfsr("index", "--json").stdout)
    run.timings["index_all"] = time.monotonic() - t0
    run.model = first["faces"]["model_id"]
    dim = next((d for prefix, d in EMBEDDING_DIMS.items() if run.model.startswith(prefix)), 128)
    identities, per = (30, 20) if quick else (200, 60)
    synthetic = add_synthetic_faces(run.db_file, run.model, dim, identities, per,
                                    seed=int(run.rng.integers(1 << 31)))
    t0 = time.monotonic()
    run.idfsr("people", "recluster")
    run.timings["recluster"] = max(0.5, time.monotonic() - t0 - run.timings["startup"])
    made = user_decisions(run)
    if with_model:
        run.restoration_model = tiny_model(run.work / "restoration-model", run.model, dim)
    return {"photos": first["seen"], "faces_found": first["faces"]["faces"],
            "synthetic_faces": synthetic, "model": run.model, "decisions": made}


def user_decisions(run: Run) -> dict[str, int]:
    """Names, a merge, a rejection, a confirmed face, a hidden person: made through the same
    core functions as `idfsr people ...` (in this process: ten CLI starts cost ~25 s)."""
    from core.context import AppContext
    from core.people import edits
    from core.people.service import list_people, person_faces

    ctx = AppContext.open(run.home)
    try:
        persons = [p.id for p in list_people(ctx)]
        if len(persons) < 6:
            raise RuntimeError(f"the setup found only {len(persons)} persons")
        for i, pid in enumerate(persons[:4]):
            edits.rename(ctx, pid, f"Named {i}")
        edits.merge(ctx, persons[0], [persons[4]])
        faces = [f.id for f in person_faces(ctx, persons[1])]
        edits.reject(ctx, [faces[-1]], persons[1])
        edits.confirm(ctx, [faces[0]])
        edits.hide(ctx, persons[5])
    finally:
        ctx.close()
    return {"named": 4, "merged": 1, "rejected": 1, "confirmed": 1, "hidden": 1}


class Output:
    """Drains a child's stderr (a full pipe would stall it) and notes the first output."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.seen = threading.Event()
        self.tail = b""
        self._thread = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self._thread.start()

    def _read(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stderr is not None
        while chunk := proc.stderr.read1(4096):  # type: ignore[attr-defined]
            self.seen.set()
            self.tail = (self.tail + chunk)[-4000:]

    def join(self) -> None:
        self._thread.join(timeout=10)


def kill_once(run: Run, phase: Any, early: bool) -> dict[str, Any]:
    """Start the phase's process and SIGKILL it at a random moment; how it went."""
    proc = subprocess.Popen(phase.command(run), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env=env_for_children(), cwd=run.work)
    out = Output(proc)
    spawned = time.monotonic()
    if early:  # somewhere in start-up: imports, settings, opening the DB
        deadline = spawned + run.rng.uniform(0, max(0.1, run.timings.get("startup", 2.0)))
    else:
        limit = spawned + 120
        while proc.poll() is None and time.monotonic() < limit and not phase.started(
                run, out.seen.is_set()):
            time.sleep(0.01)
        deadline = time.monotonic() + run.rng.uniform(0, max(0.1, phase.work_seconds(run)))
    while proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    killed = proc.poll() is None
    if killed:
        os.kill(proc.pid, signal.SIGKILL)
    rc = proc.wait(timeout=60)
    out.join()
    stderr = out.tail.decode("utf-8", "replace")
    return {"killed": killed and rc == -signal.SIGKILL, "rc": rc,
            "after_s": round(time.monotonic() - spawned, 2), "early": early,
            "traceback": "Traceback" in stderr}


def one_cycle(run: Run, phase: Any) -> dict[str, Any]:
    """prepare, kill, check, resume, check again; the record of it."""
    phase.prepare(run)
    expected = decisions(run.db_file)
    since = time.time()
    record = kill_once(run, phase, early=bool(run.rng.random() < 0.1))
    problems = db_health(run.db_file)
    if record["traceback"]:
        problems.append("the killed process printed a traceback before the kill")
    if phase.name != "edits":  # edits change decisions: checked against their journal
        problems += differences(expected, decisions(run.db_file))
    bad, temps = partial_files(run.home / "cache", since)
    problems += [f"partial file visible: {b}" for b in bad[:3]]
    problems += phase.after_kill(run)
    record["note"] = phase.note()
    try:
        problems += phase.resume(run)
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        problems.append(f"did not resume: {exc}")
    problems += db_health(run.db_file)
    if phase.name != "edits":
        problems += differences(expected, decisions(run.db_file))
    record.update(phase=phase.name, temp_files=temps, problems=problems)
    return record


def calibrate(run: Run, phases: dict[str, Any]) -> None:
    """How long each phase's work takes here, for the kills' timing. Also in the quick
    run: without it a kill is drawn over a default 5 s while indexing its few new photos
    takes about one, and most index kills land after the process has already ended."""
    index = phases.get("index")
    if isinstance(index, IndexPhase):
        index.prepare(run)
        index.rescan = False
        t0 = time.monotonic()
        run.idfsr("index")
        run.timings["index"] = max(1.0, time.monotonic() - t0 - run.timings["startup"])
        run.timings["index_rescan"] = max(run.timings["index"],
                                          run.timings["index_all"] - run.timings["startup"])
    for name in ("fit", "restore"):  # one whole run each: how long the work lasts
        phase = phases.get(name)
        if phase is not None:
            phase.prepare(run)
            t0 = time.monotonic()
            subprocess.run(phase.command(run), env=env_for_children(), cwd=run.work,
                           capture_output=True, check=True, timeout=600)
            run.timings[name] = max(1.0, time.monotonic() - t0 - run.timings["startup"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kills", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--phases", default=",".join(ALL_PHASES))
    ap.add_argument("--quick", action="store_true", help="A small library (CI).")
    ap.add_argument("--work", type=Path, default=None, help="Scratch folder (default: temp).")
    ap.add_argument("--keep", action="store_true", help="Keep the scratch folder.")
    args = ap.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="idfsr-kill-loop-"))
    work.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    run = Run(home=work / "home", library=work / "library", work=work,
              rng=np.random.default_rng(args.seed))
    names = [n.strip() for n in args.phases.split(",") if n.strip()]
    # Only the phases the kills reach are set up and timed (a short run skips the model's).
    used = list(dict.fromkeys(names[i % len(names)] for i in range(args.kills)))
    phases = {n: (IndexPhase(4 if args.quick else 12) if n == "index" else ALL_PHASES[n]())
              for n in used}
    result: dict[str, Any] = {"kills_requested": args.kills, "seed": args.seed,
                              "quick": args.quick}
    try:
        result["library"] = setup(run, args.quick,
                                  with_model=bool({"fit", "restore"} & set(phases)))
        calibrate(run, phases)
        result["timings_s"] = {k: round(v, 2) for k, v in run.timings.items()}
        cycles = [one_cycle(run, phases[names[i % len(names)]]) for i in range(args.kills)]
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    per_phase: dict[str, dict[str, int]] = {}
    for c in cycles:
        p = per_phase.setdefault(c["phase"], {"attempted": 0, "killed_mid_run": 0,
                                              "finished_first": 0, "survived": 0})
        p["attempted"] += 1
        p["killed_mid_run"] += c["killed"]
        p["finished_first"] += not c["killed"]
        p["survived"] += not c["problems"]
    result.update(
        phases=per_phase,
        kills_attempted=len(cycles),
        kills_mid_run=sum(c["killed"] for c in cycles),
        survived=sum(not c["problems"] for c in cycles),
        temp_files_seen_max=max((c["temp_files"] for c in cycles), default=0),
        edits_in_flight_at_kill=sum(bool(c["note"].get("in_flight_committed"))
                                    for c in cycles),
        edits_committed_then_killed=sum(c["note"].get("edits_committed", 0) for c in cycles),
        index_kills_during_rescan=sum(bool(c["note"].get("rescan")) for c in cycles),
        failures=[{k: c[k] for k in ("phase", "after_s", "early", "killed", "problems")}
                  for c in cycles if c["problems"]],
        seconds=round(time.monotonic() - started, 1),
    )
    print(json.dumps(result, indent=2))
    sys.exit(0 if result["survived"] == len(cycles) else 1)


if __name__ == "__main__":
    main()
