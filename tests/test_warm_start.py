"""Tests for `train(warm_start=...)` / `train --warm-start` (noisy_helpers/training.py): a
new run that starts from an exported agent, when its run's checkpoint and replay are gone."""

import json

import numpy as np
import pytest

import noisy_helpers as nh
from noisy_helpers import Config
from noisy_helpers.cli import main
from noisy_helpers.training import load_run_state
from state import tree_hashes

ENV = "CartPole-v1"


def small(**changes):
    return Config.small(**changes)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A 600-step run (learning from step 100) and its last agent, exported."""
    root = tmp_path_factory.mktemp("warm")
    nh.train(small(), ENV, out=root / "run", progress=False, tensorboard=False)
    nh.export_agent(root / "run", root / "export", which="last")
    return root / "export"


def exported_online(export):
    """The exported online network's trainable weights."""
    agent, _, _ = nh.load_agent(export)
    return [v.numpy().copy() for v in agent.online.trainable_variables]


def test_a_warm_start_begins_with_the_exported_weights_a_fresh_adam_and_an_empty_replay(
        exported, tmp_path):
    # 650 steps from 600 with learning_starts 100: the run acts but never learns, so its
    # networks are exactly what the warm start gave them.
    run = nh.train(small(total_steps=650), ENV, out=tmp_path, progress=False,
                   tensorboard=False, warm_start=exported)
    for mine, theirs in zip(run.agent.online.trainable_variables, exported_online(exported)):
        np.testing.assert_array_equal(mine.numpy(), theirs)
    for online, target in zip(run.agent.online.trainable_variables,
                              run.agent.target.trainable_variables):
        np.testing.assert_array_equal(online.numpy(), target.numpy())
    assert int(run.agent.optimizer.iterations.numpy()) == 0 and run.agent.train_steps == 0
    assert len(run.buffer) == 50  # only this run's transitions


def test_learning_waits_for_learning_starts_new_transitions(exported, tmp_path):
    run = nh.train(small(total_steps=900), ENV, out=tmp_path, progress=False,
                   tensorboard=False, warm_start=exported)
    # Updates every step after step 600 + learning_starts (100): steps 701..900.
    assert run.agent.train_steps == 200
    metrics = run.metrics()
    learned = metrics["step"][~np.isnan(metrics["loss"])]
    assert learned[learned > 600].min() > 700


def test_the_step_counts_and_metrics_go_on_from_the_export(exported, tmp_path):
    run = nh.train(small(total_steps=900), ENV, out=tmp_path, progress=False,
                   tensorboard=False, warm_start=exported)
    state = load_run_state(tmp_path)
    before = nh.read_metrics(exported / "metrics.csv")
    after = run.metrics()
    old = after["step"] <= 600
    np.testing.assert_array_equal(after["step"][old], before["step"])
    np.testing.assert_array_equal(after["episode_return"][old], before["episode_return"])
    assert after["step"][~old].min() > 600 and state["step"] == 900
    exported_state = json.loads((exported / "checkpoint" / "state.json").read_text())
    assert state["episode"] > exported_state["episode"]
    assert state["evaluation"] == 3  # evaluations at 300, 600 (the export's) and 900


def test_the_checkpoint_records_the_warm_start_and_a_resume_keeps_it(exported, tmp_path):
    nh.train(small(total_steps=800), ENV, out=tmp_path, progress=False, tensorboard=False,
             warm_start=exported)
    record = load_run_state(tmp_path)["warm_start"]
    exported_state = json.loads((exported / "checkpoint" / "state.json").read_text())
    assert record == dict(source=str(exported), run_id=exported_state["run_id"], step=600,
                          which="last", optimizer="fresh", replay="refilled")
    resumed = nh.train(small(total_steps=900), ENV, out=tmp_path, progress=False,
                       tensorboard=False, resume=True)
    assert load_run_state(tmp_path)["warm_start"] == record
    assert resumed.agent.train_steps == 200  # 701..900: no learning before 700 on resume either


def test_one_seed_repeats_a_warm_started_run(exported, tmp_path):
    first = nh.train(small(total_steps=800), ENV, out=tmp_path / "a", progress=False,
                     tensorboard=False, warm_start=exported)
    second = nh.train(small(total_steps=800), ENV, out=tmp_path / "b", progress=False,
                      tensorboard=False, warm_start=exported)
    for a, b in zip(first.agent.online.variables, second.agent.online.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def _bad_warm_starts(exported, tmp_path):
    """(name, call, error, message) for each bad warm start."""
    nh.train(small(total_steps=300), ENV, out=tmp_path / "a_run", progress=False,
             tensorboard=False)
    other_net = tmp_path / "other_net"
    nh.train(small(total_steps=300, hidden_sizes=(16,)), ENV, out=tmp_path / "run16",
             progress=False, tensorboard=False)
    nh.export_agent(tmp_path / "run16", other_net, which="last")
    out = tmp_path / "out"
    return [
        ("a run folder", lambda: nh.train(small(), ENV, out=out, warm_start=tmp_path / "a_run"),
         ValueError, "must be an exported agent"),
        ("another env", lambda: nh.train(small(), "Acrobot-v1", out=out, warm_start=exported),
         ValueError, "not env_id 'Acrobot-v1'"),
        ("no steps left", lambda: nh.train(small(total_steps=600), ENV, out=out,
                                           warm_start=exported),
         ValueError, "would train nothing"),
        ("another network", lambda: nh.train(small(), ENV, out=out, warm_start=other_net),
         ValueError, "another network"),
        ("with resume", lambda: nh.train(small(total_steps=900), ENV, out=tmp_path / "a_run",
                                         resume=True, warm_start=exported),
         ValueError, "exclude each other"),
        ("out is the export", lambda: nh.train(small(total_steps=900), ENV, out=exported,
                                               overwrite=True, warm_start=exported),
         ValueError, "out must differ from warm_start"),
        ("not a path", lambda: nh.train(small(), ENV, out=out, warm_start=123),
         TypeError, "warm_start must be a path"),
        ("no such folder", lambda: nh.train(small(), ENV, out=out,
                                            warm_start=tmp_path / "missing"),
         FileNotFoundError, "missing"),
    ]


def test_bad_warm_starts_are_one_error_and_change_nothing_on_disk(exported, tmp_path):
    cases = _bad_warm_starts(exported, tmp_path)
    for name, call, error, message in cases:
        before = tree_hashes(tmp_path), tree_hashes(exported)
        with pytest.raises(error, match=message):
            call()
        assert (tree_hashes(tmp_path), tree_hashes(exported)) == before, name
        assert not (tmp_path / "out").exists(), name


def test_a_damaged_export_is_refused_before_anything_is_written(exported, tmp_path):
    import shutil

    damaged = tmp_path / "damaged"
    shutil.copytree(exported, damaged)
    weights = damaged / "checkpoint" / "online.weights.h5"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="online.weights.h5"):
        nh.train(small(total_steps=900), ENV, out=tmp_path / "out", warm_start=damaged)
    assert not (tmp_path / "out").exists()


def test_the_cli_takes_the_env_from_the_export_and_says_a_bad_one_in_one_line(
        exported, tmp_path, capsys):
    code = main(["train", "--small", "--total-steps", "700", "--warm-start", str(exported),
                 "--out", str(tmp_path / "cli"), "--no-progress"])
    assert code == 0
    state = load_run_state(tmp_path / "cli")
    assert state["env_id"] == ENV and state["warm_start"]["step"] == 600
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        main(["train", "--small", "--warm-start", str(tmp_path / "cli"), "--out",
              str(tmp_path / "cli2")])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and len(err.strip().splitlines()) == 1
    assert "exported agent" in err and not (tmp_path / "cli2").exists()


def test_the_plots_mark_the_warm_start_and_a_fresh_run_has_none(exported, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    nh.train(small(total_steps=700), ENV, out=tmp_path, progress=False, tensorboard=False,
             warm_start=exported)
    record = nh.read_warm_start(tmp_path)
    assert record["step"] == 600
    assert nh.read_warm_start(exported) is None  # its run started from scratch
    for plot in (nh.plot_learning_curve, nh.plot_noise):
        fig, ax = plt.subplots()
        plot(nh.read_metrics(tmp_path / "metrics.csv"), ax=ax, warm_start=record)
        labels = [line.get_label() for line in ax.get_lines()]
        assert "warm start at step 600 (Adam fresh, replay refilled)" in labels, plot
        plt.close(fig)
    assert {p.name for p in nh.save_run_plots(tmp_path)} == {"learning_curve.png", "sigma.png"}


def test_save_run_plots_verifies_best_once_and_never_the_checkpoint(exported, tmp_path,
                                                                     monkeypatch):
    """An Atari run's best/ is 13 MB and its checkpoint/ holds a 0.7 GB replay: one plot
    hashes best/ once (for both the best's star and the warm start's line) and nothing else."""
    import matplotlib

    matplotlib.use("Agg")
    from noisy_helpers import run_folder

    nh.train(small(total_steps=900), ENV, out=tmp_path, progress=False, tensorboard=False,
             warm_start=exported)
    assert (tmp_path / "best").is_dir() and (tmp_path / "checkpoint").is_dir()
    verified, verify = [], run_folder.verify_checkpoint

    def counting(directory, *args, **kwargs):
        verified.append(directory.name)
        return verify(directory, *args, **kwargs)

    monkeypatch.setattr(run_folder, "verify_checkpoint", counting)
    nh.save_run_plots(tmp_path)
    assert verified == ["best"]


def test_an_export_with_the_optimizer_warm_starts_with_adam_and_the_target_loaded(tmp_path):
    run = nh.train(small(), ENV, out=tmp_path / "run", progress=False, tensorboard=False)
    nh.export_agent(tmp_path / "run", tmp_path / "whole", which="last", optimizer=True)
    started = nh.train(small(total_steps=650), ENV, out=tmp_path / "on", progress=False,
                       tensorboard=False, warm_start=tmp_path / "whole")
    assert load_run_state(tmp_path / "on")["warm_start"]["optimizer"] == "loaded"
    # no update between 600 and 650: the agent is the run's own, Adam and target included
    for mine, theirs in zip(started.agent.optimizer.variables, run.agent.optimizer.variables):
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy())
    for mine, theirs in zip(started.agent.target.trainable_variables,
                            run.agent.target.trainable_variables):
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy())
    assert started.agent.train_steps == run.agent.train_steps == 500


def test_export_with_optimizer_refuses_a_source_without_it_and_writes_nothing(exported,
                                                                             tmp_path):
    with pytest.raises(ValueError, match="lacks"):
        nh.export_agent(exported, tmp_path / "again", which="last", optimizer=True)
    with pytest.raises(TypeError, match="optimizer must be a bool"):
        nh.export_agent(exported, tmp_path / "again", optimizer="yes")
    assert not (tmp_path / "again").exists()


def test_a_warm_start_with_a_longer_eval_period_numbers_its_evaluations_as_it_allows(
        exported, tmp_path):
    # The export made 2 evaluations by step 600 (every 300); every 1,000 steps allows none yet.
    nh.train(small(total_steps=700, eval_period=1_000), ENV, out=tmp_path, progress=False,
             tensorboard=False, warm_start=exported)
    assert load_run_state(tmp_path)["evaluation"] == 0
    nh.train(small(total_steps=1_000, eval_period=1_000), ENV, out=tmp_path, progress=False,
             tensorboard=False, resume=True)
    assert load_run_state(tmp_path)["evaluation"] == 1
