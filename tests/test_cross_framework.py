"""The PyTorch TIM-Net baseline (CkTIM lesson) and the Keras TIM-Net (TIM-Net lesson) are the same size."""

import pytest

pytest.importorskip("torch")
pytest.importorskip("keras")

from papers.cktim_net.model import build_tim, count_parameters  # noqa: E402
from papers.tim_net.model import build_tim_net  # noqa: E402
from ser_common.keras_training import count_parameters as keras_count  # noqa: E402


@pytest.mark.parametrize("n_tab, n_classes, steps", [(1, 7, 188), (3, 7, 188), (6, 7, 188), (8, 7, 188),
                                                     (10, 4, 606)])
@pytest.mark.parametrize("keras_init", [True, False])
def test_pytorch_and_keras_tim_net_have_the_same_trainable_parameters(n_tab, n_classes, steps, keras_init):
    keras_model = build_tim_net((steps, 39), n_classes, n_tab=n_tab)
    torch_model = build_tim(n_classes, n_tab=n_tab, keras_init=keras_init)
    assert count_parameters(torch_model) == keras_count(keras_model)
