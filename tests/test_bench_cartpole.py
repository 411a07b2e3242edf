"""Tests for benchmarks/bench_cartpole.py's seed sets: a held-out set is only held out if no
other set, tuning or held-out, shares a seed with it."""

import sys
from itertools import combinations
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import bench_cartpole  # noqa: E402


def test_no_two_seed_sets_share_a_seed_and_each_held_out_set_has_20():
    sets = bench_cartpole.SEED_SETS
    for (name_a, a), (name_b, b) in combinations(sets.items(), 2):
        assert not set(a) & set(b), (name_a, name_b)
    for name, seeds in sets.items():
        assert len(set(seeds)) == len(seeds), name
        if name.startswith("held-out"):
            assert len(seeds) >= 20, name


@pytest.mark.parametrize("name, seeds", [
    ("held-out", list(range(2000, 2020))), ("held-out-2", list(range(3000, 3020))),
    ("held-out-3", list(range(4000, 4020))), ("held-out-4", list(range(5000, 5020))),
    ("held-out-5", list(range(6000, 6020))), ("held-out-6", list(range(7000, 7020))),
    ("held-out-7", list(range(8000, 8020))),
    ("tuning", [100, 101, 102, 103, *range(1000, 1010)]), ("7:3", [7, 8, 9]), ("0:1", [0]),
    ("4001,4005,101", [4001, 4005, 101]), ("5", [5]), ("0,1", [0, 1]),
])
def test_seed_set_by_hand(name, seeds):
    assert bench_cartpole.seed_set(name) == seeds


def test_the_help_names_every_seed_set_with_its_ranges():
    text = bench_cartpole.describe_seed_sets()
    assert text.startswith("'held-out' (2000-2019), 'held-out-2' (3000-3019), ")
    assert "'held-out-6' (7000-7019), 'held-out-7' (8000-8019)" in text
    assert text.endswith("'tuning' (100-103, 1000-1009)")
    assert all(f"'{name}' (" in text for name in bench_cartpole.SEED_SETS)


def test_seed_set_returns_a_copy_that_leaves_the_set_as_it_was():
    seeds = bench_cartpole.seed_set("held-out")
    seeds.append(-1)
    assert bench_cartpole.HELD_OUT_SEEDS == list(range(2000, 2020))


@pytest.mark.parametrize("name", ["", "held-out-8", "HELD-OUT", "5000:", ":20", "5000:0",
                                  "5000:-1", "-1:3", "a:b", "1.5:2", "1:2:3", "1,1", "1,,2", "1,",
                                  ",1", "1, 2", "-1,2", "1,2:3", "1.0,2"])
def test_bad_seed_set_name_is_one_clear_error(name):
    with pytest.raises(ValueError, match=r"--seeds must be one of held-out, .* got "):
        bench_cartpole.seed_set(name)


def test_the_cli_refuses_a_bad_seed_set_before_running_anything(tmp_path, capsys):
    with pytest.raises(SystemExit):
        bench_cartpole.main(["--seeds", "held-out-9", "--out", str(tmp_path / "out")])
    assert "--seeds must be one of" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_set_reads_literals_and_keeps_a_bare_word_as_a_string():
    fields = {"noise_resample", "learning_rate_end", "hidden_sizes", "noisy_hidden"}
    changes = bench_cartpole.parse_changes(
        ["noise_resample=episode", "learning_rate_end=1e-6", "hidden_sizes=(64, 64)",
         "noisy_hidden=True"], fields)
    assert changes == {"noise_resample": "episode", "learning_rate_end": 1e-6,
                       "hidden_sizes": (64, 64), "noisy_hidden": True}
    assert bench_cartpole.parse_changes(["noise_resample='episode'"], fields) == {
        "noise_resample": "episode"}


@pytest.mark.parametrize("item, message", [
    ("learning_rate", "--set must be FIELD=VALUE, got 'learning_rate'"),
    ("=1e-3", "--set must be FIELD=VALUE, got '=1e-3'"),
    ("learning_rate=", "--set must be FIELD=VALUE, got 'learning_rate='"),
    ("no_such_field=1", "--set: Config has no field 'no_such_field'"),
    ("noise_resample=sometimes", "noise_resample"),
    ("learning_rate=fast", "learning_rate"),
])
def test_a_bad_set_is_one_clear_line_before_anything_runs(item, message, tmp_path, capsys):
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exit_info:
        bench_cartpole.main(["--agents", "ours", "--seeds", "0", "--out", str(out),
                             "--set", item])
    assert exit_info.value.code == 2
    printed = capsys.readouterr().err
    assert "Traceback" not in printed
    error = printed.strip().splitlines()[-1]
    assert ": error: " in error and message in error, error
    assert not out.exists()
