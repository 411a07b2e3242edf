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


# --------------------------------------------------------------- bad-input table
def build(**changes):
    """build_q_network with good arguments, some of them changed."""
    arguments = dict(obs_shape=(4,), n_actions=2, hidden_sizes=(8,), seed=0)
    arguments.update(changes)
    return lambda: nh.build_q_network(**arguments)


BAD_BUILDS = [
    ("n-actions-negative", build(n_actions=-1), ValueError, r"n_actions.*-1"),
    ("n-actions-bool", build(n_actions=True), TypeError, r"n_actions.*True"),
    ("n-actions-float", build(n_actions=2.0), TypeError, r"n_actions.*2\.0"),
    ("n-actions-string", build(n_actions="2"), TypeError, r"n_actions"),
    ("n-actions-none", build(n_actions=None), TypeError, r"n_actions.*None"),
    ("n-actions-huge", build(n_actions=10**12), ValueError, r"n_actions=1000000000000.*bytes"),
    ("obs-shape-zero", build(obs_shape=(0,)), ValueError, r"obs_shape.*\(0,\)"),
    ("obs-shape-negative", build(obs_shape=(-1,)), ValueError, r"obs_shape"),
    ("obs-shape-float", build(obs_shape=(4.0,)), TypeError, r"obs_shape.*4\.0"),
    ("obs-shape-bool", build(obs_shape=(True,)), TypeError, r"obs_shape"),
    ("obs-shape-empty", build(obs_shape=()), TypeError, r"obs_shape"),
    ("obs-shape-none", build(obs_shape=None), TypeError, r"obs_shape.*None"),
    ("obs-shape-string", build(obs_shape="4"), TypeError, r"obs_shape"),
    ("obs-shape-huge", build(obs_shape=(10**12,)), ValueError, r"obs_shape.*bytes"),
    ("hidden-sizes-string", build(hidden_sizes="64"), TypeError, r"hidden_sizes"),
    ("hidden-sizes-int", build(hidden_sizes=5), TypeError, r"hidden_sizes.*5"),
    ("hidden-sizes-zero", build(hidden_sizes=(0,)), ValueError, r"hidden_sizes"),
    ("hidden-sizes-negative", build(hidden_sizes=(8, -8)), ValueError, r"hidden_sizes"),
    ("hidden-sizes-float", build(hidden_sizes=(8.0,)), TypeError, r"hidden_sizes"),
    ("hidden-sizes-bool", build(hidden_sizes=(True,)), TypeError, r"hidden_sizes"),
    ("hidden-sizes-none", build(hidden_sizes=None), TypeError, r"hidden_sizes"),
    ("hidden-sizes-nested", build(hidden_sizes=[[8]]), TypeError, r"hidden_sizes"),
    ("noisy-int", build(noisy=1), TypeError, r"noisy.*1"),
    ("noisy-hidden-string", build(noisy_hidden="yes"), TypeError, r"noisy_hidden"),
    ("factorised-none", build(factorised=None), TypeError, r"factorised"),
    ("sigma0-nan", build(sigma0=float("nan")), ValueError, r"sigma0.*nan"),
    ("sigma0-inf", build(sigma0=float("inf")), ValueError, r"sigma0"),
    ("sigma0-negative", build(sigma0=-0.5), ValueError, r"sigma0.*-0\.5"),
    ("sigma0-bool", build(sigma0=True), TypeError, r"sigma0"),
    ("sigma0-string", build(sigma0="0.5"), TypeError, r"sigma0"),
    ("seed-negative", build(seed=-1), ValueError, r"seed.*-1"),
    ("seed-float", build(seed=1.5), TypeError, r"seed.*1\.5"),
    ("seed-bool", build(seed=True), TypeError, r"seed"),
    ("seed-too-big", build(seed=2**32), ValueError, r"seed"),
    ("seed-string", build(seed="0"), TypeError, r"seed"),
    ("kind-none", build(kind=None), ValueError, r"kind.*None"),
    ("kind-list", build(kind=["mlp"]), ValueError, r"kind"),
    ("name-empty", build(name=""), ValueError, r"name"),
    ("name-none", build(name=None), ValueError, r"name.*None"),
    ("name-int", build(name=3), ValueError, r"name"),
    ("nature-frames-too-small", build(obs_shape=(4, 20, 20), kind="nature"), ValueError,
     r"obs_shape.*too small"),
    ("nature-2d-frames", build(obs_shape=(84, 84), kind="nature"), ValueError, r"obs_shape"),
    ("observation-scale-too-short", build(observation_scale=(2.4, 1.0)), ValueError,
     r"observation_scale.*one number per observation component \(4\)"),
    ("observation-scale-zero", build(observation_scale=(1.0, 0.0, 1.0, 1.0)), ValueError,
     r"observation_scale.*0\.0"),
    ("observation-scale-nan", build(observation_scale=(1.0, 1.0, float("nan"), 1.0)),
     ValueError, r"observation_scale.*nan"),
    ("observation-scale-bool", build(observation_scale=(1.0, True, 1.0, 1.0)), ValueError,
     r"observation_scale"),
    ("observation-scale-string", build(observation_scale="2.4"), ValueError,
     r"observation_scale"),
    ("observation-scale-empty", build(observation_scale=()), ValueError, r"observation_scale"),
    ("observation-scale-nature", build(obs_shape=(4, 84, 84), kind="nature",
                                       observation_scale=(1.0,)), ValueError,
     r"observation_scale must be None for kind='nature'"),
    ("layer-seeds-negative-seed", lambda: layer_seeds(-1, 3), ValueError, r"seed.*-1"),
    ("layer-seeds-float-seed", lambda: layer_seeds(1.5, 3), TypeError, r"seed"),
    ("layer-seeds-negative-count", lambda: layer_seeds(0, -1), ValueError, r"count.*-1"),
    ("layer-seeds-float-count", lambda: layer_seeds(0, 2.0), TypeError, r"count"),
    ("layer-seeds-bool-count", lambda: layer_seeds(0, True), TypeError, r"count"),
]


@pytest.mark.parametrize("call, error, match", [c[1:] for c in BAD_BUILDS],
                         ids=[c[0] for c in BAD_BUILDS])
def test_bad_input_to_build_q_network_raises_naming_the_argument(call, error, match):
    with pytest.raises(error, match=match) as info:
        call()
    assert "\n" not in str(info.value)


def test_numpy_ints_are_accepted_for_shapes_and_counts():
    model = nh.build_q_network(np.array([4]), np.int64(3), hidden_sizes=[np.int32(8)], seed=0)
    assert model(np.zeros((1, 4), np.float32)).shape == (1, 3)


# ------------------------------------------------------- observation scale
def test_observation_scale_divides_each_component_before_the_first_layer():
    # Hand-checkable: the scaled network on x is the unscaled one (same seed) on x / scale.
    scale = (2.4, 1.0, 0.2095, 1.0)
    scaled = nh.build_q_network((4,), 2, hidden_sizes=(8,), seed=3, observation_scale=scale)
    plain = nh.build_q_network((4,), 2, hidden_sizes=(8,), seed=3)
    x = np.array([[2.4, -0.5, 0.2095, 1.5], [-1.2, 0.3, -0.1, -2.0]], np.float32)
    np.testing.assert_allclose(scaled(x), plain(x / np.array(scale, np.float32)), rtol=1e-6)
    layer = scaled.get_layer("observation_scale")
    assert layer.weights == [] and layer(x[:1]).numpy().tolist()[0] == pytest.approx(
        [1.0, -0.5, 1.0, 1.5])


def test_observation_scale_adds_no_weights_so_checkpoints_keep_their_layout():
    scaled = nh.build_q_network((4,), 2, hidden_sizes=(8,), seed=3, observation_scale=(2.0,) * 4)
    plain = nh.build_q_network((4,), 2, hidden_sizes=(8,), seed=3)
    assert [w.shape for w in scaled.weights] == [w.shape for w in plain.weights]
    for a, b in zip(scaled.weights, plain.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
