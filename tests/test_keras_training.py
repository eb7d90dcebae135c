"""The Keras training helper: shared history format, best-epoch restore, early stopping, seeding."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from ser_common import keras_training  # noqa: E402

HISTORY_KEYS = ("loss", "accuracy", "val_loss", "val_accuracy", "val_ua", "lr", "time_s")


def _data(n=96, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, size=n)
    x = rng.normal(size=(n, 8)).astype("float32") + y[:, None]  # learnable
    return x, y


def _model(seed=0):
    keras_training.seed_everything(seed)
    return keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"),
                             keras.layers.Dense(3, activation="softmax")])


def _fit(model, **kwargs):
    x, y = _data()
    options = dict(epochs=6, batch_size=32, jit_compile=False, progress=False, seed=0,
                   optimizer=keras.optimizers.Adam(0.05))
    options.update(kwargs)
    return keras_training.fit(model, (x[:64], y[:64]), (x[64:], y[64:]), **options)


def test_history_has_the_shared_keys_and_one_value_per_epoch():
    result = _fit(_model())
    assert set(result.history) == set(HISTORY_KEYS)
    assert all(len(values) == 6 for values in result.history.values())
    assert result.selected_epoch == 6 and result.selection == "last"
    assert result.history["loss"][-1] < result.history["loss"][0]
    assert all(0 <= v <= 1 for v in result.history["val_ua"])


def test_monitor_restores_the_best_epochs_weights():
    snapshots = []
    model = _model()
    result = _fit(model, monitor="val_loss", epochs=8,
                  on_epoch_end=lambda epoch, record: snapshots.append([w.numpy().copy() for w in model.weights]))
    best = int(np.argmin(result.history["val_loss"]))
    assert result.selected_epoch == best + 1 and result.selection == "best:val_loss"
    for restored, expected in zip(model.weights, snapshots[best]):
        np.testing.assert_array_equal(restored.numpy(), expected)


def test_early_stopping_stops_after_patience():
    # A learning rate of zero never improves val_loss after the first epoch.
    result = _fit(_model(), monitor="val_loss", patience=2, epochs=20,
                  optimizer=keras.optimizers.SGD(0.0))
    assert result.stopped_early and result.epochs_run == 3


def test_same_seed_same_result():
    a = _fit(_model(3)).history["loss"]
    b = _fit(_model(3)).history["loss"]
    np.testing.assert_allclose(a, b, rtol=1e-6)


def test_predict_and_count_parameters():
    model = _model()
    x, _ = _data()
    assert keras_training.predict(model, x).shape == (96,)
    assert keras_training.count_parameters(model) == 8 * 16 + 16 + 16 * 3 + 3


def test_argument_errors_are_clear():
    with pytest.raises(ValueError, match="needs validation data"):
        keras_training.fit(_model(), _data(), None, epochs=1, batch_size=8, optimizer=keras.optimizers.Adam(),
                           monitor="val_ua", progress=False)
    with pytest.raises(ValueError, match="patience .early stopping. needs a monitor"):
        _fit(_model(), patience=3)
    with pytest.raises(KeyError, match="monitor 'val_f1' is not among"):
        _fit(_model(), monitor="val_f1")
    with pytest.raises(ValueError, match="epochs must be a positive integer"):
        _fit(_model(), epochs=0)
    with pytest.raises(ValueError, match="labels must be class indices"):
        keras_training.fit(_model(), (_data()[0], _data()[1] + 3), epochs=1, batch_size=8,
                           optimizer=keras.optimizers.Adam(), progress=False)


def test_monitor_callable_evaluate_hook_and_lr_schedule():
    def wa_and_ua(metrics):
        return (metrics["val_accuracy"] + metrics["val_ua"]) / 2

    calls = []

    def evaluate(probabilities, y):
        calls.append(probabilities.shape)
        return {**keras_training.probability_scores(probabilities, y), "mean_confidence": float(probabilities.max(1).mean())}

    model = _model()
    result = _fit(model, epochs=4, monitor=wa_and_ua, evaluate=evaluate, lr_schedule=lambda e: 0.05 / (e + 1))
    assert calls == [(32, 3)] * 4 and len(result.history["val_mean_confidence"]) == 4
    expected = [(a + u) / 2 for a, u in zip(result.history["val_accuracy"], result.history["val_ua"])]
    assert result.history["monitor"] == pytest.approx(expected)
    assert result.selected_epoch == len(expected) - int(np.argmax(expected[::-1]))
    assert result.selection == "best:wa_and_ua"
    assert result.history["lr"] == pytest.approx([0.05, 0.025, 0.05 / 3, 0.0125])


def test_loss_callable_and_batch_transform():
    shapes, losses = [], []

    def mixup_free(x, y):  # sees the numpy batch and one-hot targets
        shapes.append((x.shape, y.shape))
        return x * 1.0, y

    def squared_error(y_true, probabilities):
        losses.append(True)
        return keras.ops.mean(keras.ops.square(y_true - probabilities))

    result = _fit(_model(), epochs=2, loss=squared_error, batch_transform=mixup_free)
    assert shapes == [((32, 8), (32, 3))] * 4  # 64 training rows, batch 32, 2 epochs
    assert losses  # traced into the compiled step
    assert 0 <= result.history["loss"][-1] < 1  # a squared error of probabilities, not a cross-entropy
