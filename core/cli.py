"""The `idfsr` command: the same core the GUI uses, with progress bars and `--json`."""

from __future__ import annotations

import os
from collections import Counter

import click

from core.cli_idfsr import COMMANDS as IDFSR_COMMANDS
from core.cli_models import models
from core.cli_people import people
from core.cli_support import (
    ProgressBars,
    app_context,
    cancellable,
    emit_json,
    json_option,
    run_cli,
)
from core.faces import service as face_service
from core.fsutil import display_path
from core.indexing import FullIndexReport, index_everything
from core.library import service
from core.paths import HOME_ENV
from core.resources import demo_library_path


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
                   + (f"; {f.errors} could not be analysed" if f.errors else ""))


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
@json_option
@click.pass_context
def demo_cmd(ctx: click.Context, as_json: bool) -> None:
    """Index the bundled demo library and show what was found."""
    app = app_context(ctx)
    demo = demo_library_path().resolve()
    if not any(r.path == str(demo) for r in service.list_roots(app)):
        service.add_root(app, demo)
    report = _run_index(ctx, False, as_json)
    photos = service.list_photos(app)
    faces = face_service.list_faces(app)
    if as_json:
        emit_json({"index": report.to_dict(), "photos": photos,
                   "faces": [f.to_dict() for f in faces],
                   "status": service.library_status(app)})
        return
    click.echo(f"demo library: {display_path(demo)}")
    _print_report(report)
    _print_photos(photos)
    per_photo = Counter(f.photo_path for f in faces)
    click.echo(f"{len(faces)} faces; most in one photo: "
               + ", ".join(f"{display_path(os.path.basename(p))} ({n})"
                           for p, n in per_photo.most_common(3)))


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
    if as_json:
        emit_json([f.to_dict() for f in found])
        return
    for f in found:
        click.echo(_face_line(f))
    click.echo(f"{len(found)} faces")


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


main.add_command(models)
main.add_command(people)
for _command in IDFSR_COMMANDS:
    main.add_command(_command)


def entry() -> None:
    """Console-script entry point."""
    run_cli(main)
