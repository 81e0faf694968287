"""`idfsr data prepare`, `idfsr train`, `idfsr fit`, `idfsr restore-face`: the IDFSR model.

Heavy imports (torch, diffusers, accelerate) happen inside the commands, so the rest
of the CLI starts fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from core.cli_support import ProgressBars, app_context, cancellable, emit_json, json_option
from core.errors import IdfsrError
from core.faces.backends import open_backend
from core.idfsr.config import load_train_config
from core.idfsr.dataset import PreparedFaces, embed_dataset, merge_datasets
from core.idfsr.pack import pack_dataset, unpack_dataset
from core.idfsr.person_faces import faces_from_crops, faces_from_photos
from core.idfsr.prepare import PrepareOptions, prepare_dataset
from core.idfsr.report import image_grid, save_png
from core.people.identity_store import person_file_name

_DIR = click.Path(file_okay=False, path_type=Path)
_EXISTING_DIR = click.Path(exists=True, file_okay=False, path_type=Path)
_EXISTING_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def _limit_threads() -> None:
    # A desktop machine is shared with the GUI and other work: leave one core free.
    import os

    import torch

    if "OMP_NUM_THREADS" not in os.environ:
        torch.set_num_threads(max(1, (os.cpu_count() or 2) - 1))


@click.group("data")
def data_group() -> None:
    """Datasets of aligned faces for training the IDFSR model."""


@data_group.command("prepare")
@click.argument("src", type=_EXISTING_DIR)
@click.argument("dst", type=_DIR)
@click.option("--size", type=int, default=64, show_default=True, help="Aligned crop side S.")
@click.option("--labels", type=click.Choice(["auto", "manifest", "folders", "none"]),
              default="auto", show_default=True,
              help="Identity labels: manifest.csv, folder names, or none (auto: manifest if "
                   "present, else folders).")
@click.option("--min-score", type=float, default=0.5, show_default=True)
@click.option("--min-face-ratio", type=float, default=0.5, show_default=True,
              help="Keep faces whose own resolution is at least this times S.")
@click.option("--min-sharpness", type=float, default=0.0, show_default=True)
@click.option("--licence", default="", help="Licence of the photos (goes into model cards).")
@click.option("--limit", type=int, default=None, help="Stop after this many faces.")
@click.option("--exclude", "exclude_file", type=_EXISTING_FILE, default=None,
              help="A file of identities (one per line, # comments) to leave out, e.g. "
                   "people held out for evaluation.")
@click.option("--shard", default="0/1", show_default=True,
              help="K/N: prepare only every N-th photo starting at the K-th (run N of "
                   "these in parallel, then `idfsr data merge`).")
@click.option("--embed/--no-embed", default=True, show_default=True,
              help="Embed each face with the backend's recognizer (--no-embed: detection and "
                   "alignment only; `idfsr data embed` adds a recognizer's embeddings later).")
@json_option
@click.pass_context
def data_prepare(ctx: click.Context, src: Path, dst: Path, size: int, labels: Any,
                 min_score: float, min_face_ratio: float, min_sharpness: float, licence: str,
                 limit: int | None, exclude_file: Path | None, shard: str, embed: bool,
                 as_json: bool) -> None:
    """Detect, filter, align and embed the faces of every photo under SRC into DST."""
    try:
        k, n = (int(v) for v in shard.split("/"))
    except ValueError:
        raise click.BadParameter(f"{shard!r}: expected K/N, e.g. 0/2",
                                 param_hint="--shard") from None
    exclude: frozenset[str] = frozenset()
    if exclude_file is not None:
        lines = exclude_file.read_text(encoding="utf-8").splitlines()
        exclude = frozenset(x.strip() for x in lines if x.strip() and not x.startswith("#"))
    backend = open_backend(app_context(ctx))
    options = PrepareOptions(size=size, labels=labels, min_score=min_score,
                             min_face_ratio=min_face_ratio, min_sharpness=min_sharpness,
                             licence=licence, limit=limit, exclude=exclude, shard=(k, n),
                             embed=embed)
    bars = ProgressBars(plain=as_json or None)
    try:
        with cancellable() as token:
            report = prepare_dataset(src, dst, backend, options, progress=bars, cancel=token)
    finally:
        bars.close()
    if as_json:
        emit_json(report.to_dict())
    else:
        click.echo(f"{report.faces} faces ({report.identities} identities) from "
                   f"{report.photos} photos in {report.seconds:.0f} s -> {dst}")
        for reason, n in sorted(report.rejected.items()):
            click.echo(f"  rejected {n}: {reason}")


@data_group.command("embed")
@click.argument("dataset", type=_EXISTING_DIR)
@click.option("--recognizer", "model_id", default="mobileface-v1", show_default=True,
              help="A built-in torch recognizer's model id.")
@json_option
def data_embed(dataset: Path, model_id: str, as_json: bool) -> None:
    """Embed a prepared dataset's faces with a built-in recognizer (replacing its embeddings)."""
    from core.faces.recognizers import builtin_recognizers  # heavy: torch

    if model_id not in builtin_recognizers():
        raise click.BadParameter(f"{model_id!r}: built in are {', '.join(builtin_recognizers())}",
                                 param_hint="--recognizer")
    _limit_threads()
    bars = ProgressBars(plain=as_json or None)
    try:
        with cancellable() as token:
            embed_dataset(dataset, model_id, progress=bars, cancel=token)
    finally:
        bars.close()
    summary = PreparedFaces(dataset).describe()
    if as_json:
        emit_json(summary)
    else:
        click.echo(f"{summary['faces']} faces embedded with {model_id} -> {dataset}")


@data_group.command("pack")
@click.argument("dataset", type=_EXISTING_DIR)
@click.option("--out", "dest", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The pack file to write (.npz).")
@click.option("--quality", type=click.IntRange(1, 100), default=90, show_default=True,
              help="WebP quality of the faces.")
@click.option("--min-face-px", type=float, default=0.0, show_default=True,
              help="Keep only faces at least this wide in their photo (the config's "
                   "min_face_px: the faces it trains on).")
@json_option
def data_pack(dataset: Path, dest: Path, quality: int, min_face_px: float,
              as_json: bool) -> None:
    """Pack a prepared dataset into one small file, to train on another machine."""
    bars = ProgressBars(plain=as_json or None)
    try:
        with cancellable() as token:
            summary = pack_dataset(dataset, dest, quality=quality, min_face_px=min_face_px,
                                   progress=bars, cancel=token)
    finally:
        bars.close()
    if as_json:
        emit_json(summary)
    else:
        click.echo(f"{summary['faces']} of {summary['of']} faces, "
                   f"{summary['bytes'] / 2**20:.1f} MiB -> {dest}")


@data_group.command("unpack")
@click.argument("pack", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", "dst", type=_DIR, required=True, help="The dataset folder to write.")
@json_option
def data_unpack(pack: Path, dst: Path, as_json: bool) -> None:
    """Write the prepared dataset held in a pack (`idfsr data pack`)."""
    bars = ProgressBars(plain=as_json or None)
    try:
        with cancellable() as token:
            summary = unpack_dataset(pack, dst, progress=bars, cancel=token).describe()
    finally:
        bars.close()
    if as_json:
        emit_json(summary)
    else:
        click.echo(f"{summary['faces']} faces -> {dst}")


@data_group.command("merge")
@click.argument("sources", nargs=-1, required=True, type=_EXISTING_DIR)
@click.option("--out", "dst", type=_DIR, required=True, help="The merged dataset's folder.")
@json_option
def data_merge(sources: tuple[Path, ...], dst: Path, as_json: bool) -> None:
    """Merge datasets prepared separately (e.g. in parallel) into one."""
    merged = PreparedFaces(merge_datasets(list(sources), dst).parent)
    summary = merged.describe()
    if as_json:
        emit_json(summary)
    else:
        click.echo(f"{summary['faces']} faces ({summary['identities']} identities) -> {dst}")


@click.command("train")
@click.option("--data", "data_dir", type=_EXISTING_DIR, required=True,
              help="A dataset made by `idfsr data prepare`.")
@click.option("--config", "config_name", default="cpu-64", show_default=True,
              help="A built-in config name (tiny, cpu-64, gpu-128) or a JSON file.")
@click.option("--out", "out_dir", type=_DIR, required=True, help="Run folder (checkpoints, "
              "samples, loss curve; the final model goes to OUT/model).")
@click.option("--steps", type=int, default=None, help="Override the config's total steps.")
@click.option("--batch-size", type=int, default=None, help="Override the per-device batch.")
@click.option("--workers", type=int, default=None, help="Override the data loader workers.")
@click.option("--stop-at", type=int, default=None, help="Stop (resumably) after this step.")
@click.option("--fresh", is_flag=True, help="Ignore checkpoints in OUT and start over.")
@click.option("--minutes", type=float, default=None,
              help="Train from the start for about this long: the warm-up is timed and "
                   "the schedule planned to end on time (a rented GPU, a night).")
@click.option("--export", "export_to", type=_DIR, default=None,
              help="Train nothing: write the newest checkpoint's EMA weights as a model "
                   "folder here (a usable model from a run still in progress).")
@click.option("--half", is_flag=True,
              help="With --export: store the weights in 16-bit floats (half the size; they "
                   "are computed in 32 bits when loaded).")
@json_option
def train_cmd(data_dir: Path, config_name: str, out_dir: Path, steps: int | None,
              batch_size: int | None, workers: int | None, stop_at: int | None, fresh: bool,
              minutes: float | None, export_to: Path | None, half: bool,
              as_json: bool) -> None:
    """Stage 1: train the restoration network (run under `accelerate launch` for several GPUs)."""
    from core.idfsr.train import (  # heavy: torch
        describe,
        export_checkpoint,
        make_accelerator,
        train,
        train_for,
    )

    cfg = load_train_config(config_name)
    updates = {k: v for k, v in (("steps", steps), ("batch_size", batch_size),
                                 ("num_workers", workers)) if v is not None}
    cfg = cfg.model_validate({**cfg.model_dump(), **updates})
    if export_to is not None:
        folder = export_checkpoint(cfg, data_dir, out_dir, export_to, half=half)
        if as_json:
            emit_json({"model": str(folder)})
        else:
            click.echo(f"model written to {folder}")
        return
    acc = make_accelerator(cfg)
    if acc.device.type == "cpu":
        _limit_threads()
    bars = ProgressBars(enabled=acc.is_main_process, unit="step", plain=as_json or None)
    try:
        with cancellable() as token:
            if minutes is not None:
                report = train_for(cfg, data_dir, out_dir, minutes * 60, accelerator=acc,
                                   progress=bars, cancel=token)
            else:
                report = train(cfg, data_dir, out_dir, resume=not fresh, stop_at=stop_at,
                               accelerator=acc, progress=bars, cancel=token)
    finally:
        bars.close()
    if not acc.is_main_process:
        return
    if as_json:
        emit_json(describe(report))
    else:
        speed = f", {report.seconds_per_step:.2f} s/step" if report.seconds_per_step else ""
        click.echo(f"step {report.step}/{report.total_steps}{speed}, loss {report.final_loss}")
        if report.model:
            click.echo(f"model written to {report.model}")


def _load(ctx: click.Context, model: str | None, device: str | None) -> Any:
    from core.idfsr.checkpoint import DEFAULT_MODEL, IdfsrModel  # heavy: torch
    from core.idfsr.device import select_device  # heavy: torch

    app = app_context(ctx)
    chosen = select_device(device or app.settings.device)
    return IdfsrModel(app.paths, model or DEFAULT_MODEL, chosen).get()


@click.command("fit")
@click.argument("person")
@click.option("--photos", type=_EXISTING_DIR, default=None,
              help="A folder of photos of the person (faces are detected).")
@click.option("--crops", type=_EXISTING_DIR, default=None,
              help="A folder of crops already aligned on the canonical template.")
@click.option("--model", default=None, help="Model folder or name (default: idfsr-default).")
@click.option("--steps", type=int, default=300, show_default=True)
@click.option("--max-faces", type=int, default=24, show_default=True)
@click.option("--device", type=click.Choice(["auto", "cuda", "mps", "cpu"]), default=None,
              help="Overrides the device setting.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--init-embedding", type=_EXISTING_FILE, default=None,
              help="A .npy vector to start from (default: the faces' mean embedding; with "
                   "--crops this needs no face backend).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Identity file (default: the app's identities folder).")
@json_option
@click.pass_context
def fit_cmd(ctx: click.Context, person: str, photos: Path | None, crops: Path | None,
            model: str | None, steps: int, max_faces: int, device: str | None, seed: int,
            init_embedding: Path | None, out: Path | None, as_json: bool) -> None:
    """Stage 2: fit PERSON's identity embedding (resumes an interrupted fit)."""
    import numpy as np

    from core.idfsr.fit import FitConfig, fit_identity  # heavy: torch
    from core.idfsr.identity import save_identity  # heavy: torch

    if (photos is None) == (crops is None):
        raise click.UsageError("give exactly one of --photos or --crops (to fit a person of "
                               "the library, use `idfsr people fit NAME`)")
    app = app_context(ctx)
    loaded = _load(ctx, model, device)
    _limit_threads()
    backend = None
    if photos is not None or init_embedding is None:
        backend = open_backend(app)
        wanted = loaded.net.config.id_model_id
        if wanted and backend.model_id != wanted:
            raise IdfsrError(f"the model uses {wanted} embeddings, the face backend gives "
                             f"{backend.model_id}; choose the matching --face-backend")
    bars = ProgressBars(unit="step", plain=as_json or None)
    target = out or app.paths.identities / person_file_name(person)
    try:
        with cancellable() as token:
            if photos is not None and backend is not None:
                faces = faces_from_photos(photos, backend, loaded.size, max_faces,
                                          progress=bars, cancel=token)
            else:
                assert crops is not None
                faces = faces_from_crops(crops, backend, loaded.size, max_faces)
            init = (np.load(init_embedding, allow_pickle=False) if init_embedding is not None
                    else faces.mean_embedding())
            result = fit_identity(loaded, faces.faces, faces.landmarks, init,
                                  config=FitConfig(steps=steps, seed=seed),
                                  state_file=target.with_suffix(".partial.safetensors"),
                                  progress=bars, cancel=token)
    finally:
        bars.close()
    save_identity(target, result.embedding, result.losses, {
        "person": person, "base_model_sha256": loaded.sha256,
        "id_model_id": loaded.net.config.id_model_id, "steps": result.steps,
        "seconds": round(result.seconds, 1), "faces_used": result.faces_used,
        "sources": faces.sources})
    if as_json:
        emit_json({"identity": str(target), "steps": result.steps, "faces": result.faces_used,
                   "seconds": result.seconds, "final_loss": result.losses[-1]})
    else:
        click.echo(f"fitted {person} on {result.faces_used} faces in {result.seconds:.0f} s "
                   f"-> {target}")


@click.command("restore-face")
@click.argument("image", type=_EXISTING_FILE)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="PNG: the input enlarged, then the candidates, best first.")
@click.option("--identity", type=_EXISTING_FILE, default=None, help="A fitted identity file.")
@click.option("--reference", type=_EXISTING_FILE, default=None,
              help="An aligned crop of the same person (canonical template).")
@click.option("--model", default=None, help="Model folder or name (default: idfsr-default).")
@click.option("--steps", type=int, default=25, show_default=True)
@click.option("--sampler", type=click.Choice(["ddim", "dpm++"]), default="ddim",
              show_default=True)
@click.option("--guidance", type=float, default=2.0, show_default=True,
              help="Identity guidance scale (1: none).")
@click.option("--fidelity", type=float, default=0.0, show_default=True,
              help="How much of the LR face to show the network (0..1).")
@click.option("--consistency", type=float, default=0.5, show_default=True,
              help="LR-consistency strength (0..1).")
@click.option("--start", type=float, default=0.5, show_default=True,
              help="Where sampling begins: 1 from pure noise, lower from the LR face noised "
                   "that far.")
@click.option("--candidates", type=int, default=4, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--device", type=click.Choice(["auto", "cuda", "mps", "cpu"]), default=None)
@json_option
@click.pass_context
def restore_face_cmd(ctx: click.Context, image: Path, out: Path, identity: Path | None,
                     reference: Path | None, model: str | None, steps: int, sampler: str,
                     guidance: float, fidelity: float, consistency: float, start: float,
                     candidates: int,
                     seed: int, device: str | None, as_json: bool) -> None:
    """Restore one aligned face IMAGE (a tiny crop on the canonical template)."""
    import numpy as np

    from core.idfsr.identity import load_identity  # heavy: torch
    from core.idfsr.restore_one import load_aligned_face  # heavy: torch
    from core.idfsr.sample import SampleOptions, restore_face  # heavy: torch

    loaded = _load(ctx, model, device)
    _limit_threads()
    face = load_aligned_face(image, loaded.size, reference)
    emb = load_identity(identity, loaded.sha256).embedding if identity else None
    options = SampleOptions(steps=steps, sampler=sampler, guidance=guidance, fidelity=fidelity,
                            consistency=consistency, start=start, candidates=candidates,
                            seed=seed)
    bars = ProgressBars(unit="step", plain=as_json or None)
    try:
        with cancellable() as token:
            results = restore_face(loaded, face, emb, options, progress=bars, cancel=token)
    finally:
        bars.close()

    save_png(image_grid([[face.lr_up] + [c.image for c in results]]), out)
    summary = [{"seed": c.seed, "consistency_error": c.consistency_error} for c in results]
    if as_json:
        emit_json({"out": str(out), "candidates": summary})
    else:
        best = results[0]
        click.echo(f"{len(results)} candidates -> {out} (best seed {best.seed}, "
                   f"LR error {best.consistency_error:.4f}, mean "
                   f"{np.mean([c.consistency_error for c in results]):.4f})")


COMMANDS = (data_group, train_cmd, fit_cmd, restore_face_cmd)
