"""Checkers for the exercises of notebook 03 (the NoisyDense layer).

Every truth is computed from ``nh.NoisyDense`` itself (03.1-03.3, 03.5) or derived in the
checker's docstring from Fortunato et al. (2018), "Noisy Networks for Exploration" (03.4).
Keras is imported inside the checkers, so that ``nh.exercises.check`` stays light for the
other notebooks.
"""

from __future__ import annotations

import math

import numpy as np

from . import Wrong, exercise

#: The Nature-DQN's first fully-connected layer: 3136 inputs, 512 outputs (exercise 03.1).
NATURE_FAN_IN, NATURE_UNITS = 3136, 512


def _number(answer, name: str) -> float:
    """``answer`` as a float; a learner's non-number is a wrong answer that says so."""
    try:
        return float(answer)
    except (TypeError, ValueError):
        raise Wrong(f"{name} should be a number, got {answer!r}") from None


# ---------------------------------------------------------------------------------------- 03.1
def _draws(factorised: bool, fan_in: int = NATURE_FAN_IN, units: int = NATURE_UNITS) -> int:
    """Entries of the noise variables of an ``nh.NoisyDense(units)`` built on ``fan_in`` inputs:
    the standard-normal draws that one ``reset_noise()`` takes."""
    from ..noisy_dense import NoisyDense

    layer = NoisyDense(units, factorised=factorised, seed=0)
    layer.build((None, fan_in))
    return sum(int(np.prod(variable.shape)) for variable in layer.noise_variables)


@exercise("03.1", "Counting random numbers")
def counting_draws(independent_draws, factorised_draws) -> str:
    """Draws per noise sample of the Nature-DQN's 3136 → 512 layer, counted on a real layer.

    Independent noise (§3): one N(0, 1) per weight and per bias, p·q + q.
    Factorised noise (Eq. 10-11): ε_in (p) and ε_out (q), and the bias reuses f(ε_out): p + q.
    """
    p, q = NATURE_FAN_IN, NATURE_UNITS
    independent, factorised = _draws(False), _draws(True)
    answer = _number(independent_draws, "independent_draws")
    if answer == p * q:
        raise Wrong("independent_draws: weights and biases both need noise")
    if answer != independent:
        raise Wrong("independent_draws: with independent noise every weight and every bias "
                    "has its own ε")
    answer = _number(factorised_draws, "factorised_draws")
    if answer == p + 2 * q:
        raise Wrong("factorised_draws: the bias reuses ε_out, ε_b = f(ε_out) (Eq. 11)")
    if answer in (p * q, p * q + q):
        raise Wrong("factorised_draws: factorised noise draws one vector per side, ε_in and "
                    "ε_out, and builds ε_w from them")
    if answer != factorised:
        raise Wrong("factorised_draws: count the entries of ε_in and ε_out (Eq. 10-11)")
    return (f"{independent:,} independent draws (p·q + q) against {factorised:,} factorised "
            f"ones (p + q), {independent / factorised:.0f} times fewer")


# ---------------------------------------------------------------------------------------- 03.2
def _sign_sqrt(v):
    """``f(x) = sgn(x) √|x|`` (Eq. 11), in NumPy."""
    return np.sign(v) * np.sqrt(np.abs(v))


def _small_layer(factorised: bool, seed: int):
    """A linear ``nh.NoisyDense(5)`` on 7 inputs whose μ, σ and ε are set from a seeded NumPy
    generator: σ differs from weight to weight (a learner's constant σ0/√p does not pass), and
    the noise is a genuine sample (f(ε) for factorised noise, as the layer stores it).
    Returns the layer, a batch of 6 inputs and the variables as float64 NumPy arrays."""
    from ..noisy_dense import NoisyDense

    p, q = 7, 5
    rng = np.random.default_rng(seed)
    layer = NoisyDense(q, factorised=factorised, seed=seed)
    layer.build((None, p))
    values = {
        "kernel_mu": rng.uniform(-1, 1, (p, q)),
        "kernel_sigma": rng.uniform(0.2, 0.6, (p, q)),
        "bias_mu": rng.uniform(-1, 1, q),
        "bias_sigma": rng.uniform(0.2, 0.6, q),
    }
    if factorised:
        values["epsilon_in"] = _sign_sqrt(rng.normal(size=p))
        values["epsilon_out"] = _sign_sqrt(rng.normal(size=q))
    else:
        values["kernel_epsilon"] = rng.normal(size=(p, q))
        values["bias_epsilon"] = rng.normal(size=q)
    for name, value in values.items():
        getattr(layer, name).assign(value.astype("float32"))
        values[name] = value.astype("float32").astype("float64")
    x = rng.normal(size=(6, p)).astype("float32")
    return layer, x, values


def _compare(function, name: str, layer, x, truth, mistakes) -> None:
    """Call the learner's ``function(x, layer)`` and compare with ``truth`` (the layer's own
    output); on a mismatch, name the first of ``mistakes`` [(output, message)] it matches."""
    answer = np.asarray(function(x, layer), dtype="float64")
    if answer.shape != truth.shape:
        raise Wrong(f"{name} returned shape {answer.shape}; layer(x) has shape {truth.shape} "
                    f"(batch, units)")

    def close(a, b):
        """Equal up to float32 round-off."""
        return np.allclose(a, b, rtol=1e-4, atol=1e-5)  # float32 layer, float64 learner: fine

    if close(answer, truth):
        return
    for output, message in mistakes:
        if close(answer, output):
            raise Wrong(f"{name}: {message}")
    raise Wrong(f"{name} does not match layer(x): y = x (μ_w + σ_w ⊙ ε_w) + μ_b + σ_b ⊙ ε_b "
                f"(Eq. 8), with the layer's own variables")


@exercise("03.2", "Independent and factorised noise, by hand")
def forward_by_hand(independent_forward, factorised_forward) -> str:
    """Both functions against ``layer(x)`` of linear NoisyDense layers whose variables are set
    to random values (σ too), and against the common slips.

    Independent (Eq. 8): y = x (μ_w + σ_w ⊙ ε_w) + μ_b + σ_b ⊙ ε_b.
    Factorised (Eq. 8, 10, 11): ε_w = f(ε_in) f(ε_out)ᵀ, ε_b = f(ε_out); the layer's
    ``epsilon_in`` and ``epsilon_out`` already hold f(ε_in), f(ε_out), and
    x (σ_w ⊙ f_in f_outᵀ) = ((x ⊙ f_in) σ_w) ⊙ f_out needs no p × q noise matrix.
    Only the values are checked: whether the p × q matrix is formed is not.
    """
    from keras import ops

    layer, x, v = _small_layer(factorised=False, seed=31)
    truth = ops.convert_to_numpy(layer(x)).astype("float64")
    xd = x.astype("float64")
    mean = xd @ v["kernel_mu"] + v["bias_mu"]
    weight_noise = xd @ (v["kernel_sigma"] * v["kernel_epsilon"])
    bias_noise = v["bias_sigma"] * v["bias_epsilon"]
    _compare(independent_forward, "independent_forward", layer, x, truth, [
        (mean, "that is x μ_w + μ_b, the layer without its noise: add σ ⊙ ε"),
        (mean + weight_noise, "the bias noise σ_b ⊙ ε_b is missing: weights and biases are "
                              "both noisy"),
        (mean + bias_noise, "the weight noise σ_w ⊙ ε_w is missing"),
        (mean + xd @ v["kernel_epsilon"] + v["bias_epsilon"],
         "the noise is scaled by σ: w = μ_w + σ_w ⊙ ε_w, b = μ_b + σ_b ⊙ ε_b"),
    ])

    layer, x, v = _small_layer(factorised=True, seed=32)
    truth = ops.convert_to_numpy(layer(x)).astype("float64")
    xd = x.astype("float64")
    f_in, f_out = v["epsilon_in"], v["epsilon_out"]
    mean = xd @ v["kernel_mu"] + v["bias_mu"]

    def noisy(w_in, w_out, b_out):
        """The factorised output with f(ε_in), f(ε_out) in the weight noise and f(ε_out) in
        the bias noise replaced by the given factors (1.0 leaves one out, 0.0 drops a term)."""
        return mean + ((xd * w_in) @ v["kernel_sigma"]) * w_out + v["bias_sigma"] * b_out

    f_in2, f_out2 = _sign_sqrt(f_in), _sign_sqrt(f_out)
    _compare(factorised_forward, "factorised_forward", layer, x, truth, [
        (mean, "that is x μ_w + μ_b, the layer without its noise: add the factorised noise"),
        (noisy(f_in, f_out, 0.0), "the bias noise σ_b ⊙ f(ε_out) is missing (Eq. 11)"),
        (noisy(f_in2, f_out2, f_out2),
         "epsilon_in and epsilon_out already hold f(ε_in) and f(ε_out): do not apply f again"),
        (noisy(f_in, 1.0, f_out), "the weight noise is f(ε_in) f(ε_out)ᵀ: scale the outputs of "
                                  "the σ_w matmul by epsilon_out too"),
        (noisy(1.0, f_out, f_out), "the weight noise is f(ε_in) f(ε_out)ᵀ: scale the inputs by "
                                   "epsilon_in before the σ_w matmul"),
    ])
    return ("both agree with layer(x); the factorised one is ((x ⊙ f_in) σ_w) ⊙ f_out + "
            "σ_b ⊙ f_out on top of x μ_w + μ_b")


# ---------------------------------------------------------------------------------------- 03.3
def _output_std(sigma0: float, samples: int = 40) -> float:
    """Standard deviation, over ``samples`` noise draws, of output 0 of a fresh factorised
    ``nh.NoisyDense(4, sigma0=sigma0, seed=3)`` on 16 inputs, at one fixed input. The seed
    fixes μ and the sequence of noise draws, so layers that differ in σ0 only see the same ε."""
    from keras import ops

    from ..noisy_dense import NoisyDense

    layer = NoisyDense(4, sigma0=sigma0, seed=3)
    x = np.random.default_rng(33).normal(size=(1, 16)).astype("float32")
    layer.build(x.shape)
    outputs = []
    for _ in range(samples):
        layer.reset_noise()
        outputs.append(float(ops.convert_to_numpy(layer(x))[0, 0]))
    return float(np.std(outputs))


@exercise("03.3", "The effect of σ0")
def sigma0_ratio(std_ratio_sigma0_1_over_0_1) -> str:
    """σ0 = 1.0 over σ0 = 0.1: the ratio of the standard deviations of one output over noise.

    With σ_w = σ_b = σ0/√p (§3.2) the output is x μ_w + μ_b + σ0/√p · n(ε) where
    n(ε) = ((x ⊙ f_in) 1) ⊙ f_out + f_out does not depend on σ0 (Eq. 8, 10-11): the noise
    term is linear in σ0, so its standard deviation is too, ratio 1.0/0.1 = 10 (measured here
    on two layers with the same seed, hence the same μ and the same noise draws).
    """
    answer = _number(std_ratio_sigma0_1_over_0_1, "std_ratio_sigma0_1_over_0_1")
    truth = _output_std(1.0) / _output_std(0.1)
    if np.isclose(answer, truth, rtol=0.1):
        return (f"{truth:.3g}: the noise term is linear in σ = σ0/√p, so its standard deviation "
                f"grows like σ0 (its variance like σ0²)")
    if np.isclose(answer, truth**2, rtol=0.1):
        raise Wrong("that is the ratio of variances: the variance grows with σ0², the standard "
                    "deviation with σ0")
    if np.isclose(answer, math.sqrt(truth), rtol=0.1):
        raise Wrong("the noise term σ0/√p · (...) is linear in σ0, not in √σ0")
    if answer > 0 and (np.isclose(1 / answer, truth, rtol=0.1)
                       or np.isclose(1 / answer, truth**2, rtol=0.1)):
        raise Wrong("that is σ0 = 0.1 over σ0 = 1.0: the ratio asked for is the larger over the "
                    "smaller")
    if np.isclose(answer, 1.0, rtol=0.1):
        raise Wrong("σ0 sets σ = σ0/√p, and σ multiplies the noise: the spread does change")
    raise Wrong("the noise term is σ0/√p times something that does not depend on σ0: how "
                "does its standard deviation scale?")


# ---------------------------------------------------------------------------------------- 03.4
@exercise("03.4", "Why √|x|?")
def why_sqrt(variance_with_f, variance_without_f, kurtosis_without_f) -> str:
    """The variance of one entry f(a) f(b) of a factorised ε_w, and the variance and kurtosis of
    a b without f, for independent a, b ~ N(0, 1) (Eq. 10-11).

    * E|a| = 2 ∫₀^∞ t φ(t) dt = 2/√(2π) = √(2/π), so E[f(a)²] = E|a| = √(2/π);
      f(a) f(b) has mean 0 (f is odd) and variance E[f(a)²] E[f(b)²] = 2/π ≈ 0.64.
    * Without f: Var(ab) = E[a²] E[b²] = 1, and E[(ab)⁴] = E[a⁴] E[b⁴] = 3 · 3 = 9, so the
      kurtosis E[(ab)⁴]/Var(ab)² is 9, three times a Gaussian's 3 (excess kurtosis 6).
    Sampling estimates pass within the tolerances (2 % for the variances, 5 % for the kurtosis,
    whose million-sample estimate wanders by about 1 %).
    """
    with_f, without_f, kurtosis = 2 / math.pi, 1.0, 9.0
    answer = _number(variance_with_f, "variance_with_f")
    if np.isclose(answer, math.sqrt(2 / math.pi), rtol=0.02):
        raise Wrong("variance_with_f: √(2/π) is E[f(ε)²] for one factor; the entry is a product "
                    "of two independent factors")
    if np.isclose(answer, 1.0, rtol=0.02):
        raise Wrong("variance_with_f: f shrinks |ε| > 1 and grows |ε| < 1; E[f(ε)²] = E|ε| "
                    "for each factor")
    if not np.isclose(answer, with_f, rtol=0.02):
        raise Wrong("variance_with_f: Var(f(a) f(b)) = E[f(a)²] E[f(b)²] for independent a, b "
                    "(the mean is 0)")
    answer = _number(variance_without_f, "variance_without_f")
    if not np.isclose(answer, without_f, rtol=0.02):
        raise Wrong("variance_without_f: Var(ab) = E[a²] E[b²] for independent zero-mean a, b")
    answer = _number(kurtosis_without_f, "kurtosis_without_f")
    if np.isclose(answer, 3.0, rtol=0.05):
        raise Wrong("kurtosis_without_f: 3 is a Gaussian's kurtosis; the product has heavier "
                    "tails")
    if np.isclose(answer, 6.0, rtol=0.05):
        raise Wrong("kurtosis_without_f: that is the excess kurtosis (kurtosis − 3, what "
                    "scipy.stats.kurtosis returns by default); give E[x⁴]/Var(x)² itself")
    if not np.isclose(answer, kurtosis, rtol=0.05):
        raise Wrong("kurtosis_without_f: E[(ab)⁴]/Var(ab)², with E[(ab)⁴] = E[a⁴] E[b⁴] and "
                    "E[a⁴] = 3")
    return ("2/π ≈ 0.64 with f, 1 and kurtosis 9 without: f tames the heavy tails of a product "
            "of two Gaussians")


# ---------------------------------------------------------------------------------------- 03.5
@exercise("03.5", "Noise that is not fixed")
def per_call_noise(layer_class) -> str:
    """``layer_class(4)`` on a batch of 5 inputs of size 6 whose first two rows are equal.

    It must hold trainable μ and σ for weights (6 × 4) and biases (4,), σ initialised to
    σ0/√p (§3.2, σ0 = the layer's ``sigma0`` or 0.5); two calls on the same batch must differ
    (new noise in every call) and the two equal rows must give equal outputs (one sample per
    call, shared by the whole batch: §3.1, "held fixed across the batch").
    """
    import keras
    from keras import ops

    if not (isinstance(layer_class, type) and issubclass(layer_class, keras.layers.Layer)):
        raise Wrong("pass the class itself (PerCallNoisyDense, a subclass of "
                    "keras.layers.Layer), not an instance")
    p, q = 6, 4
    layer = layer_class(q)
    x = np.random.default_rng(35).normal(size=(5, p)).astype("float32")
    x[1] = x[0]
    first = ops.convert_to_numpy(layer(x))
    second = ops.convert_to_numpy(layer(x))
    if first.shape != (5, q):
        raise Wrong(f"PerCallNoisyDense(4) on a batch of shape {x.shape} returned shape "
                    f"{first.shape}, expected (5, 4)")

    shapes = [tuple(w.shape) for w in layer.trainable_weights]
    kernels = [w for w in layer.trainable_weights if tuple(w.shape) in ((p, q), (q, p))]
    biases = [w for w in layer.trainable_weights if tuple(w.shape) == (q,)]
    if len(kernels) < 2 or len(biases) < 2:
        raise Wrong(f"the layer needs trainable μ and σ for the weights (p × q) and for the "
                    f"biases (q,), found trainable shapes {shapes}")
    sigma = getattr(layer, "sigma0", 0.5) / math.sqrt(p)

    def constant(variables):
        """Whether one of ``variables`` holds σ0/√p everywhere."""
        return any(np.allclose(ops.convert_to_numpy(w), sigma, rtol=1e-5) for w in variables)

    if not (constant(kernels) and constant(biases)):
        raise Wrong("σ_w and σ_b should both start at σ0/√p, p the fan-in (§3.2)")
    if np.allclose(first, second):
        raise Wrong("the same batch gave the same output twice: the noise must be drawn anew "
                    "inside call")
    if not np.allclose(first[0], first[1], rtol=1e-5, atol=1e-6):
        raise Wrong("two equal rows of one batch gave different outputs: draw one noise sample "
                    "per call, shared by the whole batch")
    return ("fresh noise in every call, one sample per batch; but no call can see the network "
            "of an earlier call again, nor switch the noise off")
