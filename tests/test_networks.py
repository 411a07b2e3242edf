"""Tests for noisy_helpers/networks.py: the MLP Q-network."""

import numpy as np
import pytest

import noisy_helpers as nh
from noisy_helpers.networks import layer_seeds


def test_output_shape_is_batch_by_actions():
    model = nh.build_q_network((4,), 3, hidden_sizes=(8,), seed=0)
    assert model(np.zeros((5, 4), np.float32)).shape == (5, 3)


def test_noisy_network_has_a_noisy_head_only_by_default():
    model = nh.build_q_network((4,), 2, hidden_sizes=(8, 8), seed=0)
    assert [layer.name for layer in nh.noisy_layers(model)] == ["q_values"]
    hidden = nh.build_q_network((4,), 2, hidden_sizes=(8, 8), noisy_hidden=True, seed=0)
    assert len(nh.noisy_layers(hidden)) == 3
    plain = nh.build_q_network((4,), 2, hidden_sizes=(8, 8), noisy=False, seed=0)
    assert nh.noisy_layers(plain) == []


def test_q_values_are_linear_not_a_softmax():
    model = nh.build_q_network((4,), 2, hidden_sizes=(8,), noisy=False, seed=0)
    q = np.asarray(model(np.random.default_rng(0).normal(size=(64, 4)).astype(np.float32) * 10))
    assert not np.allclose(q.sum(axis=1), 1.0) and (q < 0).any()


def test_same_seed_same_network_other_seed_other_network():
    x = np.ones((1, 4), np.float32)
    a, b, c = (nh.build_q_network((4,), 2, hidden_sizes=(8,), seed=s) for s in (1, 1, 2))
    np.testing.assert_array_equal(a(x), b(x))
    assert not np.allclose(a(x), c(x))


def test_layer_seeds_are_distinct_and_reproducible():
    assert layer_seeds(0, 5) == layer_seeds(0, 5)
    assert len(set(layer_seeds(0, 5))) == 5
    assert layer_seeds(None, 2) == [None, None]


@pytest.mark.parametrize("args, match", [
    (((4,), 0), "n_actions"), (((4, 4), 2), "obs_shape"),
])
def test_bad_input_raises_value_error(args, match):
    with pytest.raises(ValueError, match=match):
        nh.build_q_network(*args)


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="kind"):
        nh.build_q_network((4,), 2, kind="resnet")
