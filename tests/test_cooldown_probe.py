"""benchmarks/cooldown_probe.py: a rung checkpoint scored as saved and after cool-downs."""

import json

import keras
import pytest

from benchmarks.cooldown_probe import main
from kerasnas.progress import Reporter
from kerasnas.search import search
from kerasnas.spaces import ResNetSpace


@pytest.mark.slow
def test_a_checkpoint_is_scored_as_saved_and_after_each_cool_down(tmp_path, tiny_splits):
    run = tmp_path / "run"
    search(ResNetSpace(stem_width=8, stages=1, kernel_size=3), "random", tiny_splits,
           budget_epochs=5, batch_size=32, seed=0, directory=str(run), reporter=Reporter())
    out = tmp_path / "probe.jsonl"
    assert main([str(run), "--trials", "0,1", "--cooldowns", "0.125,0.25", "--out", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["trial"] for r in rows] == ["0", "1"]
    val = tiny_splits.dataset("val", batch_size=32)
    for row in rows:
        saved = keras.models.load_model(run / "search" / f"trial_{row['trial']}" / "model.keras")
        assert row["as_saved"] == pytest.approx(saved.evaluate(val, verbose=0, return_dict=True)["accuracy"])
        # The branch decays from the trial's own saved rate.
        assert row["rate"] == pytest.approx(
            float(keras.ops.convert_to_numpy(saved.optimizer.learning_rate)))
    assert any(r[f"cooled {c}"] != r["as_saved"] for r in rows for c in ("0.125", "0.25"))


def test_a_folder_that_is_not_a_run_is_refused_naming_it(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([str(tmp_path), "--trials", "0"])
    assert exit_info.value.code == 2
    assert f"{tmp_path} is not a kerasnas run folder (no run.json)" in capsys.readouterr().err
