"""Noise schedules and the conversions between the network's output, x0 and noise.

Training uses a DDPMScheduler built from DiffusionConfig; inference builds DDIM or
DPM-Solver++ from the same saved scheduler config, so both agree on the schedule.
"""

from __future__ import annotations

from typing import Any, Literal

import torch

# Imported from their modules: the package's top level shows mypy only dummy objects.
from diffusers.schedulers.scheduling_ddim import DDIMScheduler
from diffusers.schedulers.scheduling_ddpm import DDPMScheduler
from diffusers.schedulers.scheduling_dpmsolver_multistep import DPMSolverMultistepScheduler

from core.idfsr.config import DiffusionConfig

SamplerName = Literal["ddim", "dpm++"]
SAMPLERS: tuple[str, ...] = ("ddim", "dpm++")


def training_scheduler(cfg: DiffusionConfig) -> DDPMScheduler:
    """The forward process the network is trained on."""
    return DDPMScheduler(
        num_train_timesteps=cfg.num_train_timesteps,
        beta_schedule=cfg.beta_schedule,
        prediction_type=cfg.prediction_type,
        clip_sample=False,
    )


def inference_scheduler(
    config: dict[str, Any], sampler: str = "ddim"
) -> DDIMScheduler | DPMSolverMultistepScheduler:
    """A deterministic few-step sampler on the trained schedule."""
    # "trailing" spacing starts at the last training step, so with few steps the first
    # one really begins from pure noise (important with the cosine schedule).
    if sampler == "ddim":
        return DDIMScheduler.from_config(config, clip_sample=False, set_alpha_to_one=True,
                                         timestep_spacing="trailing")
    if sampler == "dpm++":
        return DPMSolverMultistepScheduler.from_config(
            config, algorithm_type="dpmsolver++", solver_order=2, timestep_spacing="trailing",
            final_sigmas_type="zero", lower_order_final=True,
        )
    raise ValueError(f"unknown sampler {sampler!r} (choose from {', '.join(SAMPLERS)})")


def _coefficients(
    alphas_cumprod: torch.Tensor, timesteps: torch.Tensor, like: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    ab = alphas_cumprod.to(like.device)[timesteps.to(like.device).long()].to(torch.float32)
    shape = (-1,) + (1,) * (like.ndim - 1)
    return ab.sqrt().view(shape), (1.0 - ab).sqrt().view(shape)


def training_target(
    prediction_type: str, x0: torch.Tensor, noise: torch.Tensor,
    alphas_cumprod: torch.Tensor, timesteps: torch.Tensor,
) -> torch.Tensor:
    """What the network must predict for these clean images, noise and timesteps."""
    if prediction_type == "epsilon":
        return noise
    a, s = _coefficients(alphas_cumprod, timesteps, x0)
    return a * noise - s * x0


def loss_weights(
    prediction_type: str, alphas_cumprod: torch.Tensor, timesteps: torch.Tensor,
    snr_gamma: float | None,
) -> torch.Tensor:
    """Per-sample min-SNR-gamma weights (ones when snr_gamma is None)."""
    ab = alphas_cumprod.to(timesteps.device)[timesteps.long()].to(torch.float32)
    if snr_gamma is None:
        return torch.ones_like(ab)
    snr = ab / (1.0 - ab)
    clipped = torch.clamp(snr, max=snr_gamma)
    return clipped / (snr + 1.0) if prediction_type == "v_prediction" else clipped / snr


def weighted_mse(pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Per-sample mean squared error over the pixels where `weight` (B, 1, H, W) counts."""
    err = (pred.float() - target.float()) ** 2 * weight
    return err.sum(dim=(1, 2, 3)) / (weight.sum(dim=(1, 2, 3)) * pred.shape[1]).clamp(min=1.0)


def predicted_x0(
    prediction_type: str, output: torch.Tensor, sample: torch.Tensor,
    alphas_cumprod: torch.Tensor, timesteps: torch.Tensor,
) -> torch.Tensor:
    """The clean image implied by the network's output at x_t."""
    a, s = _coefficients(alphas_cumprod, timesteps, sample)
    if prediction_type == "epsilon":
        return (sample - s * output) / a
    return a * sample - s * output


def output_for_x0(
    prediction_type: str, x0: torch.Tensor, sample: torch.Tensor,
    alphas_cumprod: torch.Tensor, timesteps: torch.Tensor,
) -> torch.Tensor:
    """The network output that would imply `x0` at x_t (inverse of predicted_x0)."""
    a, s = _coefficients(alphas_cumprod, timesteps, sample)
    s = torch.clamp(s, min=1e-6)
    if prediction_type == "epsilon":
        return (sample - a * x0) / s
    return (a * sample - x0) / s
