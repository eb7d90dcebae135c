"""Tests for papers.cktim_net: CKConv pieces, the shared backbone, TIM and CkTIM builders."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from papers.cktim_net.ckconv import (
    CKConv,
    KernelGenerator,
    causal_conv_full,
    generated_kernels,
    prefer_fft,
    relative_positions,
)
from papers.cktim_net.model import (
    CausalConv1d,
    DirectionalStack,
    TemporalAwareBlock,
    TemporalNet,
    build_cktim,
    build_tim,
    ckconv_factory,
    count_parameters,
    tim_conv_factory,
)

ATOL = 1e-4  # float32 FFT vs direct rounding on values of order 10


pytestmark = pytest.mark.usefixtures("torch_single_thread")


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def _close(a: torch.Tensor, b: torch.Tensor, rtol: float = 1e-4) -> None:
    scale = float(b.abs().max()) + 1e-6
    assert float((a - b).abs().max()) <= rtol * scale + 1e-5, float((a - b).abs().max())


# --------------------------------------------------------------------- positions


def test_relative_positions_span_minus_one_to_one():
    grid = relative_positions(5)
    assert grid.shape == (1, 1, 5)
    assert torch.equal(grid.flatten(), torch.tensor([-1.0, -0.5, 0.0, 0.5, 1.0]))


def test_relative_positions_keep_the_first_spacing_and_end_at_the_current_frame():
    longer = relative_positions(7, reference_length=5).flatten()  # spacing 2/4 = 0.5
    assert longer[-1] == 1.0
    assert torch.allclose(longer.diff(), torch.full((6,), 0.5))
    assert longer[0] == pytest.approx(-2.0)  # extends into the past
    shorter = relative_positions(3, reference_length=5).flatten()
    assert torch.allclose(shorter, torch.tensor([0.0, 0.5, 1.0]))


@pytest.mark.parametrize("length", [0, -3])
def test_relative_positions_reject_non_positive_length(length):
    with pytest.raises(ValueError, match="length"):
        relative_positions(length)


# ---------------------------------------------------------------- kernel generator


@pytest.mark.parametrize(("out_channels", "in_channels", "length"), [(39, 39, 188), (4, 3, 10), (1, 2, 1)])
def test_kernel_generator_output_shape(out_channels, in_channels, length):
    generator = KernelGenerator(out_channels, in_channels).eval()
    assert generator(relative_positions(length)).shape == (out_channels, in_channels, length)


def test_kernel_generator_parameter_count_matches_spec():
    # layer 1: 32 w + 32 g + 32 b; layer 2: 1024 + 32 + 32; layer 3: 32*1521 + 1521 + 1521; 2 BN x 64
    expected = 96 + 1_088 + 51_714 + 2 * 64
    assert expected == 53_026
    assert count_parameters(KernelGenerator(39, 39)) == expected


def test_kernel_generator_hidden_width_follows_hidden_scale():
    assert KernelGenerator(2, 2, hidden_scale=0.5).layer2.in_channels == 16


def test_kernel_generator_default_init_reproduces_official_quirk():
    generator = KernelGenerator(39, 39, omega_0=25.0)
    for layer in (generator.layer1, generator.layer2, generator.layer3):
        assert layer.bias.abs().max() <= 0.1
    # PyTorch's default Conv1d init bounds |w| by 1/sqrt(fan_in) = 0.177 for 32 inputs,
    # far above the SIREN bound sqrt(6/32)/25 = 0.017: the SIREN init did not happen.
    weight = generator.layer2.weight
    assert weight.abs().max() <= 1 / np.sqrt(32) + 1e-6
    assert weight.abs().max() > 5 * np.sqrt(6 / 32) / 25


def test_kernel_generator_siren_init_sets_effective_weights():
    generator = KernelGenerator(39, 39, omega_0=25.0, siren_init=True)
    assert generator.layer1.weight.abs().max() <= 1.0  # U(-1/fan_in, 1/fan_in), fan_in = 1
    for layer in (generator.layer2, generator.layer3):
        assert layer.weight.abs().max() <= np.sqrt(6 / 32) / 25 + 1e-6


def test_kernel_generator_rejects_bad_positions_shape():
    with pytest.raises(ValueError, match="positions"):
        KernelGenerator(2, 2)(torch.zeros(3, 1, 5))


# ------------------------------------------------------------- causal application


@pytest.mark.parametrize("use_fft", [True, False])
@pytest.mark.parametrize("taps", [1, 5, 24, 25, 40])
def test_causal_conv_full_equals_conv1d_on_left_padded_input(use_fft, taps):
    x = torch.randn(3, 4, 24)
    kernel = torch.randn(5, 4, taps)
    expected = F.conv1d(F.pad(x, (taps - 1, 0)), kernel)
    _close(causal_conv_full(x, kernel, use_fft), expected)


@pytest.mark.parametrize("use_fft", [True, False])
def test_causal_conv_full_reproduces_a_dilated_k2_convolution_from_its_expanded_kernel(use_fft):
    length, dilation = 30, 4
    conv = CausalConv1d(3, 5, kernel_size=2, dilation=dilation)
    x = torch.randn(2, 3, length)
    # Expand to a full-length kernel: the current frame sits on the last tap,
    # the frame `dilation` steps back on tap -1 - dilation, everything else 0.
    full = torch.zeros(5, 3, length)
    full[..., -1] = conv.weight[..., 1]
    full[..., -1 - dilation] = conv.weight[..., 0]
    with torch.no_grad():
        _close(causal_conv_full(x, full, use_fft) + conv.bias[:, None], conv(x))


def test_causal_conv_full_rejects_mismatched_kernel():
    with pytest.raises(ValueError, match="kernel"):
        causal_conv_full(torch.zeros(1, 3, 8), torch.zeros(2, 4, 8), use_fft=True)


# ------------------------------------------------------------------------ CKConv


def test_ckconv_equals_ordinary_convolution_with_its_generated_kernel():
    ckconv = CKConv(3, 4, omega_0=25.0).eval()
    x = torch.randn(2, 3, 21)
    kernel = torch.from_numpy(generated_kernels(ckconv, 21))
    with torch.no_grad():
        for fft in (True, False):
            ckconv.fft = fft
            _close(ckconv(x), F.conv1d(F.pad(x, (20, 0)), kernel))


@pytest.mark.parametrize("length", [188, 215, 16])
def test_ckconv_fft_path_matches_direct_path(length):
    ckconv = CKConv(39, 39, omega_0=25.0).eval()
    x = torch.randn(2, 39, length)
    with torch.no_grad():
        ckconv.fft = True
        via_fft = ckconv(x)
        ckconv.fft = False
        direct = ckconv(x)
    assert via_fft.shape == (2, 39, length)
    _close(via_fft, direct)


def test_ckconv_fft_and_direct_gradients_agree():
    x = torch.randn(2, 3, 12)
    grads = []
    for fft in (True, False):
        torch.manual_seed(1)
        ckconv = CKConv(3, 3, fft=fft, dropout=0.0)
        ckconv(x).square().sum().backward()
        grads.append(ckconv.generator.layer3.parametrizations.weight.original1.grad.clone())
    _close(grads[0], grads[1], rtol=1e-3)


def test_ckconv_kernel_prepends_one_zero_for_even_lengths_only():
    ckconv = CKConv(2, 3).eval()
    even = ckconv.kernel(10)
    assert even.shape == (3, 2, 11)
    assert torch.all(even[..., 0] == 0)
    assert ckconv.kernel(11).shape == (3, 2, 11)


def test_ckconv_reference_length_is_the_first_length_seen_and_saved():
    ckconv = CKConv(2, 2).eval()
    assert int(ckconv.reference_length) == 0
    ckconv(torch.randn(1, 2, 188))
    ckconv(torch.randn(1, 2, 215))
    assert int(ckconv.reference_length) == 188
    assert int(ckconv.state_dict()["reference_length"]) == 188


def test_ckconv_bias_is_off_by_default_and_trainable_when_asked():
    assert CKConv(39, 39).bias is None
    assert count_parameters(CKConv(39, 39, bias=True)) - count_parameters(CKConv(39, 39)) == 39


def test_ckconv_rejects_wrong_channels_and_bad_fft_option():
    with pytest.raises(ValueError, match="x must have shape"):
        CKConv(3, 3)(torch.zeros(1, 4, 10))
    with pytest.raises(ValueError, match="fft"):
        CKConv(3, 3, fft="yes")


def test_prefer_fft_rule():
    assert prefer_fft(batch=64, taps=188)
    assert not prefer_fft(batch=64, taps=2)  # short kernels stay direct
    assert not prefer_fft(batch=1, taps=100)


def test_generated_kernels_returns_eval_kernel_and_restores_mode():
    ckconv = CKConv(3, 2, omega_0=25.0)
    ckconv.train()
    kernels = generated_kernels(ckconv, 8)
    assert isinstance(kernels, np.ndarray) and kernels.shape == (2, 3, 8)
    assert ckconv.training
    again = generated_kernels(ckconv, 8)  # eval mode: no dropout, deterministic
    assert np.array_equal(kernels, again)


# ----------------------------------------------------------------------- causality


def _assert_causal(module: torch.nn.Module, channels: int, length: int = 40, t0: int = 17) -> None:
    """Perturbing inputs after t0 leaves outputs <= t0 unchanged (and does change later ones)."""
    module.eval()
    x = torch.randn(2, channels, length)
    perturbed = x.clone()
    perturbed[..., t0 + 1 :] += 5 * torch.randn(2, channels, length - t0 - 1)
    with torch.no_grad():
        before, after = module(x), module(perturbed)
    if isinstance(before, list):  # DirectionalStack: check every depth
        before, after = torch.stack(before), torch.stack(after)
    assert torch.allclose(before[..., : t0 + 1], after[..., : t0 + 1], atol=ATOL)
    assert not torch.allclose(before[..., t0 + 1 :], after[..., t0 + 1 :], atol=ATOL)


@pytest.mark.parametrize("fft", [True, False])
def test_ckconv_is_causal(fft):
    _assert_causal(CKConv(3, 3, omega_0=25.0, fft=fft), channels=3)


def test_tim_causal_conv_is_causal():
    _assert_causal(CausalConv1d(3, 3, kernel_size=2, dilation=8), channels=3)


@pytest.mark.parametrize("factory", [tim_conv_factory(), ckconv_factory()], ids=["tim", "cktim"])
def test_single_tab_is_causal(factory):
    tab = TemporalAwareBlock(factory(6, 6, 3), factory(6, 6, 3), channels=6)
    _assert_causal(tab, channels=6)


@pytest.mark.parametrize("builder", [build_tim, build_cktim], ids=["tim", "cktim"])
def test_forward_and_backward_stacks_are_causal_in_their_own_time(builder):
    model = builder(n_classes=4, n_tab=3, n_filters=6, in_channels=5)
    # The backward stack is causal on the reversed sequence, so the full model is not.
    _assert_causal(model.forward_stack, channels=5)
    _assert_causal(model.backward_stack, channels=5)


def test_directional_stack_returns_one_output_per_depth():
    stack = DirectionalStack(tim_conv_factory(), 4, in_channels=5, n_filters=6, dropout=0.1, bn_eps=1e-3,
                             bn_momentum=0.01)
    outputs = stack(torch.randn(2, 5, 20))
    assert len(outputs) == 4 and all(o.shape == (2, 6, 20) for o in outputs)
    assert [block.conv1.dilation[0] for block in stack.blocks] == [1, 2, 4, 8]


# ---------------------------------------------------------------- parameter counts


def _tim_count(n: int, classes: int) -> int:
    tab = 2 * (2 * 39 * 39 + 39) + 2 * 78  # two k=2 convs with bias + two BN (gamma, beta)
    assert tab == 6_318
    entry = 2 * (39 * 39 + 39)  # forward + backward 1x1 convs
    assert entry == 3_120
    return 2 * n * tab + entry + n + (39 * classes + classes)


def _cktim_count(n: int, classes: int) -> int:
    generator = 53_026  # see test_kernel_generator_parameter_count_matches_spec
    tab = 2 * generator + 2 * 78
    assert tab == 106_208
    return 2 * n * tab + 2 * generator + n + (39 * classes + classes)


@pytest.mark.parametrize(
    ("n_tab", "classes", "expected"),
    [(8, 7, 104_496), (10, 4, 129_650), (1, 7, 16_037), (3, 7, 41_311), (6, 7, 79_222)],
)
def test_tim_parameter_count_matches_keras_tim_net(n_tab, classes, expected):
    assert _tim_count(n_tab, classes) == expected
    assert count_parameters(build_tim(classes, n_tab=n_tab)) == expected
    assert count_parameters(build_tim(classes, n_tab=n_tab, keras_init=False)) == expected


@pytest.mark.parametrize(("n_tab", "expected"), [(1, 318_749), (3, 743_583), (6, 1_380_834)])
def test_cktim_parameter_count_matches_official_logs(n_tab, expected):
    assert _cktim_count(n_tab, 7) == expected
    assert count_parameters(build_cktim(7, n_tab=n_tab)) == expected


def test_cktim_bias_option_adds_one_bias_per_ckconv():
    n_tab = 2
    ckconvs = 2 + 4 * n_tab  # two entry + two per TAB per direction
    extra = count_parameters(build_cktim(7, n_tab=n_tab, ckconv_bias=True)) - _cktim_count(n_tab, 7)
    assert extra == 39 * ckconvs


# ------------------------------------------------------------ shapes and options


@pytest.mark.parametrize("length", [188, 215])
def test_output_shapes(length):
    x = torch.randn(2, 39, length)
    for model in (build_tim(7), build_cktim(7, n_tab=1)):
        model.eval()
        with torch.no_grad():
            assert model(x).shape == (2, 7)
            assert model.embed(x).shape == (2, 39)
            assert model.scale_vectors(x).shape == (2, model.n_tab, 39)


def test_time_major_input_gives_the_same_logits():
    torch.manual_seed(3)
    channels_first = build_tim(5, n_tab=2).eval()
    torch.manual_seed(3)
    time_major = build_tim(5, n_tab=2, time_major=True).eval()
    x = torch.randn(2, 39, 30)
    with torch.no_grad():
        assert torch.allclose(channels_first(x), time_major(x.transpose(1, 2)), atol=1e-6)


def test_forward_is_linear_head_on_fused_embedding():
    model = build_tim(4, n_tab=3).eval()
    x = torch.randn(3, 39, 25)
    with torch.no_grad():
        g = model.scale_vectors(x)
        fused = (model.fusion_weights[None, :, None] * g).sum(1)
        assert torch.allclose(model.embed(x), fused, atol=1e-6)
        assert torch.allclose(model(x), model.classifier(fused), atol=1e-6)


def test_wrong_input_shape_is_a_clear_error():
    with pytest.raises(ValueError, match="x must be"):
        build_tim(4, n_tab=1)(torch.randn(2, 188, 39))


def test_tim_keras_defaults_and_cktim_torch_defaults():
    tim = build_tim(7)
    norm = tim.forward_stack.blocks[0].norm1
    assert (norm.eps, norm.momentum) == (1e-3, 0.01)
    assert tim.fusion_weights.abs().max() <= 0.05
    assert all(not m.bias.detach().any() for m in tim.modules() if isinstance(m, torch.nn.Conv1d))
    cktim = build_cktim(7, n_tab=2)
    norm = cktim.forward_stack.blocks[0].norm1
    assert (norm.eps, norm.momentum) == (1e-5, 0.1)
    assert cktim.fusion_weights.min() >= 0 and cktim.fusion_weights.max() <= 1


def test_cktim_entry_uses_omega_1_and_tabs_omega_25():
    model = build_cktim(7, n_tab=2)
    assert model.forward_stack.entry.generator.omega_0 == 1.0
    assert model.backward_stack.blocks[1].conv2.generator.omega_0 == 25.0


def test_cktim_rejects_unknown_kernel_generator():
    # "kan" is implemented (tests/test_cktim_kan.py); anything else is an error.
    with pytest.raises(ValueError, match="kernel_generator"):
        build_cktim(7, kernel_generator="mlp")


# Pinned BEFORE the KAN generator and the generator activations were added (torch 2.13 CPU,
# one thread): the default model (SIREN "conv" generator, "sin", ReLU TABs) must keep the
# same parameters, the same initialisation order (hence the same values for a seed) and the
# same outputs, so runs trained before those options existed stay reproducible.
DEFAULT_CKTIM_PINNED = {
    "parameter_names_sha256": "ba1d502f61585e29f5a95e4ffc4851efa03528a400b0d89cd9b408d7c0d04bf4",
    "state_dict_entries": 143,
    "parameter_sum": 5998.8965837303995,
    "parameter_abs_sum": 32933.67972933801,
    "train_logits": [[0.107859, -0.33841, 0.042947, 0.571015, -0.058038, -0.586503, -0.229749],
                     [-1.375752, 1.864339, -0.334897, -0.591882, -0.33709, 0.587546, 1.169079]],
    "gradient_abs_sum": 22588.62187110864,
    "eval_logits": [[0.648412, -0.495385, -0.095114, 0.144866, 0.596161, 0.095604, 0.117623],
                    [-0.446102, 0.549146, -0.069596, 0.233928, 0.038643, -0.104786, 0.179696]],
}


def test_default_cktim_is_unchanged_by_the_model_variants():
    import hashlib

    pinned = DEFAULT_CKTIM_PINNED
    torch.manual_seed(1234)
    model = build_cktim(7, n_tab=1)
    names = "|".join(name for name, _ in model.named_parameters())
    assert hashlib.sha256(names.encode()).hexdigest() == pinned["parameter_names_sha256"]
    assert len(model.state_dict()) == pinned["state_dict_entries"]
    with torch.no_grad():
        assert sum(float(p.double().sum()) for p in model.parameters()) == pytest.approx(
            pinned["parameter_sum"], rel=1e-9)
        assert sum(float(p.double().abs().sum()) for p in model.parameters()) == pytest.approx(
            pinned["parameter_abs_sum"], rel=1e-9)
    x = torch.randn(2, 39, 188)  # continues the seeded stream, after the model's draws
    model.train()
    torch.manual_seed(99)  # dropout masks
    train_logits = model(x)
    train_logits.square().sum().backward()
    assert torch.allclose(train_logits.detach(), torch.tensor(pinned["train_logits"]), atol=2e-5)
    assert sum(float(p.grad.double().abs().sum()) for p in model.parameters()) == pytest.approx(
        pinned["gradient_abs_sum"], rel=1e-4)
    model.eval()  # running statistics updated by the train-mode pass above
    with torch.no_grad():
        assert torch.allclose(model(x), torch.tensor(pinned["eval_logits"]), atol=2e-5)


def test_backbone_rejects_bad_arguments():
    with pytest.raises(ValueError, match="n_tab"):
        TemporalNet(tim_conv_factory(), n_tab=0, n_classes=3)
    with pytest.raises(ValueError, match="fusion_init"):
        TemporalNet(tim_conv_factory(), n_tab=1, n_classes=3, fusion_init=(1.0, 0.0))


# ---------------------------------------------------------------------- training


@pytest.mark.parametrize(
    "builder",
    [lambda: build_tim(4, n_tab=3, dropout=0.0), lambda: build_cktim(4, n_tab=1, dropout=0.0)],
    ids=["tim", "cktim"],
)
def test_one_training_step_lowers_the_loss_on_a_fixed_batch(builder):
    model = builder()
    x, y = torch.randn(8, 39, 24), torch.arange(8) % 4
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_before = F.cross_entropy(model(x), y)
    optimizer.zero_grad()
    loss_before.backward()
    optimizer.step()
    loss_after = F.cross_entropy(model(x), y)
    assert loss_after.item() < loss_before.item()
