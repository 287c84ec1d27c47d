"""The comparison harness' run cache, seeds, report and presets (benchmarks/compare.py and
benchmarks/comparison/).

The fast tests use made-up records (no training); the slow ones start the
harness on the plain CNN only (one tiny training a run) and kill it.
"""

import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import psutil
import pytest

from benchmarks import compare
from benchmarks.comparison import report as compare_report
from benchmarks.comparison import runs as compare_runs
from kerasnas.files import write_json

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def spec(**changes):
    base = dict(framework="kerasnas", experiment="custom-evolution",
                runner_experiment="custom-evolution", max_trials=2, epochs=1, seed=0, scale="tiny",
                batch_size=128, threads=1, timeout=300, data=(("train_size", 800),))
    return compare_runs.RunSpec(**{**base, **changes})


def record(framework, experiment, test, space="custom", completed=1):
    return {"framework": framework, "experiment": experiment, "space": space, "strategy": "s",
            "trials": [], "best_val_accuracy": test, "test_accuracy": test, "completed": completed,
            "failed": 0, "wall_seconds": 10.0, "mean_trial_seconds": 2.0, "overhead_per_trial": 1.0,
            "notes": [], "versions": {}}


def test_a_changed_setting_changes_the_cache_key_and_keeps_runs_apart(tmp_path):
    a = spec()
    assert a.key.startswith("kerasnas__custom-evolution__s0__") and len(a.digest) == 10
    assert spec().key == a.key  # deterministic
    for change in ({"epochs": 2}, {"seed": 1}, {"data": (("train_size", 10000),)},
                   {"variant": "add-op"}, {"scale": "reduced"}, {"timeout": 900}):
        assert spec(**change).key != a.key, change
    old = tmp_path / spec(epochs=2).key
    old.mkdir()
    write_json(str(old / compare_runs.RECORD), {"x": 1})
    (tmp_path / a.key).mkdir()  # in flight: no record
    assert compare_runs.finished(str(tmp_path), a) is None
    assert compare_runs.foreign_runs(str(tmp_path), [a]) == [spec(epochs=2).key]
    other = tmp_path / spec(framework="nni").key  # finished, but not planned this time
    other.mkdir()
    write_json(str(other / compare_runs.RECORD), {"x": 1})
    assert compare_runs.foreign_runs(str(tmp_path), [a]) == [spec(epochs=2).key]


def test_sweep_without_a_token_kills_nothing():
    assert compare_runs.sweep(None) == [] and compare_runs.sweep("") == []


def test_seeds_and_folders_and_the_middle_plan():
    args = compare.parse_args(["--preset", "middle", "--seeds", "2,0,1,0"])
    assert args.seeds == [0, 1, 2]
    specs = compare.plan(args)
    base = [s for s in specs if s.framework == "baseline" and s.seed == 0]
    # The plain CNN at one trial's epochs, and matched to 6 x 2 and 3 x 2 epochs of search.
    assert [(s.experiment, s.epochs, s.max_trials) for s in base] == [
        ("plain-cnn", 2, 1), ("plain-cnn-e6", 6, 1), ("plain-cnn-e12", 12, 1)]
    custom = [s for s in specs if s.experiment == "custom-evolution" and s.seed == 1]
    assert [(s.framework, s.max_trials, s.epochs, s.scale) for s in custom] == [
        ("kerasnas", 6, 2, "reduced"), ("nni", 6, 2, "reduced")]
    assert dict(specs[0].data)["train_size"] == 10000 and dict(specs[0].data)["test_size"] == 10000
    assert len({s.key for s in specs}) == len(specs)
    with pytest.raises(SystemExit):
        compare.parse_args(["--seeds", "0,x"])
    out, work = compare.folders(compare.parse_args(["--preset", "smoke"]))
    os.rmdir(out)  # made empty by folders()
    assert os.path.basename(out).startswith("compare-smoke-") and work == os.path.join(out, "work")
    out, _ = compare.folders(compare.parse_args(["--preset", "middle"]))
    assert out == os.path.join(ROOT, "reports")


def test_report_shows_means_missing_runs_and_paired_tests(tmp_path):
    seeds = [0, 1, 2]
    accs = {"kerasnas": [0.80, 0.82, 0.84], "nni": [0.70, 0.71, 0.75]}
    pairs = []
    for fw, values in accs.items():
        for seed, acc in zip(seeds, values):
            pairs.append((spec(framework=fw, seed=seed), record(fw, "custom-evolution", acc)))
    base = spec(framework="baseline", experiment="plain-cnn", runner_experiment="plain-cnn",
                max_trials=1)
    pairs += [(dataclasses.replace(base, seed=0), record("baseline", "plain-cnn", 0.9, "baseline")),
              (dataclasses.replace(base, seed=1), None)]  # not finished
    meta = {"preset": "smoke", "settings": compare.PRESETS["smoke"], "seeds": seeds, "threads": 1,
            "batch_size": 128, "data": {"train_size": 800, "val_size": 200, "test_size": 500,
                                        "split_seed": 0, "source": "test"},
            "date": "d", "machine": "m", "command": "c", "work": "w", "total_seconds": 1.0,
            "foreign_runs": ["old"], "matched_epochs": []}
    text = open(compare_report.write(pairs, meta, str(tmp_path))).read()
    for section in compare_report.SECTIONS:
        assert section + "\n" in text, section
    assert "| kerasnas | custom-evolution | custom | s | 3/3 | 0.8200 ± 0.0200 | 0.8200 ± 0.0200 |" in text
    assert "| baseline | plain-cnn | baseline | s | 1/3 | 0.9000 | 0.9000 |" in text
    assert "| kerasnas | custom-evolution | 0.8000 | 0.8200 | 0.8400 |" in text
    assert "| baseline | plain-cnn | 0.9000 |  |  |" in text
    # kerasnas - nni on 3 matched seeds: differences 0.10, 0.11, 0.09 (scipy: p 0.25 and ~0.0033).
    assert "| kerasnas/custom-evolution | nni/custom-evolution | 3 | 0.1000 | 0.250 | 0.003 |" in text
    assert "| kerasnas/custom-evolution | baseline/plain-cnn | 1 | -0.1000 | needs >= 3 seeds |  |" in text
    assert "1 planned run(s) not finished yet" in text and "baseline/plain-cnn seed 1" in text
    assert "1 finished run(s) in the work folder were made with other settings" in text
    assert "- code: commit unknown" in text
    # The opening verdict: kerasnas' study experiment against each peer on the shared space.
    assert "kerasnas >= the peer in 1 of 1 pairings" in text
    assert ("| custom | custom-evolution 0.8200 (3/3) | nni/custom-evolution 0.7200 (3/3) | +10.00 "
            "| 0.003 (3 seeds) | met | 10 / 10 s = 1.00x | not reached (0/3 seeds) | MISSED "
            "| 1.0 / 1.0 |") in text  # the records have no trial rows: nothing reaches the peer


def test_verdict_says_when_kerasnas_reaches_each_peers_best_val(tmp_path):
    trials = [{"end_seconds": 3.0, "val_accuracy": 0.70, "status": "COMPLETED"},
              {"end_seconds": 5.0, "val_accuracy": 0.75, "status": "COMPLETED"},
              {"end_seconds": 8.0, "val_accuracy": 0.72, "status": "COMPLETED"}]
    pairs = []
    for seed, peer_val in zip([0, 1, 2], [0.70, 0.75, 0.76]):  # reached at 3 s, 5 s, never
        pairs.append((spec(seed=seed), {**record("kerasnas", "custom-evolution", 0.8),
                                        "trials": trials}))
        pairs.append((spec(framework="nni", seed=seed),
                      {**record("nni", "custom-evolution", 0.7), "best_val_accuracy": peer_val,
                       "wall_seconds": 20.0}))
    meta = {"preset": "smoke", "settings": compare.PRESETS["smoke"], "seeds": [0, 1, 2],
            "threads": 1, "batch_size": 128, "data": {"train_size": 800, "val_size": 200,
                                                      "test_size": 500, "split_seed": 0,
                                                      "source": "test"},
            "date": "d", "machine": "m", "command": "c", "work": "w", "total_seconds": 1.0,
            "matched_epochs": []}
    text = open(compare_report.write(pairs, meta, str(tmp_path))).read()
    # (3 + 5) / 2 = 4 s on the 2 seeds that reach it, over NNI's 20 s there.
    assert "| 10 / 20 s = 0.50x | 4 s (2/3 seeds) = 0.20x peer wall | met |" in text
    assert "| kerasnas to peer's best val |" in text


def _harness(out, work, seeds):
    return [sys.executable, "-m", "benchmarks.compare", "--preset", "smoke",
            "--frameworks", "baseline", "--seeds", seeds, "--threads", "1", "--out", str(out),
            "--work-dir", str(work)]


def _marked(token):
    found = []
    for p in psutil.process_iter():
        try:
            if p.environ().get(compare_runs.MARKER) == token:
                found.append(p.pid)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            pass
    return found


@pytest.mark.slow
def test_a_harness_killed_mid_run_resumes_without_redoing_finished_runs(tmp_path):
    work = tmp_path / "work"
    proc = subprocess.Popen(_harness(tmp_path, work, "0,1"), cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    first = second = None
    while time.time() < deadline and second is None:  # seed 0 done, seed 1 in flight
        time.sleep(0.5)
        done = sorted(work.glob(f"*/{compare_runs.RECORD}"))
        flying = [d for d in work.glob("baseline__plain-cnn__s1__*") if (d / "log.txt").exists()]
        if len(done) == 1 and flying:
            first, second = done[0], flying[0]
    assert second is not None, "the harness did not reach the second run"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (second / compare_runs.RECORD).exists()
    orphan = json.loads((second / compare_runs.SETTINGS).read_text())["token"]
    kept = first.read_text()

    rerun = subprocess.run(_harness(tmp_path, work, "0,1"), cwd=ROOT, capture_output=True,
                           text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stdout[-2000:] + rerun.stderr[-2000:]
    assert f"{first.parent.name}: finished earlier, kept" in rerun.stdout
    assert first.read_text() == kept  # not redone
    assert json.loads((second / compare_runs.RECORD).read_text())["completed"] == 1
    assert json.loads((second / compare_runs.SETTINGS).read_text())["seed"] == 1
    assert "| baseline | plain-cnn | plain CNN (fixed) | none | 2/2 |" in (tmp_path / "compare.md").read_text()
    assert _marked(orphan) == []  # the killed harness' runner was swept before the redo


def test_the_harness_runs_as_a_file_from_any_folder(tmp_path):
    """`python benchmarks/compare.py` reruns itself as `python -m benchmarks.compare`."""
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "compare.py"), "--help"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "python -m benchmarks.compare --preset smoke" in proc.stdout


@pytest.mark.slow
def test_smoke_without_out_leaves_the_committed_report_untouched():
    committed = os.path.join(ROOT, "reports", "compare.md")
    before = open(committed, "rb").read(), os.stat(committed).st_mtime_ns
    proc = subprocess.run([sys.executable, "-m", "benchmarks.compare",
                           "--preset", "smoke", "--frameworks", "baseline", "--threads", "1"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert (open(committed, "rb").read(), os.stat(committed).st_mtime_ns) == before
    written = proc.stdout.strip().splitlines()[-1].split("report: ")[1].split(" (")[0]
    assert os.path.basename(os.path.dirname(written)).startswith("compare-smoke-")
    assert os.path.exists(written) and not written.startswith(os.path.join(ROOT, "reports"))
    shutil.rmtree(os.path.dirname(written))


def test_flex_table_counts_each_change_and_says_what_was_not_attempted():
    from benchmarks.comparison.flex_report import flex_table

    table = flex_table([]).set_index(["framework", "change"])
    # Lines of the change's own definitions + lines edited inside existing ones.
    assert table.lines.to_dict() == {
        ("kerasnas", "add-op"): 10, ("kerasnas", "swap-strategy"): 3, ("kerasnas", "skeleton"): 3,
        ("autokeras", "add-op"): "—", ("autokeras", "swap-strategy"): 6,
        ("autokeras", "skeleton"): 3, ("nni", "add-op"): 14, ("nni", "swap-strategy"): 6,
        ("nni", "skeleton"): 4}
    assert table.run[("autokeras", "add-op")] == "not attempted (see how)"
    assert table.run[("nni", "skeleton")] == "not run in this sitting"


@pytest.mark.slow
def test_the_flexibility_changes_run_at_smoke_size(tmp_path):
    # kerasnas and AutoKeras here (~2-3 min); NNI's three take ~4 min more: same command with nni.
    proc = subprocess.run([sys.executable, "-m", "benchmarks.compare",
                           "--preset", "smoke", "--flex", "--frameworks", "kerasnas,autokeras",
                           "--threads", "1", "--out", str(tmp_path), "--work-dir",
                           str(tmp_path / "work")], cwd=ROOT, capture_output=True, text=True,
                          timeout=1200)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    text = (tmp_path / "compare_flex.md").read_text()
    rows = {tuple(cell.strip() for cell in line.split("|")[1:3]): line for line in text.splitlines()
            if line.startswith("| kerasnas") or line.startswith("| autokeras")}
    for key in [("kerasnas", c) for c in ("add-op", "swap-strategy", "skeleton")] + [
            ("autokeras", "swap-strategy"), ("autokeras", "skeleton")]:
        assert "| ran: 1 trial(s) completed" in rows[key], rows[key]
    assert "| not expressible: no cell space" in rows[("autokeras", "add-op")]
    assert "5 of 9 changes ran to at least one completed trial." in text
    results = json.loads((tmp_path / "work" / "results.json").read_text())["results"]
    added = next(r for r in results if r["framework"] == "kerasnas" and r["variant"] == "add-op")
    assert "'fac_conv_7x1_1x7'" in added["notes"][0]  # the op is among the space's choices
    tpe = next(r for r in results if r["framework"] == "kerasnas" and r["variant"] == "swap-strategy")
    assert tpe["strategy"] == "tpe"


def test_verdict_sets_each_search_beside_the_compute_matched_cnn(tmp_path):
    pairs = []
    for seed, acc in zip([0, 1, 2], [0.80, 0.82, 0.84]):
        pairs.append((spec(seed=seed), record("kerasnas", "custom-evolution", acc)))
        cnn = spec(framework="baseline", experiment="plain-cnn-e2", runner_experiment="plain-cnn",
                   max_trials=1, epochs=2, seed=seed)
        pairs.append((cnn, record("baseline", "plain-cnn-e2", 0.83, "baseline")))
    meta = {"preset": "smoke", "settings": compare.PRESETS["smoke"], "seeds": [0, 1, 2],
            "threads": 1, "batch_size": 128, "data": {"train_size": 800, "val_size": 200,
                                                      "test_size": 500, "split_seed": 0,
                                                      "source": "test"},
            "date": "d", "machine": "m", "command": "c", "work": "w", "total_seconds": 1.0,
            "matched_epochs": [2], "note": "alone on the machine"}
    text = open(compare_report.write(pairs, meta, str(tmp_path))).read()
    # 2 trials x 1 epoch = the CNN's 2 epochs; mean 0.82 vs 0.83: the search loses by a point.
    assert ("| kerasnas/custom-evolution | 3/3 | 0.8200 | plain-cnn-e2 0.8300 | -1.00 | "
            "0.478 (3 seeds) | no | 10 / 10 s |") in text  # t = -0.87, df 2
    assert "0 of 1 searches beat the hand-made CNN" in text
    assert "no shared space has finished runs of kerasnas and a peer yet" in text
    assert "- conditions: alone on the machine" in text


def test_autokeras_resnet_block_searches_kerasnas_resnet_space():
    """The AutoKeras block declares the same knobs, ranges and defaults as ResNetSpace
    (less the dropout, which AutoKeras' head searches), and builds the same body."""
    ak = pytest.importorskip("autokeras")
    import keras
    import keras_tuner

    from benchmarks.comparison.frameworks.autokeras_runner import resnet_block
    from kerasnas.spaces import ResNetSpace

    def declared(build):
        hp = keras_tuner.HyperParameters()
        x = build(hp, keras.Input((28, 28, 1)))
        configs = {h.name.split("/")[-1]: h.get_config() for h in hp.space}
        for config in configs.values():
            config["name"] = config["name"].split("/")[-1]  # AutoKeras scopes names by block
        return configs, x.shape

    ours, ours_shape = declared(lambda hp, x: ResNetSpace().features(hp, x)[0])
    theirs, theirs_shape = declared(lambda hp, x: resnet_block(ak, {})().build(hp, x))
    del ours["dropout"]
    assert theirs == ours and theirs_shape == ours_shape
    assert set(ours) == {"stem_width", "stages", "blocks_per_stage", "kernel_size"}


def test_run_notes_say_once_what_every_seed_shares():
    runs = [{"framework": "nni", "experiment": "e", "seed": 0, "notes": ["shim", "on port 4101"]},
            {"framework": "nni", "experiment": "e", "seed": 1,
             "notes": ["shim", "on port 5202", "trial 3 diverged"]}]
    assert compare_report.run_notes(runs) == [
        "- **nni / e (seeds 0, 1)**: shim; on port N", "  - seed 1 only: trial 3 diverged"]


def test_best_so_far_mean_band_starts_when_every_seed_has_a_trial_and_holds_the_best():
    import numpy as np

    mean, low, high = compare_report.mean_band([[(1, 0.5), (3, 0.7)], [(2, 0.6)]],
                                               np.array([0, 1, 2, 3, 4]))
    assert np.allclose(mean, [np.nan, np.nan, 0.55, 0.65, 0.65], equal_nan=True)
    assert np.allclose(low, [np.nan, np.nan, 0.5, 0.6, 0.6], equal_nan=True)
    assert np.allclose(high, [np.nan, np.nan, 0.6, 0.7, 0.7], equal_nan=True)
