"""GLAM (papers/glam/model.py): pinned parameter counts, shapes, gMLP gate initialisation, modes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from papers.glam.model import (
    VARIANTS,
    GMLPBlock,
    build_glam,
    count_parameters,
    expected_param_count,
    receptive_fields,
    spatial_gate_matrix,
)

pytestmark = pytest.mark.usefixtures("torch_single_thread")


def _segments(n: int, shape: tuple[int, int] = (26, 57), seed: int = 0) -> torch.Tensor:
    # Raw MFCC scale (GLAM uses no normalisation; c0 is large and negative).
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(n, 1, *shape, generator=generator) * 30.0


def test_pinned_counts_match_the_spec_and_the_arithmetic():
    assert expected_param_count(4) == 904_078  # spec §3.1, 1.8 s segments
    assert count_parameters(build_glam(4)) == 904_078
    assert expected_param_count(7) == 973_969  # EMO-DB: 904,078 + 3 * (23,296 + 1)
    assert count_parameters(build_glam(7)) == 973_969
    assert expected_param_count(4, (26, 63)) == 940_283  # spec: 2 s segments
    assert count_parameters(build_glam(4, (26, 63))) == 940_283


def test_the_gmlp_block_has_the_spec_parameter_count():
    fusion = build_glam(4).fusion
    assert isinstance(fusion, GMLPBlock)
    assert count_parameters(fusion) == 217_258
    assert count_parameters(fusion.sgu) == 728 + 16_512
    assert count_parameters(build_glam(4).classifier) == 93_188


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("n_classes, shape", [(4, (26, 57)), (7, (26, 57)), (7, (40, 63))])
def test_every_variant_count_equals_its_arithmetic(variant, n_classes, shape):
    model = build_glam(n_classes, shape, variant=variant)
    assert count_parameters(model) == expected_param_count(n_classes, shape, variant)


def test_variant_counts_differ_as_described():
    full = expected_param_count(7)
    assert expected_param_count(7, variant="no_shortcut") == full  # shortcuts carry no weights
    gmlp = 217_258
    assert expected_param_count(7, variant="no_fusion") == full - gmlp
    assert expected_param_count(7, variant="mhsa") == full - gmlp + 256 + 4 * 128 * 128 + 4 * 128
    c2 = 16**2 + 32**2 + 64**2
    assert expected_param_count(7, variant="single_3x3") == full - 16 * c2
    assert expected_param_count(7, variant="single_5x5") == full + 16 * c2


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_output_shapes_with_and_without_the_channel_axis(variant):
    model = build_glam(7, variant=variant, seed=0).eval()
    x = _segments(3)
    with torch.no_grad():
        with_channel = model(x)
        without_channel = model(x[:, 0])
    assert with_channel.shape == (3, 7)
    torch.testing.assert_close(with_channel, without_channel)


def test_intermediate_shapes_follow_the_layer_table():
    model = build_glam(4).eval()
    x = _segments(2)
    with torch.no_grad():
        stacked = torch.cat([model.freq_stem(x), model.time_stem(x)], dim=2)
        assert stacked.shape == (2, 16, 52, 57)  # stems stacked on the MFCC axis
        h = torch.nn.functional.max_pool2d(model.block1(stacked), 2)
        assert h.shape == (2, 32, 26, 28)
        h = torch.nn.functional.max_pool2d(model.block2(h), 2)
        assert h.shape == (2, 64, 13, 14)
        h = model.conv5(model.block3(h))
        assert h.shape == (2, 128, 13, 14)
        assert model.fusion(h.flatten(2)).shape == (2, 128, 182)


def test_a_wrong_input_shape_is_refused():
    model = build_glam(4)
    with pytest.raises(ValueError, match="26, 57"):
        model(torch.zeros(2, 1, 26, 63))
    with pytest.raises(ValueError, match="unknown GLAM variant"):
        build_glam(4, variant="glam2")


@pytest.mark.parametrize("variant", ["glam", "mhsa"])
def test_a_training_step_with_mixup_updates_every_parameter(variant):
    torch.manual_seed(0)
    model = build_glam(4, variant=variant, seed=0).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-6)
    x, y = _segments(8), torch.tensor([0, 1, 2, 3, 0, 1, 2, 3])
    lam, perm = 0.7, torch.randperm(8)
    logits = model(lam * x + (1 - lam) * x[perm])
    loss = lam * torch.nn.functional.cross_entropy(logits, y) + (1 - lam) * torch.nn.functional.cross_entropy(
        logits, y[perm]
    )
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    optimizer.zero_grad()
    loss.backward()
    assert torch.isfinite(loss)
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
    optimizer.step()
    unchanged = [name for name, p in model.named_parameters() if torch.equal(p, before[name])]
    assert unchanged == []


def test_spatial_gate_initialisation_follows_the_spec():
    model = build_glam(4, seed=3)
    sgu = model.fusion.sgu
    weight = spatial_gate_matrix(model)
    assert weight.shape == (128, 128)
    bound = 1e-3 / 128
    assert np.abs(weight).max() <= bound
    assert np.abs(weight).max() > 0.9 * bound  # uniform over the whole interval, not zero
    assert abs(weight.mean()) < 0.05 * bound
    torch.testing.assert_close(sgu.bias.detach(), torch.ones(128))
    # At initialisation the gate is ~tanh(1) everywhere: W_s @ LN(U_g) is at most 1e-3 * max|LN(U_g)|.
    u = torch.randn(2, 128, 728)
    gate = u[..., :364] * 0 + 1  # a residual half of ones exposes the gate itself
    gated = sgu(torch.cat([gate, u[..., 364:]], dim=-1))
    assert torch.allclose(gated, torch.full_like(gated, float(np.tanh(1.0))), atol=1e-3)


def test_spatial_gate_matrix_is_a_copy_and_refuses_variants_without_gmlp():
    model = build_glam(4, seed=0)
    weight = spatial_gate_matrix(model)
    weight[:] = 5.0
    assert model.fusion.sgu.weight.abs().max().item() < 1.0
    for variant in ("no_fusion", "mhsa"):
        with pytest.raises(ValueError, match="no gMLP"):
            spatial_gate_matrix(build_glam(4, variant=variant))


def test_seed_repeats_the_initialisation_without_touching_the_global_rng():
    state = torch.get_rng_state()
    a, b = build_glam(7, seed=11), build_glam(7, seed=11)
    assert torch.equal(torch.get_rng_state(), state)
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.equal(p, q)


def test_eval_mode_is_deterministic_and_batch_independent():
    model = build_glam(7, seed=0)
    model.train()
    model(_segments(16, seed=1))  # move the BatchNorm statistics away from their defaults
    model.eval()
    x = _segments(5, seed=2)
    with torch.no_grad():
        first, second = model(x), model(x)
        one_by_one = torch.cat([model(x[i : i + 1]) for i in range(5)])
    assert torch.equal(first, second)
    torch.testing.assert_close(one_by_one, first, rtol=1e-4, atol=1e-4)


def test_a_single_segment_batch_works_in_eval_mode():
    model = build_glam(7, seed=0).eval()
    with torch.no_grad():
        out = model(_segments(1)[0])  # (1, 26, 57): channel axis missing
    assert out.shape == (1, 7)
    assert torch.isfinite(out).all()


def test_receptive_fields_table():
    rows = receptive_fields()
    assert rows[0]["freq_stem_half"] == (3, 1) and rows[0]["time_stem_half"] == (1, 3)
    ms16 = {r["path"]: r for r in rows if r["layer"] == "MS(16)"}
    assert ms16["3x3"]["freq_stem_half"] == (5, 3) and ms16["5x5"]["freq_stem_half"] == (7, 5)
    ms64 = {r["path"]: r for r in rows if r["layer"] == "MS(64)"}
    assert ms64["3x3"]["jump"] == 4 and ms64["5x5"]["freq_stem_half"] == (34, 32)
    assert rows[-1]["layer"] == "Conv 5x5" and rows[-1]["freq_stem_half"] == (50, 48)
    assert [r["kernel"] for r in receptive_fields("single_3x3") if r["layer"] == "MS(32)"] == ["3x3", "3x3"]


def test_mixup_blends_inputs_and_targets_alike_and_alpha_zero_turns_it_off():
    from papers.glam.recipe import mixup

    x, y = _segments(8), torch.tensor([0, 1, 2, 3, 0, 1, 2, 3])
    mixed_x, soft_y = mixup(0.5, 4, seed=1)(x, y)
    assert soft_y.shape == (8, 4)
    torch.testing.assert_close(soft_y.sum(dim=1), torch.ones(8))
    # Every row is λ·own + (1 − λ)·partner with one λ per batch: recover λ from the targets and
    # check that the inputs were blended with the same λ and the same partners.
    lam = soft_y[torch.arange(8), y].min().item()
    partners = [int(torch.argmin((x - (mixed_x[i] - lam * x[i]) / (1 - lam)).abs().flatten(1).amax(1)))
                for i in range(8)]
    torch.testing.assert_close(mixed_x, lam * x + (1 - lam) * x[partners])
    assert not torch.equal(mixed_x, x)
    same_x, same_y = mixup(0, 4, seed=1)(x, y)
    assert same_x is x and same_y is y  # hard labels: plain cross-entropy, as α = 0 in the paper's table
