"""benchmarks/proxies.py: a smoke run writes its report, a rerun resumes, bad flags exit."""

import json
import os

import pytest

from benchmarks import proxies

TINY = ["--space-option", "nasbench201:channels=4", "--space-option", "nasbench201:cells_per_stage=1",
        "--space-option", "resnet:stem_width=8"]


@pytest.mark.slow
def test_smoke_run_reports_every_proxy_and_a_rerun_trains_nothing(tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["--smoke", "--spaces", "nasbench201,resnet", "--out", str(out), *TINY, "--note", "test"]
    assert proxies.main(argv) == 0
    lines = (out / "results.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert sorted((r["space"], r["index"]) for r in records) == [
        ("nasbench201", 0), ("nasbench201", 1), ("nasbench201", 2),
        ("resnet", 0), ("resnet", 1), ("resnet", 2)]
    assert all(set(r["scores"]) == {"naswot", "synflow", "params", "flops"} for r in records)
    assert all(0 <= r["val_accuracy"] <= 1 and r["train_size"] == 200 for r in records)
    report = (out / "proxies.md").read_text()
    for space in ("nasbench201", "resnet"):
        for proxy in ("naswot", "synflow", "params", "flops"):
            assert f"| {space} | {proxy} |" in report
    assert "Note: test" in report and "--smoke" in report and "Versions: python" in report
    capsys.readouterr()
    assert proxies.main(argv) == 0  # resumed: every result is there
    assert (out / "results.jsonl").read_text().splitlines() == lines
    assert "val acc" not in capsys.readouterr().out


def test_a_torn_last_line_is_skipped_and_settings_key_the_results(tmp_path):
    path = tmp_path / "results.jsonl"
    path.write_text(json.dumps({"key": "k", "space": "resnet", "seed": 0, "index": 0}) + "\n{\"key\": ")
    assert list(proxies.load_results(str(path))) == [("k", "resnet", 0, 0)]
    a = proxies.parse_args(["--out", str(tmp_path)])
    b = proxies.parse_args(["--out", str(tmp_path), "--epochs", "2"])
    assert proxies.settings_key(a, "resnet") != proxies.settings_key(b, "resnet")
    assert proxies.settings_key(a, "resnet") == proxies.settings_key(
        proxies.parse_args(["--out", str(tmp_path), "--archs", "40"]), "resnet")  # more archs: reused


@pytest.mark.parametrize("flag, message", [
    (["--spaces", "mlp"], "--spaces: unknown ['mlp']"),
    (["--space-option", "channels=4"], "--space-option expects SPACE:KEY=VALUE"),
    (["--proxy-images", "1"], "--proxy-images must be >= 2"),
    (["--archs", "0"], "--archs must be >= 1"),
])
def test_bad_flags_exit_with_the_flag_named(flag, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        proxies.parse_args(["--out", str(tmp_path), *flag])
    assert exit_.value.code == 2 and message in capsys.readouterr().err
    assert not os.path.exists(tmp_path / "results.jsonl")


def test_a_proxy_beats_params_only_with_a_higher_mean_and_on_every_seed():
    assert proxies.beats_params([0.28, 0.52, 0.40], [0.16, 0.34, 0.25]) == "yes (3/3 seeds)"
    # custom's NASWOT against params over seeds 0-2: a higher mean, behind on seed 0
    assert proxies.beats_params([0.24, 0.49, 0.35], [0.35, 0.48, 0.11]) == "no (2/3 seeds)"
    assert proxies.beats_params([0.5, 0.2], [0.4, 0.3]) == "no (1/2 seeds)"
    assert proxies.beats_params([0.5, float("nan")], [0.4, 0.3]) == "n/a"
    assert proxies.beats_params([], []) == "n/a"
