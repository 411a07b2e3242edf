"""Tests for noisy_helpers/config.py: validation, variants, (de)serialisation, field docs."""

import dataclasses

import numpy as np
import pytest

from noisy_helpers import Config


def test_defaults_are_the_papers_where_the_paper_gives_them():
    config = Config()
    assert (config.noisy, config.double, config.prioritized, config.factorised) == (
        True, True, True, True)
    assert config.sigma0 == 0.5  # Fortunato et al. §3.2
    assert config.alpha == 0.6 and (config.beta_start, config.beta_end) == (0.4, 1.0)  # Schaul
    assert config.gamma == 0.99


def test_config_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        Config().seed = 3


@pytest.mark.parametrize("field, value", [
    ("total_steps", 0), ("batch_size", -1), ("gamma", 1.5), ("alpha", -0.1),
    ("learning_rate", 0.0), ("sigma0", -1.0), ("noisy", 1), ("hidden_sizes", [64]),
    ("hidden_sizes", (0,)), ("seed", -1), ("beta_start", float("nan")), ("total_steps", 2.5),
    ("learning_rate_end", -1e-4), ("learning_rate_end", "small"),
    ("noise_resample", "never"), ("noise_resample", None), ("stop_at_return", float("inf")),
    ("stop_at_return", "goal"),
])
def test_bad_input_field_raises_value_error_naming_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        Config(**{field: value})


def test_batch_larger_than_buffer_is_refused():
    with pytest.raises(ValueError, match="batch_size"):
        Config(batch_size=100, buffer_size=50)


def test_replace_changes_one_field_and_validates():
    config = Config().replace(noisy=False)
    assert config.noisy is False and config.double is True
    with pytest.raises(ValueError, match="gamma"):
        Config().replace(gamma=2.0)


def test_small_variant_is_small_and_accepts_changes():
    small = Config.small(seed=3)
    assert small.total_steps < 1_000 and small.seed == 3
    assert small.learning_starts < small.total_steps


def test_to_dict_from_dict_round_trip():
    config = Config(hidden_sizes=(8, 4), seed=7, noisy=False)
    assert Config.from_dict(config.to_dict()) == config


def test_from_dict_refuses_unknown_fields():
    with pytest.raises(ValueError, match="unknown"):
        Config.from_dict({"learning_rat": 1e-3})


def test_every_field_has_a_docstring():
    docs = Config.field_docs()
    assert {f.name for f in dataclasses.fields(Config)} == set(docs)
    assert all(len(text) > 20 for text in docs.values())


def test_atari_defaults_use_the_nature_network_batch_32_and_an_update_every_4_steps():
    config = Config.atari()
    assert config.network == "nature" and config.hidden_sizes == (512,)
    assert (config.batch_size, config.train_frequency) == (32, 4)
    assert config.noisy and config.double and config.prioritized
    assert (config.alpha, config.beta_start, config.sigma0) == (0.6, 0.4, 0.5)
    assert Config.atari(total_steps=10).total_steps == 10  # every default overridable


def test_unknown_network_is_refused():
    with pytest.raises(ValueError, match="Config.network"):
        Config(network="resnet")


def test_num_envs_must_be_a_positive_int():
    with pytest.raises(ValueError, match="Config.num_envs"):
        Config(num_envs=0)


NAN, INF = float("nan"), float("inf")
MORE_BAD_FIELDS = [
    ("total_steps", True), ("batch_size", 1.0), ("buffer_size", None), ("learning_starts", -1),
    ("learning_starts", False), ("train_frequency", 0), ("target_update_period", "100"),
    ("eval_period", -5), ("eval_episodes", False), ("checkpoint_period", 1e4),
    ("epsilon_decay_steps", 0), ("num_envs", True), ("num_envs", np.int64(2)),
    ("seed", 2**32), ("seed", True), ("seed", 1.0), ("seed", None),
    ("hidden_sizes", (True,)), ("hidden_sizes", (32.0,)), ("hidden_sizes", (10**6,)),
    ("hidden_sizes", "64"), ("hidden_sizes", None), ("hidden_sizes", (32, -1)),
    ("noisy_hidden", "yes"), ("factorised", 0), ("double", None), ("prioritized", np.bool_(True)),
    ("network", None), ("network", ["mlp"]), ("network", "MLP"), ("noise_resample", 0),
    ("noise_resample", -4), ("noise_resample", True), ("noise_resample", 2.5), ("noise_resample", "4"),
    ("noise_resample", np.int64(4)), ("noise_resample", 10**9 + 1), ("noise_resample", "Step"),
    ("importance_normalise", "Buffer"), ("importance_normalise", "max"),
    ("importance_normalise", None), ("importance_normalise", True),
    ("gamma", NAN), ("gamma", -0.1), ("gamma", True), ("gamma", "0.9"), ("gamma", 10**400),
    ("alpha", INF), ("beta_end", 1.01), ("beta_start", None), ("epsilon_start", NAN),
    ("epsilon_end", -1), ("learning_rate", NAN), ("learning_rate", INF),
    ("learning_rate", -1e-3), ("adam_epsilon", 0), ("max_grad_norm", NAN),
    ("huber_delta", -1), ("priority_eps", 0.0), ("sigma0", INF), ("sigma0", NAN),
    ("sigma0", True), ("learning_rate_end", NAN), ("learning_rate_end", True),
    ("learning_rate_end", INF), ("stop_at_return", NAN), ("stop_at_return", True),
    ("stop_at_return", -INF), ("target_update_tau", 0.0), ("target_update_tau", 1.01),
    ("target_update_tau", NAN), ("target_update_tau", True), ("target_update_tau", "1"),
    ("learning_rate_decay_steps", 0), ("learning_rate_decay_steps", -5),
    ("learning_rate_decay_steps", 2.5), ("learning_rate_decay_steps", True),
    ("learning_rate_decay_steps", "10000"), ("learning_rate_decay_steps", NAN),
    ("best_check_episodes", -1), ("best_check_episodes", True), ("best_check_episodes", 2.5),
    ("best_check_episodes", None), ("best_check_episodes", 1_000), ("eval_episodes", 1_010),
    ("n_step", 0), ("n_step", -1), ("n_step", 2.0), ("n_step", True), ("n_step", "3"),
    ("n_step", None), ("n_step", 101),
    ("dueling", 1), ("dueling", "True"), ("dueling", None), ("dueling", np.bool_(True)),
    ("observation_scale", ()), ("observation_scale", [2.4, 1.0]), ("observation_scale", 2.4),
    ("observation_scale", (2.4, 0.0)), ("observation_scale", (2.4, -1.0)),
    ("observation_scale", (NAN,)), ("observation_scale", (INF,)), ("observation_scale", (True,)),
    ("observation_scale", ("2.4",)), ("observation_scale", "2.4"), ("observation_scale", (None,)),
]


@pytest.mark.parametrize("field, value", MORE_BAD_FIELDS,
                         ids=[f"{f}={v!r}"[:40] for f, v in MORE_BAD_FIELDS])
def test_bad_input_more_fields_raise_one_line_value_errors_naming_the_field(field, value):
    with pytest.raises(ValueError, match=rf"^Config\.{field} must be .*, got ") as info:
        Config(**{field: value})
    assert "\n" not in str(info.value)


def without(*keys):
    values = Config.small().to_dict()
    for key in keys:
        values.pop(key)
    return values


def with_values(**changes):
    values = Config.small().to_dict()
    values.update(changes)
    return values


BAD_DICTS = [
    ("a-list", lambda: [("gamma", 0.9)], TypeError, r"values.*list"),
    ("none", lambda: None, TypeError, r"values"),
    ("a-string", lambda: "{}", TypeError, r"values"),
    ("unknown-key", lambda: with_values(learning_rat=1e-3), ValueError, r"unknown.*learning_rat"),
    ("unknown-int-key", lambda: {**with_values(), 1: 2}, ValueError, r"unknown.*\[1\]"),
    ("missing-gamma", lambda: without("gamma"), ValueError, r"missing.*gamma"),
    ("missing-three", lambda: without("seed", "noisy", "alpha"), ValueError,
     r"missing.*seed.*noisy.*alpha"),
    ("empty", lambda: {}, ValueError, r"missing.*total_steps"),
    ("hidden-sizes-int", lambda: with_values(hidden_sizes=5), ValueError, r"hidden_sizes.*5"),
    ("hidden-sizes-string", lambda: with_values(hidden_sizes="32"), ValueError, r"hidden_sizes"),
    ("hidden-sizes-strings", lambda: with_values(hidden_sizes=["32"]), ValueError,
     r"hidden_sizes"),
    ("hidden-sizes-dict", lambda: with_values(hidden_sizes={"a": 1}), ValueError,
     r"hidden_sizes"),
    ("hidden-sizes-nested", lambda: with_values(hidden_sizes=[[32]]), ValueError,
     r"hidden_sizes"),
    ("gamma-string", lambda: with_values(gamma="0.99"), ValueError, r"gamma"),
    ("noisy-string", lambda: with_values(noisy="true"), ValueError, r"noisy.*'true'"),
    ("seed-null", lambda: with_values(seed=None), ValueError, r"seed"),
    ("total-steps-float", lambda: with_values(total_steps=1.5), ValueError, r"total_steps"),
    ("stop-at-return-string", lambda: with_values(stop_at_return="inf"), ValueError,
     r"stop_at_return"),
    ("network-dict", lambda: with_values(network={"kind": "mlp"}), ValueError, r"network"),
    ("learning-rate-end-list", lambda: with_values(learning_rate_end=[1e-4]), ValueError,
     r"learning_rate_end"),
    ("batch-above-buffer", lambda: with_values(batch_size=5000), ValueError, r"batch_size"),
]


@pytest.mark.parametrize("make_values, error, match", [c[1:] for c in BAD_DICTS],
                         ids=[c[0] for c in BAD_DICTS])
def test_bad_input_to_from_dict_raises_value_or_type_error_naming_the_key(
        make_values, error, match):
    """from_dict reads an untrusted state.json: only ValueError/TypeError, never KeyError."""
    with pytest.raises(error, match=match) as info:
        Config.from_dict(make_values())
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("call, error, match", [
    (lambda: Config().replace(bogus=1), TypeError, r"bogus"),
    (lambda: Config.small(gamma=2.0), ValueError, r"gamma"),
    (lambda: Config.atari(sigma0=-1), ValueError, r"sigma0"),
], ids=["replace-unknown-field", "small-bad-gamma", "atari-bad-sigma0"])
def test_bad_input_to_replace_and_variants_names_the_field(call, error, match):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.parametrize("schedule", ["step", "episode", 1, 4, 16, 10**9])
def test_noise_resample_is_a_named_schedule_or_a_number_of_agent_steps(schedule):
    assert Config(noise_resample=schedule).noise_resample == schedule


def test_from_dict_accepts_the_json_round_trip_of_every_variant():
    import json

    for config in (Config(), Config.small(), Config.atari(), Config(stop_at_return=195.0,
                                                                    learning_rate_end=None),
                   Config(noise_resample=16), Config(noise_resample="episode")):
        assert Config.from_dict(json.loads(json.dumps(config.to_dict()))) == config


def test_a_config_saved_before_best_check_episodes_existed_reads_as_no_check():
    """Runs saved before the check picked their best agent on the evaluation alone."""
    values = Config().to_dict()
    del values["best_check_episodes"]
    assert Config.from_dict(values) == Config(best_check_episodes=0)
    assert Config.from_dict(Config().to_dict()).best_check_episodes == 30


def test_a_config_saved_before_importance_normalise_existed_reads_as_the_batch_max():
    """Runs saved before the field was added divided the IS weights by the batch maximum: a
    saved config without the field loads, and means exactly that."""
    values = Config().to_dict()
    del values["importance_normalise"]
    assert Config.from_dict(values) == Config(importance_normalise="batch")
    values["importance_normalise"] = "buffer"  # a present value is read as it is
    assert Config.from_dict(values).importance_normalise == "buffer"


def test_a_config_saved_before_n_step_existed_reads_as_one_step_returns():
    values = Config().to_dict()
    del values["n_step"]
    assert Config.from_dict(values) == Config(n_step=1)
    assert Config.from_dict(Config(n_step=3).to_dict()).n_step == 3


def test_a_config_saved_before_dueling_existed_reads_as_one_output_layer():
    values = Config().to_dict()
    del values["dueling"]
    assert Config.from_dict(values) == Config(dueling=False)
    assert Config.from_dict(Config(dueling=True).to_dict()).dueling is True


def test_a_config_saved_before_observation_scale_existed_reads_as_unscaled():
    values = Config().to_dict()
    del values["observation_scale"]
    assert Config.from_dict(values) == Config(observation_scale=None)
    scaled = Config(observation_scale=(2.4, 1.0, 0.2095, 1.0))
    assert scaled.to_dict()["observation_scale"] == [2.4, 1.0, 0.2095, 1.0]  # JSON's list
    assert Config.from_dict(scaled.to_dict()) == scaled


def test_bad_input_observation_scale_with_the_nature_network_is_refused():
    with pytest.raises(ValueError, match=r"^Config\.observation_scale must be None with the "
                                         r"Nature network"):
        Config(network="nature", observation_scale=(1.0,))


@pytest.mark.parametrize("changes", [dict(network="nature"), dict(num_envs=4)],
                         ids=["nature-network", "four-games"])
def test_n_step_above_one_is_refused_with_atari_frames_or_several_games(changes):
    Config(**changes)  # fine with one-step returns
    with pytest.raises(ValueError, match=r"^Config\.n_step must be 1 with .*, got 3$"):
        Config(n_step=3, **changes)
