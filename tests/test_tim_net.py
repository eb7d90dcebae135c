"""TIM-Net (Keras): shapes, the pinned parameter counts, both builds agree, one step learns."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from papers.tim_net.model import (  # noqa: E402
    build_tim_net,
    copy_layers_to_fused,
    embedding_model,
    expected_param_count,
    receptive_field,
    tab_dilations,
)
from papers.tim_net.recipe import default_n_tab  # noqa: E402
from ser_common import keras_training  # noqa: E402


def tim_net_parameters(n_tab: int, n_classes: int, filters: int = 39) -> int:
    """Spec section 3.4, written out: what the official model reports as trainable."""
    conv = 2 * filters * filters + filters  # kernel 2 x 39 x 39 + bias
    batch_norm = 2 * filters  # gamma and beta
    tab = 2 * conv + 2 * batch_norm  # = 6,318
    entry = 2 * (filters * filters + filters)  # one 1x1 conv per direction = 3,120
    fusion = n_tab  # one weight per scale
    classifier = filters * n_classes + n_classes
    return 2 * n_tab * tab + entry + fusion + classifier


def test_parameter_arithmetic_matches_the_spec():
    assert tim_net_parameters(8, 7) == 104_496
    assert tim_net_parameters(10, 4) == 129_650
    for n_tab, n_classes in ((1, 4), (3, 7), (8, 7), (10, 4)):
        assert expected_param_count(n_tab, n_classes) == tim_net_parameters(n_tab, n_classes)


@pytest.mark.parametrize("implementation", ["fused", "layers"])
@pytest.mark.parametrize(
    "input_shape, n_classes, n_tab, expected",
    [((188, 39), 7, 8, 104_496), ((606, 39), 4, 10, 129_650)],  # EMO-DB; IEMOCAP
)
def test_parameter_count_is_pinned(implementation, input_shape, n_classes, n_tab, expected):
    model = build_tim_net(input_shape, n_classes, n_tab=n_tab, implementation=implementation)
    assert keras_training.count_parameters(model) == expected == tim_net_parameters(n_tab, n_classes)


@pytest.mark.parametrize("steps, n_classes", [(188, 7), (215, 8)])  # EMO-DB and RAVDESS lengths
def test_shapes_for_two_corpora(steps, n_classes):
    model = build_tim_net((steps, 39), n_classes, seed=0)
    x = np.random.default_rng(0).normal(size=(3, steps, 39)).astype("float32")
    probs = np.asarray(model.predict_on_batch(x))
    assert probs.shape == (3, n_classes)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    assert np.asarray(embedding_model(model).predict_on_batch(x)).shape == (3, 39)


def test_dilations_and_receptive_field():
    model = build_tim_net(implementation="layers")
    assert tab_dilations(model) == [1, 2, 4, 8, 16, 32, 64, 128]
    assert receptive_field(8) == 511 and receptive_field(10) == 2047  # 2^(n+1) - 1
    assert default_n_tab("iemocap") == 10 and default_n_tab("emodb") == 8


def test_fused_build_computes_the_same_function_as_the_layered_build():
    rng = np.random.default_rng(1)
    layered = build_tim_net((64, 39), 5, n_tab=5, implementation="layers", seed=1)
    # Non-trivial batch-norm statistics, so the check covers them too.
    for weight in layered.weights:
        if "moving_variance" in weight.path:
            weight.assign(rng.uniform(0.5, 2.0, weight.shape))
        elif any(k in weight.path for k in ("moving_mean", "gamma", "beta", "scale_weights")):
            weight.assign(rng.normal(0.0, 0.7, weight.shape))
    fused = build_tim_net((64, 39), 5, n_tab=5, implementation="fused", seed=2)
    x = rng.normal(0, 5, size=(4, 64, 39)).astype("float32")
    before = np.asarray(embedding_model(fused).predict_on_batch(x))
    copy_layers_to_fused(layered, fused)
    a = np.asarray(embedding_model(layered).predict_on_batch(x))
    b = np.asarray(embedding_model(fused).predict_on_batch(x))
    assert np.abs(a).max() > 1e-3, "the check needs a non-trivial representation"
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    assert not np.allclose(before, b), "copying must have changed the fused model"
    np.testing.assert_allclose(layered.predict_on_batch(x), fused.predict_on_batch(x), rtol=1e-4, atol=1e-6)


def test_forward_stack_is_causal():
    """Changing frames after t must not change the forward branch's output at <= t."""
    model = build_tim_net((50, 39), 3, n_tab=3, implementation="layers", seed=0)
    forward_out = keras.Model(model.inputs, model.get_layer("fwd_tab3_out").output)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1, 50, 39)).astype("float32")
    changed = x.copy()
    changed[:, 30:] = rng.normal(size=(1, 20, 39))
    a, b = np.asarray(forward_out(x)), np.asarray(forward_out(changed))
    np.testing.assert_allclose(a[:, :30], b[:, :30], atol=1e-6)
    assert not np.allclose(a[:, 30:], b[:, 30:])


def test_one_training_step_lowers_the_loss_on_a_fixed_batch():
    rng = np.random.default_rng(0)
    x = rng.normal(0, 20, size=(32, 60, 39)).astype("float32")
    y = rng.integers(0, 4, size=32)
    model = build_tim_net((60, 39), 4, n_tab=4, seed=0)
    loss = keras.losses.CategoricalCrossentropy()
    one_hot = np.eye(4, dtype="float32")[y]
    before = float(loss(one_hot, model(x, training=False)))
    keras_training.fit(model, (x, y), epochs=1, batch_size=32, jit_compile=False, progress=False, seed=0,
                       optimizer=keras.optimizers.Adam(1e-3, beta_1=0.93, beta_2=0.98))
    after = float(loss(one_hot, model(x, training=False)))
    assert after < before


def test_build_rejects_bad_arguments():
    with pytest.raises(ValueError, match="implementation"):
        build_tim_net(implementation="cuda")
    with pytest.raises(ValueError, match="39 channels"):
        build_tim_net((188, 40))
