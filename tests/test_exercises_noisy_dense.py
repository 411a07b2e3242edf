"""The checkers of notebook 03 (NoisyDense): each says "correct" on the reference solution and
explains the likely wrong answers, each with its own message."""

import math

import keras
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from keras import ops

import noisy_helpers as nh
from noisy_helpers.exercises import CORRECT, UNANSWERED, check
from noisy_helpers.exercises.noisy_dense import _draws
from exercise_kit import assert_wrong, load_solutions  # noqa: E402

P, Q = 3136, 512


SOL = load_solutions("03_noisy_dense")


def f(v):
    """f(x) = sgn(x) √|x| (Eq. 11)."""
    return np.sign(v) * np.sqrt(np.abs(v))


# --------------------------------------------------------------------------------------- 03.1
def test_counting_draws_the_reference_counts_are_correct_and_named_in_the_message():
    verdict = check("03.1", SOL.independent_draws, SOL.factorised_draws)
    assert verdict.status == CORRECT, verdict
    assert "1,606,144" in verdict.message and "3,648" in verdict.message


def test_counting_draws_hand_checked_the_nature_layer_takes_pq_plus_q_and_p_plus_q_draws():
    assert (_draws(False), _draws(True)) == (P * Q + Q, P + Q) == (1_606_144, 3_648)


@settings(max_examples=15, deadline=None)
@given(fan_in=st.integers(1, 40), units=st.integers(1, 40))
def test_counting_draws_property_the_layer_takes_pq_plus_q_and_p_plus_q_draws_at_any_size(
        fan_in, units):
    assert _draws(False, fan_in, units) == fan_in * units + units
    assert _draws(True, fan_in, units) == fan_in + units


@pytest.mark.parametrize("independent, factorised, fragment", [
    (P * Q, P + Q, "weights and biases both need noise"),
    (P + Q, P + Q, "every weight and every bias has its own ε"),
    (P * Q + Q, P + 2 * Q, "the bias reuses ε_out"),
    (P * Q + Q, P * Q, "one vector per side"),
    (P * Q + Q, P * Q + Q, "one vector per side"),
    (P * Q + Q, P, "count the entries of ε_in and ε_out"),
    ("many", P + Q, "should be a number"),
])
def test_counting_draws_wrong_answers_are_explained(independent, factorised, fragment):
    assert_wrong(check("03.1", independent, factorised), fragment)


def test_counting_draws_accepts_float_answers():
    assert check("03.1", float(P * Q + Q), float(P + Q)).status == CORRECT


# --------------------------------------------------------------------------------------- 03.2
def _arrays(layer):
    return {w.name: w.numpy().astype("float64") for w in layer.weights}


def test_forward_by_hand_the_reference_functions_are_correct():
    verdict = check("03.2", SOL.independent_forward, SOL.factorised_forward)
    assert verdict.status == CORRECT, verdict


@settings(max_examples=10, deadline=None)
@given(fan_in=st.integers(1, 12), units=st.integers(1, 12), batch=st.integers(1, 5),
       seed=st.integers(0, 2**16))
def test_forward_by_hand_property_the_reference_agrees_with_the_layer_after_any_reset(
        fan_in, units, batch, seed):
    x = np.random.default_rng(seed).normal(size=(batch, fan_in)).astype("float32")
    for factorised, forward in ((False, SOL.independent_forward), (True, SOL.factorised_forward)):
        layer = nh.NoisyDense(units, factorised=factorised, seed=seed)
        layer.build(x.shape)
        layer.reset_noise()
        assert np.allclose(forward(x, layer), ops.convert_to_numpy(layer(x)), atol=1e-5)


def _ind(mu=True, w_noise=True, b_noise=True, scaled=True):
    """An independent forward pass with the chosen parts (a learner's slips)."""
    def forward(x, layer):
        v = _arrays(layer)
        y = x @ v["kernel_mu"] + v["bias_mu"] if mu else 0.0
        sw = v["kernel_sigma"] if scaled else 1.0
        sb = v["bias_sigma"] if scaled else 1.0
        if w_noise:
            y = y + x @ (sw * v["kernel_epsilon"])
        if b_noise:
            y = y + sb * v["bias_epsilon"]
        return y
    return forward


def _fac(w_in=True, w_out=True, b_noise=True, f_again=False, constant_sigma=False):
    """A factorised forward pass with the chosen parts (a learner's slips)."""
    def forward(x, layer):
        v = _arrays(layer)
        f_in, f_out = v["epsilon_in"], v["epsilon_out"]
        if f_again:
            f_in, f_out = f(f_in), f(f_out)
        sigma = v["kernel_sigma"]
        if constant_sigma:
            sigma = np.full_like(sigma, 0.5 / np.sqrt(sigma.shape[0]))
        y = x @ v["kernel_mu"] + v["bias_mu"]
        y = y + ((x * (f_in if w_in else 1.0)) @ sigma) * (f_out if w_out else 1.0)
        if b_noise:
            y = y + v["bias_sigma"] * f_out
        return y
    return forward


def _mu_only(x, layer):
    v = _arrays(layer)
    return x @ v["kernel_mu"] + v["bias_mu"]


def _transposed_shape(x, layer):
    return SOL.independent_forward(x, layer).T


@pytest.mark.parametrize("independent, factorised, fragment", [
    (_mu_only, SOL.factorised_forward, "independent_forward: that is x μ_w + μ_b"),
    (_ind(b_noise=False), SOL.factorised_forward, "the bias noise σ_b ⊙ ε_b is missing"),
    (_ind(w_noise=False), SOL.factorised_forward, "the weight noise σ_w ⊙ ε_w is missing"),
    (_ind(scaled=False), SOL.factorised_forward, "the noise is scaled by σ"),
    (_transposed_shape, SOL.factorised_forward, "returned shape (5, 6)"),
    (_ind(mu=False), SOL.factorised_forward, "independent_forward does not match layer(x)"),
    (SOL.independent_forward, _mu_only, "factorised_forward: that is x μ_w + μ_b"),
    (SOL.independent_forward, _fac(b_noise=False), "the bias noise σ_b ⊙ f(ε_out) is missing"),
    (SOL.independent_forward, _fac(f_again=True), "already hold f(ε_in) and f(ε_out)"),
    (SOL.independent_forward, _fac(w_out=False), "scale the outputs of the σ_w matmul"),
    (SOL.independent_forward, _fac(w_in=False), "scale the inputs by epsilon_in"),
    (SOL.independent_forward, _fac(constant_sigma=True), "factorised_forward does not match"),
])
def test_forward_by_hand_wrong_functions_are_explained(independent, factorised, fragment):
    assert_wrong(check("03.2", independent, factorised), fragment)


def test_forward_by_hand_a_correct_first_function_and_a_placeholder_second_is_unanswered():
    def placeholder(x, layer):
        """Not written yet."""
        raise NotImplementedError

    assert check("03.2", SOL.independent_forward, placeholder).status == UNANSWERED


# --------------------------------------------------------------------------------------- 03.3
@pytest.mark.parametrize("answer", [10, 10.0, 9.5, 10.6])
def test_sigma0_ratio_ten_and_measured_values_near_it_are_correct(answer):
    verdict = check("03.3", answer)
    assert verdict.status == CORRECT, verdict
    assert "linear in σ" in verdict.message


@pytest.mark.parametrize("answer, fragment", [
    (100, "the variance grows with σ0², the standard deviation with σ0"),
    (math.sqrt(10), "linear in σ0, not in √σ0"),
    (0.1, "the larger over the smaller"),
    (0.01, "the larger over the smaller"),
    (1, "the spread does change"),
    (5, "how does its standard deviation scale?"),
    ("ten", "should be a number"),
])
def test_sigma0_ratio_wrong_answers_are_explained(answer, fragment):
    assert_wrong(check("03.3", answer), fragment)


# --------------------------------------------------------------------------------------- 03.4
def test_why_sqrt_the_exact_values_are_correct():
    assert check("03.4", 2 / math.pi, 1.0, 9.0).status == CORRECT


def test_why_sqrt_a_million_samples_confirm_the_analytic_values_and_pass_the_checker():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(2, 1_000_000))
    with_f, without = f(a) * f(b), a * b
    kurtosis = np.mean(without**4) / np.var(without) ** 2
    assert np.isclose(np.var(with_f), 2 / math.pi, rtol=0.01)
    assert np.isclose(np.var(without), 1.0, rtol=0.01)
    assert np.isclose(kurtosis, 9.0, rtol=0.05)
    assert check("03.4", np.var(with_f), np.var(without), kurtosis).status == CORRECT


@pytest.mark.parametrize("answers, fragment", [
    ((math.sqrt(2 / math.pi), 1.0, 9.0), "E[f(ε)²] for one factor"),
    ((1.0, 1.0, 9.0), "f shrinks |ε| > 1"),
    ((0.5, 1.0, 9.0), "variance_with_f: Var(f(a) f(b))"),
    ((2 / math.pi, 2 / math.pi, 9.0), "variance_without_f"),
    ((2 / math.pi, 1.0, 3.0), "3 is a Gaussian's kurtosis"),
    ((2 / math.pi, 1.0, 6.0), "excess kurtosis"),
    ((2 / math.pi, 1.0, 12.0), "E[a⁴] = 3"),
])
def test_why_sqrt_wrong_answers_are_explained(answers, fragment):
    assert_wrong(check("03.4", *answers), fragment)


# --------------------------------------------------------------------------------------- 03.5
def test_per_call_noise_the_reference_class_is_correct():
    verdict = check("03.5", SOL.PerCallNoisyDense)
    assert verdict.status == CORRECT, verdict


def _sign_sqrt(v):
    return ops.sign(v) * ops.sqrt(ops.abs(v))


class _Base(keras.layers.Layer):
    """μ and σ as §3.2 prescribes; subclasses choose where the noise comes from."""

    def __init__(self, units, sigma0=0.5, **kwargs):
        super().__init__(**kwargs)
        self.units, self.sigma0 = units, sigma0
        self.generator = keras.random.SeedGenerator(0)

    def build(self, input_shape):
        p = input_shape[-1]
        bound = 1 / math.sqrt(p)
        uniform = keras.initializers.RandomUniform(-bound, bound, seed=1)
        sigma = keras.initializers.Constant(self.sigma0 / math.sqrt(p))
        self.kernel_mu = self.add_weight(shape=(p, self.units), initializer=uniform)
        self.kernel_sigma = self.add_weight(shape=(p, self.units), initializer=sigma)
        self.bias_mu = self.add_weight(shape=(self.units,), initializer=uniform)
        self.bias_sigma = self.add_weight(shape=(self.units,), initializer=sigma)

    def noise(self, inputs):
        """(f_in, f_out), broadcastable against (batch, p) and (batch, q)."""
        raise NotImplementedError

    def call(self, inputs):
        f_in, f_out = self.noise(inputs)
        return (ops.matmul(inputs, self.kernel_mu) + self.bias_mu
                + ops.matmul(inputs * f_in, self.kernel_sigma) * f_out + self.bias_sigma * f_out)


class _FixedNoise(_Base):
    """Noise drawn once, at build time: the NoisyDense behaviour, not this exercise's."""

    def build(self, input_shape):
        super().build(input_shape)
        p = input_shape[-1]
        self.f_in = _sign_sqrt(keras.random.normal((p,), seed=self.generator))
        self.f_out = _sign_sqrt(keras.random.normal((self.units,), seed=self.generator))

    def noise(self, inputs):
        return self.f_in, self.f_out


class _PerRowNoise(_Base):
    """A new sample for every row of the batch."""

    def noise(self, inputs):
        batch, p = ops.shape(inputs)
        return (_sign_sqrt(keras.random.normal((batch, p), seed=self.generator)),
                _sign_sqrt(keras.random.normal((batch, self.units), seed=self.generator)))


class _PerCall(_Base):
    def noise(self, inputs):
        p = ops.shape(inputs)[-1]
        return (_sign_sqrt(keras.random.normal((p,), seed=self.generator)),
                _sign_sqrt(keras.random.normal((self.units,), seed=self.generator)))


class _SigmaOne(_PerCall):
    """σ initialised to 1 instead of σ0/√p."""

    def build(self, input_shape):
        super().build(input_shape)
        self.kernel_sigma.assign(ops.ones(self.kernel_sigma.shape))
        self.bias_sigma.assign(ops.ones(self.bias_sigma.shape))


class _NoSigma(keras.layers.Layer):
    """A Dense layer plus fixed-scale noise: no learned σ."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.dense = keras.layers.Dense(units)

    def call(self, inputs):
        y = self.dense(inputs)
        return y + 0.1 * keras.random.normal((ops.shape(y)[-1],))


class _WrongShape(_PerCall):
    def call(self, inputs):
        return ops.sum(super().call(inputs), axis=-1)


@pytest.mark.parametrize("answer, fragment", [
    (_FixedNoise, "the same batch gave the same output twice"),
    (_PerRowNoise, "two equal rows of one batch gave different outputs"),
    (_NoSigma, "the layer needs trainable μ and σ"),
    (_SigmaOne, "start at σ0/√p"),
    (_WrongShape, "expected (5, 4)"),
    (SOL.PerCallNoisyDense(4), "pass the class itself"),
])
def test_per_call_noise_wrong_layers_are_explained(answer, fragment):
    assert_wrong(check("03.5", answer), fragment)


def test_per_call_noise_a_correct_layer_of_ones_own_passes_too():
    assert check("03.5", _PerCall).status == CORRECT
