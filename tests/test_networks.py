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


# ------------------------------------------------------------- Nature DQN
def nature(**kwargs):
    return nh.build_q_network((4, 84, 84), 6, hidden_sizes=(512,), noisy=True,
                              noisy_hidden=True, seed=0, kind="nature", **kwargs)


def test_nature_network_has_the_papers_convolutions_and_noisy_fully_connected_layers():
    model = nature()
    convolutions = [layer for layer in model.layers if type(layer).__name__ == "Conv2D"]
    assert [(c.filters, c.kernel_size, c.strides) for c in convolutions] == [
        (32, (8, 8), (4, 4)), (64, (4, 4), (2, 2)), (64, (3, 3), (1, 1))]
    assert [layer.name for layer in nh.noisy_layers(model)] == ["hidden_1", "q_values"]
    assert nh.noisy_layers(model)[0].units == 512
    assert not any(type(layer).__name__ == "Lambda" for layer in model.layers)


def test_nature_network_takes_uint8_frames_and_scales_them_inside():
    model = nature()
    assert model.inputs[0].dtype == "uint8"
    frames = np.random.default_rng(0).integers(0, 256, (3, 4, 84, 84), dtype=np.uint8)
    q_values = np.asarray(model(frames))
    assert q_values.shape == (3, 6) and np.isfinite(q_values).all()
    # Scaled by 1/255 inside: the same frames as float32 in [0, 1] after the scale layer.
    scale = model.get_layer("scale")
    assert float(scale.scale) == pytest.approx(1 / 255)


def test_nature_network_saves_and_loads_as_keras_file(tmp_path):
    import keras

    model = nature()
    frames = np.random.default_rng(1).integers(0, 256, (2, 4, 84, 84), dtype=np.uint8)
    model.save(tmp_path / "nature.keras")
    loaded = keras.models.load_model(tmp_path / "nature.keras")
    assert np.allclose(np.asarray(model(frames)), np.asarray(loaded(frames)), atol=1e-5)


def test_nature_network_needs_frame_stacks():
    with pytest.raises(ValueError, match="stack, height, width"):
        nh.build_q_network((4,), 2, kind="nature")
