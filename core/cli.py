"""The `idfsr` command: the same core the GUI uses, with progress bars and `--json`."""

from __future__ import annotations

import click

from core.cli_support import (
    ProgressBars,
    app_context,
    cancellable,
    emit_json,
    json_option,
    run_cli,
)
from core.fsutil import display_path
from core.library import service
from core.library.indexer import IndexReport, index_library
from core.paths import HOME_ENV
from core.resources import demo_library_path


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--home", type=click.Path(file_okay=False), default=None,
              help=f"Keep all app data in this folder (overrides ${HOME_ENV}).")
@click.version_option(package_name="idfsr-desktop")
def main(home: str | None) -> None:
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

def _run_index(ctx: click.Context, rescan: bool, as_json: bool) -> IndexReport:
    app = app_context(ctx)
    bars = ProgressBars()
    try:
        with cancellable() as token:
            return index_library(app, rescan=rescan, progress=bars, cancel=token)
    finally:
        bars.close()


def _print_report(r: IndexReport) -> None:
    click.echo(f"indexed {r.seen} photos in {r.roots} folder(s) in {r.seconds:.1f} s: "
               f"{r.new} new, {r.changed} changed, {r.moved} moved, {r.unchanged} unchanged, "
               f"{r.missing} newly missing, {r.errors} unreadable")


@main.command("index")
@click.option("--rescan", is_flag=True, help="Re-read every file, even unchanged ones.")
@json_option
@click.pass_context
def index_cmd(ctx: click.Context, rescan: bool, as_json: bool) -> None:
    """Scan every library folder and bring the index up to date (resumable)."""
    report = _run_index(ctx, rescan, as_json)
    if as_json:
        emit_json(report.to_dict())
    else:
        _print_report(report)
        if report.errors:
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
    if as_json:
        emit_json({"index": report.to_dict(), "photos": photos,
                   "status": service.library_status(app)})
        return
    click.echo(f"demo library: {display_path(demo)}")
    _print_report(report)
    _print_photos(photos)


def entry() -> None:
    """Console-script entry point."""
    run_cli(main)
