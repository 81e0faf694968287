"""The app's offline flows, run through the `idfsr` CLI in one process, for whole-flow tests
(no network, originals untouched): `python tests/offline_flow.py HOME WORK OUT.json`.

Each phase is a function taking the Flow and running CLI commands; `PHASES` lists them
in order. Fitting and restoring use a tiny seeded model built here (restore_support).
The report (OUT.json) lists every command with its exit code and any traceback.
"""

from __future__ import annotations

import json
import shutil
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from io import StringIO
from pathlib import Path
from typing import Any

import click

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent


@dataclass
class Flow:
    """One run of the flows on one home; `work` is scratch space outside it."""

    home: Path
    work: Path
    steps: list[dict[str, Any]] = field(default_factory=list)

    def idfsr(self, *args: str) -> Any:
        """Run one `idfsr` command in this process; its JSON output, if any."""
        from core.cli import main

        argv = ["--home", str(self.home), *args]
        out, err = StringIO(), StringIO()
        step: dict[str, Any] = {"argv": list(args), "rc": 0}
        stdout, stderr = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = out, err
        try:
            main.main(args=argv, standalone_mode=False)
        except click.exceptions.Exit as exc:
            step["rc"] = exc.exit_code
        except click.ClickException as exc:
            step["rc"], step["error"] = exc.exit_code, exc.format_message()
        except BaseException:  # noqa: BLE001 - reported, never hidden
            step["rc"], step["traceback"] = 1, traceback.format_exc()
        finally:
            sys.stdout, sys.stderr = stdout, stderr
        step["stderr_tail"] = err.getvalue()[-2000:]
        self.steps.append(step)
        text = out.getvalue()
        if step["rc"] != 0:
            raise RuntimeError(f"idfsr {' '.join(args)} failed: {step}")
        return json.loads(text) if "--json" in args and text.strip() else text


def index_demo(flow: Flow) -> None:
    """Index the bundled demo library (photos and faces), then once more (nothing to do)."""
    flow.idfsr("library", "add", str(REPO / "resources" / "demo"), "--json")
    flow.idfsr("index", "--json")
    flow.idfsr("index", "--json")
    flow.idfsr("library", "status", "--json")
    flow.idfsr("faces", "list", "--json")


def people_edits(flow: Flow) -> None:
    """Name, merge, reject, confirm, hide, undo; suggestions and similar faces."""
    persons = flow.idfsr("people", "list", "--json")
    assert len(persons) >= 3, persons
    a, b, c = (str(p["id"]) for p in persons[:3])
    flow.idfsr("people", "rename", a, "Ann", "--json")
    flow.idfsr("people", "merge", a, b, "--json")
    faces = flow.idfsr("people", "show", a, "--json")["faces"]
    flow.idfsr("people", "reject", str(faces[-1]["id"]), "--person", a, "--json")
    flow.idfsr("people", "confirm", str(faces[0]["id"]), "--json")
    flow.idfsr("people", "hide", c, "--json")
    flow.idfsr("people", "undo", "--json")
    flow.idfsr("people", "suggest", "--json")
    flow.idfsr("people", "suggest", a, "--json")
    flow.idfsr("faces", "similar", str(faces[0]["id"]), "--json")
    flow.idfsr("people", "history", "--json")


def recluster(flow: Flow) -> None:
    """Cluster every face again."""
    flow.idfsr("people", "recluster", "--json")
    flow.idfsr("people", "assign", "--json")


def data_prepare(flow: Flow) -> None:
    """Prepare a training dataset from two photos."""
    src = flow.work / "prepare-src"
    demo = REPO / "resources" / "demo" / "portraits"
    for photo in sorted(demo.rglob("*.jpg"))[:2]:
        target = src / photo.parent.name / photo.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(photo, target)
    flow.idfsr("data", "prepare", str(src), str(flow.work / "prepared"), "--json")


def models_list(flow: Flow) -> None:
    """What models are installed (reads the disk only)."""
    flow.idfsr("models", "list", "--json")


def fit_and_restore(flow: Flow) -> None:
    """Fit every person briefly, restore an old photo, review another's faces."""
    from restore_support import tiny_restoration_model

    model = str(tiny_restoration_model(flow.work / "tiny-model"))
    flow.idfsr("people", "fit", "--all", "--steps", "1", "--model", model, "--json")
    old = REPO / "resources" / "demo" / "old"
    flow.idfsr("restore", str(old / "album_page_1960s.jpg"), "--out", str(flow.work / "out"),
               "--steps", "1", "--candidates", "1", "--fit-steps", "1", "--model", model,
               "--json")


def forget_and_wipe(flow: Flow) -> None:
    """Forget one person, then wipe all face data."""
    persons = flow.idfsr("people", "list", "--all", "--json")
    flow.idfsr("people", "forget", str(persons[0]["id"]), "--yes", "--json")
    flow.idfsr("faces", "wipe", "--yes", "--json")


PHASES: list[Callable[[Flow], None]] = [
    index_demo, people_edits, recluster, data_prepare, models_list, fit_and_restore,
    forget_and_wipe,
]


def run(home: Path, work: Path) -> dict[str, Any]:
    """Run every phase; stop at the first failure. The report of what ran."""
    flow = Flow(home, work)
    failed = None
    for phase in PHASES:
        try:
            phase(flow)
        except Exception as exc:  # noqa: BLE001 - the report carries it
            failed = {"phase": phase.__name__, "error": str(exc),
                      "traceback": traceback.format_exc()}
            break
    return {"steps": flow.steps, "failed": failed}


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    report = run(Path(sys.argv[1]), Path(sys.argv[2]))
    Path(sys.argv[3]).write_text(json.dumps(report, indent=1), encoding="utf-8")
