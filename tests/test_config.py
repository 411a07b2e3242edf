"""Tests for noisy_helpers/config.py: validation, variants, (de)serialisation, field docs."""

import dataclasses

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
def test_bad_field_raises_value_error_naming_the_field(field, value):
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
