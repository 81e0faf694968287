"""The IDFSR network: a conditional diffusers UNet with identity tokens and AdaGN identity.

Input channels: noisy image (3) + condition (7, see core.idfsr.conditioning). The
identity embedding (the recognizer's L2-normalised vector) enters twice:
- a small MLP turns it into `id_tokens` cross-attention tokens;
- the UNet's projection class embedding adds it to the time embedding, which every
  ResNet block applies as scale and shift after its GroupNorm (AdaGN).
A learned null identity stands in for dropped identities during training, which is
what classifier-free guidance on identity needs at inference. An optional reference
encoder adds a grid of tokens from the warped reference.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from diffusers.models.unets.unet_2d_condition import UNet2DConditionModel
from torch import nn

from core.idfsr.conditioning import CONDITION_CHANNELS, IMAGE_CHANNELS


class ReferenceEncoder(nn.Module):
    """A few strided convolutions pooled to a grid x grid set of tokens."""

    def __init__(self, width: int, dim: int, grid: int, groups: int) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(IMAGE_CHANNELS, width, 3, padding=1)]
        for _ in range(3):
            layers += [nn.GroupNorm(groups, width), nn.SiLU(),
                       nn.Conv2d(width, width, 3, stride=2, padding=1)]
        self.body = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(grid)
        self.proj = nn.Linear(width, dim)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        feat = self.pool(self.body(image))  # B, C, g, g
        return self.proj(feat.flatten(2).transpose(1, 2))  # B, g*g, dim


class IdfsrNet(ModelMixin, ConfigMixin):  # type: ignore[misc]  # diffusers' own mixins disagree
    """Conditional denoiser for aligned S x S faces (see the module docstring)."""

    # The registered config (a FrozenDict that also allows attribute access).
    config: Any

    @register_to_config
    def __init__(
        self,
        sample_size: int = 64,
        id_dim: int = 128,
        id_model_id: str = "",
        id_tokens: int = 4,
        ref_grid: int = 0,
        block_out_channels: tuple[int, ...] = (32, 64, 128, 128),
        attention_levels: tuple[bool, ...] = (False, False, True, True),
        layers_per_block: int = 1,
        norm_num_groups: int = 16,
        cross_attention_dim: int = 128,
        attention_head_dim: int = 32,
        prediction_type: str = "v_prediction",
    ) -> None:
        super().__init__()
        channels = list(block_out_channels)
        levels = list(attention_levels)
        down = tuple("CrossAttnDownBlock2D" if a else "DownBlock2D" for a in levels)
        up = tuple("CrossAttnUpBlock2D" if a else "UpBlock2D" for a in reversed(levels))
        # diffusers' UNet2DConditionModel reads `attention_head_dim` as the number of heads.
        heads = tuple(max(1, c // attention_head_dim) for c in channels)
        self.unet = UNet2DConditionModel(
            sample_size=sample_size,
            in_channels=IMAGE_CHANNELS + CONDITION_CHANNELS,
            out_channels=IMAGE_CHANNELS,
            down_block_types=down,
            up_block_types=up,
            block_out_channels=tuple(channels),
            layers_per_block=layers_per_block,
            norm_num_groups=norm_num_groups,
            cross_attention_dim=cross_attention_dim,
            attention_head_dim=heads,
            class_embed_type="projection",
            projection_class_embeddings_input_dim=id_dim,
            resnet_time_scale_shift="scale_shift",
        )
        hidden = max(cross_attention_dim, id_dim)
        self.id_mlp = nn.Sequential(
            nn.Linear(id_dim, hidden), nn.SiLU(), nn.Linear(hidden, id_tokens * cross_attention_dim)
        )
        self.id_norm = nn.LayerNorm(cross_attention_dim)
        self.null_id = nn.Parameter(torch.zeros(id_dim))
        self.ref_encoder = (
            ReferenceEncoder(channels[0], cross_attention_dim, ref_grid, norm_num_groups)
            if ref_grid > 0 else None
        )

    def identity_input(self, id_embedding: torch.Tensor, drop: torch.Tensor | None) -> torch.Tensor:
        """The (B, id_dim) identity actually fed in: dropped rows replaced by the null identity."""
        ids = id_embedding.to(self.null_id.dtype)
        if drop is not None:
            # torch.where keeps null_id in the graph for every batch, which DDP needs.
            ids = torch.where(drop.view(-1, 1), self.null_id.expand_as(ids), ids)
        # Unit vectors have components ~1/sqrt(D): rescale to ~1 for the linear layers.
        return ids * math.sqrt(self.config.id_dim)

    def tokens(self, ids: torch.Tensor, reference: torch.Tensor | None) -> torch.Tensor:
        """Cross-attention tokens: identity tokens, then reference tokens when enabled."""
        b = ids.shape[0]
        dim = self.config.cross_attention_dim
        tok = self.id_norm(self.id_mlp(ids).view(b, self.config.id_tokens, dim))
        if self.ref_encoder is not None and reference is not None:
            tok = torch.cat([tok, self.ref_encoder(reference.to(tok.dtype))], dim=1)
        return tok

    def forward(
        self,
        noisy: torch.Tensor,
        timesteps: torch.Tensor,
        condition: torch.Tensor,
        id_embedding: torch.Tensor,
        drop_id: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Predict the diffusion target (v or epsilon, see config) for a batch."""
        ids = self.identity_input(id_embedding, drop_id)
        reference = condition[:, CONDITION_CHANNELS - IMAGE_CHANNELS :]
        tokens = self.tokens(ids, reference)
        x = torch.cat([noisy, condition.to(noisy.dtype)], dim=1)
        out = self.unet(x, timesteps, encoder_hidden_states=tokens.to(noisy.dtype),
                        class_labels=ids.to(noisy.dtype), return_dict=False)[0]
        return out


def count_parameters(module: nn.Module) -> int:
    """Number of parameters of a module."""
    return sum(p.numel() for p in module.parameters())
