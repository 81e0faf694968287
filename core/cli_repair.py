"""`idfsr library check|repair|backup`: the library database's health, its repair, its backups.

These commands never open the database the way the others do (that would refuse a damaged
one): they look at it read-only, and only `repair` replaces it, keeping the damaged file.
"""

from __future__ import annotations

from pathlib import Path

import click

from core.cli_support import (
    ProgressBars,
    app_context,
    app_paths,
    cancellable,
    emit_json,
    json_option,
)
from core.db.backup import list_backups, make_backup
from core.db.health import check_database
from core.db.types import utcnow
from core.errors import IdfsrError
from core.repair import RepairReport, finish_rebuild, restore_backup, salvage_library, start_rebuild
from core.repair_plan import RepairPlan, plan_repair, rebuild_pending, when


def _print_plan(plan: RepairPlan, *, verbose: bool) -> None:
    d = plan.diagnosis
    click.echo(d.summary)
    for line in d.details[: 5 if verbose else 2]:
        click.echo(f"  SQLite: {line}")
    if verbose:
        click.echo("backups (newest first):")
        for b in plan.checked:
            state = "sound" if b.sound else f"DAMAGED ({b.problem})"
            click.echo(f"  {when(b.info.made_at, plan.now)}  {b.info.kind:<7} {state}  "
                       f"{b.info.path.name}")
        for info in plan.unchecked:
            click.echo(f"  {when(info.made_at, plan.now)}  {info.kind:<7} (not checked)  "
                       f"{info.path.name}")
        if not plan.checked and not plan.unchecked:
            click.echo("  none")
        if plan.export is not None:
            made = when(plan.export.made_at, plan.now) if plan.export.made_at else "?"
            click.echo(f"people decisions exported {made}: {plan.export.contents()} "
                       f"({plan.export.path.name})")
        for copy in plan.damaged_copies:
            click.echo(f"damaged copy kept aside by an earlier repair: {copy.name}")


@click.command("check")
@json_option
@click.pass_context
def library_check(ctx: click.Context, as_json: bool) -> None:
    """Check the library database thoroughly (read-only): SQLite's integrity check, the
    backups, the export of the people decisions."""
    paths = app_paths(ctx)
    diagnosis = check_database(paths.db_file, full=True)
    plan = plan_repair(paths.db_file, now=utcnow(), diagnosis=diagnosis)
    if as_json:
        emit_json(plan.to_dict())
    else:
        _print_plan(plan, verbose=True)
        click.echo(f"checked in {diagnosis.seconds:.2f} s")
    if diagnosis.damaged:
        raise IdfsrError("the library database is damaged; `idfsr library repair` says how it "
                         "can be repaired (the damaged file is always kept)")


def _confirm(yes: bool, as_json: bool, what: str) -> None:
    if not yes:
        click.confirm(f"{what} The damaged file is kept aside. Go ahead?", abort=True,
                      err=as_json)


def _finish(report: RepairReport, as_json: bool) -> None:
    if as_json:
        emit_json(report.to_dict())
    else:
        click.echo(report.message)


@click.command("repair")
@click.option("--restore", "action", flag_value="restore",
              help="Restore the newest backup that passes SQLite's integrity check.")
@click.option("--salvage", "action", flag_value="salvage",
              help="Copy what can still be read into a new database.")
@click.option("--rebuild", "action", flag_value="rebuild",
              help="Index the photos again and re-apply the exported people decisions.")
@click.option("--backup", "backup", type=click.Path(dir_okay=False, exists=True), default=None,
              help="With --restore: this backup instead of the newest good one.")
@click.option("--decisions", type=click.Path(dir_okay=False, exists=True), default=None,
              help="With --rebuild: the people decisions to re-apply (default: the last "
                   "automatic export).")
@click.option("--yes", "-y", is_flag=True, help="Do it without asking.")
@json_option
@click.pass_context
def library_repair(ctx: click.Context, action: str | None, backup: str | None,
                   decisions: str | None, yes: bool, as_json: bool) -> None:
    """Repair a damaged library database: say what is wrong and what each way out gives
    and loses; with --restore, --salvage or --rebuild, do it. Close the app first."""
    paths = app_paths(ctx)
    db = paths.db_file
    now = utcnow()
    pending = rebuild_pending(db)
    diagnosis = check_database(db)
    if pending is not None and not diagnosis.damaged:
        if action != "rebuild":
            raise IdfsrError("a rebuild of the library is under way: run `idfsr library repair "
                             "--rebuild` to finish it")
        _finish(_finish_rebuild(ctx), as_json)
        return
    if not diagnosis.damaged:
        if as_json:
            emit_json({"diagnosis": diagnosis.to_dict(), "repaired": False})
        else:
            click.echo(f"{diagnosis.summary}: there is nothing to repair")
        return
    plan = plan_repair(db, now=now, diagnosis=diagnosis)
    if action is None:
        if as_json:
            emit_json(plan.to_dict())
        else:
            _print_plan(plan, verbose=False)
            click.echo("\nWays out (the damaged file is always kept aside):")
            click.echo(f"  --restore  {plan.restore_words()}")
            click.echo(f"  --salvage  {plan.salvage_words()}")
            click.echo(f"  --rebuild  {plan.rebuild_words()}")
        raise IdfsrError("the library database is damaged; choose one of --restore, --salvage, "
                         "--rebuild")
    bars = ProgressBars(unit="step", units={"backup": "page", "salvage": "table"},
                        plain=as_json or None)
    try:
        if action == "restore":
            _confirm(yes, as_json, plan.restore_words())
            with cancellable() as token:
                report = restore_backup(paths, backup=Path(backup) if backup else None, now=now,
                                        progress=bars, cancel=token)
        elif action == "salvage":
            _confirm(yes, as_json, plan.salvage_words())
            with cancellable() as token:
                report = salvage_library(paths, now=now, progress=bars, cancel=token)
            if rebuild_pending(db) is not None:  # rows were lost: index, re-apply decisions
                if not as_json:
                    click.echo(report.message)
                report = _finish_rebuild(ctx)
        else:
            _confirm(yes, as_json, plan.rebuild_words())
            started = start_rebuild(paths, now=now,
                                    decisions=Path(decisions) if decisions else None)
            if not as_json:
                click.echo(started.message)
            report = _finish_rebuild(ctx)
    finally:
        bars.close()
    _finish(report, as_json)


def _finish_rebuild(ctx: click.Context) -> RepairReport:
    app = app_context(ctx)
    bars = ProgressBars()
    try:
        with cancellable() as token:
            return finish_rebuild(app, progress=bars, cancel=token)
    finally:
        bars.close()


@click.command("backup")
@json_option
@click.pass_context
def library_backup(ctx: click.Context, as_json: bool) -> None:
    """Back up the library database now (verified; kept until you delete it)."""
    paths = app_paths(ctx)
    diagnosis = check_database(paths.db_file)
    if diagnosis.damaged:
        raise IdfsrError(f"{diagnosis.summary} A damaged database is not backed up; see "
                         "`idfsr library repair`")
    if diagnosis.state == "new":
        raise IdfsrError("there is no library database to back up yet")
    bars = ProgressBars(unit="page", plain=as_json or None)
    try:
        info = make_backup(paths.db_file, "manual", now=utcnow(), progress=bars)
    finally:
        bars.close()
    if as_json:
        emit_json({**info.to_dict(), "backups": [b.to_dict() for b in list_backups(
            paths.db_file)]})
    else:
        click.echo(f"backed up to {info.path} ({info.size / 1024 / 1024:.1f} MB, verified)")


COMMANDS = (library_check, library_repair, library_backup)
