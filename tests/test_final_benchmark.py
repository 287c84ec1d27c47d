"""`python -m benchmarks.final`: each recipe keeps its own checkpoints; bad flags exit before any training."""

import pytest

from benchmarks import final


def test_each_final_recipe_has_its_own_checkpoint_folder_model_and_report():
    names = {final.recipe_suffix(h, e) for h in (False, True) for e in (0.0, 0.5, 0.25)}
    assert len(names) == 6  # no two recipes share a folder
    assert final.recipe_suffix(False, 0.0) == ""  # the standard recipe: RUN_DIR/final_backup
    assert final.recipe_suffix(True, 0.5) == "_holdout_erase0.5"


@pytest.mark.parametrize("p", ["1.5", "-0.1"])
def test_a_random_erasing_probability_outside_0_1_exits_with_the_flag_named(p, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        final.main([str(tmp_path), "--random-erasing", p])
    assert exit_.value.code == 2
    assert "--random-erasing must be a probability in [0, 1]" in capsys.readouterr().err


def test_a_folder_without_a_finished_search_exits_with_the_fix(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        final.main([str(tmp_path / "nothing")])
    assert exit_.value.code == 2
    assert "has no summary.json: give the folder of a finished search" in capsys.readouterr().err
