"""The `idfsr` command: the same core the GUI uses, with progress bars and `--json`."""

from __future__ import annotations

import os
from collections import Counter

import click

from core.cli_idfsr import COMMANDS as IDFSR_COMMANDS
from core.cli_models import models
from core.cli_people import people
from core.cli_repair import COMMANDS as REPAIR_COMMANDS
from core.cli_restore import limit_threads, people_fit_cmd, restore_cmd
from core.cli_support import (
    ProgressBars,
    app_context,
    cancellable,
    emit_json,
    emit_rows,
    json_option,
    run_cli,
)
from core.faces import service as face_service
from core.faces.wipe import wipe_face_data
from core.fsutil import display_path
from core.library import service
from core.paths import HOME_ENV
from core.tasks import demo as demo_job
from core.tasks.indexing import FullIndexReport, index_everything


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--home", type=click.Path(file_okay=False), default=None,
              help=f"Keep all app data in this folder (overrides ${HOME_ENV}).")
@click.option("--face-backend", type=click.Choice(["auto", "insightface", "embedded"]),
              default=None, help="Face models to use for this run (overrides the setting).")
@click.version_option(package_name="idfsr-desktop")
def main(home: str | None, face_backend: str | None) -> None:
    """IDFSR Desktop: restore the faces in old photos as the people they are."""


# ---- library -------------------------------------------------------------------------

@main.group()
def library() -> None:
    """Manage the folders that make up the photo library."""


@library.command("add")
@click.argument("path", type=click.Path())
@json_option
@click.pass_context
def library_add(ctx: click.Context, path: str, as_json: bool) -> None:
    """Add a folder (indexed recursively by `idfsr index`)."""
    root = service.add_root(app_context(ctx), path)
    if as_json:
        emit_json(root)
    else:
        click.echo(f"added {display_path(root.path)}; run `idfsr index` to scan it")


@library.command("remove")
@click.argument("path", type=click.Path())
@json_option
@click.pass_context
def library_remove(ctx: click.Context, path: str, as_json: bool) -> None:
    """Forget a folder and its photos' records (the files are not touched)."""
    dropped = service.remove_root(app_context(ctx), path)
    if as_json:
        emit_json({"removed": path, "photos_forgotten": dropped})
    else:
        click.echo(f"removed; {dropped} photo records forgotten (no file was touched)")


@library.command("status")
@json_option
@click.option("--all", "show_all", is_flag=True, help="List every problem, not the first 20.")
@click.pass_context
def library_status(ctx: click.Context, as_json: bool, show_all: bool) -> None:
    """Counts per folder, and every file that could not be indexed, with the reason."""
    status = service.library_status(app_context(ctx))
    if as_json:
        emit_json(status)
        return
    _print_status(status, limit=None if show_all else 20)


def _print_status(status: dict, limit: int | None) -> None:
    p = status["photos"]
    click.echo(f"photos: {p['total']} ({p['ok']} ok, {p['error']} unreadable, "
               f"{p['missing']} missing)")
    for r in status["roots"]:
        scanned = r["last_scan_at"] or "never scanned"
        click.echo(f"  {r['path']}: {r['photos']} photos, {r['errors']} unreadable, "
                   f"{r['missing']} missing ({scanned})")
    problems = status["problems"] + [
        {**i, "status": "issue"} for i in status["scan_issues"]
    ]
    if problems:
        click.echo("problems:")
        for item in problems[:limit]:
            click.echo(f"  [{item['kind']}] {item['path']}: {item['reason']}")
        if limit is not None and len(problems) > limit:
            click.echo(f"  … and {len(problems) - limit} more (--all to list them)")


@library.command("list")
@json_option
@click.option("--status", type=click.Choice(["ok", "error", "missing"]), default=None)
@click.pass_context
def library_list(ctx: click.Context, as_json: bool, status: str | None) -> None:
    """List the indexed photos."""
    photos = service.list_photos(app_context(ctx), status=status)
    if as_json:
        emit_json([{**p.__dict__, "path": display_path(p.path)} for p in photos])
        return
    _print_photos(photos)


def _print_photos(photos: list[service.PhotoInfo]) -> None:
    for p in photos:
        size = f"{p.width}×{p.height}" if p.width else "-"
        date = p.captured_at.date().isoformat() if p.captured_at else ""
        note = p.error or "" if p.status != "ok" else ""
        click.echo(f"{p.id:>6}  {p.status:<7} {p.format or '':<5} {size:>11} {date:<10} "
                   f"{display_path(p.path)} {note}".rstrip())


@library.command("purge")
@json_option
@click.pass_context
def library_purge(ctx: click.Context, as_json: bool) -> None:
    """Drop the records of photos marked missing (the only way they are removed)."""
    n = service.purge_missing(app_context(ctx))
    if as_json:
        emit_json({"purged": n})
    else:
        click.echo(f"purged {n} missing photo records")


# ---- index ---------------------------------------------------------------------------

def _run_index(
    ctx: click.Context, rescan: bool, as_json: bool, faces: bool | None = None
) -> FullIndexReport:
    app = app_context(ctx)
    bars = ProgressBars()
    try:
        with cancellable() as token:
            return index_everything(app, rescan=rescan, faces=faces, progress=bars, cancel=token)
    finally:
        bars.close()


def _print_report(full: FullIndexReport) -> None:
    r = full.photos
    click.echo(f"indexed {r.seen} photos in {r.roots} folder(s) in {r.seconds:.1f} s: "
               f"{r.new} new, {r.changed} changed, {r.moved} moved, {r.unchanged} unchanged, "
               f"{r.missing} newly missing, {r.errors} unreadable")
    f = full.faces
    if f is not None:
        click.echo(f"faces ({f.model_id}): {f.faces} found in {f.photos} photos in "
                   f"{f.seconds:.1f} s; {f.up_to_date} photos already done"
                   + (f"; {f.errors} could not be analysed" if f.errors else "")
                   + (f"; {f.offline} on a drive that is not connected, left for when it is"
                      if f.offline else ""))


@main.command("index")
@click.option("--rescan", is_flag=True, help="Re-read every file, even unchanged ones.")
@click.option("--faces/--no-faces", default=None,
              help="Find and embed faces too (default: the `faces.enabled` setting, on).")
@json_option
@click.pass_context
def index_cmd(ctx: click.Context, rescan: bool, faces: bool | None, as_json: bool) -> None:
    """Scan every library folder, find every face, bring the index up to date (resumable)."""
    report = _run_index(ctx, rescan, as_json, faces)
    if as_json:
        emit_json(report.to_dict())
    else:
        _print_report(report)
        if report.photos.errors:
            click.echo("see `idfsr library status` for the unreadable files and why")


# ---- demo ----------------------------------------------------------------------------

@main.command("demo")
@click.option("--fit-steps", type=click.IntRange(0, None), default=None,
              help="Fitting steps per person (default 30: a short CPU fit).")
@click.option("--steps", type=click.IntRange(1, None), default=None,
              help="Sampling steps per face (default 15).")
@click.option("--candidates", type=click.IntRange(1, None), default=None,
              help="Candidates per face (default 1).")
@click.option("--no-restore", is_flag=True, help="Only index and name the people.")
@json_option
@click.pass_context
def demo_cmd(ctx: click.Context, fit_steps: int | None, steps: int | None,
             candidates: int | None, no_restore: bool, as_json: bool) -> None:
    """Run the whole job on the bundled demo library: index, people, fit, restore old photos."""
    app = app_context(ctx)
    if not no_restore:
        limit_threads()
    bars = ProgressBars(units={"fit": "step", "sample": "step", "fit-check": "check"})
    try:
        with cancellable() as token:
            report = demo_job.run_demo(
                app, restore=not no_restore, progress=bars, cancel=token,
                fit_steps=demo_job.FIT_STEPS if fit_steps is None else fit_steps,
                steps=demo_job.SAMPLE_STEPS if steps is None else steps,
                candidates=demo_job.CANDIDATES if candidates is None else candidates)
    finally:
        bars.close()
    photos = service.list_photos(app)
    faces = face_service.list_faces(app)
    restored = report.restore.to_dict() if report.restore is not None else None
    if as_json:
        emit_json({"index": report.index.to_dict(), "photos": photos,
                   "faces": [f.to_dict() for f in faces],
                   "status": service.library_status(app), "people": report.people,
                   "model_missing": report.model_missing,
                   "fits": [f.to_dict() for f in report.fits], "restore": restored,
                   "comparisons": report.comparisons})
        return
    click.echo(f"demo library: {display_path(report.library)}")
    _print_report(report.index)
    per_photo = Counter(f.photo_path for f in faces)
    click.echo(f"{len(faces)} faces; most in one photo: "
               + ", ".join(f"{display_path(os.path.basename(p))} ({n})"
                           for p, n in per_photo.most_common(3)))
    click.echo("people: " + ", ".join(f"{p['name']} (#{p['id']}, {p['faces']} photo(s))"
                                      for p in report.people))
    if report.model_missing:
        click.echo(f"restoration skipped: {report.model_missing}")
        return
    for f in report.fits:
        check = ""
        if f.id_similarity_before is not None and f.id_similarity_after is not None:
            check = f", identity check {f.id_similarity_before:.3f} -> {f.id_similarity_after:.3f}"
        click.echo(f"fitted #{f.person_id}: {f.steps} steps on {f.faces_used} faces in "
                   f"{f.seconds:.0f} s{check}")
    if restored is not None:
        _print_demo_table(restored)
        for path in report.comparisons:
            click.echo(f"before/after: {display_path(path)}")


def _print_demo_table(restored: dict) -> None:
    def num(v: float | None) -> str:
        return "-" if v is None else f"{v:.3f}"

    click.echo(f"{'photo':<22} {'face':>4} {'px':>4}  {'person':<16} {'by':<4} "
               f"{'auto guess':<22} {'path':<8} {'id before':>9} {'id after':>9}")
    for p in restored["photos"]:
        name = os.path.basename(p["source"])
        if p["status"] != "restored":
            click.echo(f"{name:<22} {p['status']}: {p['message']}")
        for f in p["faces"]:
            m = f["match"]
            who = (f["person"]["name"] or f"#{f['person']['id']}") if f["person"] else "-"
            by = {"auto": "auto", "user": "user"}.get(m["source"], "-")
            guess = "-"
            if m["candidates"]:
                top = m["candidates"][0]
                label = top["name"] or f"#{top['person_id']}"
                guess = f"{label[:14]} {m['top_confidence']:.2f}"
                guess += " weak" if m["weak_evidence"] else ""
            click.echo(f"{name[:22]:<22} {f['number']:>4} {f['size_px']:>4.0f}  {who[:16]:<16} "
                       f"{by:<4} {guess:<22} {f['path'] or f['status']:<8} "
                       f"{num(f['identity_similarity_before']):>9} "
                       f"{num(f['identity_similarity_after']):>9}")
        if p["output"]:
            click.echo(f"{'':<22} -> {display_path(p['output'])}")


# ---- faces ---------------------------------------------------------------------------

@main.group()
def faces() -> None:
    """The faces found in the library."""


def _face_line(f: face_service.FaceInfo) -> str:
    x0, y0, x1, y1 = (round(v) for v in f.box)
    return (f"{f.id:>7}  {f.size_px:6.0f}px  q={f.quality:.2f}  s={f.det_score:.2f}  "
            f"[{x0},{y0},{x1},{y1}]  {display_path(f.photo_path)}")


@faces.command("list")
@click.option("--photo", type=click.Path(), default=None, help="Only the faces of this photo.")
@click.option("--limit", type=int, default=None, help="At most this many faces.")
@json_option
@click.pass_context
def faces_list(ctx: click.Context, photo: str | None, limit: int | None, as_json: bool) -> None:
    """List faces: id, photo, box, landmarks, detector score, quality, size in pixels."""
    found = face_service.list_faces(app_context(ctx), photo=photo, limit=limit)
    emit_rows(found, as_json, _face_line, "faces")


@faces.command("similar")
@click.argument("face_id", type=int)
@click.option("--k", type=click.IntRange(1, 1000), default=10, show_default=True)
@json_option
@click.pass_context
def faces_similar(ctx: click.Context, face_id: int, k: int, as_json: bool) -> None:
    """The faces most like FACE_ID, with cosine similarity."""
    found = face_service.similar_faces(app_context(ctx), face_id, k=k)
    if as_json:
        emit_json([{**f.to_dict(), "similarity": round(score, 4)} for f, score in found])
        return
    for f, score in found:
        click.echo(f"{score:6.3f}  {_face_line(f)}")


@faces.command("wipe")
@click.option("--yes", "-y", is_flag=True, help="Do it without asking.")
@click.option("--keep-finding-faces", is_flag=True,
              help="Leave face finding on (the next `idfsr index` finds every face again).")
@json_option
@click.pass_context
def faces_wipe(ctx: click.Context, yes: bool, keep_finding_faces: bool, as_json: bool) -> None:
    """Delete all face data: faces, embeddings, people, names, decisions, fitted identities."""
    app = app_context(ctx)
    click.echo("wipe every face, embedding, person and name, every decision about them, the "
               "face thumbnails and the fitted identities. This cannot be undone; the photos "
               "stay indexed" + ("." if keep_finding_faces else ", and face finding is "
                                 "switched off."), err=as_json)
    if not yes:
        click.confirm("Wipe all face data?", abort=True, err=as_json)
    report = wipe_face_data(app, disable_faces=not keep_finding_faces)
    if as_json:
        emit_json(report.to_dict())
        return
    click.echo(f"wiped {report.faces} faces, {report.embeddings} embeddings, "
               f"{report.persons} persons and {report.files} files"
               + ("; face finding is off (settings: faces.enabled)"
                  if report.faces_disabled else ""))


for _command in REPAIR_COMMANDS:
    library.add_command(_command)
main.add_command(models)
people.add_command(people_fit_cmd)
main.add_command(people)
main.add_command(restore_cmd)
for _command in IDFSR_COMMANDS:
    main.add_command(_command)


def entry() -> None:
    """Console-script entry point."""
    run_cli(main)
