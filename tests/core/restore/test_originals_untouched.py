"""The originals are only ever read: over the whole flow a user runs on their library
(index, people, fitting, restoring, exporting, dataset preparation, forgetting, wiping,
removing the folder), every file's bytes and mtime and every folder's listing and mtime
stay as they were. A folder's mtime changes when anything is created, renamed or deleted
in it, even briefly (a temp file), so the check also catches writes that cleaned up."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from core.cli import main
from core.context import AppContext
from core.resources import demo_library_path
from core.restore.outputs import export_output
from core.tasks.restore import find_faces

OLD_TIME_NS = 1_000_000_000 * 946_684_800  # 2000-01-01: any touch would show


def snapshot(root: Path) -> dict[str, Any]:
    """Every entry under `root`: kind, size, mtime and (files) the sha256 of the bytes."""
    entries: dict[str, Any] = {}
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        st = here.stat()
        entries[str(here.relative_to(root))] = ("dir", sorted(dirs + files), st.st_mtime_ns)
        for name in files:
            path = here / name
            st = path.lstat()
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            entries[str(path.relative_to(root))] = ("file", st.st_size, st.st_mtime_ns, digest)
    return entries


def _age(root: Path) -> None:
    for folder, _dirs, files in os.walk(root, topdown=False):
        for name in files:
            os.utime(Path(folder) / name, ns=(OLD_TIME_NS, OLD_TIME_NS))
        os.utime(folder, ns=(OLD_TIME_NS, OLD_TIME_NS))


class Flow:
    """CLI commands on one home, each followed by the originals' check."""

    def __init__(self, home: Path, originals: Path) -> None:
        self.home, self.originals = home, originals
        self.before = snapshot(originals)
        self.ran: list[str] = []

    def check(self, what: str) -> None:
        after = snapshot(self.originals)
        changed = sorted(k for k in self.before.keys() | after.keys()
                         if self.before.get(k) != after.get(k))
        assert not changed, f"{what} changed the originals: {changed[:5]}"

    def idfsr(self, *args: str) -> Any:
        result = CliRunner().invoke(main, ["--home", str(self.home), *args],
                                    catch_exceptions=False)
        assert result.exit_code == 0, (args, result.output[-2000:])
        self.ran.append(" ".join(args[:2]))
        self.check(" ".join(args[:3]))
        return json.loads(result.stdout) if "--json" in args else result.stdout


@pytest.fixture
def library(tmp_path: Path) -> Path:
    """A copy of the demo library with old timestamps: the user's originals."""
    root = tmp_path / "Photos"
    shutil.copytree(demo_library_path(), root)
    (root / "SOURCES.md").unlink(missing_ok=True)
    _age(root)
    return root


@pytest.mark.timeout(900)  # a minute alone; many more on a machine busy with other work
def test_the_whole_flow_never_writes_an_original(library: Path, model_dir: Path,
                                                 tmp_path: Path) -> None:
    flow = Flow(tmp_path / "home", library)
    model = ("--model", str(model_dir))
    # Beside the originals: the test's XDG folders (where the app's data would go without
    # --home) and the model, which the app only reads.
    elsewhere = {p: snapshot(p) for p in (model_dir, *(tmp_path / f"xdg-{k}"
                                                        for k in ("data", "config", "cache")))}
    old = library / "old" / "album_page_1960s.jpg"

    # Indexing, twice (the second finds nothing to do), and looking around.
    flow.idfsr("library", "add", str(library), "--json")
    first = flow.idfsr("index", "--json")
    assert first["new"] >= 15 and first["faces"]["faces"] > 0
    flow.idfsr("index", "--json")
    flow.idfsr("index", "--rescan", "--json")
    flow.idfsr("library", "list", "--json")
    flow.idfsr("faces", "list", "--json")

    # People: cluster, name, merge, confirm, suggest.
    flow.idfsr("people", "recluster", "--json")
    persons = flow.idfsr("people", "list", "--json")
    assert len(persons) >= 3
    a, b = (str(p["id"]) for p in persons[:2])
    flow.idfsr("people", "rename", a, "Ann", "--json")
    faces = flow.idfsr("people", "show", a, "--json")["faces"]
    flow.idfsr("people", "confirm", str(faces[0]["id"]), "--json")
    flow.idfsr("people", "suggest", "--json")
    flow.idfsr("faces", "similar", str(faces[0]["id"]), "--json")

    # Fitting a person from their library photos, and someone from a folder of photos.
    fitted = flow.idfsr("people", "fit", "Ann", "--steps", "2", *model, "--json")
    assert fitted["fitted"] and not fitted["failed"]
    flow.idfsr("fit", "Someone", "--photos", str(library / "portraits" / "joe_biden"),
               "--steps", "1", "--out", str(tmp_path / "someone.safetensors"), *model,
               "--json")

    # Reviewing and restoring: a file, and a folder of the library (the old prints).
    with AppContext.open(flow.home) as ctx:
        found = find_faces(ctx, old)
    assert found.faces
    flow.check("finding faces")
    out = tmp_path / "restored"
    one = flow.idfsr("restore", str(old), "--out", str(out), "--person", f"1={a}",
                     "--steps", "1", "--candidates", "2", "--fit-steps", "1", "--save-crops",
                     *model, "--json")
    assert one["summary"]["written"] == 1, one
    every = flow.idfsr("restore", str(library / "old"), "--out", str(out / "all"), "--steps", "1",
                       "--candidates", "1", "--no-fit", "--scale", "1", *model, "--json")
    assert every["summary"]["written"] >= 1

    # Exporting a result (what the app's Export button does), twice.
    image = Path(one["photos"][0]["output"])
    for _ in range(2):
        export_output(image, tmp_path / "exported")
        flow.check("exporting")

    # A training set prepared from the library's portraits.
    flow.idfsr("data", "prepare", str(library / "portraits"), str(tmp_path / "prepared"),
               "--json")

    # Forgetting, wiping, removing the folder from the library, purging.
    flow.idfsr("people", "forget", b, "--yes", "--json")
    flow.idfsr("faces", "wipe", "--yes", "--json")
    flow.idfsr("library", "remove", str(library), "--json")
    flow.idfsr("library", "purge", "--json")
    assert {"index --json", "people fit", "restore " + str(old), "data prepare",
            "people forget", "faces wipe", "library remove"} <= set(flow.ran)
    # Nothing was written outside the home and the folders the commands were given.
    assert {p: snapshot(p) for p in elsewhere} == elsewhere
    chosen = {"home", "Photos", "restored", "exported", "prepared", "someone.safetensors"}
    assert {p.name for p in tmp_path.iterdir()} - chosen <= {"xdg-data", "xdg-config",
                                                             "xdg-cache", "idfsr-home"}
