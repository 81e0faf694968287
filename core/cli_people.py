"""`idfsr people ...`: persons, the user's decisions about them, suggestions, re-clustering."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

from core.cli_support import (
    ProgressBars,
    app_context,
    cancellable,
    emit_json,
    emit_rows,
    json_option,
)
from core.context import AppContext
from core.faces.service import FaceInfo
from core.fsutil import display_path
from core.people import edits, history, suggest
from core.people.assign import assign_new_faces
from core.people.decisions_file import export_decisions, read_decisions, summary, write_decisions
from core.people.decisions_import import import_decisions
from core.people.forget import forget_person
from core.people.recluster import ClusterReport, recluster
from core.people.service import PersonInfo, get_person, list_people, person_faces, resolve_person


@click.group()
def people() -> None:
    """The people in the library: who is who, as the user decides."""


def _line(p: PersonInfo) -> str:
    dates = ""
    if p.first_date and p.last_date:
        dates = f"  {p.first_date.date().isoformat()} … {p.last_date.date().isoformat()}"
    flags = " (hidden)" if p.hidden else ""
    return f"{p.id:>6}  {p.label:<28} {p.faces:>6} faces  {p.confirmed:>5} confirmed{dates}{flags}"


def _face_line(f: FaceInfo, score: float | None = None) -> str:
    lead = f"{score:6.3f}  " if score is not None else ""
    return (f"{lead}{f.id:>7}  {f.size_px:6.0f}px  q={f.quality:.2f}  "
            f"person={f.person_id if f.person_id is not None else '-'}  "
            f"{display_path(f.photo_path)}")


def _done(as_json: bool, data: dict, text: str) -> None:
    if as_json:
        emit_json(data)
    else:
        click.echo(text)


def _person_arg(app: AppContext, ref: str) -> int:
    return resolve_person(app, ref)


def _edit_person(ctx: click.Context, ref: str, as_json: bool,
                 edit: Callable[[AppContext, int], None],
                 message: Callable[[PersonInfo], str]) -> None:
    """Apply one edit to the person REF names, then report them as they now are."""
    app = app_context(ctx)
    pid = _person_arg(app, ref)
    edit(app, pid)
    info = get_person(app, pid)
    _done(as_json, info.to_dict(), message(info))


@people.command("list")
@click.option("--all", "show_all", is_flag=True, help="Hidden persons too.")
@json_option
@click.pass_context
def people_list(ctx: click.Context, show_all: bool, as_json: bool) -> None:
    """List persons, most faces first: id, name, faces, confirmed faces, date range."""
    found = list_people(app_context(ctx), include_hidden=show_all)
    emit_rows(found, as_json, _line, "persons")


@people.command("show")
@click.argument("person")
@click.option("--faces", "n_faces", type=click.IntRange(0, None), default=20, show_default=True,
              help="How many of their faces to list, best first.")
@json_option
@click.pass_context
def people_show(ctx: click.Context, person: str, n_faces: int, as_json: bool) -> None:
    """One person: counts, date range, best faces (by quality), cover."""
    app = app_context(ctx)
    info = get_person(app, _person_arg(app, person))
    faces = person_faces(app, info.id, limit=n_faces) if n_faces else []
    if as_json:
        emit_json({**info.to_dict(), "faces": [f.to_dict() for f in faces]})
        return
    click.echo(_line(info))
    click.echo(f"cover face: {info.cover_face_id}   best faces: {info.best_faces}")
    for f in faces:
        click.echo("  " + _face_line(f))


@people.command("rename")
@click.argument("person")
@click.argument("name")
@json_option
@click.pass_context
def people_rename(ctx: click.Context, person: str, name: str, as_json: bool) -> None:
    """Give a person a name ("" removes it)."""
    _edit_person(ctx, person, as_json, lambda app, pid: edits.rename(app, pid, name),
                 lambda info: f"#{info.id} is now {name or '(no name)'}")


@people.command("merge")
@click.argument("into")
@click.argument("others", nargs=-1, required=True)
@json_option
@click.pass_context
def people_merge(ctx: click.Context, into: str, others: tuple[str, ...], as_json: bool) -> None:
    """Merge OTHERS into INTO: one person with all their faces."""
    app = app_context(ctx)
    pid = _person_arg(app, into)
    edits.merge(app, pid, [_person_arg(app, o) for o in others])
    info = get_person(app, pid)
    _done(as_json, info.to_dict(), f"merged into {info.label}: {info.faces} faces")


@people.command("split")
@click.argument("person")
@click.argument("faces", nargs=-1, type=int, required=True)
@click.option("--name", default=None, help="Name of the new person.")
@json_option
@click.pass_context
def people_split(ctx: click.Context, person: str, faces: tuple[int, ...], name: str | None,
                 as_json: bool) -> None:
    """Make FACES of PERSON a new person (they are then "not" PERSON)."""
    app = app_context(ctx)
    new = edits.split(app, _person_arg(app, person), faces, name)
    _done(as_json, get_person(app, new).to_dict(), f"new person #{new} with {len(faces)} faces")


@people.command("move")
@click.argument("faces", nargs=-1, type=int, required=True)
@click.option("--to", "to", default=None, help="The person to move them to.")
@click.option("--new", "as_new", is_flag=True, help="Make them a new person instead.")
@click.option("--name", default=None, help="With --new: the new person's name.")
@json_option
@click.pass_context
def people_move(ctx: click.Context, faces: tuple[int, ...], to: str | None, as_new: bool,
                name: str | None, as_json: bool) -> None:
    """Move FACES to another person (--to) or to a new one (--new)."""
    app = app_context(ctx)
    if as_new == (to is not None):
        raise click.UsageError("give exactly one of --to PERSON and --new")
    if as_new:
        pid = edits.new_person(app, faces, name)
    else:
        assert to is not None
        pid = _person_arg(app, to)
        edits.move(app, faces, pid)
    info = get_person(app, pid)
    _done(as_json, info.to_dict(), f"moved {len(faces)} faces to {info.label}")


@people.command("forget")
@click.argument("person")
@click.option("--yes", "-y", is_flag=True, help="Do it without asking.")
@json_option
@click.pass_context
def people_forget(ctx: click.Context, person: str, yes: bool, as_json: bool) -> None:
    """Forget PERSON entirely: name, faces, embeddings, thumbnails, fitted identity."""
    app = app_context(ctx)
    info = get_person(app, _person_arg(app, person))
    # With --json, stdout carries only the result: the warning and prompt go to stderr.
    click.echo(f"forget {info.label}: their {info.faces} faces with every embedding and "
               "thumbnail, their fitted identity files, their name, and the people edits "
               "that mention them. This cannot be undone; the photos stay.", err=as_json)
    if not yes:
        click.confirm(f"Forget {info.label}?", abort=True, err=as_json)
    report = forget_person(app, info.id)
    _done(as_json, report.to_dict(),
          f"forgot {info.label}: {report.faces} faces, {report.embeddings} embeddings, "
          f"{len(report.identity_files)} identity file(s), {report.edits} logged edit(s)"
          + (f"; {len(report.backups_scrubbed)} backup(s) scrubbed"
             if report.backups_scrubbed else ""))


def _face_edit(action: Callable[..., None], verb: str) -> Callable[..., None]:
    @click.argument("faces", nargs=-1, type=int, required=True)
    @click.option("--person", default=None,
                  help="The person concerned (default: each face's current person).")
    @json_option
    @click.pass_context
    def command(ctx: click.Context, faces: tuple[int, ...], person: str | None,
                as_json: bool) -> None:
        app = app_context(ctx)
        pid = _person_arg(app, person) if person is not None else None
        action(app, faces, pid)
        _done(as_json, {"faces": list(faces), "person": pid, "action": verb},
              f"{verb}: {len(faces)} face(s)")
    return command


people.command("reject", help='"Not this person": FACES leave it and never go back.')(
    _face_edit(edits.reject, "rejected"))
people.command("confirm", help="Confirm FACES as their person's (or --person's).")(
    _face_edit(edits.confirm, "confirmed"))


@people.command("unassign")
@click.argument("faces", nargs=-1, type=int, required=True)
@json_option
@click.pass_context
def people_unassign(ctx: click.Context, faces: tuple[int, ...], as_json: bool) -> None:
    """Take FACES out of every person, for good (until placed again)."""
    edits.unassign(app_context(ctx), faces)
    _done(as_json, {"faces": list(faces), "action": "unassigned"},
          f"unassigned {len(faces)} face(s)")


@people.command("hide")
@click.argument("person")
@click.option("--show", is_flag=True, help="Show a hidden person again.")
@json_option
@click.pass_context
def people_hide(ctx: click.Context, person: str, show: bool, as_json: bool) -> None:
    """Hide a person from lists and suggestions (--show: undo that)."""
    _edit_person(ctx, person, as_json, lambda app, pid: edits.hide(app, pid, hidden=not show),
                 lambda info: f"{info.label} is {'shown' if show else 'hidden'}")


@people.command("cover")
@click.argument("person")
@click.argument("face", type=int)
@json_option
@click.pass_context
def people_cover(ctx: click.Context, person: str, face: int, as_json: bool) -> None:
    """Pick the face that shows PERSON (it is confirmed as theirs)."""
    _edit_person(ctx, person, as_json, lambda app, pid: edits.set_cover(app, pid, face),
                 lambda info: f"cover of #{info.id}: face {face}")


@people.command("suggest")
@click.argument("person", required=False)
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.option("--model", default=None, help="Embedding model id (default: the library's).")
@json_option
@click.pass_context
def people_suggest(ctx: click.Context, person: str | None, limit: int, model: str | None,
                   as_json: bool) -> None:
    """Faces likely PERSON's (confirm/reject them), or, without PERSON, persons to merge."""
    app = app_context(ctx)
    if person is not None:
        found = suggest.suggest_faces(app, _person_arg(app, person), limit=limit, model_id=model)
        if as_json:
            emit_json([{**f.to_dict(), "similarity": round(sc, 4)} for f, sc in found])
            return
        for f, sc in found:
            click.echo(_face_line(f, sc))
        click.echo(f"{len(found)} suggestions; `idfsr people confirm|reject FACE --person P`")
        return
    pairs = suggest.suggest_merges(app, limit=limit, model_id=model)
    if as_json:
        emit_json([p.to_dict() for p in pairs])
        return
    for p in pairs:
        a, b = get_person(app, p.person_a), get_person(app, p.person_b)
        click.echo(f"{p.similarity:6.3f}  {a.label} ({a.faces}) + {b.label} ({b.faces})")
    click.echo(f"{len(pairs)} merge suggestions; `idfsr people merge A B`")


def _run_job(ctx: click.Context, job: Callable[..., ClusterReport], model: str | None,
             as_json: bool) -> None:
    app = app_context(ctx)
    bars = ProgressBars(plain=as_json or None)
    try:
        with cancellable() as token:
            report = job(app, model, progress=bars, cancel=token)
    finally:
        bars.close()
    _done(as_json, report.to_dict(),
          f"people ({report.model_id}): {report.faces} faces, {report.assigned} with a person, "
          f"{report.new_persons} new persons, {report.removed_persons} removed, "
          f"{report.seconds:.1f} s")


@people.command("recluster")
@click.option("--model", default=None, help="Embedding model id (default: the library's).")
@json_option
@click.pass_context
def people_recluster(ctx: click.Context, model: str | None, as_json: bool) -> None:
    """Cluster every face again; every decision of the user's is kept."""
    _run_job(ctx, recluster, model, as_json)


@people.command("assign")
@click.option("--model", default=None, help="Embedding model id (default: the library's).")
@json_option
@click.pass_context
def people_assign(ctx: click.Context, model: str | None, as_json: bool) -> None:
    """Give new faces a person where one clearly fits (`idfsr index` does this too)."""
    _run_job(ctx, assign_new_faces, model, as_json)


@people.command("undo")
@click.option("--steps", type=click.IntRange(1, history.KEEP), default=1, show_default=True)
@json_option
@click.pass_context
def people_undo(ctx: click.Context, steps: int, as_json: bool) -> None:
    """Undo the last people edits."""
    done = history.undo(app_context(ctx), steps)
    _done(as_json, {"undone": done}, "\n".join(f"undone: {d}" for d in done))


@people.command("export")
@click.argument("file", type=click.Path(dir_okay=False))
@json_option
@click.pass_context
def people_export(ctx: click.Context, file: str, as_json: bool) -> None:
    """Write every people decision to FILE (JSON, keyed by photo content and face box)."""
    data = export_decisions(app_context(ctx))
    write_decisions(data, Path(file))
    counts = summary(data)
    _done(as_json, {"file": file, **counts},
          f"exported {counts['people']} people ({counts['named']} named, {counts['hidden']} "
          f"hidden), {counts['decided_faces']} placed faces, {counts['rejections']} "
          f"\"not this person\" answers, {counts['unassigned']} faces set aside, to {file}")


@people.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@json_option
@click.pass_context
def people_import(ctx: click.Context, file: str, as_json: bool) -> None:
    """Apply the people decisions of FILE (from `people export`) to this library."""
    report = import_decisions(app_context(ctx), read_decisions(Path(file)))
    _done(as_json, report.to_dict(),
          f"imported {report.people} people ({report.people_created} new), {report.faces} "
          f"faces placed, {report.rejections} \"not this person\" answers, "
          f"{report.unassigned} set aside; {report.faces_missing} faces not found in this "
          "library")


@people.command("history")
@click.option("--limit", type=click.IntRange(1, history.KEEP), default=20, show_default=True)
@json_option
@click.pass_context
def people_history(ctx: click.Context, limit: int, as_json: bool) -> None:
    """The last people edits, newest first."""
    edits_ = history.history(app_context(ctx), limit)
    if as_json:
        emit_json(edits_)
        return
    for e in edits_:
        mark = " (undone)" if e.undone else ""
        click.echo(f"{e.id:>5}  {e.created_at:%Y-%m-%d %H:%M}  {e.summary}{mark}")
