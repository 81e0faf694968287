"""Old-photo degradations of an aligned face, for training and for fitting.

A degradation is drawn once (`sample_degradation`, from a config and a generator)
into plain parameters, then applied (`degrade`) deterministically: the same
parameters, seed included, always give the same bytes. The chain follows how an old
photo of a small face came to be:

    optics (Gaussian / motion / defocus blur) -> antialiased downscale x4..x32 ->
    print noise -> tone (grey, sepia, fading) -> scan at a few pixels per print pixel ->
    grain, dust, scratches -> JPEG -> bicubic upsampling back to the crop size.

Blur sizes are in LR pixels (a blur smaller than one LR pixel is invisible after the
downscale, so that is the scale that matters).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict

from core.idfsr import film

Range = tuple[float, float]


class DegradationConfig(BaseModel):
    """Probabilities and ranges the random degradations are drawn from."""

    model_config = ConfigDict(extra="forbid")

    scale: Range = (4.0, 32.0)  # drawn log-uniformly
    p_blur: float = 0.7
    blur_weights: tuple[float, float, float] = (0.6, 0.2, 0.2)  # gaussian, motion, defocus
    gaussian_sigma: Range = (0.2, 1.2)
    motion_length: Range = (0.5, 2.5)
    defocus_radius: Range = (0.3, 1.5)
    p_noise: float = 0.6
    noise_sigma: Range = (0.005, 0.04)
    p_mono_noise: float = 0.5  # film noise is mostly luminance; sensor noise is colour
    p_gray: float = 0.3
    p_sepia: float = 0.15
    p_fade: float = 0.35
    fade: Range = (0.05, 0.5)
    scan_factor: Range = (1.0, 4.0)
    p_grain: float = 0.4
    grain: Range = (0.02, 0.1)
    p_dust: float = 0.2
    dust_count: tuple[int, int] = (1, 12)
    p_scratches: float = 0.15
    scratch_count: tuple[int, int] = (1, 4)
    p_jpeg: float = 0.6
    jpeg_quality: tuple[int, int] = (30, 95)


@dataclass(frozen=True)
class DegradationParams:
    """One concrete degradation; `seed` drives the random content (noise, grain, dust)."""

    scale: float
    seed: int
    blur: str = "none"  # none | gaussian | motion | defocus
    blur_size: float = 0.0
    blur_angle: float = 0.0
    noise: float = 0.0
    mono_noise: bool = False
    tone: str = "color"  # color | gray | sepia
    fade: float = 0.0
    scan_factor: float = 1.0
    grain: float = 0.0
    dust: int = 0
    scratches: int = 0
    jpeg: int = 0  # 0: no JPEG

    def to_dict(self) -> dict[str, Any]:
        """The parameters as a JSON-able dict."""
        return asdict(self)


@dataclass(frozen=True)
class Degraded:
    """A degraded face: `lr_up` is S x S (what the network sees), `lr_size` its true resolution."""

    lr_up: NDArray[np.uint8]
    lr_size: int
    params: DegradationParams


def sample_degradation(rng: np.random.Generator, cfg: DegradationConfig) -> DegradationParams:
    """Draw one degradation from the config."""
    lo, hi = np.log(cfg.scale[0]), np.log(cfg.scale[1])
    kw: dict[str, Any] = {"scale": float(np.exp(rng.uniform(lo, hi))),
                          "seed": int(rng.integers(0, 2**31 - 1))}
    if rng.random() < cfg.p_blur:
        kind = str(rng.choice(["gaussian", "motion", "defocus"], p=_norm(cfg.blur_weights)))
        rng_range = {"gaussian": cfg.gaussian_sigma, "motion": cfg.motion_length,
                     "defocus": cfg.defocus_radius}[kind]
        kw.update(blur=kind, blur_size=float(rng.uniform(*rng_range)),
                  blur_angle=float(rng.uniform(0.0, 180.0)))
    if rng.random() < cfg.p_noise:
        kw["noise"] = float(rng.uniform(*cfg.noise_sigma))
        kw["mono_noise"] = bool(rng.random() < cfg.p_mono_noise)
    u = rng.random()
    kw["tone"] = "gray" if u < cfg.p_gray else "sepia" if u < cfg.p_gray + cfg.p_sepia else "color"
    if rng.random() < cfg.p_fade:
        kw["fade"] = float(rng.uniform(*cfg.fade))
    kw["scan_factor"] = float(rng.uniform(*cfg.scan_factor))
    if rng.random() < cfg.p_grain:
        kw["grain"] = float(rng.uniform(*cfg.grain))
    if rng.random() < cfg.p_dust:
        kw["dust"] = int(rng.integers(cfg.dust_count[0], cfg.dust_count[1] + 1))
    if rng.random() < cfg.p_scratches:
        kw["scratches"] = int(rng.integers(cfg.scratch_count[0], cfg.scratch_count[1] + 1))
    if rng.random() < cfg.p_jpeg:
        kw["jpeg"] = int(rng.integers(cfg.jpeg_quality[0], cfg.jpeg_quality[1] + 1))
    return DegradationParams(**kw)


def _norm(weights: tuple[float, ...]) -> NDArray[np.float64]:
    w = np.asarray(weights, dtype=np.float64)
    return w / w.sum()


def blur_kernel(kind: str, size: float, angle: float) -> NDArray[np.float32] | None:
    """The point-spread function of one blur, in the pixels it is applied at (None: no blur)."""
    if kind == "none" or size <= 0:
        return None
    if kind == "gaussian":
        radius = max(1, int(np.ceil(3 * size)))
        ax = np.arange(-radius, radius + 1, dtype=np.float32)
        g = np.exp(-(ax**2) / (2 * size * size))
        kernel = np.outer(g, g)
    elif kind == "motion":
        radius = max(1, int(np.ceil(size / 2)))
        n = 2 * radius + 1
        # A line rasterised at high resolution then area-reduced: a smooth, subpixel streak.
        up = 8
        big = np.zeros((n * up, n * up), np.float32)
        c = (n * up - 1) / 2
        dx, dy = np.cos(np.radians(angle)), np.sin(np.radians(angle))
        half = size * up / 2
        p0 = (int(round(c - dx * half)), int(round(c - dy * half)))
        p1 = (int(round(c + dx * half)), int(round(c + dy * half)))
        cv2.line(big, p0, p1, 1.0, max(1, up // 2))
        kernel = cv2.resize(big, (n, n), interpolation=cv2.INTER_AREA)
    elif kind == "defocus":
        radius = max(1, int(np.ceil(size)) + 1)
        ax = np.arange(-radius, radius + 1, dtype=np.float32)
        xx, yy = np.meshgrid(ax, ax)
        # A disc with a one-pixel antialiased rim (the out-of-focus aperture).
        kernel = np.clip(size + 0.5 - np.hypot(xx, yy), 0.0, 1.0)
    else:
        raise ValueError(f"unknown blur {kind!r}")
    total = float(kernel.sum())
    return (kernel / total).astype(np.float32) if total > 0 else None


def downscale(image: NDArray[np.float32], size: int) -> NDArray[np.float32]:
    """Antialiased downscale to size x size: a mild optical pre-blur, then area averaging."""
    factor = image.shape[0] / size
    if factor > 1.5:
        sigma = 0.25 * factor  # a real lens/film never delivers a perfect box filter
        image = np.asarray(cv2.GaussianBlur(image, (0, 0), sigmaX=sigma, sigmaY=sigma),
                           np.float32)
    return np.asarray(cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA), np.float32)


def upscale(image: NDArray[Any], size: int) -> NDArray[Any]:
    """Bicubic upscale to size x size (how the restore pipeline enlarges tiny faces)."""
    return cv2.resize(image, (size, size), interpolation=cv2.INTER_CUBIC)


def lr_size_for(size: int, scale: float) -> int:
    """The side of the LR face for a crop of side `size` degraded by `scale`."""
    return max(2, int(round(size / scale)))


def degrade(image: NDArray[np.uint8], params: DegradationParams) -> Degraded:
    """Apply one degradation to an S x S x 3 uint8 face; deterministic for given params."""
    rng = np.random.default_rng(params.seed)
    size = image.shape[0]
    x = image.astype(np.float32) / 255.0
    lr_size = lr_size_for(size, params.scale)
    # Blur at four LR pixels per pixel, not at full size: same result, small kernels.
    work = min(size, 4 * lr_size)
    kernel = blur_kernel(params.blur, params.blur_size * work / lr_size, params.blur_angle)
    if kernel is not None:
        if work < size:
            x = downscale(x, work)
        x = np.asarray(cv2.filter2D(x, -1, kernel, borderType=cv2.BORDER_REFLECT101),
                       np.float32)
    x = downscale(x, lr_size)
    if params.noise > 0:
        shape = x.shape[:2] + ((1,) if params.mono_noise else (3,))
        x = x + rng.standard_normal(shape).astype(np.float32) * params.noise
    x = np.clip(x, 0.0, 1.0)
    if params.tone == "gray":
        x = film.grayscale(x)
    elif params.tone == "sepia":
        x = film.sepia(x, 1.0)
    if params.fade > 0:
        x = film.fade(x, params.fade)
    scan = min(size, max(lr_size, int(round(lr_size * params.scan_factor))))
    if scan != lr_size:
        x = np.clip(upscale(x, scan), 0.0, 1.0)
    if params.grain > 0:
        x = film.film_grain(x, params.grain, rng)
    if params.dust > 0:
        x = film.dust(x, params.dust, rng)
    if params.scratches > 0:
        x = film.scratches(x, params.scratches, rng)
    out = np.clip(np.rint(x * 255.0), 0, 255).astype(np.uint8)
    if params.jpeg > 0:
        ok, buf = cv2.imencode(".jpg", out[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, params.jpeg])
        if ok:
            out = np.asarray(cv2.imdecode(buf, cv2.IMREAD_COLOR), np.uint8)[..., ::-1]
    up = upscale(out, size) if scan != size else out
    return Degraded(lr_up=np.ascontiguousarray(up), lr_size=lr_size, params=params)


def random_degrade(
    image: NDArray[np.uint8], rng: np.random.Generator, cfg: DegradationConfig
) -> Degraded:
    """Draw a degradation from `cfg` and apply it."""
    return degrade(image, sample_degradation(rng, cfg))
