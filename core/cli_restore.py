"""`idfsr restore` (old photos in, restored photos out) and `idfsr people fit` (identities).

Heavy imports (torch, the face models) happen inside the commands, so the rest of the
CLI starts fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from core.cli_support import ProgressBars, app_context, cancellable, emit_json, json_option
from core.errors import IdfsrError
from core.fsutil import display_path
from core.idfsr.restorers import load_idfsr
from core.people.identity_store import fit_status
from core.people.service import list_people, resolve_person
from core.restore.options import AUTO_SCALE, RestoreOptions, parse_faces, parse_person_choice
from core.tasks.fitting import fit_person
from core.tasks.restore import restore_photos

_DEVICES = click.Choice(["auto", "cuda", "mps", "cpu"])
_UNITS = {"fit": "step", "sample": "step", "fit-check": "check", "faces": "photo",
          "restore": "photo", "face": "face"}


def limit_threads() -> None:
    # A desktop machine is shared with the GUI and other work: leave one core free.
    import os

    import torch

    if "OMP_NUM_THREADS" not in os.environ:
        torch.set_num_threads(max(1, (os.cpu_count() or 2) - 1))


def _parse_scale(_ctx: click.Context, _param: click.Parameter, value: object) -> float:
    """--scale: a number from 1 to 4, or `auto` (0)."""
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip().lower()
    if text == "auto":
        return AUTO_SCALE
    try:
        return float(text)
    except ValueError:
        raise click.BadParameter(f"{value!r}: a number from 1 to 4, or auto") from None


def _face_line(f: dict[str, Any]) -> str:
    m = f["match"]
    who = "nobody"
    if f["person"] is not None:
        why = ("your choice" if m["source"] == "user"
               else f"confidence {m['confidence']:.2f}")
        who = f"{f['person']['name'] or '#' + str(f['person']['id'])} ({why})"
    weak = ", weak evidence: tiny face" if m["weak_evidence"] else ""
    sims = ""
    if f["identity_similarity_before"] is not None and f["identity_similarity_after"] is not None:
        sims = (f"; identity {f['identity_similarity_before']:.3f} -> "
                f"{f['identity_similarity_after']:.3f}")
    status = f["status"] if f["status"] != "restored" else f"restored, {f['path']} path"
    note = f" ({f['message']})" if f["message"] else ""
    return f"  face {f['number']}: {f['size_px']:.0f}px {who}{weak}: {status}{sims}{note}"


def _repair_line(r: dict[str, Any]) -> str:
    damage, tone = r.get("damage"), r.get("tone")
    parts = []
    if damage:
        parts.append(f"{damage['regions']} damaged region(s) repaired "
                     f"({damage['fraction'] * 100:.2f}% of the photo)")
    else:
        parts.append("damage not repaired (--no-repair)")
    if tone and tone["applied"]:
        kind = "contrast only (grey or toned photo)" if tone["monochrome"] and not \
            tone["neutralised"] else "levels and colour cast"
        parts.append(f"tone corrected at {tone['strength']:g}: {kind}")
    return "  whole photo: " + "; ".join(parts)


def print_restore_report(data: dict[str, Any]) -> None:
    """The human-readable report of a restore run."""
    for p in data["photos"]:
        head = f"{Path(p['source']).name}: "
        if p["status"] == "restored":
            click.echo(f"{head}-> {p['output']}")
        else:
            click.echo(f"{head}{p['status']}: {p['message']}")
        if p.get("repair"):
            click.echo(_repair_line(p["repair"]))
        for f in p["faces"]:
            click.echo(_face_line(f))
        for w in p["warnings"]:
            click.echo(f"  note: {w}")
    for fit in data["fitted"]:
        click.echo(f"fitted person #{fit['person_id']} on {fit['faces_used']} faces in "
                   f"{fit['seconds']:.0f} s")
    for note in data.get("notes", []):
        click.echo(f"note: {note}")
    s = data["summary"]
    click.echo(f"{s['written']} of {s['photos']} photo(s) written; {s['restored']} face(s) "
               f"restored ({s['personal']} as known people, {s['generic']} generic)"
               + (f"; {s['errors']} photo(s) failed" if s["errors"] else ""))


@click.command("restore")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              required=True, help="Folder for the restored photos (originals are never written).")
@click.option("--person", "persons", multiple=True, metavar="FACE=NAME|ID",
              help="Who face FACE is (numbers as an earlier run listed them), e.g. 2=Ann, "
                   "2=17, 3=none; PHOTO:FACE=... for one input. Repeatable.")
@click.option("--faces", "faces", multiple=True, metavar="N[,N...]",
              help="Restore only these faces (the others are only enlarged).")
@click.option("--scale", default="auto", show_default=True, callback=_parse_scale,
              help="Size of the output photo relative to the input (1 to 4), or auto: as "
                   "large as the restored faces have detail for.")
@click.option("--steps", type=int, default=25, show_default=True, help="Sampling steps.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--candidates", type=int, default=4, show_default=True,
              help="Candidates sampled per face; the best is kept.")
@click.option("--fidelity", type=float, default=RestoreOptions.fidelity, show_default=True,
              help="Trust in the LR face (0: identity from the person, 1: all of the LR shown).")
@click.option("--identity-strength", type=float, default=RestoreOptions.identity_strength,
              show_default=True,
              help="Identity guidance (1: none, higher: more like the person).")
@click.option("--consistency", type=float, default=RestoreOptions.consistency,
              show_default=True,
              help="How strongly the result must match the old photo when shrunk (0..1).")
@click.option("--start", type=float, default=None,
              help="Where sampling begins: 1 from pure noise, lower from the old photo's face "
                   "noised that far (default 0.5).")
@click.option("--sampler", type=click.Choice(["ddim", "dpm++"]), default="ddim",
              show_default=True)
@click.option("--min-confidence", type=float, default=None,
              help="Match confidence needed to restore a face as a person (default 0.7).")
@click.option("--fit-steps", type=int, default=None,
              help="Steps when a person must be fitted first (default 300).")
@click.option("--no-fit", is_flag=True,
              help="Do not fit people on demand: unfitted people take the generic path.")
@click.option("--keep-grain", is_flag=True, help="Lay the photo's film grain over restored faces.")
@click.option("--large-faces", is_flag=True,
              help="Also clean faces as large as the model's working size or larger (they "
                   "come back cleaner, and no sharper than the model's size allows).")
@click.option("--repair/--no-repair", "repair", default=RestoreOptions.repair, show_default=True,
              help="Find and fill scratches, cracks, dust and spots over the whole photo "
                   "before its faces are restored. Off: the photo is only resampled around "
                   "its faces.")
@click.option("--tone", type=float, default=RestoreOptions.tone, show_default=True,
              metavar="STRENGTH",
              help="Correct fading, colour cast and low contrast this much (0: off, 1: fully).")
@click.option("--neutralise", is_flag=True,
              help="Take the tone out of sepia and other toned photos too (by default grey "
                   "and toned photos keep their tone; only their contrast is corrected).")
@click.option("--save-crops", is_flag=True,
              help="Also write each face's LR crop, reference and result.")
@click.option("--model", default=None, help="Model folder or name (default: idfsr-default).")
@click.option("--device", type=_DEVICES, default=None, help="Overrides the device setting.")
@json_option
@click.pass_context
def restore_cmd(ctx: click.Context, inputs: tuple[Path, ...], out_dir: Path,
                persons: tuple[str, ...], faces: tuple[str, ...], scale: float, steps: int,
                seed: int, candidates: int, fidelity: float, identity_strength: float,
                consistency: float, start: float | None, sampler: str, min_confidence: float | None,
                fit_steps: int | None, no_fit: bool, keep_grain: bool, large_faces: bool,
                repair: bool, tone: float, neutralise: bool, save_crops: bool,
                model: str | None, device: str | None, as_json: bool) -> None:
    """Restore the faces in old photos INPUT... (files or folders) as the people they are."""
    options = RestoreOptions(
        scale=scale, steps=steps, seed=seed, candidates=candidates, fidelity=fidelity,
        identity_strength=identity_strength, consistency=consistency, sampler=sampler,
        model=model, device=device, min_confidence=min_confidence,
        persons=tuple(parse_person_choice(p) for p in persons), faces=parse_faces(faces),
        fit_steps=fit_steps, fit_missing=not no_fit, keep_grain=keep_grain,
        large_faces=large_faces, save_crops=save_crops, repair=repair, tone=tone,
        keep_monochrome=not neutralise,
        start=RestoreOptions.start if start is None else start)
    options.check()
    app = app_context(ctx)
    limit_threads()
    bars = ProgressBars(unit="step", units=_UNITS, plain=as_json or None)
    try:
        with cancellable() as token:
            report = restore_photos(app, list(inputs), out_dir, options, progress=bars,
                                    cancel=token)
    finally:
        bars.close()
    data = report.to_dict()
    if as_json:
        emit_json(data)
    else:
        print_restore_report(data)
    if report.cancelled:
        click.echo("stopped: the photos listed as written are complete; the rest were not "
                   "started or not written", err=True)
        sys.exit(130)
    if report.errors:
        sys.exit(1)


@click.command("fit")
@click.argument("persons", nargs=-1)
@click.option("--all", "fit_all", is_flag=True, help="Every visible person.")
@click.option("--missing", is_flag=True, help="Only persons not fitted on this model yet.")
@click.option("--steps", type=int, default=None, help="Fitting steps (default 300).")
@click.option("--model", default=None, help="Model folder or name (default: idfsr-default).")
@click.option("--device", type=_DEVICES, default=None, help="Overrides the device setting.")
@json_option
@click.pass_context
def people_fit_cmd(ctx: click.Context, persons: tuple[str, ...], fit_all: bool, missing: bool,
                   steps: int | None, model: str | None, device: str | None,
                   as_json: bool) -> None:
    """Fit the identity of PERSONS (names or ids) from their best library photos."""
    if fit_all == bool(persons):
        raise click.UsageError("name one or more persons, or give --all")
    app = app_context(ctx)
    ids = ([p.id for p in list_people(app)] if fit_all
           else [resolve_person(app, p) for p in persons])
    loaded = load_idfsr(app, model, device)
    if missing:
        done = fit_status(app, loaded.sha256)
        ids = [i for i in ids if i not in done]
    limit_threads()
    bars = ProgressBars(unit="step", units=_UNITS, plain=as_json or None)
    outcomes, failures = [], []
    try:
        with cancellable() as token:
            for pid in ids:
                try:
                    outcomes.append(fit_person(app, pid, model=model, steps=steps,
                                               device=device, progress=bars, cancel=token))
                    if outcomes[-1].device == "cpu":
                        device = "cpu"  # the GPU ran out of memory: the others there too
                except IdfsrError as exc:
                    if token.cancelled:
                        raise
                    failures.append({"person_id": pid, "error": str(exc)})
    finally:
        bars.close()
    if as_json:
        emit_json({"fitted": [o.to_dict() for o in outcomes], "failed": failures})
    else:
        for o in outcomes:
            sims = ""
            if o.id_similarity_before is not None and o.id_similarity_after is not None:
                sims = (f"; identity check {o.id_similarity_before:.3f} -> "
                        f"{o.id_similarity_after:.3f}")
            click.echo(f"person #{o.person_id}: {o.steps} steps on {o.faces_used} faces in "
                       f"{o.seconds:.0f} s -> {display_path(o.path)}{sims}")
            for note in o.notes:
                click.echo(f"  note: {note}")
        for f in failures:
            click.echo(f"person #{f['person_id']}: {f['error']}")
        if not ids:
            click.echo("nothing to fit")
    if failures:
        sys.exit(1)
