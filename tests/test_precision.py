"""Mixed precision: 16-bit trials and final training, float32 models out."""

import json

import keras
import numpy as np
import pytest

from kerasnas.final import retrain
from kerasnas.precision import dtype_policy
from kerasnas.progress import Reporter
from kerasnas.search import search
from kerasnas.spaces.resnet import ResNetSpace

TINY = dict(stem_width=8, stages=1, blocks_per_stage=1, kernel_size=3, dropout=0.0)


def test_a_mixed_bfloat16_search_exports_a_float32_model_that_scores_as_reported(tmp_path, synthetic_splits):
    d = tmp_path / "run"
    search("resnet", "random", synthetic_splits, directory=str(d), max_trials=1, epochs=1,
           batch_size=64, space_options=TINY, precision="mixed_bfloat16", reporter=Reporter())
    assert keras.config.dtype_policy().name == "float32"  # restored after the trials
    summary = json.loads((d / "summary.json").read_text())
    assert summary["precision"] == "mixed_bfloat16"
    model = keras.models.load_model(d / "best_model.keras")
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert {layer.dtype_policy.name for layer in convs} == {"mixed_bfloat16"}
    assert model.layers[-1].dtype_policy.name == "float32"
    x = synthetic_splits.x_test[..., None]
    probabilities = model.predict(x, verbose=0)
    assert probabilities.dtype == np.float32
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    accuracy = float((probabilities.argmax(axis=1) == synthetic_splits.y_test).mean())
    assert accuracy == pytest.approx(summary["test_accuracy"], abs=1 / len(x))


def test_mixed_float16_final_training_scales_the_loss_and_outputs_float32(synthetic_splits):
    space = ResNetSpace(**TINY, optimizer="adam", learning_rate=1e-3)
    model, accuracy, history = retrain(space, {}, synthetic_splits, epochs=1, batch_size=64,
                                       precision="mixed_float16", log=None)
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    assert model.layers[-1].dtype_policy.name == "float32"
    assert model.predict(synthetic_splits.x_test[:4, ..., None], verbose=0).dtype == np.float32
    assert 0.0 <= accuracy <= 1.0 and len(history["loss"]) == 1
    assert keras.config.dtype_policy().name == "float32"


def test_the_policy_is_restored_after_an_error_and_unknown_names_are_refused():
    with pytest.raises(RuntimeError, match="inside"):
        with dtype_policy("mixed_bfloat16"):
            assert keras.config.dtype_policy().name == "mixed_bfloat16"
            raise RuntimeError("inside")
    assert keras.config.dtype_policy().name == "float32"
    with pytest.raises(ValueError, match="Unknown precision 'bf16'. Choose one of: float32, "
                                         "mixed_bfloat16, mixed_float16"):
        with dtype_policy("bf16"):
            pass
