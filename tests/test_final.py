"""Final training: the augmentation is exactly pad + crop + flip, seeded; retrain's contract."""

import keras
import numpy as np
import pytest

from kerasnas.datasets import to_dataset
from kerasnas.final import augmented_dataset, retrain
from kerasnas.spaces.resnet import ResNetSpace

TINY = dict(stem_width=4, stages=1, blocks_per_stage=1, kernel_size=3, dropout=0.0)


def images(ds):
    return np.concatenate([x.numpy() for x, _ in ds])


def raw(x):
    return x.astype("float32")[..., None]  # the models normalise: the pipeline feeds raw pixels


def how_made(out, originals, pad=2):
    """(dy, dx, flipped) such that padding, cropping at (dy, dx) and flipping an original gives `out`."""
    n = out.shape[0]
    for image in originals:
        padded = np.pad(image, ((pad, pad), (pad, pad), (0, 0)), constant_values=0)
        for dy in range(2 * pad + 1):
            for dx in range(2 * pad + 1):
                crop = padded[dy:dy + n, dx:dx + n]
                for flipped in (False, True):
                    if np.array_equal(out, crop[:, ::-1] if flipped else crop):
                        return dy - pad, dx - pad, flipped
    return None


def test_augmentation_is_pad_crop_flip_and_seeded(synthetic_splits):
    x, y = synthetic_splits.x_train[:64], synthetic_splits.y_train[:64]
    ds = augmented_dataset(x, y, batch_size=16, seed=3)
    first, second = images(ds), images(ds)  # two epochs
    assert first.shape == (64, 28, 28, 1) and first.dtype == np.float32
    made = [how_made(out, raw(x)) for out in first]
    assert None not in made  # every image is a padded, cropped, maybe flipped original
    assert {f for _, _, f in made} == {False, True}
    assert sum((dy, dx) != (0, 0) for dy, dx, _ in made) > 32  # 24 in 25 draws move the image
    assert not np.array_equal(first, second)  # a new augmentation each epoch
    again = augmented_dataset(x, y, batch_size=16, seed=3)
    np.testing.assert_array_equal(images(again), first)
    np.testing.assert_array_equal(images(again), second)
    assert not np.array_equal(images(augmented_dataset(x, y, batch_size=16, seed=4)), first)


def test_no_pad_no_flip_is_the_plain_shuffled_data(synthetic_splits):
    x, y = synthetic_splits.x_train[:32], synthetic_splits.y_train[:32]
    out = images(augmented_dataset(x, y, batch_size=8, seed=0, pad=0, flip=False))
    plain = raw(x)
    order = [next(i for i, o in enumerate(plain) if np.array_equal(o, im)) for im in out]
    assert sorted(order) == list(range(32))
    with pytest.raises(ValueError, match="`pad` must be an int >= 0"):
        augmented_dataset(x, y, batch_size=8, pad=-1)


def test_random_erasing_replaces_one_rectangle_with_values_in_the_images_range(synthetic_splits):
    x, y = synthetic_splits.x_train[:64], synthetic_splits.y_train[:64]
    plain = images(augmented_dataset(x, y, batch_size=16, seed=5))
    erased = images(augmented_dataset(x, y, batch_size=16, seed=5, erase=1.0))
    for before, after in zip(plain, erased):  # same order, crops and flips: only the erasing differs
        changed = before != after
        rows, cols = np.flatnonzero(changed.any(axis=(1, 2))), np.flatnonzero(changed.any(axis=(0, 2)))
        box = changed[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
        assert box.all()  # one filled rectangle, nothing changed outside it
        assert 1 <= box.size <= 0.4 * 28 * 28 + 28  # 2-40 % of the image, give or take rounding
        values = after[changed]
        assert values.min() >= before.min() and values.max() <= before.max()
    half = images(augmented_dataset(x, y, batch_size=16, seed=5, erase=0.5))
    erased_count = sum(not np.array_equal(a, b) for a, b in zip(plain, half))
    assert 16 <= erased_count <= 48  # Binomial(64, 1/2): 4 standard deviations either side
    for bad in (1.5, -0.1, np.float32(1.01), True, "0.5"):
        with pytest.raises(ValueError, match="`erase` must be a probability in"):
            augmented_dataset(x, y, batch_size=8, erase=bad)


def test_a_holdout_retraining_trains_on_train_only_and_scores_on_validation(synthetic_splits):
    space = ResNetSpace(**TINY)
    lines = []
    model, accuracy, _ = retrain(space, {"optimizer": "sgd", "learning_rate": 0.05}, synthetic_splits,
                                 epochs=1, batch_size=64, erase=0.5, holdout=True, log=lines.append)
    assert int(model.optimizer.iterations) == -(-200 // 64) == 4  # the 50 validation images unused
    assert "on 200 images (pad 2 + crop + flip + erasing p=0.5)" in lines[0]
    assert lines[-1].startswith("final: val accuracy ")
    val = to_dataset(synthetic_splits.x_val, synthetic_splits.y_val, batch_size=64)
    assert accuracy == model.evaluate(val, verbose=0, return_dict=True)["accuracy"]


def test_retrain_trains_on_train_plus_val_and_tests_once(synthetic_splits):
    space = ResNetSpace(**TINY)
    values = {"optimizer": "sgd", "learning_rate": 0.05, "momentum": 0.8}
    lines = []
    model, test_accuracy, history = retrain(space, values, synthetic_splits, epochs=1, batch_size=64,
                                            seed=0, log=lines.append)
    n = len(synthetic_splits.y_train) + len(synthetic_splits.y_val)  # 250
    assert int(model.optimizer.iterations) == -(-n // 64) == 4
    assert f"on {n} images" in lines[0] and len(lines) == 3
    assert list(history) == ["accuracy", "loss"] and len(history["loss"]) == 1
    # The trial's optimizer and settings, its learning rate decayed by a cosine to 0.
    opt = model.optimizer
    assert isinstance(opt, keras.optimizers.SGD) and opt.nesterov
    assert float(opt.momentum) == pytest.approx(0.8)
    schedule = opt.get_config()["learning_rate"]
    assert schedule["class_name"] == "CosineDecay"
    assert schedule["config"]["initial_learning_rate"] == pytest.approx(0.05)
    assert schedule["config"]["decay_steps"] == 4 and schedule["config"]["alpha"] == 0.0
    assert float(opt.learning_rate) == pytest.approx(0.0, abs=1e-9)  # decayed to 0 by the last step
    test = to_dataset(synthetic_splits.x_test, synthetic_splits.y_test, batch_size=64)
    assert test_accuracy == model.evaluate(test, verbose=0, return_dict=True)["accuracy"]
    assert model.input_shape == (None, 28, 28, 1)  # no augmentation layer inside


def test_retrain_refuses_bad_epochs(synthetic_splits):
    with pytest.raises(ValueError, match="`epochs` must be an int >= 1"):
        retrain(ResNetSpace(**TINY), {}, synthetic_splits, epochs=0)


def test_an_interrupted_final_training_resumes_at_the_next_epoch(synthetic_splits, tmp_path):
    space = ResNetSpace(**TINY)
    values = {"optimizer": "sgd", "learning_rate": 0.05, "momentum": 0.8}
    backup = tmp_path / "backup"

    def crash_after_epoch_2(line):
        if line.startswith("final: epoch 2/3"):
            raise KeyboardInterrupt  # as a session's end or a kill would stop it
    with pytest.raises(KeyboardInterrupt):
        retrain(space, values, synthetic_splits, epochs=3, batch_size=64, backup_dir=str(backup),
                log=crash_after_epoch_2)
    assert backup.is_dir()
    model, _, history = retrain(space, values, synthetic_splits, epochs=3, batch_size=64,
                                backup_dir=str(backup), log=None)
    assert len(history["loss"]) == 1  # only epoch 3 was left
    assert int(model.optimizer.iterations) == 3 * 4  # the schedule went on where it stopped
    assert float(model.optimizer.learning_rate) == pytest.approx(0.0, abs=1e-9)
    assert not backup.exists()  # deleted once training ended
