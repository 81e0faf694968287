"""`idfsr models`: which face models are installed and active, and installing a pack."""

from __future__ import annotations

from typing import Any

import click

from core.cli_support import ProgressBars, app_context, cancellable, emit_json, json_option
from core.errors import IdfsrError
from core.faces.backends import BackendChoice, choose_backend
from core.models.catalog import PACKS, pack_spec
from core.models.download import InstallReport, install_pack
from core.models.insightface_pack import installed_packs

EMBEDDED = {
    "name": "embedded",
    "kind": "embedded",
    "installed": True,
    "description": "RetinaFace-MobileNet + libfacedetection + dlib ResNet 128-d "
                   "(bundled with the app, works offline)",
    "licence": "MIT / BSD / CC0 (redistributable)",
}


def _mb(size: int | None) -> str:
    return f"{size / 1e6:.0f} MB" if size else "size unknown"


@click.group("models")
def models() -> None:
    """Face model packs: list what is installed and active, download insightface packs."""


@models.command("list")
@json_option
@click.pass_context
def models_list(ctx: click.Context, as_json: bool) -> None:
    """Installed packs, packs available to download, and which backend is active."""
    app = app_context(ctx)
    choice: BackendChoice | None
    try:
        choice = choose_backend(app.paths, app.settings)
        problem = None
    except IdfsrError as exc:  # e.g. insightface asked for, none installed: show, don't fail
        choice, problem = None, str(exc)
    installed = {p.name: p for p in installed_packs(app.paths.models)}
    rows: list[dict[str, Any]] = [{**EMBEDDED, "active": bool(choice and not choice.pack)}]
    for name in list(PACKS) + sorted(set(installed) - set(PACKS)):
        spec, pack = PACKS.get(name), installed.get(name)
        rows.append({
            "name": name,
            "kind": "insightface",
            "installed": pack is not None,
            "active": bool(choice and choice.pack and choice.pack.name == name),
            "description": spec.description if spec else "installed by hand",
            "download_size": spec.size if spec else None,
            "licence": "non-commercial research only",
            **({"pack": pack.to_dict()} if pack else {}),
        })
    active = choice.label if choice else None
    if as_json:
        emit_json({"face_backend": app.settings.face_backend,
                   "pack_setting": app.settings.faces.pack, "active": active,
                   "reason": choice.reason if choice else problem, "models": rows})
        return
    click.echo(f"face_backend = {app.settings.face_backend}; active: {active or 'none'} "
               f"({choice.reason if choice else problem})")
    for row in rows:
        mark = "*" if row["active"] else " "
        size = _mb(row.get("download_size"))
        state = "installed" if row["installed"] else f"not installed, {size}"
        click.echo(f"{mark} {row['name']:<12} {row['kind']:<11} {state:<28} {row['description']}")
    if not installed:
        click.echo("insightface packs are for non-commercial research only; "
                   "install one with `idfsr models get buffalo_l`")


@models.command("get")
@click.argument("pack")
@click.option("--yes", "-y", is_flag=True, help="Accept the licence without asking.")
@click.option("--url", default=None, help="Download from this URL instead (e.g. a mirror); "
                                          "the archive must still match the catalog's checksum.")
@click.option("--force", is_flag=True, help="Download and reinstall even if installed.")
@json_option
@click.pass_context
def models_get(ctx: click.Context, pack: str, yes: bool, url: str | None, force: bool,
               as_json: bool) -> None:
    """Download, verify and install an insightface model pack (e.g. buffalo_l)."""
    spec = pack_spec(pack)
    app = app_context(ctx)
    # With --json, stdout carries only the result: the licence and prompt go to stderr.
    click.echo(f"{spec.name}: {spec.description}\nfrom {url or spec.url} ({_mb(spec.size)})\n\n"
               f"{spec.licence}\n", err=as_json)
    if not yes:
        click.confirm(f"Install {spec.name} under these terms?", abort=True, err=as_json)
    bars = ProgressBars(unit="file", units={"download": "B"})
    try:
        with cancellable() as token:
            report = install_pack(app.paths.models, spec, url=url, force=force, progress=bars,
                                  cancel=token)
    finally:
        bars.close()
    if as_json:
        emit_json(report)
    else:
        _print_install(report)


def _print_install(report: InstallReport) -> None:
    if report.already_installed:
        click.echo(f"{report.pack} is already installed in {report.path} "
                   f"(--force to reinstall)")
        return
    check = "sha256 verified" if report.checksum_verified else "no published checksum: " \
        "checked the archive's integrity and every model file"
    click.echo(f"installed {report.pack} in {report.path} ({report.bytes / 1e6:.0f} MB, {check}; "
               f"detector {report.detection}, recognizer {report.recognition}, "
               f"{report.embedding_dim}-d) in {report.seconds:.0f} s")
