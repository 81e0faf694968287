"""The kill loop's phases that run the restoration model: fitting a person and restoring
old photos, killed anywhere in the work.

The model is a tiny seeded one in the library's identity space, built once for the loop:
what is checked is the jobs' bookkeeping, not their pictures. After a kill no partial
identity or output may be visible: an identity file there is whole, an output image
there is whole with both its notes (its notes may stand alone: the image is written
last; a later run sweeps such leftovers, like temp files). The rerun must finish.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from pathlib import Path
from typing import Any

from PIL import Image

from crash.library import DEMO
from crash.phases import IDFSR, Run

MODEL_SIZE = 64
FIT_STEPS = 30  # the state is saved every 25 steps: a kill may land on either side


def tiny_model(folder: Path, id_model_id: str, id_dim: int) -> Path:
    """A small seeded restoration model (core/idfsr/configs/tiny.json) that takes the
    library's embeddings, saved."""
    import torch

    from core.idfsr.checkpoint import save_model
    from core.idfsr.config import DiffusionConfig, load_train_config
    from core.idfsr.dataset import Recognizer
    from core.idfsr.diffusion import training_scheduler
    from core.idfsr.train import build_network

    torch.manual_seed(0)
    config = load_train_config("tiny").model_copy(update={"size": MODEL_SIZE})
    net = build_network(config, Recognizer("library", id_model_id, id_dim))
    save_model(net, training_scheduler(DiffusionConfig()), folder,
               {"config_name": "kill-loop-tiny", "data": {"licence": "test"}})
    return folder


def model_args(run: Run) -> list[str]:
    if run.restoration_model is None:
        raise RuntimeError("the fit and restore phases need the loop's model (see setup)")
    return ["--model", str(run.restoration_model)]


def _fittable_person(run: Run) -> int:
    """The person with the most faces large enough to fit on, all in real photos."""
    library = os.fsencode(str(run.library))
    with sqlite3.connect(run.db_file, timeout=30) as conn:
        row = conn.execute(
            "SELECT fp.person_id, count(*) AS n FROM face_persons fp "
            "JOIN faces f ON f.id = fp.face_id JOIN photos p ON p.id = f.photo_id "
            "JOIN library_roots r ON r.id = p.root_id "
            "WHERE fp.person_id IS NOT NULL AND f.size_px >= ? AND r.path = ? "
            "AND p.status = 'ok' GROUP BY fp.person_id ORDER BY n DESC, fp.person_id LIMIT 1",
            (MODEL_SIZE, library)).fetchone()
    if row is None:
        raise RuntimeError("no person of the library has a face to fit on")
    return int(row[0])


def _is_temp(name: str) -> bool:
    return name.endswith(".tmp")


class FitPhase:
    """`idfsr people fit`: fit one person, killed anywhere; the optimiser state saved every
    few steps lets the rerun resume. No half identity may be visible."""

    name = "fit"

    def __init__(self) -> None:
        self.person = 0
        self.last: dict[str, Any] = {}

    def _folder(self, run: Run) -> Path:
        from core.fsutil import sha256_file

        assert run.restoration_model is not None
        digest = sha256_file(run.restoration_model / "diffusion_pytorch_model.safetensors")
        return run.home / "data" / "identities" / digest[:16]

    def _files(self, run: Run) -> list[Path]:
        folder = self._folder(run)
        prefix = f"person-{self.person}."
        return sorted(p for p in folder.iterdir() if p.name.startswith(prefix)) \
            if folder.is_dir() else []

    def prepare(self, run: Run) -> None:
        self.person = _fittable_person(run)
        final = self._folder(run) / f"person-{self.person}.safetensors"
        final.unlink(missing_ok=True)  # work to do; a saved partial state stays, to resume

    def command(self, run: Run) -> list[str]:
        return [*IDFSR, "--home", str(run.home), "people", "fit", str(self.person),
                "--steps", str(FIT_STEPS), *model_args(run)]

    def started(self, run: Run, output_seen: bool) -> bool:
        return output_seen

    def work_seconds(self, run: Run) -> float:
        return run.timings.get("fit", 5.0)

    def after_kill(self, run: Run) -> list[str]:
        from core.errors import IdfsrError
        from core.idfsr.identity import load_identity
        from core.models.safetensors_file import read_header

        problems: list[str] = []
        self.last = {"person": self.person, "partial_step": None, "identity_written": False,
                     "temp_files": 0}
        for path in self._files(run):
            try:
                if _is_temp(path.name):
                    self.last["temp_files"] += 1  # half written, never read: swept by a rerun
                elif path.name.endswith(".partial.safetensors"):
                    meta = read_header(path, "fit state").get("__metadata__", {})
                    self.last["partial_step"] = int(meta["step"])
                else:
                    ident = load_identity(path)
                    self.last["identity_written"] = True
                    if ident.meta.get("person_id") != self.person or \
                            ident.meta.get("steps") != FIT_STEPS:
                        problems.append(f"{path.name} is not this fit's: {ident.meta}")
            except (IdfsrError, KeyError, ValueError) as exc:
                problems.append(f"partial identity file visible: {path.name}: {exc}")
        return problems

    def note(self) -> dict[str, Any]:
        return dict(self.last)

    def resume(self, run: Run) -> list[str]:
        from core.idfsr.identity import load_identity

        out = json.loads(run.idfsr("people", "fit", str(self.person), "--steps",
                                   str(FIT_STEPS), *model_args(run), "--json").stdout)
        problems = [f"the rerun failed: {f}" for f in out["failed"]]
        fitted = out["fitted"]
        if len(fitted) != 1 or fitted[0]["steps"] != FIT_STEPS:
            return problems + [f"the rerun did not fit {FIT_STEPS} steps: {fitted}"]
        ident = load_identity(Path(fitted[0]["path"]))
        if ident.meta.get("person_id") != self.person or len(ident.loss_curve) != FIT_STEPS:
            problems.append(f"the rerun's identity is not whole: {ident.meta}")
        left = [p.name for p in self._files(run) if p.name != f"person-{self.person}.safetensors"]
        if left:
            problems.append(f"left beside the identity after the rerun: {left}")
        return problems


def check_outputs(folder: Path) -> tuple[list[str], int, int]:
    """Problems of the restored photos in `folder` (an image without its notes, a note that
    does not name it, an image that does not decode), and how many notes stand without
    their image and how many temp files lie there (neither is ever shown as a result)."""
    problems: list[str] = []
    alone = temps = 0
    if not folder.is_dir():
        return problems, alone, temps
    names = {p.name for p in folder.iterdir()}
    for name in sorted(names):
        path = folder / name
        if name.startswith("."):
            temps += _is_temp(name)
            continue
        if path.is_dir() or name.endswith((".idfsr.json", ".xmp")):
            if name.endswith(".idfsr.json"):
                image = Path(json.loads(path.read_text("utf-8")).get("output") or "")
                alone += image.name not in names
            continue
        stem = path.stem
        for side in (f"{stem}.idfsr.json", f"{stem}.xmp"):
            if side not in names:
                problems.append(f"{name} is there without {side}")
        try:
            note = json.loads((folder / f"{stem}.idfsr.json").read_text("utf-8"))
            if note.get("output") != str(path):
                problems.append(f"the note of {name} names {note.get('output')}")
            with Image.open(path) as img:
                img.load()
        except (OSError, ValueError, SyntaxError) as exc:
            problems.append(f"partial output visible: {name}: {exc}")
    return problems, alone, temps


class RestorePhase:
    """`idfsr restore` of the demo's old photos, killed anywhere: no output may be visible
    half written or without its notes, and the rerun restores every photo."""

    name = "restore"

    def __init__(self) -> None:
        self.last: dict[str, Any] = {}

    def _inputs(self, run: Run) -> Path:
        return run.work / "old-photos"

    def _out(self, run: Run) -> Path:
        return run.work / "restored"

    def prepare(self, run: Run) -> None:
        inputs = self._inputs(run)
        if not inputs.is_dir():
            inputs.mkdir(parents=True)
            shutil.copy2(DEMO / "old" / "album_page_1960s.jpg", inputs)

    def _args(self, run: Run) -> list[str]:
        return ["restore", str(self._inputs(run)), "--out", str(self._out(run)), "--steps", "3",
                "--candidates", "2", "--no-fit", "--save-crops", *model_args(run)]

    def command(self, run: Run) -> list[str]:
        return [*IDFSR, "--home", str(run.home), *self._args(run)]

    def started(self, run: Run, output_seen: bool) -> bool:
        return output_seen

    def work_seconds(self, run: Run) -> float:
        return run.timings.get("restore", 5.0)

    def after_kill(self, run: Run) -> list[str]:
        problems, alone, temps = check_outputs(self._out(run))
        self.last = {"notes_alone": alone, "temp_files": temps}
        return problems

    def note(self) -> dict[str, Any]:
        return dict(self.last)

    def resume(self, run: Run) -> list[str]:
        report = json.loads(run.idfsr(*self._args(run), "--json").stdout)
        photos = report["photos"]
        problems = [f"{p['source']}: {p['status']}: {p['message']}" for p in photos
                    if p["status"] not in ("restored", "unchanged", "no_faces")]
        if report["summary"]["written"] < 1:
            problems.append("the rerun wrote no restored photo")
        problems += check_outputs(self._out(run))[0]
        return problems


MODEL_PHASES = {"fit": FitPhase, "restore": RestorePhase}
