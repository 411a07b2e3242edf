"""Tests for noisy_helpers/noisy_dense.py (Fortunato et al. 2018, §3)."""

import math
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

import noisy_helpers as nh  # noqa: E402
from noisy_helpers.noisy_dense import INDEPENDENT_SIGMA, scale_noise  # noqa: E402

FAN_IN, UNITS = 64, 16


def built_layer(**kwargs):
    layer = nh.NoisyDense(UNITS, **kwargs)
    layer.build((None, FAN_IN))
    return layer


def inputs(batch=5, fan_in=FAN_IN, seed=0):
    return np.random.default_rng(seed).normal(size=(batch, fan_in)).astype("float32")


def small_model(seed=0):
    return keras.Sequential(
        [
            keras.Input((FAN_IN,)),
            nh.NoisyDense(32, activation="relu", seed=seed),
            nh.NoisyDense(4, seed=seed + 10),
        ]
    )


# ------------------------------------------------------------ initialisation
def test_factorised_init_mu_uniform_within_one_over_sqrt_p_and_sigma_is_sigma0_over_sqrt_p():
    layer = built_layer(seed=1)
    bound = 1 / math.sqrt(FAN_IN)
    for mu in [layer.kernel_mu.numpy(), layer.bias_mu.numpy()]:
        assert np.all(np.abs(mu) <= bound)
    kernel_mu = layer.kernel_mu.numpy()
    assert kernel_mu.min() < -0.9 * bound and kernel_mu.max() > 0.9 * bound  # fills the range
    assert abs(kernel_mu.std() - bound / math.sqrt(3)) < 0.1 * bound  # U[-b, b] has sd b/√3
    # σ = σ0/√p for the weights AND the biases (§3.2).
    assert np.allclose(layer.kernel_sigma.numpy(), 0.5 / math.sqrt(FAN_IN))
    assert np.allclose(layer.bias_sigma.numpy(), 0.5 / math.sqrt(FAN_IN))


def test_sigma0_scales_the_initial_sigma():
    assert np.allclose(built_layer(sigma0=0.1).kernel_sigma.numpy(), 0.1 / math.sqrt(FAN_IN))


def test_independent_init_mu_within_sqrt_3_over_p_and_sigma_0_017():
    layer = built_layer(factorised=False, seed=2)
    bound = math.sqrt(3 / FAN_IN)
    assert np.all(np.abs(layer.kernel_mu.numpy()) <= bound)
    assert layer.kernel_mu.numpy().max() > 0.9 * bound
    assert np.allclose(layer.kernel_sigma.numpy(), INDEPENDENT_SIGMA)
    assert np.allclose(layer.bias_sigma.numpy(), INDEPENDENT_SIGMA)


def test_weights_have_the_paper_names_and_only_mu_and_sigma_are_trainable():
    layer = built_layer()
    assert [w.name for w in layer.trainable_weights] == [
        "kernel_mu", "kernel_sigma", "bias_mu", "bias_sigma"
    ]
    assert [w.name for w in layer.non_trainable_weights] == ["epsilon_in", "epsilon_out"]


# ------------------------------------------------------------------- noise
def test_f_is_sign_times_sqrt_abs():
    assert np.allclose(scale_noise(np.array([4.0, -9.0, 0.0, 0.25])), [2.0, -3.0, 0.0, 0.5])


def test_factorised_noise_is_the_outer_product_of_f_eps_in_and_f_eps_out():
    layer = built_layer(seed=3)
    epsilon_w, epsilon_b = (t.numpy() for t in layer.noise())
    eps_in, eps_out = layer.epsilon_in.numpy(), layer.epsilon_out.numpy()
    assert np.allclose(epsilon_w, np.outer(eps_in, eps_out))
    assert np.allclose(epsilon_b, eps_out)
    assert np.linalg.matrix_rank(epsilon_w) == 1


def test_factorised_noise_has_the_moments_of_f_of_a_standard_normal():
    layer = nh.NoisyDense(1000, seed=4)
    layer.build((None, 1000))
    samples = []
    for _ in range(20):
        layer.reset_noise()
        samples.append(layer.epsilon_in.numpy())
    samples = np.concatenate(samples)
    # f(x) = sgn(x)√|x| with x ~ N(0, 1): mean 0, E[f(x)²] = E|x| = √(2/π).
    assert abs(samples.mean()) < 0.02
    assert abs((samples**2).mean() - math.sqrt(2 / math.pi)) < 0.02


def test_output_equals_the_explicit_noisy_weights_formula():
    for factorised in [True, False]:
        layer = built_layer(seed=5, factorised=factorised)
        x = inputs()
        epsilon_w, epsilon_b = (t.numpy() for t in layer.noise())
        weights = layer.kernel_mu.numpy() + layer.kernel_sigma.numpy() * epsilon_w  # Eq. (8)
        bias = layer.bias_mu.numpy() + layer.bias_sigma.numpy() * epsilon_b
        assert np.allclose(layer(x).numpy(), x @ weights + bias, atol=1e-5)


def test_noise_is_fixed_between_calls_until_reset():
    layer = built_layer(seed=6)
    x = inputs()
    first, second = layer(x).numpy(), layer(x).numpy()
    assert np.array_equal(first, second)
    layer.reset_noise()
    assert not np.allclose(layer(x).numpy(), first)


def test_remove_noise_leaves_mu_only():
    layer = built_layer(seed=7)
    layer.remove_noise()
    x = inputs()
    expected = x @ layer.kernel_mu.numpy() + layer.bias_mu.numpy()
    assert np.allclose(layer(x).numpy(), expected, atol=1e-5)


def test_sigma0_zero_means_no_noise_at_all():
    layer = built_layer(sigma0=0.0, seed=8)
    x = inputs()
    expected = x @ layer.kernel_mu.numpy() + layer.bias_mu.numpy()
    assert np.allclose(layer(x).numpy(), expected, atol=1e-5)


def test_model_helpers_find_reset_and_remove_noise_in_every_noisy_layer():
    inner = small_model(seed=20)
    outer = keras.Sequential([keras.Input((FAN_IN,)), keras.layers.Dense(FAN_IN), inner])
    layers = nh.noisy_layers(outer)
    assert len(layers) == 2 and all(isinstance(l, nh.NoisyDense) for l in layers)
    before = [l.epsilon_in.numpy().copy() for l in layers]
    nh.reset_noise(outer)
    assert all(not np.allclose(b, l.epsilon_in.numpy()) for b, l in zip(before, layers))
    nh.remove_noise(outer)
    assert all(np.all(v.numpy() == 0) for l in layers for v in l.noise_variables)


def test_reset_noise_works_inside_tf_function():
    model = small_model(seed=30)
    x = inputs()

    @tf.function
    def resample_and_predict():
        nh.reset_noise(model)
        return model(x)

    first, second = resample_and_predict().numpy(), resample_and_predict().numpy()
    assert not np.allclose(first, second)
    assert np.allclose(model(x).numpy(), second, atol=1e-5)  # the noise stays after the call


def test_layers_with_different_seeds_draw_independent_noise_and_same_seed_repeats():
    a, b, c = built_layer(seed=40), built_layer(seed=41), built_layer(seed=40)
    assert not np.allclose(a.epsilon_in.numpy(), b.epsilon_in.numpy())
    assert np.array_equal(a.epsilon_in.numpy(), c.epsilon_in.numpy())
    assert np.array_equal(a.kernel_mu.numpy(), c.kernel_mu.numpy())
    assert not np.allclose(a.kernel_mu.numpy()[0], a.bias_mu.numpy())


def test_layers_with_consecutive_seeds_do_not_share_initial_values():
    first, second = nh.NoisyDense(64, seed=11), nh.NoisyDense(4, seed=12)
    first.build((None, 64))
    second.build((None, 64))
    values_of_second = set(second.kernel_mu.numpy().ravel().tolist())
    assert not values_of_second & set(first.bias_mu.numpy().tolist())
    assert not values_of_second & set(first.kernel_mu.numpy().ravel().tolist())


def test_gradients_reach_mu_and_sigma():
    layer = built_layer(seed=9)
    x = tf.constant(inputs())
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(x) ** 2)
    gradients = tape.gradient(loss, layer.trainable_weights)
    assert all(g is not None and np.any(g.numpy() != 0) for g in gradients)


# --------------------------------------------------------------- save/load
def test_keras_file_round_trip_gives_identical_outputs(tmp_path):
    model = small_model(seed=50)
    x = inputs()
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert np.array_equal(model(x).numpy(), loaded(x).numpy())
    assert isinstance(loaded.layers[0], nh.NoisyDense)
    assert loaded.layers[0].get_config()["sigma0"] == 0.5


def test_weights_h5_round_trip_restores_mu_sigma_and_noise(tmp_path):
    model, other = small_model(seed=60), small_model(seed=61)
    x = inputs()
    path = tmp_path / "model.weights.h5"
    model.save_weights(path)
    other.load_weights(path)
    assert np.array_equal(model(x).numpy(), other(x).numpy())


# --------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(units=0), ValueError, "units"),
        (dict(units=-2), ValueError, "units"),
        (dict(units=2.0), TypeError, "units"),
        (dict(units=True), TypeError, "units"),
        (dict(units=3, sigma0=-0.1), ValueError, "sigma0"),
        (dict(units=3, sigma0=float("nan")), ValueError, "sigma0"),
        (dict(units=3, factorised="yes"), TypeError, "factorised"),
        (dict(units=3, seed=1.5), TypeError, "seed"),
        (dict(units=None), TypeError, "units.*None"),
        (dict(units="3"), TypeError, "units"),
        (dict(units=np.float32(3)), TypeError, "units"),
        (dict(units=3, sigma0=float("inf")), ValueError, "sigma0.*inf"),
        (dict(units=3, sigma0=True), TypeError, "sigma0.*True"),
        (dict(units=3, sigma0="0.5"), TypeError, "sigma0"),
        (dict(units=3, sigma0=None), TypeError, "sigma0.*None"),
        (dict(units=3, sigma0=1e39), ValueError, "sigma0"),
        (dict(units=3, sigma0=10**400), ValueError, "sigma0"),
        (dict(units=3, factorised=1), TypeError, "factorised.*1"),
        (dict(units=3, factorised=None), TypeError, "factorised"),
        (dict(units=3, seed=-1), ValueError, "seed.*-1"),
        (dict(units=3, seed=2**32), ValueError, "seed"),
        (dict(units=3, seed=True), TypeError, "seed.*True"),
        (dict(units=3, seed="1"), TypeError, "seed"),
        (dict(units=3, activation="no_such_activation"), ValueError, "activation"),
        (dict(units=3, activation=3), ValueError, "activation"),
    ],
)
def test_bad_input_arguments_raise_clear_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        nh.NoisyDense(**kwargs)


def test_input_of_rank_one_is_refused():
    with pytest.raises(ValueError, match="rank >= 2"):
        nh.NoisyDense(3)(np.ones(4, dtype="float32"))


def test_input_with_unknown_last_dimension_is_refused():
    with pytest.raises(ValueError, match="known last dimension"):
        nh.NoisyDense(3)(keras.Input(shape=(None,)))


# ------------------------------------------------------ bad input to a built layer
from state import assert_refused_unchanged  # noqa: E402

BAD_CALLS = [
    ("build-again", lambda layer: layer.build((None, FAN_IN)), ValueError, r"input_shape"),
    ("build-again-other-shape", lambda layer: layer.build((None, 8)), ValueError,
     r"input_shape"),
    ("call-rank-1", lambda layer: layer(np.ones(FAN_IN, "float32")), ValueError, r"(?i)input"),
    ("call-wrong-fan-in", lambda layer: layer(np.ones((2, FAN_IN + 1), "float32")), ValueError,
     r"(?i)input"),
    ("reset-noise-of-none", lambda layer: nh.reset_noise(None), TypeError, r"model.*NoneType"),
    ("remove-noise-of-a-string", lambda layer: nh.remove_noise("model"), TypeError, r"model"),
    ("noisy-layers-of-a-list", lambda layer: nh.noisy_layers([layer]), TypeError, r"model"),
]


@pytest.mark.parametrize("call, error, match", [c[1:] for c in BAD_CALLS],
                         ids=[c[0] for c in BAD_CALLS])
def test_bad_input_to_a_built_layer_raises_and_changes_nothing(call, error, match):
    layer = built_layer(seed=70)
    layer.reset_noise()  # the generator has moved on from its seed
    assert_refused_unchanged(layer, lambda _: call(layer), error, match)


BAD_BUILDS = [
    ("rank-1", (None,), ValueError, r"rank >= 2"),
    ("unknown-fan-in", (None, None), ValueError, r"known last dimension"),
    ("zero-fan-in", (None, 0), ValueError, r"input_shape.*fan-in"),
    ("float-fan-in", (None, 4.5), ValueError, r"input_shape"),
    ("not-a-shape", None, TypeError, r"input_shape"),
    ("too-large-for-memory", (None, 10**7), ValueError, r"units=1000000 .*bytes"),
]


@pytest.mark.parametrize("shape, error, match", [c[1:] for c in BAD_BUILDS],
                         ids=[c[0] for c in BAD_BUILDS])
def test_bad_input_shape_to_build_raises_before_any_weight_exists(shape, error, match):
    layer = nh.NoisyDense(10**6 if shape == (None, 10**7) else 3, seed=1)
    with pytest.raises(error, match=match):
        layer.build(shape)
    assert not layer.built and layer.weights == []


# ------------------------------------------------------------- mean |σ| and mean |μ|
def test_mean_abs_sigma_and_mu_by_hand_averages_weights_and_biases_together():
    layer = nh.NoisyDense(2, seed=0)
    layer.build((None, 2))
    layer.kernel_sigma.assign(np.array([[1, -2], [3, -4]], np.float32))
    layer.bias_sigma.assign(np.array([-1, 1], np.float32))  # |σ|: (1+2+3+4+1+1)/6 = 2
    layer.kernel_mu.assign(np.array([[0.5, 0.5], [-0.5, 0.5]], np.float32))
    layer.bias_mu.assign(np.array([2, -4], np.float32))  # |μ|: (4 × 0.5 + 2 + 4)/6 = 4/3
    sigma, mu = nh.noisy_dense.mean_abs_sigma_and_mu(layer)
    assert float(sigma) == 2.0
    assert float(mu) == pytest.approx(4 / 3, rel=1e-7)


@pytest.mark.parametrize("bad, error, match", [
    (keras.layers.Dense(3), TypeError, "layer must be a NoisyDense, got Dense"),
    ("hidden_1", TypeError, "layer must be a NoisyDense, got str"),
    (nh.NoisyDense(3), ValueError, "is not built yet"),
])
def test_mean_abs_sigma_and_mu_refuses_what_is_not_a_built_noisy_layer(bad, error, match):
    with pytest.raises(error, match=match):
        nh.noisy_dense.mean_abs_sigma_and_mu(bad)


# ------------------------------------------------------------- effective weights μ + σ ⊙ ε
def test_effective_weights_by_hand_are_mu_plus_sigma_times_the_factorised_noise():
    layer = nh.NoisyDense(2, seed=0)
    layer.build((None, 2))
    layer.kernel_mu.assign(np.array([[1, 2], [3, 4]], np.float32))
    layer.kernel_sigma.assign(np.array([[0.5, -1], [2, 0.25]], np.float32))
    layer.bias_mu.assign(np.array([10, 20], np.float32))
    layer.bias_sigma.assign(np.array([1, 2], np.float32))
    layer.epsilon_in.assign(np.array([1, -2], np.float32))  # f(ε_in), as the layer holds it
    layer.epsilon_out.assign(np.array([2, 4], np.float32))  # f(ε_out)
    # ε_w = f(ε_in) f(ε_out)ᵀ = [[2, 4], [-4, -8]]; ε_b = f(ε_out) = [2, 4]   (Eq. 10-11)
    kernel, bias = nh.noisy_dense.effective_weights(layer)
    np.testing.assert_array_equal(kernel.numpy(), [[1 + 1, 2 - 4], [3 - 8, 4 - 2]])
    np.testing.assert_array_equal(bias.numpy(), [10 + 2, 20 + 8])


@pytest.mark.parametrize("factorised", [True, False])
def test_effective_weights_give_the_layer_output_and_mu_exactly_without_noise(factorised):
    layer = built_layer(seed=7, factorised=factorised, activation="relu")
    x = inputs()
    kernel, bias = (t.numpy() for t in nh.noisy_dense.effective_weights(layer))
    np.testing.assert_allclose(layer(x).numpy(), np.maximum(x @ kernel + bias, 0), atol=1e-5)
    layer.remove_noise()
    kernel, bias = nh.noisy_dense.effective_weights(layer)
    np.testing.assert_array_equal(kernel.numpy(), layer.kernel_mu.numpy())
    np.testing.assert_array_equal(bias.numpy(), layer.bias_mu.numpy())


@pytest.mark.parametrize("bad, error, match", [
    (keras.layers.Dense(3), TypeError, "layer must be a NoisyDense, got Dense"),
    (None, TypeError, "layer must be a NoisyDense, got NoneType"),
    (nh.NoisyDense(3), ValueError, "is not built yet"),
])
def test_effective_weights_refuse_what_is_not_a_built_noisy_layer(bad, error, match):
    with pytest.raises(error, match=match):
        nh.noisy_dense.effective_weights(bad)
