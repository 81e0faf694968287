"""Stage 1: pretrain the conditional diffusion network on a prepared face dataset.

Runs under accelerate: one process on CPU or one GPU as is, several GPUs or nodes via
`accelerate launch`. Mixed precision on GPU, EMA weights, checkpoints that resume
exactly (see core.idfsr.batches), validation grids and a loss curve in the output
folder; at the end the EMA network is exported as a model folder (`OUT/model`).
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch
from accelerate import Accelerator
from torch.utils.data import DataLoader

from core.errors import IdfsrError, JobCancelled
from core.idfsr.batches import StepBatches, StepExamples
from core.idfsr.checkpoint import save_model
from core.idfsr.conditioning import CONDITION_CHANNELS
from core.idfsr.config import TrainConfig
from core.idfsr.dataset import PreparedFaces, Recognizer
from core.idfsr.device import mps_available
from core.idfsr.diffusion import (
    loss_weights,
    training_scheduler,
    training_target,
    weighted_mse,
)
from core.idfsr.losses import IdentityCritic, RestoreLoss
from core.idfsr.network import IdfsrNet, count_parameters
from core.idfsr.report import loss_curve_png, write_loss_csv
from core.idfsr.restorer_net import RestorerNet
from core.idfsr.train_state import Ema, list_checkpoints, load_checkpoint, save_checkpoint
from core.idfsr.validation import render_validation, validation_examples
from core.jobs import CancelToken, Progress, ProgressCallback, no_progress


@dataclass(frozen=True)
class TrainReport:
    """How a training run ended."""

    step: int
    total_steps: int
    final_loss: float | None
    seconds: float
    seconds_per_step: float | None
    checkpoint: Path | None
    model: Path | None
    parameters: int


def build_network(cfg: TrainConfig, recognizer: Recognizer) -> IdfsrNet | RestorerNet:
    """The network a config describes, for embeddings of this recognizer."""
    if cfg.objective == "restore":
        r = cfg.restorer
        return RestorerNet(
            sample_size=cfg.size, condition_channels=CONDITION_CHANNELS, id_dim=recognizer.dim,
            id_model_id=recognizer.model_id, id_tokens=r.id_tokens,
            block_out_channels=tuple(r.block_out_channels),
            layers_per_block=tuple(r.layers_per_block),
            attention_levels=tuple(r.attention_levels),
            self_attention_levels=tuple(r.self_attention_levels),
            head_channels=r.head_channels, norm_num_groups=r.norm_num_groups,
            token_dim=r.token_dim, head_dim=r.head_dim)
    n = cfg.network
    return IdfsrNet(
        sample_size=cfg.size, id_dim=recognizer.dim, id_model_id=recognizer.model_id,
        id_tokens=n.id_tokens, ref_grid=n.ref_grid,
        block_out_channels=tuple(n.block_out_channels),
        attention_levels=tuple(n.attention_levels), layers_per_block=n.layers_per_block,
        norm_num_groups=n.norm_num_groups, cross_attention_dim=n.cross_attention_dim,
        attention_head_dim=n.attention_head_dim, prediction_type=cfg.diffusion.prediction_type,
    )


def resolve_precision(setting: str) -> str:
    """"auto": bf16 on GPUs that have it, fp16 on other GPUs, full precision on CPU."""
    if setting != "auto":
        return setting
    if torch.cuda.is_available():
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return "no"


def make_accelerator(cfg: TrainConfig) -> Accelerator:
    """The accelerator for this machine and launch (one process, or one of many)."""
    # cpu=True where there is no GPU lets several CPU processes (torchrun,
    # `accelerate launch --cpu`) train together over gloo instead of each alone.
    on_cpu = not (torch.cuda.is_available() or mps_available())
    return Accelerator(mixed_precision=resolve_precision(cfg.mixed_precision), cpu=on_cpu)


def learning_rate(cfg: TrainConfig, step: int) -> float:
    """Linear warm-up, then cosine decay to a tenth (a pure function of the step)."""
    if step < cfg.warmup_steps:
        return cfg.learning_rate * (step + 1) / cfg.warmup_steps
    span = max(1, cfg.steps - cfg.warmup_steps)
    progress = min(1.0, (step - cfg.warmup_steps) / span)
    return cfg.learning_rate * (0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * progress)))


def open_critic(cfg: TrainConfig, data: PreparedFaces, device: torch.device | str
                ) -> IdentityCritic | None:
    """The frozen recognizer the restore objective compares identities with (None: unused).

    It must be the recognizer that made the dataset's embeddings: the restorer is
    conditioned on them, and the identity loss aims at them.
    """
    if cfg.loss.identity <= 0 and cfg.loss.features <= 0:
        return None
    from core.faces.recognizers import open_recognizer  # heavy: torch

    critic = open_recognizer(data.recognizer.model_id, device)
    return critic


def _noise_generator(cfg: TrainConfig, step: int, rank: int) -> torch.Generator:
    return torch.Generator().manual_seed((cfg.seed * 1_000_003 + step) * 1009 + rank)


def train(
    cfg: TrainConfig,
    data_dir: Path,
    out_dir: Path,
    *,
    resume: bool = True,
    stop_at: int | None = None,
    accelerator: Accelerator | None = None,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> TrainReport:
    """Train (or resume training) until cfg.steps, or `stop_at` steps for a partial run."""
    started = time.monotonic()
    acc = accelerator or make_accelerator(cfg)
    if acc.device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True  # fixed shapes: pick the fastest kernels once
    data = PreparedFaces(data_dir)
    if data.size != cfg.size:
        raise IdfsrError(f"the dataset has {data.size} px faces, the config wants {cfg.size}")
    train_idx, val_idx = data.split(cfg.val_permille)
    if cfg.min_sharpness > 0:
        train_idx = [i for i in train_idx
                     if data.items[i].get("sharpness", 1e9) >= cfg.min_sharpness]
    if cfg.min_face_px > 0:
        train_idx = [i for i in train_idx
                     if data.items[i].get("face_px", 1e9) >= cfg.min_face_px]
        val_idx = [i for i in val_idx if data.items[i].get("face_px", 1e9) >= cfg.min_face_px]
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(cfg.seed)  # the same initial weights on every process and every run
    net = build_network(cfg, data.recognizer).to(acc.device)
    ema = Ema(net, cfg.ema_decay)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.learning_rate,
                            weight_decay=cfg.weight_decay, betas=(0.9, 0.999))
    step, losses, lrs = 0, list[float](), list[float]()
    checkpoints = list_checkpoints(out_dir) if resume else []
    if checkpoints:
        state = load_checkpoint(checkpoints[-1], net, ema, opt)
        step, losses, lrs = int(state["step"]), state["losses"], state["lrs"]
    model, optimizer = acc.prepare(net, opt)
    end = min(cfg.steps, stop_at if stop_at is not None else cfg.steps)
    examples = StepExamples(data, train_idx, cfg, acc.num_processes)
    loader = DataLoader(examples, batch_sampler=StepBatches(step, end, acc.process_index,
                                                            cfg.batch_size),
                        num_workers=cfg.num_workers, pin_memory=acc.device.type == "cuda",
                        persistent_workers=False)
    scheduler = training_scheduler(cfg.diffusion)
    alphas = scheduler.alphas_cumprod.to(acc.device)
    restore_loss = (RestoreLoss(cfg.loss, cfg.size, open_critic(cfg, data, acc.device))
                    .to(acc.device) if cfg.objective == "restore" else None)
    val_examples = (validation_examples(data, val_idx or train_idx, cfg)
                    if acc.is_main_process else [])
    info = {"config_name": cfg.name, "config": cfg.model_dump(mode="json"),
            "data": {**data.describe(), "folder": str(data_dir)},
            "batch_size": cfg.batch_size, "num_processes": acc.num_processes,
            "mixed_precision": acc.mixed_precision}

    def checkpoint() -> Path | None:
        path = None
        if acc.is_main_process:
            path = save_checkpoint(out_dir, step, acc.unwrap_model(model), ema, opt,
                                   {"losses": losses, "lrs": lrs, "info": info})
            write_loss_csv(losses, lrs, out_dir / "loss.csv")
            loss_curve_png(losses, out_dir / "loss.png")
        acc.wait_for_everyone()
        return path

    last_ckpt: Path | None = None
    t_loop, first_step = time.monotonic(), step
    progress(Progress("train", step, cfg.steps, "training"))
    for batch in loader:
        if cancel is not None and cancel.cancelled:
            checkpoint()
            raise JobCancelled(f"stopped at step {step}; run again to resume")
        lr = learning_rate(cfg, step)
        for group in optimizer.param_groups:
            group["lr"] = lr
        x0 = batch["target"].to(acc.device)
        cond, ids = batch["condition"].to(acc.device), batch["id"].to(acc.device)
        drop, weight = batch["drop_id"].to(acc.device), batch["weight"].to(acc.device)
        if restore_loss is not None:
            with acc.autocast():
                pred = model(cond, ids, drop)
            loss = restore_loss(pred, x0, weight)[0].mean()
        else:
            gen = _noise_generator(cfg, step, acc.process_index)
            noise = torch.randn(x0.shape, generator=gen).to(acc.device)
            t = torch.randint(0, cfg.diffusion.num_train_timesteps, (x0.shape[0],),
                              generator=gen).to(acc.device)
            noisy = scheduler.add_noise(x0, noise, t)  # type: ignore[arg-type]
            target = training_target(cfg.diffusion.prediction_type, x0, noise, alphas, t)
            with acc.autocast():
                pred = model(noisy, t, cond, ids, drop)
            per_sample = weighted_mse(pred, target, weight)
            weights = loss_weights(cfg.diffusion.prediction_type, alphas, t,
                                   cfg.diffusion.snr_gamma)
            loss = (per_sample * weights).mean()
        acc.backward(loss)
        if cfg.max_grad_norm > 0:
            acc.clip_grad_norm_(model.parameters(), cfg.max_grad_norm)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        ema.update(acc.unwrap_model(model), step)
        losses.append(float(acc.gather(loss.detach()).mean().item()))
        lrs.append(lr)
        if step % cfg.log_every == 0 or step == end:
            progress(Progress("train", step, cfg.steps, f"loss {losses[-1]:.4f}"))
        if step % cfg.save_every == 0 or step == end:
            last_ckpt = checkpoint() or last_ckpt
        if cfg.validate_every and step % cfg.validate_every == 0 and acc.is_main_process:
            render_validation(ema.model, dict(scheduler.config), val_examples,
                              cfg.validation_steps, out_dir / "samples" / f"step-{step:07d}.png")
    done = step - first_step
    per_step = (time.monotonic() - t_loop) / done if done else None
    final = float(sum(losses[-50:]) / len(losses[-50:])) if losses else None
    model_dir = None
    if step >= cfg.steps and acc.is_main_process:
        model_dir = out_dir / "model"
        info.update(steps=step, final_loss=final,
                    finished_at=datetime.now(UTC).isoformat(timespec="seconds"))
        save_model(ema.model, scheduler, model_dir, info)
    acc.wait_for_everyone()
    return TrainReport(step, cfg.steps, final, time.monotonic() - started, per_step, last_ckpt,
                       model_dir, count_parameters(net))


def export_checkpoint(cfg: TrainConfig, data_dir: Path, out_dir: Path,
                      dest: Path | None = None, *, half: bool = False) -> Path:
    """The EMA weights of a run's newest checkpoint as a model folder (default OUT/model-
    step-N): a usable model from a run that has not reached its last step yet. Its card
    and training.json say how far training got."""
    checkpoints = list_checkpoints(out_dir)
    if not checkpoints:
        raise IdfsrError(f"{out_dir} has no checkpoint yet")
    data = PreparedFaces(data_dir)
    net = build_network(cfg, data.recognizer)
    ema = Ema(build_network(cfg, data.recognizer), cfg.ema_decay)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.learning_rate)
    state = load_checkpoint(checkpoints[-1], net, ema, opt)
    step = int(state["step"])
    losses = state["losses"]
    info = {"config_name": cfg.name, "config": cfg.model_dump(mode="json"),
            "data": {**data.describe(), "folder": str(data_dir)},
            "batch_size": cfg.batch_size, "steps": step, "planned_steps": cfg.steps,
            "partial": step < cfg.steps,
            **{k: v for k, v in state.get("info", {}).items()
               if k in ("num_processes", "mixed_precision")},
            "final_loss": float(sum(losses[-50:]) / len(losses[-50:])) if losses else None,
            "exported_from": str(checkpoints[-1]),
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds")}
    dest = dest or out_dir / f"model-step-{step}"
    net = ema.model.half() if half else ema.model  # loading computes in float32 again
    info["stored_dtype"] = "float16" if half else "float32"
    save_model(net, training_scheduler(cfg.diffusion), dest, info)
    return dest


def describe(report: TrainReport) -> dict[str, Any]:
    """The report as a JSON-able dict."""
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in report.__dict__.items()}


def train_for(cfg: TrainConfig, data_dir: Path, out_dir: Path, seconds: float, *,
              reserve: float = 30.0, accelerator: Accelerator | None = None,
              progress: ProgressCallback = no_progress,
              cancel: CancelToken | None = None) -> TrainReport:
    """Train from the start for about `seconds` of wall time (a rented GPU, a night).

    The warm-up steps run first and are timed; then the total number of steps is set
    so that the cosine schedule ends with `reserve` seconds to spare for the last
    checkpoint and the model. Should a step slow down later, a timer stops the run at
    the deadline with a checkpoint, from which `export_checkpoint` still makes a model.
    """
    started = time.monotonic()
    deadline = started + seconds
    token = cancel or CancelToken()
    timer = threading.Timer(max(0.0, seconds - reserve / 2), token.cancel)
    timer.daemon = True
    timer.start()
    marks: list[tuple[float, int]] = []

    def timed(p: Progress) -> None:
        marks.append((time.monotonic(), p.done))
        progress(p)

    acc = accelerator or make_accelerator(cfg)
    warm = max(cfg.warmup_steps, 2 * cfg.log_every)
    try:
        train(cfg, data_dir, out_dir, resume=False, stop_at=warm, accelerator=acc,
              progress=timed, cancel=token)
        # Seconds per step from the logged steps after the first (loader start-up and
        # the first kernels' tuning are not what the rest of the run costs).
        (t0, s0), (t1, s1) = marks[1], marks[-1]
        per_step = (t1 - t0) / max(1, s1 - s0)
        left = deadline - time.monotonic() - reserve
        total = warm + max(0, int(left / per_step))
        cfg = cfg.model_validate({**cfg.model_dump(), "steps": total})
        return train(cfg, data_dir, out_dir, resume=True, accelerator=acc,
                     progress=timed, cancel=token)
    except JobCancelled:
        if cancel is not None and cancel.cancelled and time.monotonic() < deadline - reserve:
            raise  # the caller's cancel, not the clock
        checkpoints = list_checkpoints(out_dir)
        step = int(checkpoints[-1].name.rsplit("-", 1)[-1]) if checkpoints else 0
        return TrainReport(step, cfg.steps, None, time.monotonic() - started, None,
                           checkpoints[-1] if checkpoints else None, None, 0)
    finally:
        timer.cancel()
