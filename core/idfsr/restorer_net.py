"""The restorer: a lean conditional UNet that rebuilds an aligned face in one pass.

It sees the same conditions as the paper's network (the LR face with its facial region
masked, the mask, the reference warped onto the LR face) and the person's identity
embedding, which enters twice: as FiLM (scale and shift after every GroupNorm, the
AdaGN of the paper) and as cross-attention tokens at the two coarsest levels. A learned
null identity stands in for a dropped one, which identity guidance needs.

Cost is what decides the shape on a CPU: the face is folded into a half-size grid
(pixel unshuffle: nothing is lost) where the UNet works, unfolded at the end, and a
thin full-resolution head sees the conditions again, so a reference's fine detail can
reach the output without the whole network running at full size. With `noisy_channels`
and a timestep the same network is a denoiser (the residual diffusion stage).
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn


def _zero(module: nn.Module) -> nn.Module:
    for p in module.parameters():
        nn.init.zeros_(p)
    return module


class ResBlock(nn.Module):
    """GroupNorm -> SiLU -> conv, twice, with FiLM from the embedding after the second norm."""

    def __init__(self, cin: int, cout: int, emb_dim: int, groups: int) -> None:
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.film = nn.Linear(emb_dim, 2 * cout)
        self.norm2 = nn.GroupNorm(groups, cout)
        self.conv2 = _zero(nn.Conv2d(cout, cout, 3, padding=1))
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        scale, shift = self.film(emb)[:, :, None, None].chunk(2, dim=1)
        h = self.norm2(h) * (1.0 + scale) + shift
        return self.skip(x) + self.conv2(F.silu(h))


class CrossAttention(nn.Module):
    """Image features attend to the identity tokens (and, with `self_attention`, to themselves)."""

    def __init__(self, channels: int, token_dim: int, head_dim: int, groups: int,
                 self_attention: bool = False) -> None:
        super().__init__()
        self.heads = max(1, channels // head_dim)
        self.norm = nn.GroupNorm(groups, channels)
        self.q = nn.Linear(channels, channels, bias=False)
        self.k = nn.Linear(token_dim, channels, bias=False)
        self.v = nn.Linear(token_dim, channels, bias=False)
        self.self_attention = self_attention
        if self_attention:
            self.k_self = nn.Linear(channels, channels, bias=False)
            self.v_self = nn.Linear(channels, channels, bias=False)
        self.out = _zero(nn.Linear(channels, channels))

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        return x.view(b, n, self.heads, c // self.heads).transpose(1, 2)

    def forward(self, x: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        seq = self.norm(x).flatten(2).transpose(1, 2)  # B, HW, C
        k, v = self.k(tokens), self.v(tokens)
        if self.self_attention:
            k = torch.cat([k, self.k_self(seq)], dim=1)
            v = torch.cat([v, self.v_self(seq)], dim=1)
        att = F.scaled_dot_product_attention(self._split(self.q(seq)), self._split(k),
                                             self._split(v))
        att = att.transpose(1, 2).reshape(b, h * w, c)
        return x + self.out(att).transpose(1, 2).view(b, c, h, w)


class Level(nn.Module):
    """The blocks of one resolution, with cross-attention after each when asked."""

    def __init__(self, cins: list[int], cout: int, emb_dim: int, groups: int,
                 token_dim: int, head_dim: int, attention: bool, self_attention: bool) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(ResBlock(c, cout, emb_dim, groups) for c in cins)
        self.attn = nn.ModuleList(
            CrossAttention(cout, token_dim, head_dim, groups, self_attention) if attention
            else nn.Identity() for _ in cins)

    def forward(self, x: torch.Tensor, emb: torch.Tensor, tokens: torch.Tensor,
                skips: list[torch.Tensor] | None = None,
                outputs: list[torch.Tensor] | None = None) -> torch.Tensor:
        """Run the blocks; each first takes a skip from the end of `skips` (the up path),
        and each output is appended to `outputs` (the down path)."""
        for block, attn in zip(self.blocks, self.attn, strict=True):
            if skips is not None:
                x = torch.cat([x, skips.pop()], dim=1)
            x = block(x, emb)
            x = attn(x, tokens) if isinstance(attn, CrossAttention) else x
            if outputs is not None:
                outputs.append(x)
        return x


def timestep_features(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal features of (B,) timesteps."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=t.device) / half)
    args = t.float()[:, None] * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=1)


class RestorerNet(ModelMixin, ConfigMixin):  # type: ignore[misc]  # diffusers' own mixins disagree
    """Conditions (+ noisy image when a denoiser) and identity -> an S x S face."""

    config: Any

    @register_to_config
    def __init__(
        self,
        sample_size: int = 128,
        condition_channels: int = 7,
        noisy_channels: int = 0,
        id_dim: int = 128,
        id_model_id: str = "",
        id_tokens: int = 4,
        block_out_channels: tuple[int, ...] = (64, 96, 160, 256),
        layers_per_block: tuple[int, ...] = (1, 2, 2, 2),
        attention_levels: tuple[bool, ...] = (False, False, True, True),
        self_attention_levels: tuple[bool, ...] = (False, False, False, True),
        head_channels: int = 32,
        norm_num_groups: int = 16,
        token_dim: int = 256,
        head_dim: int = 32,
        timestep: bool = False,
        prediction: str = "image",
    ) -> None:
        super().__init__()
        ch = list(block_out_channels)
        emb_dim = 4 * ch[0]
        self.id_mlp = nn.Sequential(nn.Linear(id_dim, emb_dim), nn.SiLU(),
                                    nn.Linear(emb_dim, emb_dim))
        self.token_mlp = nn.Sequential(nn.Linear(id_dim, token_dim), nn.SiLU(),
                                       nn.Linear(token_dim, id_tokens * token_dim))
        self.token_norm = nn.LayerNorm(token_dim)
        self.null_id = nn.Parameter(torch.zeros(id_dim))
        self.time_mlp = (nn.Sequential(nn.Linear(ch[0], emb_dim), nn.SiLU(),
                                       nn.Linear(emb_dim, emb_dim)) if timestep else None)
        cin = condition_channels + noisy_channels
        self.stem = nn.Conv2d(4 * cin, ch[0], 3, padding=1)
        groups = norm_num_groups
        self.down = nn.ModuleList()
        self.downsample = nn.ModuleList()
        skip_ch: list[int] = [ch[0]]
        prev = ch[0]
        for i, c in enumerate(ch):
            n = layers_per_block[i]
            self.down.append(Level([prev] + [c] * (n - 1), c, emb_dim, groups, token_dim,
                                   head_dim, attention_levels[i], self_attention_levels[i]))
            skip_ch += [c] * n
            prev = c
            if i < len(ch) - 1:
                self.downsample.append(nn.Conv2d(c, c, 3, stride=2, padding=1))
                skip_ch.append(c)
        self.mid = Level([prev, prev], prev, emb_dim, groups, token_dim, head_dim, True, True)
        self.up = nn.ModuleList()
        self.upsample = nn.ModuleList()
        for i in reversed(range(len(ch))):
            c = ch[i]
            n = layers_per_block[i] + 1
            cins = []
            for _ in range(n):
                cins.append(prev + skip_ch.pop())
                prev = c
            self.up.append(Level(cins, c, emb_dim, groups, token_dim, head_dim,
                                 attention_levels[i], self_attention_levels[i]))
            if i > 0:
                self.upsample.append(nn.Conv2d(c, c, 3, padding=1))
        self.out_norm = nn.GroupNorm(groups, ch[0])
        self.out_conv = nn.Conv2d(ch[0], 4 * head_channels, 3, padding=1)
        # The full-resolution head: unfolded features beside the raw conditions.
        self.head = nn.Sequential(
            nn.Conv2d(head_channels + cin, head_channels, 3, padding=1), nn.SiLU(),
            nn.Conv2d(head_channels, 3, 3, padding=1))

    def identity_input(self, id_embedding: torch.Tensor, drop: torch.Tensor | None) -> torch.Tensor:
        """The (B, id_dim) identity fed in: dropped rows replaced by the null identity."""
        ids = id_embedding.to(self.null_id.dtype)
        if drop is not None:
            ids = torch.where(drop.view(-1, 1), self.null_id.expand_as(ids), ids)
        return ids * math.sqrt(self.config.id_dim)  # unit vectors -> components ~1

    def forward(
        self,
        condition: torch.Tensor,
        id_embedding: torch.Tensor,
        drop_id: torch.Tensor | None = None,
        noisy: torch.Tensor | None = None,
        timesteps: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """(B, 3, S, S): the face (or, as a denoiser, the prediction its config names)."""
        ids = self.identity_input(id_embedding, drop_id)
        emb = self.id_mlp(ids)
        b = ids.shape[0]
        tokens = self.token_norm(self.token_mlp(ids).view(b, self.config.id_tokens, -1))
        x_in = condition if noisy is None else torch.cat([noisy, condition], dim=1)
        if self.time_mlp is not None:
            if timesteps is None:
                raise ValueError("this network is a denoiser: it needs timesteps")
            width = self.config.block_out_channels[0]
            emb = emb + self.time_mlp(timestep_features(timesteps, width))
        emb = F.silu(emb)
        x = self.stem(F.pixel_unshuffle(x_in, 2))
        skips = [x]
        for i, level in enumerate(self.down):
            assert isinstance(level, Level)
            x = level(x, emb, tokens, outputs=skips)
            if i < len(self.downsample):
                x = self.downsample[i](x)
                skips.append(x)
        x = self.mid(x, emb, tokens)
        for i, level in enumerate(self.up):
            x = level(x, emb, tokens, skips)
            if i < len(self.upsample):
                x = self.upsample[i](F.interpolate(x, scale_factor=2.0, mode="nearest"))
        x = F.pixel_shuffle(self.out_conv(F.silu(self.out_norm(x))), 2)
        return self.head(torch.cat([F.silu(x), x_in], dim=1))
