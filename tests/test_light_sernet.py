"""Light-SERNet (Keras): pinned counts, shapes, the fused build, focal loss, lr schedule, TFLite export."""

import math

import numpy as np
import pytest

from papers.light_sernet.losses import focal_loss_numpy, lr_at_epoch, n_decays

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from papers.light_sernet.losses import cross_entropy, focal_loss  # noqa: E402
from papers.light_sernet.model import (  # noqa: E402
    build_light_sernet,
    copy_weights,
    count_parameters,
    expected_macs,
    expected_param_count,
    macs_table,
    receptive_fields,
)

EMODB = ((184, 40, 1), 7)
IEMOCAP = ((434, 40, 1), 4)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny tensors: a second thread only adds waiting on a shared 2-core machine."""
    previous = tf.config.threading.get_intra_op_parallelism_threads()
    try:
        tf.config.threading.set_intra_op_parallelism_threads(1)
    except RuntimeError:  # already initialised by another test module
        pass
    yield
    del previous


def light_sernet_parameters(n_classes: int) -> int:
    """Spec section 3, written out: what Keras reports as trainable."""
    paths = (11 * 1 * 32 + 32) + (1 * 9 * 32 + 32) + (3 * 3 * 32 + 32) + 3 * 2 * 32  # convs + biases + BN
    body = (3 * 3 * 96 * 64 + 2 * 64) + (3 * 3 * 64 * 96 + 2 * 96) + (3 * 3 * 96 * 128 + 2 * 128) \
        + (3 * 3 * 128 * 160 + 2 * 160)
    pointwise = 160 * 320 + 2 * 320
    return paths + body + pointwise + 320 * n_classes + n_classes


def test_parameter_arithmetic_matches_the_spec():
    assert light_sernet_parameters(7) == 461_703
    assert light_sernet_parameters(4) == 460_740
    assert expected_param_count(*EMODB) == 461_703
    assert expected_param_count(*IEMOCAP) == 460_740


@pytest.mark.parametrize("implementation", ["layers", "fused"])
@pytest.mark.parametrize("shape, n_classes, trainable, total",
                         [(*EMODB, 461_703, 463_431), (*IEMOCAP, 460_740, 462_468)])
def test_parameter_count_is_pinned(implementation, shape, n_classes, trainable, total):
    model = build_light_sernet(shape, n_classes, implementation=implementation)
    assert count_parameters(model) == trainable == expected_param_count(shape, n_classes)
    assert count_parameters(model, trainable=False) == total  # + 1,728 BN moving statistics


def test_macs_table_totals():
    table = macs_table(build_light_sernet(*EMODB, seed=0), 7)
    total = table.iloc[-1]
    assert total["layer"] == "total"
    assert total["macs"] == 159_326_400 == expected_macs(*EMODB) == table["macs"].iloc[:-1].sum()
    assert total["params_trainable"] == 461_703 and total["params_non_trainable"] == 1_728
    assert expected_macs(*IEMOCAP) == 376_170_240
    lflb1 = table.set_index("layer").loc["lflb1_conv"]
    assert lflb1["macs"] == 92 * 20 * 3 * 3 * 96 * 64 and lflb1["output"] == "92 x 20 x 64"
    fused = macs_table(build_light_sernet(*EMODB, seed=0, implementation="fused"), 7)
    assert fused.iloc[-1]["macs"] == 159_326_400


def test_receptive_fields():
    rf = receptive_fields(40)
    assert rf.loc["path conv", "time"] == "11 x 1" and rf.loc["path conv", "frequency"] == "1 x 9"
    assert rf.loc["path pool", "time_frequency"] == "4 x 4"
    assert rf.loc["pointwise conv", "time"] == "102 x 40"
    assert rf.loc["path conv", "time_ms"] == 10 * 16 + 64


@pytest.mark.parametrize("shape", [(184, 40), (184, 40, 1)])
def test_output_is_a_softmax(shape):
    model = build_light_sernet(shape, 7, seed=0)
    x = np.random.default_rng(0).normal(0, 3, size=(3,) + shape).astype("float32")
    probs = np.asarray(model.predict_on_batch(x))
    assert probs.shape == (3, 7)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    assert (probs > 0).all()


def test_same_seed_same_weights_in_both_builds():
    a = build_light_sernet((184, 40), 7, seed=3)
    b = build_light_sernet((184, 40), 7, seed=3, implementation="fused")
    x = np.random.default_rng(1).normal(0, 3, size=(2, 184, 40)).astype("float32")
    np.testing.assert_allclose(a.predict_on_batch(x), b.predict_on_batch(x), atol=1e-6)


def test_fused_build_computes_the_same_function_and_gradients():
    """Outputs, every gradient and the BN moving statistics agree with the layered build."""
    rng = np.random.default_rng(0)
    x = np.clip(rng.normal(-2, 3, size=(4, 64, 40)), -10, 10).astype("float32")  # short input: fast
    y = np.eye(7, dtype="float32")[rng.integers(0, 7, 4)]
    layered = build_light_sernet((64, 40), 7, seed=1, dropout=0.0)
    for weight in layered.weights:  # non-trivial path biases, gammas, betas and statistics
        if weight.path.startswith("path_") and not weight.path.endswith("kernel"):
            weight.assign(weight.numpy() + rng.uniform(0.1, 0.5, weight.shape).astype("float32"))
    fused = build_light_sernet((64, 40), 7, seed=99, dropout=0.0, implementation="fused")
    copy_weights(layered, fused)
    np.testing.assert_allclose(fused(x, training=False), layered(x, training=False), atol=1e-6)

    def gradients(model):
        with tf.GradientTape() as tape:
            probs = model(x, training=True)
            loss = focal_loss(2.0)(y, probs) + tf.add_n(model.losses)
        return probs.numpy(), tape.gradient(loss, model.trainable_variables)

    p_layered, g_layered = gradients(layered)
    p_fused, g_fused = gradients(fused)
    np.testing.assert_allclose(p_fused, p_layered, atol=1e-6)
    assert all(g is not None for g in g_fused)  # the path biases get an exact zero, as the optimiser expects
    by_name = {v.path: g.numpy() for v, g in zip(fused.trainable_variables, g_fused)}
    for variable, grad in zip(layered.trainable_variables, g_layered):
        if variable.path.startswith("path_") and "bias" in variable.path:
            # cancelled by training-mode BN: rounding noise in the layered build, zero in the fused one
            assert np.abs(grad.numpy()).max() < 1e-5
            continue
        if not variable.path.startswith("path_"):
            np.testing.assert_allclose(by_name[variable.path], grad.numpy(), rtol=1e-3,
                                       atol=1e-4 * np.abs(grad.numpy()).max(), err_msg=variable.path)
    assert all(np.abs(by_name[f"paths_conv_bn/bias_{i}"]).max() < 1e-6 for i in range(3))
    fused_kernels = np.concatenate([by_name[f"paths_conv_bn/kernel_{i}"].ravel() for i in range(3)])
    layered_kernels = np.concatenate([g.numpy().ravel() for v, g in zip(layered.trainable_variables, g_layered)
                                      if v.path.startswith("path_") and v.path.endswith("conv/kernel")])
    np.testing.assert_allclose(fused_kernels, layered_kernels, atol=1e-4 * np.abs(layered_kernels).max())
    # moving statistics after one training call, and the copy back
    back = build_light_sernet((64, 40), 7, seed=5, dropout=0.0)
    copy_weights(fused, back)
    for a, b in zip(layered.weights, back.weights):
        np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-4, atol=1e-6, err_msg=a.path)


# --------------------------------------------------------------------------- #
# Loss and schedule
# --------------------------------------------------------------------------- #
def test_focal_loss_matches_the_formula():
    probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.5, 0.4], [0.25, 0.25, 0.5]], dtype="float32")
    labels = np.array([0, 2, 1])
    onehot = np.eye(3, dtype="float32")[labels]
    p_t = probs[np.arange(3), labels].astype(np.float64)  # 0.7, 0.4, 0.25
    hand = np.mean([0.3**2 * -math.log(0.7), 0.6**2 * -math.log(0.4), 0.75**2 * -math.log(0.25)])
    assert float(focal_loss(2.0)(onehot, probs)) == pytest.approx(hand, rel=1e-6)
    assert float(focal_loss(2.0)(labels, probs)) == pytest.approx(hand, rel=1e-6)  # class indices too
    ce = -np.log(p_t)
    np.testing.assert_allclose(focal_loss_numpy(p_t, 2.0), ce * (1 - p_t) ** 2, rtol=1e-12)
    np.testing.assert_allclose(focal_loss_numpy(p_t, 0.0), ce, rtol=1e-12)
    assert float(focal_loss(2.0)(onehot, probs)) == pytest.approx(np.mean(ce * (1 - p_t) ** 2), rel=1e-6)
    assert float(focal_loss(0.0)(onehot, probs)) == pytest.approx(np.mean(ce), rel=1e-6)
    assert float(cross_entropy()(onehot, probs)) == pytest.approx(np.mean(ce), rel=1e-6)
    keras_ce = keras.losses.CategoricalCrossentropy()(onehot, probs)
    assert float(cross_entropy()(onehot, probs)) == pytest.approx(float(keras_ce), rel=1e-6)


def test_focal_loss_clips_probabilities():
    assert focal_loss_numpy(0.0, 2.0) == pytest.approx((1 - 1e-7) ** 2 * -math.log(1e-7))
    assert focal_loss_numpy(1.0, 2.0) == pytest.approx(1e-14 * -math.log(1 - 1e-7), abs=1e-20)
    value = float(focal_loss(2.0)(np.array([[1.0, 0.0]], "float32"), np.array([[0.0, 1.0]], "float32")))
    assert value == pytest.approx(-math.log(1e-7), rel=1e-5)
    # the down-weighting the lesson plots: easy examples count much less
    assert focal_loss_numpy(0.9, 2.0) / focal_loss_numpy(0.9, 0.0) == pytest.approx(0.01)


def test_learning_rate_schedule_is_pinned():
    assert lr_at_epoch(0) == lr_at_epoch(49) == lr_at_epoch(50) == lr_at_epoch(59) == 1e-4
    assert lr_at_epoch(60) == pytest.approx(1e-4 * math.exp(-0.15))  # first decay: 8.607e-5
    assert lr_at_epoch(79) == lr_at_epoch(60) and lr_at_epoch(80) == pytest.approx(1e-4 * math.exp(-0.30))
    assert lr_at_epoch(280) == lr_at_epoch(299) == pytest.approx(1e-4 * math.exp(-1.8))
    assert lr_at_epoch(299) == pytest.approx(1.653e-5, rel=1e-3)
    assert n_decays(299) == 12 and [e for e in range(300) if n_decays(e) != n_decays(max(e - 1, 0))] == list(
        range(60, 300, 20))
    assert lr_at_epoch(100, base_lr=1e-3) == pytest.approx(1e-3 * math.exp(-0.45))
    with pytest.raises(ValueError):
        lr_at_epoch(-1)


def test_stateful_rule_gives_the_same_schedule():
    """The official callback multiplies the current rate at epoch >= 50 with epoch % 20 == 0."""
    lr, rates = 1e-4, []
    for epoch in range(300):
        if epoch >= 50 and epoch % 20 == 0:
            lr *= math.exp(-0.15)
        rates.append(lr)
    np.testing.assert_allclose(rates, [lr_at_epoch(e) for e in range(300)], rtol=1e-12)


# --------------------------------------------------------------------------- #
# TFLite
# --------------------------------------------------------------------------- #
@pytest.fixture(scope="module")
def trained_model():
    """A model with trained BN statistics and confident predictions: 4 quick epochs on an easy task.

    Class c shifts MFCC coefficient band c, so the classes are separable and the model's
    top class is clear (on random labels every class is ~1/7 and int8 rounding flips
    argmaxes at random, which says nothing about quantisation).
    """
    rng = np.random.default_rng(0)
    labels = np.tile(np.arange(4), 12)
    x = rng.normal(0, 2, size=(48, 64, 40))  # 64 frames: the counts do not depend on T
    for c in range(4):
        x[labels == c, :, 4 * c : 4 * c + 4] += 4.0
    x = np.clip(x, -10, 10).astype("float32")
    model = build_light_sernet((64, 40), 4, seed=0)
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss=focal_loss(2.0), jit_compile=False)
    model.fit(x, np.eye(4, dtype="float32")[labels], batch_size=16, epochs=4, verbose=0, shuffle=False)
    return model, x


def test_tflite_float32_and_float16_agree_with_keras(trained_model):
    from papers.light_sernet.deploy import TFLiteClassifier, to_tflite

    model, x = trained_model
    reference = np.asarray(model.predict_on_batch(x[:8]))
    fp32 = TFLiteClassifier(to_tflite(model, "float32"))
    np.testing.assert_allclose(fp32.predict_proba(x[:8]), reference, atol=1e-5)
    fp16 = TFLiteClassifier(to_tflite(model, "float16"))
    np.testing.assert_allclose(fp16.predict_proba(x[:8]), reference, atol=2e-3)
    assert 0.45 * fp32.size_bytes < fp16.size_bytes < 0.55 * fp32.size_bytes
    # the paper's "0.88 MB": 463,431 weights in 16 bits = 0.884 MiB; the file adds the graph
    assert 463_431 * 2 / 2**20 == pytest.approx(0.884, abs=1e-3)
    assert 0.88 < fp16.size_bytes / 2**20 < 0.92
    assert fp32.latency_ms(x, repeats=3) > 0


def test_tflite_int8_runs_and_mostly_agrees(trained_model):
    from papers.light_sernet.deploy import TFLiteClassifier, to_tflite

    model, x = trained_model
    with pytest.raises(ValueError, match="representative"):
        to_tflite(model, "int8")
    int8 = TFLiteClassifier(to_tflite(model, "int8", representative=x[:32]))
    probs = int8.predict_proba(x[32:48])
    reference = np.asarray(model.predict_on_batch(x[32:48]))
    assert probs.shape == (16, 4)
    assert np.abs(probs - reference).max() < 0.1
    assert np.mean(probs.argmax(1) == reference.argmax(1)) >= 0.75
    assert int8.size_bytes < 0.6 * 2**20


def test_tflite_of_a_fused_model_goes_through_the_layered_twin():
    from papers.light_sernet.deploy import TFLiteClassifier, to_tflite

    fused = build_light_sernet((64, 40), 4, seed=0, implementation="fused")
    x = np.random.default_rng(2).normal(0, 3, size=(3, 64, 40)).astype("float32")
    classifier = TFLiteClassifier(to_tflite(fused, "float32"))
    np.testing.assert_allclose(classifier.predict_proba(x), fused.predict_on_batch(x), atol=1e-5)
