"""Sampling: few-step DDIM / DPM-Solver++ with identity guidance and LR consistency.

- Identity guidance is classifier-free guidance on the identity alone: the same image
  conditions with the person's embedding and with the null identity,
  out = uncond + scale * (cond - uncond).
- Fidelity (0..1) is how much of the LR facial region the network is shown.
- LR consistency: after each step's clean-image estimate, its low frequencies (the
  image brought down to the LR's true size) are pulled toward the input's by
  `consistency` (0..1); in luma only when the input has no colour. The final
  mismatch ranks the candidates.
- Start (0..1]: 1 begins from pure noise; lower values begin from the LR face noised to
  that share of the schedule, so the coarse structure the network would otherwise have
  to invent from the conditions alone is the input's own (fewer steps run, too).
Candidate k starts from noise seeded `seed + k`; both samplers are deterministic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import cast

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import NDArray

from core.idfsr.checkpoint import LoadedModel
from core.idfsr.conditioning import build_condition, from_unit, to_unit, warp_reference
from core.idfsr.diffusion import inference_scheduler, output_for_x0, predicted_x0
from core.idfsr.network import IdfsrNet
from core.idfsr.restorer_net import RestorerNet
from core.jobs import CancelToken, Progress, ProgressCallback, no_progress

_LUMA = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)


@dataclass(frozen=True)
class SampleOptions:
    """The user's knobs for restoring one face."""

    steps: int = 25
    sampler: str = "ddim"
    guidance: float = 2.0  # identity CFG scale; 1: no guidance
    fidelity: float = 0.0  # 0: facial region hidden from the network; 1: fully shown
    consistency: float = 0.5
    start: float = 0.5  # 1: from pure noise; lower: from the LR face noised this far
    candidates: int = 4
    seed: int = 0


@dataclass(frozen=True)
class FaceInput:
    """One aligned LR face at the model's size, its landmarks, and an optional reference."""

    lr_up: NDArray[np.uint8]  # S x S x 3: the tiny face upsampled onto the canonical crop
    lr_size: int  # the face's true resolution in the crop (pixels across), e.g. S / scale
    landmarks: NDArray[np.float64]  # (5, 2) in crop pixels
    reference: NDArray[np.uint8] | None = None  # S x S x 3 aligned crop of the person
    ref_landmarks: NDArray[np.float64] | None = None
    # More of the person's photos (crop, landmarks), best first: a one-pass restorer makes
    # one candidate per reference (the first one being `reference`).
    more_references: tuple[tuple[NDArray[np.uint8], NDArray[np.float64]], ...] = ()

    def references(self) -> list[tuple[NDArray[np.uint8], NDArray[np.float64]]]:
        """Every reference, best first (empty when there is none)."""
        first = ([(self.reference, self.ref_landmarks)]
                 if self.reference is not None and self.ref_landmarks is not None else [])
        return first + list(self.more_references)


@dataclass(frozen=True)
class Candidate:
    """One restored face: image, the seed that made it, and its LR mismatch (lower is better)."""

    image: NDArray[np.uint8]
    seed: int
    consistency_error: float


def initial_noise(seeds: list[int], size: int) -> torch.Tensor:
    """(K, 3, S, S) standard noise, one CPU generator per seed (same on every device)."""
    return torch.stack([torch.randn((3, size, size), generator=torch.Generator().manual_seed(s))
                        for s in seeds])


def is_colourless(image: torch.Tensor, threshold: float = 0.06) -> bool:
    """Whether a -1..1 RGB batch is grey or nearly monochrome (sepia included)."""
    luma = (image * _LUMA.to(image)).sum(1, keepdim=True)
    return bool(((image - luma).abs().mean() / 2).item() < threshold)


class LrConsistency:
    """The LR-consistency operator: compare and correct images at the input's true size.

    `coarse` (0..1] compares at that share of the input's size instead: below the size
    of the photo's grain and noise, so a correction brings back exposure and shape, not
    the grain the restoration removed.
    """

    def __init__(self, lr: torch.Tensor, lr_size: int, coarse: float = 1.0) -> None:
        self.lr_size = max(2, int(round(lr_size * coarse)))
        self.size = lr.shape[-1]
        self.luma_only = is_colourless(lr)
        self.target = self.down(lr)

    def down(self, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, size=(self.lr_size, self.lr_size), mode="area")

    def _delta(self, x0: torch.Tensor) -> torch.Tensor:
        delta = self.target - self.down(x0)
        if self.luma_only:
            delta = (delta * _LUMA.to(delta)).sum(1, keepdim=True).expand_as(delta)
        return delta

    def _up(self, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, size=(self.size, self.size), mode="bicubic", align_corners=False)

    def project(self, x0: torch.Tensor, strength: float, iterations: int = 4) -> torch.Tensor:
        """x0 with its low frequencies pulled toward the LR input by `strength`.

        The smooth correction c with down(c) = target - down(x0) is found by a few rounds
        of back-projection: one bicubic round leaves a third of the mismatch.
        """
        delta = self._delta(x0)
        correction = self._up(delta)
        for _ in range(iterations - 1):
            correction = correction + self._up(delta - self.down(correction))
        return x0 + strength * correction

    def error(self, x0: torch.Tensor) -> torch.Tensor:
        """Per-image mean absolute LR mismatch, in 0..1 intensity units."""
        return self._delta(x0).abs().mean(dim=(1, 2, 3)) / 2


@torch.no_grad()
def denoise(
    net: IdfsrNet,
    scheduler_config: dict,
    condition: torch.Tensor,
    ids: torch.Tensor | None,
    noise: torch.Tensor,
    *,
    steps: int = 25,
    sampler: str = "ddim",
    guidance: float = 1.0,
    consistency: LrConsistency | None = None,
    consistency_strength: float = 0.0,
    init: torch.Tensor | None = None,
    start: float = 1.0,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> torch.Tensor:
    """Run the sampler from `noise` (or `init` noised to `start`) to clean images in -1..1.

    Returns (B, 3, S, S). With `init` and start < 1 only the last start x steps (rounded
    up) run, beginning from `init` noised to the first of them.
    """
    device, dtype = net.device, net.dtype
    scheduler = inference_scheduler(scheduler_config, sampler)
    scheduler.set_timesteps(steps, device=device)
    timesteps = scheduler.timesteps
    pred_type = net.config.prediction_type
    alphas = scheduler.alphas_cumprod.to(device)
    b = condition.shape[0]
    cond = condition.to(device, dtype)
    dim = net.config.id_dim
    if ids is None:
        id_in, drop, guided = torch.zeros(b, dim, device=device), torch.ones(b, dtype=torch.bool,
                                                                           device=device), False
    elif guidance == 1.0:
        id_in, drop, guided = ids.to(device), torch.zeros(b, dtype=torch.bool, device=device), False
    else:  # one batch: conditional rows, then the same rows with the null identity
        id_in = torch.cat([ids, ids]).to(device)
        drop = torch.cat([torch.zeros(b, dtype=torch.bool), torch.ones(b, dtype=torch.bool)])
        drop, cond, guided = drop.to(device), torch.cat([cond, cond]), True
    if init is not None and start < 1.0:
        begin = len(timesteps) - max(1, min(len(timesteps), math.ceil(len(timesteps) * start)))
        timesteps = timesteps[begin:]
        if hasattr(scheduler, "set_begin_index"):  # multistep solvers count their steps
            scheduler.set_begin_index(begin)
        first = cast(torch.IntTensor, timesteps[:1].expand(noise.shape[0]))
        x = scheduler.add_noise(init.to(device, torch.float32), noise.to(device, torch.float32),
                                first)
    else:
        x = noise.to(device, torch.float32) * scheduler.init_noise_sigma
    total = len(timesteps)
    for i, t in enumerate(timesteps):
        if cancel is not None:
            cancel.raise_if_cancelled()
        model_in = scheduler.scale_model_input(x, t)
        batch_in = torch.cat([model_in, model_in]) if guided else model_in
        tt = t.expand(batch_in.shape[0]).to(device)
        out = net(batch_in.to(dtype), tt, cond, id_in, drop).float()
        if guided:
            out_c, out_u = out.chunk(2)
            out = out_u + guidance * (out_c - out_u)
        tb = t.expand(b).to(device)
        x0 = predicted_x0(pred_type, out, x, alphas, tb).clamp(-1.0, 1.0)
        if consistency is not None and consistency_strength > 0:
            x0 = consistency.project(x0, consistency_strength).clamp(-1.0, 1.0)
        out = output_for_x0(pred_type, x0, x, alphas, tb)
        x = scheduler.step(out, t, x, return_dict=False)[0]
        progress(Progress("sample", i + 1, total))
    return x.clamp(-1.0, 1.0)


RESTORER_COARSE = 0.5  # a one-pass restoration is checked at half the input's size


@torch.no_grad()
def restore_in_one_pass(
    net: RestorerNet,
    condition: torch.Tensor,
    ids: torch.Tensor | None,
    guidance: float = 1.0,
) -> torch.Tensor:
    """The restorer's faces for (K, C, S, S) conditions, with identity guidance.

    Guidance extrapolates from the null identity's restoration toward the person's:
    out = null + scale * (person - null); `ids` None restores with the null identity.
    """
    device, dtype = net.device, net.dtype
    k = condition.shape[0]
    cond = condition.to(device, dtype)
    dim = net.config.id_dim
    if ids is None:
        return net(cond, torch.zeros(k, dim, device=device, dtype=dtype),
                   torch.ones(k, dtype=torch.bool, device=device)).float().clamp(-1.0, 1.0)
    ids = ids.to(device, dtype)
    if guidance == 1.0:
        return net(cond, ids).float().clamp(-1.0, 1.0)
    drop = torch.cat([torch.zeros(k, dtype=torch.bool), torch.ones(k, dtype=torch.bool)])
    out = net(torch.cat([cond, cond]), torch.cat([ids, ids]), drop.to(device)).float()
    person, null = out.chunk(2)
    return (null + guidance * (person - null)).clamp(-1.0, 1.0)


def remove_pixel_grid(x: torch.Tensor, sigma: float = 2.5) -> torch.Tensor:
    """Take out the 2-pixel stripes and checkerboard a sub-pixel output layer leaves.

    Each pattern, (-1)^x, (-1)^y and (-1)^(x+y), is demodulated (the image times the
    pattern, blurred, is its smooth envelope) and subtracted, so only a narrow band at
    the Nyquist frequency goes; the face's own fine detail stays. (K, C, H, W) -> same.
    """
    h, w = x.shape[-2:]
    radius = max(1, math.ceil(3 * sigma))
    if min(h, w) <= radius:
        return x
    taps = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    g = torch.exp(-0.5 * (taps / sigma) ** 2)
    g = g / g.sum()
    c = x.shape[1]
    gx, gy = g.view(1, 1, 1, -1).repeat(c, 1, 1, 1), g.view(1, 1, -1, 1).repeat(c, 1, 1, 1)

    def blur(img: torch.Tensor) -> torch.Tensor:
        # "reflect" keeps the parity of the pattern across the edge (-1 -> 1, not 0).
        img = F.conv2d(F.pad(img, (radius, radius, 0, 0), mode="reflect"), gx, groups=c)
        return F.conv2d(F.pad(img, (0, 0, radius, radius), mode="reflect"), gy, groups=c)

    sy = (1 - 2 * (torch.arange(h, device=x.device) % 2)).to(x.dtype).view(h, 1)
    sx = (1 - 2 * (torch.arange(w, device=x.device) % 2)).to(x.dtype).view(1, w)
    out = x
    for pattern in (sx.expand(h, w), sy.expand(h, w), sy * sx):
        out = out - blur(out * pattern) * pattern
    return out


def _restore_one_pass(model: LoadedModel, face: FaceInput, id_embedding: NDArray[np.float32] | None,
                      options: SampleOptions, progress: ProgressCallback,
                      cancel: CancelToken | None) -> list[Candidate]:
    """One candidate per reference (one in all without references), best consistency first."""
    size, net = model.size, model.net
    if not isinstance(net, RestorerNet):
        raise TypeError("a one-pass restoration needs a restorer")
    refs: list[tuple[NDArray[np.uint8], NDArray[np.float64]] | None] = list(
        face.references()[: max(1, options.candidates)]) or [None]
    conds = []
    for ref in refs:
        if cancel is not None:
            cancel.raise_if_cancelled()
        warped = warp_reference(ref[0], ref[1], face.landmarks, size) if ref else None
        conds.append(build_condition(face.lr_up, face.landmarks, warped,
                                     opacity=1.0 - options.fidelity))
    ids = None
    if id_embedding is not None:
        v = torch.from_numpy(np.asarray(id_embedding, np.float32).reshape(1, -1))
        ids = (v / v.norm().clamp(min=1e-8)).expand(len(conds), -1)
    progress(Progress("sample", 0, 1))
    x0 = restore_in_one_pass(net, torch.from_numpy(np.stack(conds)), ids, options.guidance)
    x0 = remove_pixel_grid(x0).clamp(-1.0, 1.0)
    lr = torch.from_numpy(to_unit(face.lr_up))[None].to(x0.device)
    check = LrConsistency(lr, face.lr_size, coarse=RESTORER_COARSE)
    if options.consistency > 0:
        x0 = check.project(x0, options.consistency).clamp(-1.0, 1.0)
    if check.luma_only:
        x0 = (x0 * _LUMA.to(x0)).sum(1, keepdim=True).expand_as(x0)
    errors = check.error(x0).cpu().numpy()
    progress(Progress("sample", 1, 1))
    out = [Candidate(from_unit(x0[i].cpu().numpy()), options.seed + i, float(errors[i]))
           for i in range(len(conds))]
    return sorted(out, key=lambda c: c.consistency_error)


def restore_face(
    model: LoadedModel,
    face: FaceInput,
    id_embedding: NDArray[np.float32] | None,
    options: SampleOptions = SampleOptions(),
    *,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> list[Candidate]:
    """Restore one aligned face into K candidates, best LR consistency first.

    A diffusion model samples K seeds; a one-pass restorer makes one candidate per
    reference photo (K at most)."""
    size = model.size
    if face.lr_up.shape != (size, size, 3):
        raise ValueError(f"face is {face.lr_up.shape}, the model works at {size}x{size}x3")
    if model.is_restorer:
        return _restore_one_pass(model, face, id_embedding, options, progress, cancel)
    warped = None
    if face.reference is not None and face.ref_landmarks is not None:
        warped = warp_reference(face.reference, face.ref_landmarks, face.landmarks, size)
    cond = build_condition(face.lr_up, face.landmarks, warped, opacity=1.0 - options.fidelity)
    k = max(1, options.candidates)
    seeds = [options.seed + i for i in range(k)]
    condition = torch.from_numpy(cond)[None].expand(k, -1, -1, -1)
    ids = None
    if id_embedding is not None:
        v = torch.from_numpy(np.asarray(id_embedding, np.float32).reshape(1, -1))
        ids = (v / v.norm().clamp(min=1e-8)).expand(k, -1)
    net = model.net
    if not isinstance(net, IdfsrNet):
        raise TypeError("sampling needs a diffusion network")
    lr = torch.from_numpy(to_unit(face.lr_up))[None].to(net.device)
    check = LrConsistency(lr, face.lr_size)
    x0 = denoise(net, model.scheduler_config, condition, ids, initial_noise(seeds, size),
                 steps=options.steps, sampler=options.sampler, guidance=options.guidance,
                 consistency=check, consistency_strength=options.consistency,
                 init=lr.expand(k, -1, -1, -1), start=options.start,
                 progress=progress, cancel=cancel)
    if check.luma_only:  # a grey or sepia face comes back grey, without colour speckle
        x0 = (x0 * _LUMA.to(x0)).sum(1, keepdim=True).expand_as(x0)
    errors = check.error(x0).cpu().numpy()
    out = [Candidate(from_unit(x0[i].cpu().numpy()), seeds[i], float(errors[i])) for i in range(k)]
    return sorted(out, key=lambda c: c.consistency_error)
