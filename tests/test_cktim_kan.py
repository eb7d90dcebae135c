"""Tests for CkTIM-Net's model variants (spec §9): the KAN kernel generator and the KAF activations."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from papers.cktim_net.ckconv import CKConv, KANKernelGenerator, KernelGenerator, generated_kernels, relative_positions
from papers.cktim_net.kaf import KAF, kaf_dictionary, kaf_gamma, kafsin_coefficients
from papers.cktim_net.kan import KANLinear, apply_per_position, bspline_basis, uniform_knots
from papers.cktim_net.model import build_cktim, cktim_parameter_count, count_parameters, generator_parameter_count

pytestmark = pytest.mark.usefixtures("torch_single_thread")

KNOTS = uniform_knots()  # grid 5 on (-1, 1), cubic: 12 knots -2.2 ... 2.2


@pytest.fixture(autouse=True)
def _seed():
    torch.set_num_threads(1)
    torch.manual_seed(0)


# ---------------------------------------------------------------- parameter counts


def test_kan_layer_and_generator_counts_match_spec_arithmetic():
    # One KANLinear(in, out): out*in base + 8*out*in spline + out*in scale = 10*in*out (spec §9.3).
    for (fan_in, fan_out), expected in {(1, 32): 320, (32, 32): 10_240, (32, 1521): 486_720}.items():
        assert 10 * fan_in * fan_out == expected
        assert count_parameters(KANLinear(fan_in, fan_out)) == expected
    # Generator: 320 + 10,240 + 486,720 + 2 BN x 64 = 10 H (1 + H + C) + 4 H.
    assert 320 + 10_240 + 486_720 + 128 == 10 * 32 * (1 + 32 + 1521) + 4 * 32 == 497_408
    assert generator_parameter_count(kernel_generator="kan") == 497_408
    assert count_parameters(KANKernelGenerator(39, 39)) == 497_408
    assert generator_parameter_count(kernel_generator="conv") == 53_026 == count_parameters(KernelGenerator(39, 39))


@pytest.mark.parametrize(("n_tab", "expected"), [(1, 2_985_041), (3, 6_964_931), (6, 12_934_766)])
def test_ckktim_parameter_count_matches_spec(n_tab, expected):
    tab = 2 * 497_408 + 2 * 78
    assert tab == 994_972
    assert 2 * n_tab * tab + 2 * 497_408 + n_tab + (39 * 7 + 7) == expected
    assert cktim_parameter_count(n_tab, 7, kernel_generator="kan") == expected
    assert count_parameters(build_cktim(7, n_tab=n_tab, kernel_generator="kan")) == expected


def test_ckktim_cpu_bias_count_matches_spec():
    # Spec §9.3: with the CKConv bias trainable (+39 per CKConv, 4n + 2 of them): 2,985,275 at n = 1.
    assert cktim_parameter_count(1, 7, kernel_generator="kan", ckconv_bias=True) == 2_985_275
    assert count_parameters(build_cktim(7, n_tab=1, kernel_generator="kan", ckconv_bias=True)) == 2_985_275


@pytest.mark.parametrize(
    ("generator", "official_with_dead_kaf2"), [("conv", 1_576_354), ("kan", 13_130_286)]
)
def test_kaf_parameter_counts_are_the_official_ones_minus_the_dead_kaf2(generator, official_with_dead_kaf2):
    n_tab, generators = 6, 2 + 4 * 6  # 26 CKConvs, one generator each
    plain = cktim_parameter_count(n_tab, 7, kernel_generator=generator)
    one_kaf = 188 * 20  # 3,760 coefficients per KAF
    for activation in ("kaf", "kafsin"):
        ours = cktim_parameter_count(n_tab, 7, kernel_generator=generator, generator_activation=activation)
        assert ours == plain + generators * one_kaf
        # The official count also held kaf2 (never applied, never trained): + 3,760 per generator.
        assert ours + generators * one_kaf == official_with_dead_kaf2
    built = build_cktim(7, n_tab=n_tab, kernel_generator=generator, generator_activation="kaf")
    assert count_parameters(built) == plain + generators * one_kaf
    assert count_parameters(build_cktim(7, n_tab=1, kernel_generator=generator, generator_activation="relu")) == (
        cktim_parameter_count(1, 7, kernel_generator=generator)
    )


# ----------------------------------------------------------------------- B-splines


def test_knots_are_the_extended_uniform_grid():
    expected = torch.tensor([-2.2 + 0.4 * m for m in range(12)])
    assert KNOTS.shape == (12,)
    assert torch.allclose(KNOTS, expected, atol=1e-6)


def test_bspline_basis_is_a_partition_of_unity_inside_the_grid():
    u = torch.cat([torch.linspace(-1.0, 1.0, 1001), torch.tensor([-1.0, -0.6, 0.2, 1.0])])
    basis = bspline_basis(u, KNOTS, 3)
    assert basis.shape == (u.numel(), 8)
    assert torch.all(basis >= 0)
    assert torch.allclose(basis.sum(-1), torch.ones_like(u), atol=1e-6)


def test_bspline_basis_fades_over_the_extension_knots_and_vanishes_outside():
    # Spec §9.2: the sum is 0.68 at +-1.5 and 0 outside [-2.2, 2.2).
    sums = bspline_basis(torch.tensor([-1.5, 1.5]), KNOTS, 3).sum(-1)
    assert torch.allclose(sums, torch.full((2,), 0.6823), atol=1e-3)
    outside = torch.tensor([-5.0, -2.3, -2.2, 2.2, 2.5, 10.0])
    assert torch.all(bspline_basis(outside, KNOTS, 3) == 0)


def test_each_bspline_is_supported_on_its_four_knot_intervals():
    u = torch.linspace(-2.5, 2.5, 5001, dtype=torch.float64)
    knots = KNOTS.to(torch.float64)
    basis = bspline_basis(u, knots, 3)
    for c in range(8):
        low, high = knots[c], knots[c + 4]
        inside = (u > low + 1e-9) & (u < high - 1e-9)
        outside = (u < low) | (u >= high)
        assert torch.all(basis[inside, c] > 0), c
        assert torch.all(basis[outside, c] == 0), c


def test_cubic_bsplines_take_the_textbook_values_at_the_knots():
    # A uniform cubic B-spline is 1/6, 2/3, 1/6 at its three interior knots.
    values = bspline_basis(torch.tensor([0.2], dtype=torch.float64), KNOTS.to(torch.float64), 3)[0]
    # u = 0.2 = t_6: B_3, B_4, B_5 are non-zero (B_c is supported on [t_c, t_{c+4})).
    assert torch.allclose(values[3:6], torch.tensor([1 / 6, 2 / 3, 1 / 6], dtype=torch.float64), atol=1e-9)
    assert values[:3].abs().max() < 1e-12 and values[6:].abs().max() < 1e-12  # float32 knots: ~1e-25


# ---------------------------------------------------------------------- KAN layer


def test_kan_linear_forward_matches_the_formula():
    layer = KANLinear(3, 2)
    with torch.no_grad():
        layer.spline_weight.normal_()  # make the spline branch visible
    u = torch.randn(5, 3)
    basis = bspline_basis(u, KNOTS, 3)  # (5, 3, 8)
    expected = torch.zeros(5, 2)
    for o in range(2):
        for i in range(3):
            expected[:, o] += layer.base_weight[o, i] * F.silu(u[:, i])
            expected[:, o] += layer.spline_scaler[o, i] * (layer.spline_weight[o, i] * basis[:, i]).sum(-1)
    assert torch.allclose(layer(u), expected, atol=1e-5)
    assert layer(torch.randn(4, 6, 3)).shape == (4, 6, 2)


def test_kan_linear_initialisation_follows_the_official_code():
    layer = KANLinear(32, 1521)
    bound = 1 / math.sqrt(32 * 1521)  # Kaiming-uniform a = sqrt(5) on a 3-D weight: fan_in = out * in
    for weight in (layer.base_weight, layer.spline_scaler):
        assert weight.abs().max() <= bound + 1e-7
        assert weight.abs().max() > 0.99 * bound
    upstream = KANLinear(32, 64, init_fan_in="in")
    assert 0.9 / math.sqrt(32) < upstream.base_weight.abs().max() <= 1 / math.sqrt(32) + 1e-7
    # Spline coefficients: min-norm least-squares fit of U(-0.01, 0.01) noise at the 6 grid points.
    grid_points = torch.linspace(-1.0, 1.0, 6)
    at_grid = torch.einsum("gc,oic->oig", bspline_basis(grid_points, KNOTS, 3), layer.spline_weight)
    assert at_grid.abs().max() <= 0.01 + 1e-6
    assert at_grid.abs().max() > 0.009
    assert 0.006 < layer.spline_weight.std() < 0.012  # spec: std about 0.009, max about 0.027
    assert layer.grid.shape == (32, 12)


def test_kan_regularisation_loss_is_l1_plus_entropy():
    layer = KANLinear(2, 1)
    with torch.no_grad():
        layer.spline_weight.copy_(torch.tensor([[[1.0] * 8, [3.0] * 8]]))
    l1 = 1.0 + 3.0
    entropy = -(0.25 * math.log(0.25) + 0.75 * math.log(0.75))
    assert layer.regularization_loss().item() == pytest.approx(l1 + entropy, rel=1e-6)


def test_apply_per_position_does_not_mix_positions():
    layer = KANLinear(3, 4)
    x = torch.randn(1, 3, 7)
    y = apply_per_position(layer, x)
    assert y.shape == (1, 4, 7)
    assert torch.allclose(y[0, :, 2], layer(x[0, :, 2]), atol=1e-6)


# ---------------------------------------------------------------- KAN generator


def test_kan_generator_kernel_shapes():
    ckconv = CKConv(39, 39, omega_0=25.0, kernel_generator="kan").eval()
    assert ckconv.generator(relative_positions(188)).shape == (39, 39, 188)
    kernel = ckconv.kernel(188)
    assert kernel.shape == (39, 39, 189)  # one zero tap prepended (188 is even)
    assert torch.all(kernel[..., 0] == 0)
    keys = set(ckconv.state_dict())
    for layer in ("layer1", "layer2", "layer3"):
        names = ("base_weight", "spline_weight", "spline_scaler", "grid")
        assert {f"generator.{layer}.{name}" for name in names} <= keys
    assert ckconv.generator.layer3.spline_weight.shape == (1521, 32, 8)


def test_kan_kernels_start_far_smaller_than_siren_kernels():
    sizes = {}
    for generator in ("conv", "kan"):
        torch.manual_seed(7)
        ckconv = CKConv(39, 39, omega_0=25.0, dropout=0.0, kernel_generator=generator)
        with torch.no_grad():
            sizes[generator] = float(ckconv.kernel(188).abs().max())
    assert sizes["kan"] < 0.1 < 0.5 < sizes["conv"]  # spec: 0.028 against 1.89


def test_kan_generator_applies_omega_only_with_sine():
    positions = relative_positions(20)
    for activation, changes in (("sin", True), ("relu", False)):
        kernels = []
        for omega_0 in (1.0, 25.0):
            torch.manual_seed(3)
            kernels.append(KANKernelGenerator(2, 3, omega_0=omega_0, dropout=0.0, activation=activation)(positions))
        assert (not torch.equal(*kernels)) == changes, activation


def test_kan_ckconv_is_causal_and_matches_its_generated_kernel():
    ckconv = CKConv(3, 4, omega_0=25.0, kernel_generator="kan").eval()
    x = torch.randn(2, 3, 21)
    kernel = torch.from_numpy(generated_kernels(ckconv, 21))
    with torch.no_grad():
        assert torch.allclose(ckconv(x), F.conv1d(F.pad(x, (20, 0)), kernel), atol=1e-6)
        perturbed = x.clone()
        perturbed[..., 11:] += 1.0
        assert torch.allclose(ckconv(x)[..., :11], ckconv(perturbed)[..., :11], atol=1e-6)


def test_ckktim_forward_and_backward_at_one_tab():
    model = build_cktim(7, n_tab=1, kernel_generator="kan")
    x = torch.randn(2, 39, 188)
    logits = model(x)
    assert logits.shape == (2, 7) and torch.isfinite(logits).all()
    F.cross_entropy(logits, torch.tensor([0, 3])).backward()
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None and torch.isfinite(parameter.grad).all(), name
    spline = model.forward_stack.blocks[0].conv1.generator.layer3.spline_weight
    assert spline.grad.abs().sum() > 0
    model.eval()
    with torch.no_grad():
        assert model(x).shape == (2, 7)


def test_bad_generator_options_are_clear_errors():
    with pytest.raises(ValueError, match="kernel_generator"):
        build_cktim(7, kernel_generator="mlp")
    with pytest.raises(ValueError, match="activation"):
        build_cktim(7, n_tab=1, generator_activation="ReLu")  # the official spelling: no silent no-op
    with pytest.raises(ValueError, match="siren_init"):
        build_cktim(7, n_tab=1, kernel_generator="kan", siren_init=True)
    with pytest.raises(ValueError, match="siren_init"):
        build_cktim(7, n_tab=1, generator_activation="relu", siren_init=True)


# ---------------------------------------------------------------------------- KAF


def test_kaf_constants():
    assert torch.allclose(kaf_dictionary(), torch.linspace(-4, 4, 20))
    assert kaf_gamma() == pytest.approx(361 / 512)  # 1 / (2 (2 * 8/19)^2)
    assert float(KAF().gamma) == pytest.approx(361 / 512)


def test_kaf_shapes_and_normal_initialisation():
    kaf = KAF(188)
    assert kaf.alpha.shape == (188, 20)
    assert [name for name, _ in kaf.named_parameters()] == ["alpha"]  # dictionary, gamma: buffers
    alpha = kaf.alpha.detach()
    assert 0.75 < alpha.std() < 0.85 and abs(float(alpha.mean())) < 0.05
    x = torch.randn(1, 32, 188)
    assert kaf(x).shape == (1, 32, 188)
    with pytest.raises(ValueError, match="188 positions"):
        kaf(torch.randn(1, 32, 700))


def test_kaf_applies_one_function_per_position():
    kaf = KAF(4)
    x = torch.randn(2, 3, 4)
    d, gamma = kaf_dictionary(), kaf_gamma()
    q = 2
    expected = (torch.exp(-gamma * (x[..., q, None] - d) ** 2) * kaf.alpha[q]).sum(-1)
    assert torch.allclose(kaf(x)[..., q], expected, atol=1e-6)


def test_kafsin_starts_at_the_intended_ridge_regression_of_sin():
    alpha = kafsin_coefficients()
    d = kaf_dictionary().double()
    gram = torch.exp(-kaf_gamma() * (d[:, None] - d[None, :]) ** 2)
    assert torch.allclose((gram + 1e-4 * torch.eye(20, dtype=torch.float64)) @ alpha.double(), torch.sin(d),
                          atol=1e-5)
    assert 7.0 < alpha.abs().max() < 7.7  # spec: within +-7.6
    kaf = KAF(188, init="sin")
    assert torch.equal(kaf.alpha, alpha.expand(188, -1))  # [fixed] not uninitialised memory
    s = torch.linspace(-4, 4, 188).reshape(1, 1, 188)
    assert (kaf(s) - torch.sin(s)).abs().max() < 0.004  # spec: fits sin within 0.003


def test_kaf_gradients():
    kaf = KAF(5).double()
    x = torch.randn(2, 3, 5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(kaf, (x,))
    kaf(x).sum().backward()
    assert kaf.alpha.grad is not None and kaf.alpha.grad.abs().sum() > 0


@pytest.mark.parametrize("generator", ["conv", "kan"])
@pytest.mark.parametrize("activation", ["kaf", "kafsin"])
def test_generators_build_exactly_one_kaf_and_train_it(generator, activation):
    ckconv = CKConv(3, 3, kernel_generator=generator, activation=activation, kaf_length=12)
    kafs = [name for name, module in ckconv.named_modules() if isinstance(module, KAF)]
    assert kafs == ["generator.kaf"]  # [fixed] no dead kaf2
    ckconv(torch.randn(2, 3, 12)).square().sum().backward()
    for name, parameter in ckconv.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name


def test_conv_generator_bias_init_follows_the_official_branch():
    for activation in ("relu", "kaf"):  # official "ReLU" branch: biases end up 0
        generator = KernelGenerator(4, 4, activation=activation)
        assert all(not layer.bias.any() for layer in (generator.layer1, generator.layer2, generator.layer3))
    generator = KernelGenerator(4, 4, activation="kafsin")  # SIREN branch: U(-0.1, 0.1)
    assert 0 < generator.layer3.bias.abs().max() <= 0.1


@pytest.mark.parametrize("generator", ["conv", "kan"])
@pytest.mark.parametrize("activation", ["relu", "kaf", "kafsin"])
def test_cktim_with_generator_activations_forward_at_one_tab(generator, activation):
    model = build_cktim(7, n_tab=1, kernel_generator=generator, generator_activation=activation)
    assert model.forward_stack.blocks[0].conv1.generator.activation == activation
    logits = model(torch.randn(2, 39, 188))
    assert logits.shape == (2, 7) and torch.isfinite(logits).all()
    logits.sum().backward()
    if activation != "relu":
        with pytest.raises(ValueError, match="kaf_length"):
            model(torch.randn(2, 39, 100))
