"""`idfsr people ...` with --json, in process (the app home is the test's isolated home)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from people_support import SynthLibrary, the_person

from core.cli import main
from core.context import AppContext

ROOT = Path(__file__).resolve().parents[3]


def run(*args: str) -> Any:
    result = CliRunner().invoke(main, ["people", *args, "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_people_commands_round_trip(app: AppContext, lib: SynthLibrary) -> None:
    listed = run("list")
    assert [p["faces"] for p in listed] == [12, 10, 8, 6]
    alice = the_person(app, lib.faces["alice"])
    bob = the_person(app, lib.faces["bob"])
    assert run("rename", str(alice), "Alice")["name"] == "Alice"
    shown = run("show", "alice", "--faces", "3")  # by name, any case
    assert shown["id"] == alice and len(shown["faces"]) == 3
    assert shown["first_date"] < shown["last_date"]
    assert all(f["person_id"] == alice for f in shown["faces"])
    assert run("merge", "Alice", str(bob))["faces"] == 22
    kid = run("split", "Alice", *map(str, lib.faces["alice"][:2]), "--name", "Kid")
    assert kid["faces"] == 2 and kid["name"] == "Kid"
    moved = run("move", str(lib.faces["bob"][0]), "--to", "Kid")
    assert moved["faces"] == 3
    assert run("reject", str(lib.faces["bob"][1]), "--person", "Alice")["action"] == "rejected"
    assert run("hide", "Kid")["hidden"] is True
    assert "Kid" not in {p["name"] for p in run("list")}
    assert "Kid" in {p["name"] for p in run("list", "--all")}
    report = run("recluster")
    assert report["faces"] == 36 and report["new_persons"] == 0
    again = {p["name"]: p["faces"] for p in run("list", "--all")}
    assert again["Alice"] == 22 - 2 - 1 - 1 and again["Kid"] == 3
    assert isinstance(run("suggest"), list) and isinstance(run("suggest", "Alice"), list)
    undone = run("undo", "--steps", "2")["undone"]
    assert len(undone) == 2 and undone[0] == "hiding Kid"
    assert [e["action"] for e in run("history")][:3] == ["hide", "reject", "move"]


def test_unknown_person_is_one_clear_line(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-c", "from core.cli import entry; entry()", "--home",
         str(tmp_path / "h"), "people", "show", "Nobody"],
        capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert out.stderr.strip() == "error: there is no person named 'Nobody'"


def test_person_edits_say_what_they_did(app: AppContext, lib: SynthLibrary) -> None:
    alice = the_person(app, lib.faces["alice"])

    def say(*args: str) -> str:
        result = CliRunner().invoke(main, ["people", *args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return str(result.stdout).strip()

    assert say("rename", str(alice), "Alice") == f"#{alice} is now Alice"
    assert say("rename", str(alice), "") == f"#{alice} is now (no name)"
    assert say("hide", str(alice)) == f"#{alice} is hidden"
    assert say("hide", str(alice), "--show") == f"#{alice} is shown"
    face = lib.faces["alice"][3]
    assert say("cover", str(alice), str(face)) == f"cover of #{alice}: face {face}"
    assert run("show", str(alice), "--faces", "0")["cover_face_id"] == face
