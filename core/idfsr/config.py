"""Typed, JSON-backed configuration of the network, the diffusion and stage-1 training."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from core.errors import IdfsrError
from core.idfsr.degrade import DegradationConfig

CONFIG_DIR = Path(__file__).resolve().parent / "configs"


class _Strict(BaseModel):
    # A typo in a config file must fail loudly, not be ignored.
    model_config = ConfigDict(extra="forbid")


class NetworkConfig(_Strict):
    """Size of the conditional UNet and of the identity / reference token encoders."""

    block_out_channels: list[int] = [32, 64, 128, 128]
    attention_levels: list[bool] = [False, False, True, True]
    layers_per_block: int = 1
    norm_num_groups: int = 16
    cross_attention_dim: int = 128
    attention_head_dim: int = 32
    id_tokens: int = 4
    ref_grid: int = 0  # >0: a reference encoder adds ref_grid**2 tokens

    @model_validator(mode="after")
    def _check(self) -> NetworkConfig:
        if len(self.attention_levels) != len(self.block_out_channels):
            raise ValueError("attention_levels needs one entry per block")
        if any(c % self.norm_num_groups for c in self.block_out_channels):
            raise ValueError("every block width must be a multiple of norm_num_groups")
        return self


class RestorerConfig(_Strict):
    """Size of the one-pass restorer (core.idfsr.restorer_net): the `restore` objective's."""

    block_out_channels: list[int] = [48, 96, 160, 192]
    layers_per_block: list[int] = [1, 1, 2, 2]
    attention_levels: list[bool] = [False, False, True, True]
    self_attention_levels: list[bool] = [False, False, False, True]
    head_channels: int = 32
    norm_num_groups: int = 16
    token_dim: int = 256
    head_dim: int = 32  # channels per attention head
    id_tokens: int = 4

    @model_validator(mode="after")
    def _check(self) -> RestorerConfig:
        n = len(self.block_out_channels)
        if not (len(self.layers_per_block) == len(self.attention_levels)
                == len(self.self_attention_levels) == n):
            raise ValueError("layers_per_block and the attention levels need one entry per block")
        if any(c % self.norm_num_groups for c in self.block_out_channels):
            raise ValueError("every block width must be a multiple of norm_num_groups")
        return self


class LossConfig(_Strict):
    """What the `restore` objective compares: pixels, identity, recognizer features."""

    pixel: float = 1.0  # Charbonnier distance to the ground truth
    identity: float = 0.0  # 1 - cosine of the identity recognizer's embeddings
    features: float = 0.0  # L1 between the recognizer's intermediate feature maps
    # Pixel loss at this share of the ground truth's resolution too (0: off): the low
    # frequencies carry exposure and shape, the ones a user sees first.
    low_pixel: float = 0.5


class DiffusionConfig(_Strict):
    """The forward process the network is trained on (inference schedulers derive from it)."""

    num_train_timesteps: int = 1000
    # Pixel-space faces at 64-256 px: the cosine schedule keeps coarse structure noisy
    # long enough; v-prediction stays well behaved at both ends of it.
    beta_schedule: Literal["squaredcos_cap_v2", "linear", "scaled_linear"] = "squaredcos_cap_v2"
    prediction_type: Literal["v_prediction", "epsilon"] = "v_prediction"
    # min-SNR loss weighting; None: plain MSE. Off by default: with v-prediction it weights
    # the loss by snr/(snr+1) below gamma, which starves the high-noise end, exactly where
    # a restoration network must learn to read its conditions (TRAINING.md, step 1500).
    snr_gamma: float | None = None


class ConditioningConfig(_Strict):
    """How training builds each example's conditions, and how often they are dropped."""

    p_drop_id: float = 0.1  # the null identity: what classifier-free guidance needs
    p_drop_ref: float = 0.1
    p_other_photo_id: float = 0.5  # labelled faces: ID from the person's *other* photos
    id_noise: float = 0.01
    p_partial_mask: float = 0.2  # sometimes let part of the LR face through (fidelity knob)
    mask_grow: tuple[float, float] = (0.9, 1.2)
    landmark_jitter: float = 0.015  # of the side: tiny faces have noisy landmarks
    nonrigid_ref: float = 1.0
    # Show the whole LR face (no mask), so the network also learns to restore from the
    # photo alone: what the generic path (nobody known) and a low strength ask of it.
    p_open_mask: float = 0.0
    # Faces without another photo of their person: how often a distorted copy of the face
    # itself stands in for the reference (else none). Too often and the network learns to
    # copy whatever the reference shows.
    p_self_reference: float = 1.0


class TrainConfig(_Strict):
    """Everything `idfsr train` needs besides the data and the output folder."""

    name: str = "custom"
    size: int = 64
    # "diffusion": the conditional denoiser (network); "restore": the one-pass restorer
    # (restorer), trained on pixels, identity and recognizer features (loss).
    objective: Literal["diffusion", "restore"] = "diffusion"
    network: NetworkConfig = Field(default_factory=NetworkConfig)
    restorer: RestorerConfig = Field(default_factory=RestorerConfig)
    loss: LossConfig = Field(default_factory=LossConfig)
    diffusion: DiffusionConfig = Field(default_factory=DiffusionConfig)
    conditioning: ConditioningConfig = Field(default_factory=ConditioningConfig)
    degradation: DegradationConfig = Field(default_factory=DegradationConfig)
    seed: int = 0
    steps: int = 100_000
    batch_size: int = 8  # per device
    learning_rate: float = 2e-4
    warmup_steps: int = 1000
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0
    ema_decay: float = 0.999
    mixed_precision: Literal["auto", "no", "bf16", "fp16"] = "auto"
    num_workers: int = 4
    log_every: int = 10
    save_every: int = 1000
    validate_every: int = 2000
    validation_faces: int = 8
    validation_steps: int = 20
    val_permille: int = 20  # share of identities held out for validation grids
    min_sharpness: float = 0.0  # train only on faces at least this sharp (see prepare)
    # Ground truths only from faces resolved at least this many photo pixels across the
    # crop (an upscaled face teaches blur); smaller ones still serve as references.
    min_face_px: float = 0.0

    @model_validator(mode="after")
    def _check(self) -> TrainConfig:
        if self.objective == "diffusion":
            levels = len(self.network.block_out_channels) - 1
        else:  # the restorer works on a half-size grid
            levels = len(self.restorer.block_out_channels)
        if self.size % (2**levels):
            raise ValueError(f"size {self.size} is not divisible by 2**{levels}")
        return self


def builtin_configs() -> list[str]:
    """Names of the configs shipped in core/idfsr/configs."""
    return sorted(p.stem for p in CONFIG_DIR.glob("*.json"))


def load_train_config(name_or_path: str | Path) -> TrainConfig:
    """A TrainConfig from a JSON file, or from a built-in config by name (e.g. "cpu-64")."""
    path = Path(name_or_path)
    if not path.suffix and not path.exists():
        path = CONFIG_DIR / f"{name_or_path}.json"
    if not path.is_file():
        raise IdfsrError(f"no training config {name_or_path!r} "
                         f"(built in: {', '.join(builtin_configs())})")
    try:
        return TrainConfig.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except ValueError as exc:
        raise IdfsrError(f"training config {path} is invalid: {exc}") from exc
