"""Stage 2: fit one identity embedding to a person's faces with the network frozen.

The network's weights never change (no gradient reaches them); only one vector,
initialised from the person's mean recognizer embedding, is optimised with Adam on
the person's best aligned faces under the training degradations. The vector is kept
on the unit sphere, where the network saw identities in training. Progress and
cancel follow core.jobs; the optimiser state is saved every few steps (and on
cancel) so that a fit resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from diffusers.schedulers.scheduling_ddpm import DDPMScheduler
from numpy.typing import NDArray
from safetensors import safe_open
from safetensors.torch import save_file

from core.errors import JobCancelled
from core.idfsr.checkpoint import LoadedModel
from core.idfsr.config import ConditioningConfig, LossConfig
from core.idfsr.degrade import DegradationConfig
from core.idfsr.device import fast_bfloat16
from core.idfsr.diffusion import loss_weights, training_target, weighted_mse
from core.idfsr.examples import augment_reference, make_example, unit
from core.idfsr.losses import RestoreLoss
from core.jobs import CancelToken, Progress, ProgressCallback, no_progress


@dataclass(frozen=True)
class FitConfig:
    """How long and how hard to fit."""

    steps: int = 300
    batch_size: int = 4
    learning_rate: float = 3e-3
    anchor: float = 0.0  # pull toward the initial embedding (0: free)
    snr_gamma: float | None = None  # as in training: the high-noise end counts
    seed: int = 0
    save_every: int = 25
    degradation: DegradationConfig | None = None  # None: the one the model was trained on
    conditioning: ConditioningConfig = field(
        default_factory=lambda: ConditioningConfig(id_noise=0.0, p_drop_id=0.0, p_drop_ref=0.0))


def trained_degradation(model: LoadedModel) -> DegradationConfig:
    """The degradations the model was trained on (its training.json), else the defaults."""
    recorded = model.training.get("config", {}).get("degradation")
    return DegradationConfig.model_validate(recorded) if recorded else DegradationConfig()


def restorer_loss(model: LoadedModel) -> RestoreLoss:
    """The loss a restorer was trained with, with its recognizer, on the model's device."""
    cfg = LossConfig.model_validate(model.training.get("config", {}).get("loss", {}))
    critic = None
    if cfg.identity > 0 or cfg.features > 0:
        from core.faces.recognizers import open_recognizer  # heavy: torch

        critic = open_recognizer(model.net.config.id_model_id, model.net.device)
    return RestoreLoss(cfg, model.size, critic).to(model.net.device)


@dataclass(frozen=True)
class FitResult:
    """A fitted embedding and how it came about."""

    embedding: NDArray[np.float32]
    losses: list[float]
    steps: int
    seconds: float
    faces_used: int


def _fingerprint(model: LoadedModel, faces: NDArray[np.uint8], init: NDArray[np.float32],
                 cfg: FitConfig) -> str:
    h = hashlib.sha256(model.sha256.encode())
    h.update(np.ascontiguousarray(faces).tobytes())
    h.update(np.ascontiguousarray(init, np.float32).tobytes())
    h.update(repr((cfg.steps, cfg.batch_size, cfg.learning_rate, cfg.seed)).encode())
    return h.hexdigest()


def _save_state(path: Path, emb: torch.Tensor, opt: torch.optim.Adam, step: int,
                losses: list[float], fingerprint: str) -> None:
    state = opt.state[emb]
    tensors = {"embedding": emb.detach().cpu().clone(),
               "exp_avg": state["exp_avg"].detach().cpu().clone(),
               "exp_avg_sq": state["exp_avg_sq"].detach().cpu().clone(),
               "adam_step": torch.as_tensor(state["step"]).detach().cpu().reshape(()).clone(),
               "losses": torch.tensor(losses, dtype=torch.float64)}
    tmp = path.with_suffix(".tmp")
    save_file(tensors, tmp, metadata={"step": str(step), "fingerprint": fingerprint})
    tmp.replace(path)


def _load_state(path: Path, emb: torch.Tensor, opt: torch.optim.Adam,
                fingerprint: str) -> tuple[int, list[float]] | None:
    if not path.is_file():
        return None
    with safe_open(str(path), framework="pt") as fh:
        meta = fh.metadata() or {}
        if meta.get("fingerprint") != fingerprint:
            return None  # another person, other faces or settings: start over
        t = {k: fh.get_tensor(k) for k in fh.keys()}  # noqa: SIM118 (safe_open has no __iter__)
    with torch.no_grad():
        emb.copy_(t["embedding"].to(emb.device))
    opt.state[emb] = {"step": t["adam_step"].to(torch.float32),
                      "exp_avg": t["exp_avg"].to(emb.device),
                      "exp_avg_sq": t["exp_avg_sq"].to(emb.device)}
    return int(meta["step"]), [float(x) for x in t["losses"].tolist()]


def fit_identity(
    model: LoadedModel,
    faces: NDArray[np.uint8],
    landmarks: NDArray[np.float64],
    init_embedding: NDArray[np.float32],
    *,
    config: FitConfig = FitConfig(),
    state_file: Path | None = None,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> FitResult:
    """Optimise one identity embedding on (N, S, S, 3) aligned faces with (N, 5, 2) landmarks."""
    started = time.monotonic()
    net = model.net
    net.eval().requires_grad_(False)
    device = net.device
    n, size = len(faces), model.size
    if n == 0 or faces.shape[1:] != (size, size, 3) or landmarks.shape != (n, 5, 2):
        raise ValueError(f"need (N, {size}, {size}, 3) faces with (N, 5, 2) landmarks")
    init = unit(init_embedding)
    emb = torch.nn.Parameter(torch.from_numpy(init.copy()).to(device))
    anchor = torch.from_numpy(init.copy()).to(device)
    opt = torch.optim.Adam([emb], lr=config.learning_rate)
    restore_loss = restorer_loss(model) if model.is_restorer else None
    half = fast_bfloat16(device)  # as in training; twice as fast on CPUs that have it
    sched = None if restore_loss is not None else DDPMScheduler.from_config(
        model.scheduler_config)
    alphas = sched.alphas_cumprod.to(device) if sched is not None else None
    pred_type = getattr(net.config, "prediction_type", "")
    degradation = config.degradation or trained_degradation(model)
    fingerprint = _fingerprint(model, faces, init, config)
    step, losses = 0, list[float]()
    if state_file is not None:
        resumed = _load_state(state_file, emb, opt, fingerprint)
        if resumed is not None:
            step, losses = resumed
    progress(Progress("fit", step, config.steps, "fitting identity"))
    while step < config.steps:
        if cancel is not None and cancel.cancelled:
            if state_file is not None and opt.state.get(emb):
                _save_state(state_file, emb, opt, step, losses, fingerprint)
            raise JobCancelled(f"fitting stopped at step {step}; run again to resume")
        rng = np.random.default_rng([config.seed, step])
        batch = []
        for i in rng.integers(0, n, config.batch_size):
            i = int(i)
            if n > 1:  # the reference is another of the person's photos, as at inference
                j = int((i + 1 + rng.integers(0, n - 1)) % n)
                ref, ref_lms = augment_reference(faces[j], landmarks[j], rng, strong=False)
            else:
                ref, ref_lms = augment_reference(faces[i], landmarks[i], rng, strong=True)
            batch.append(make_example(faces[i], landmarks[i], ref, ref_lms, init, rng,
                                      conditioning=config.conditioning,
                                      degradation=degradation, dropout=False))
        x0 = torch.from_numpy(np.stack([b["target"] for b in batch])).to(device)
        cond = torch.from_numpy(np.stack([b["condition"] for b in batch])).to(device)
        weight = torch.from_numpy(np.stack([b["weight"] for b in batch])).to(device)
        ids = (emb / emb.norm().clamp(min=1e-8)).expand(len(batch), -1)
        if restore_loss is not None:
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=half):
                pred = net(cond, ids)
            loss = restore_loss(pred.float(), x0, weight)[0].mean()
        else:
            assert sched is not None and alphas is not None  # a diffusion network
            gen = torch.Generator().manual_seed(config.seed * 1_000_003 + step)
            noise = torch.randn(x0.shape, generator=gen).to(device)
            t = torch.randint(0, sched.config.num_train_timesteps, (len(batch),),
                              generator=gen).to(device)
            noisy = sched.add_noise(x0, noise, t)
            pred = net(noisy, t, cond, ids)
            target = training_target(pred_type, x0, noise, alphas, t)
            per = weighted_mse(pred, target, weight)
            loss = (per * loss_weights(pred_type, alphas, t, config.snr_gamma)).mean()
        if config.anchor > 0:
            loss = loss + config.anchor * ((emb - anchor) ** 2).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        losses.append(float(loss.item()))
        progress(Progress("fit", step, config.steps, f"loss {losses[-1]:.4f}"))
        if state_file is not None and step % config.save_every == 0 and step < config.steps:
            _save_state(state_file, emb, opt, step, losses, fingerprint)
    if state_file is not None:
        state_file.unlink(missing_ok=True)
    final = unit(emb.detach().cpu().numpy())
    return FitResult(final, losses, step, time.monotonic() - started, n)


def fit_summary(result: FitResult) -> str:
    """One JSON line describing a fit, for logs."""
    return json.dumps({"steps": result.steps, "faces": result.faces_used,
                       "seconds": round(result.seconds, 1),
                       "final_loss": result.losses[-1] if result.losses else None})
