"""The conditional UNet: shapes, identity paths, the null identity, reference tokens."""

from __future__ import annotations

import torch
from idfsr_support import ID_DIM, SIZE, tiny_net

from core.idfsr.conditioning import CONDITION_CHANNELS
from core.idfsr.network import count_parameters


def _inputs(b: int = 2) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(0)
    return (torch.randn(b, 3, SIZE, SIZE, generator=g), torch.tensor([3, 700])[:b],
            torch.randn(b, CONDITION_CHANNELS, SIZE, SIZE, generator=g),
            torch.randn(b, ID_DIM, generator=g))


def test_output_shape_and_input_channels() -> None:
    net = tiny_net()
    noisy, t, cond, ids = _inputs()
    assert net(noisy, t, cond, ids).shape == (2, 3, SIZE, SIZE)
    assert net.unet.config.in_channels == 3 + CONDITION_CHANNELS == 10
    assert count_parameters(net) < 400_000


def test_identity_changes_the_output_and_dropped_identity_ignores_it() -> None:
    net = tiny_net().eval()
    with torch.no_grad():  # a fresh net has near-zero identity paths: give them weight
        net.null_id.normal_()
        for p in net.id_mlp.parameters():
            p.normal_()
    noisy, t, cond, ids = _inputs()
    drop = torch.tensor([True, True])
    with torch.no_grad():
        a = net(noisy, t, cond, ids)
        b = net(noisy, t, cond, -ids)
        c = net(noisy, t, cond, ids, drop)
        d = net(noisy, t, cond, -ids, drop)
    assert not torch.allclose(a, b)
    assert torch.equal(c, d)  # the null identity replaces whatever came in


def test_identity_reaches_tokens_and_time_embedding() -> None:
    net = tiny_net(ref_grid=2)
    noisy, t, cond, ids = _inputs()
    ids_in = net.identity_input(ids, None)
    tokens = net.tokens(ids_in, cond[:, 4:7])
    assert tokens.shape == (2, 2 + 4, 32)  # 2 identity tokens + a 2x2 reference grid
    assert net.unet.class_embedding.linear_1.in_features == ID_DIM  # AdaGN via time embedding
    assert net.unet.config.resnet_time_scale_shift == "scale_shift"


def test_null_identity_gets_gradients_every_step() -> None:
    net = tiny_net()
    noisy, t, cond, ids = _inputs()
    net(noisy, t, cond, ids, torch.tensor([False, False])).square().mean().backward()
    assert net.null_id.grad is not None  # DDP needs every parameter in the graph
