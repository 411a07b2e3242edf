"""Checkers for the exercises of notebook 05 (Atari UpNDown).

Each truth comes from the package: the frame skip of :func:`noisy_helpers.make_atari_env`, the
``nbytes`` of :class:`noisy_helpers.PrioritizedFrameReplayBuffer`, the noise statistics that
:class:`noisy_helpers.Agent` writes to ``metrics.csv``, and the layers of
:func:`noisy_helpers.build_q_network`. TensorFlow and the emulator are imported inside the
checkers that need them.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from . import Wrong, exercise

#: The ``p`` at which exercise 05.1 calls the learner's function: both ends and values between.
STICKY_PROBABILITIES = (0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0)
#: Slots of the buffer of exercise 05.2 (its arrays are allocated lazily: asking costs nothing).
SLOTS = 2**20
#: Agent steps of the papers' budget (exercise 05.5): 200M frames at a frame skip of 4.
PAPER_AGENT_STEPS = 50_000_000


def _number(answer, name: str) -> float:
    """``answer`` as a float; a bool or a non-number is a clear Wrong, not a traceback."""
    if isinstance(answer, (bool, np.bool_)):
        raise Wrong(f"{name} must be a number, got {answer!r}")
    try:
        return float(answer)
    except (TypeError, ValueError):
        raise Wrong(f"{name} must be a number, got {answer!r}") from None


# ------------------------------------------------------------------ 05.1 stickier actions
@functools.lru_cache(maxsize=1)
def frame_skip() -> int:
    """The emulator frames of one agent step in :func:`noisy_helpers.make_atari_env`, read from
    its ``AtariPreprocessing`` wrapper (the package has no separate constant). Building the
    environment loads the ROM but plays no frame: a fraction of a second, once."""
    import gymnasium as gym

    from ..atari import make_atari_env

    env = make_atari_env("ALE/UpNDown-v5", training=False)
    try:
        wrapper = env
        while not isinstance(wrapper, gym.wrappers.AtariPreprocessing):
            wrapper = wrapper.env
        return int(wrapper.frame_skip)
    finally:
        env.close()


@exercise("05.1", "Stickier actions")
def stickier_actions(ignored_for_a_whole_step) -> str:
    """``ignored_for_a_whole_step(p)``: the probability that a newly chosen action is not carried
    out on any of the k frames of one agent step. ALE repeats the previous action instead of the
    chosen one with probability p, independently at each emulator frame (Machado et al. 2018,
    sticky actions), and once the new action has been carried out, repeating "the previous action" repeats
    it. So the new action is ignored for the whole step only if all k draws are sticky: p^k."""
    k = frame_skip()
    ps = np.array(STICKY_PROBABILITIES)
    answers = np.array([_number(ignored_for_a_whole_step(float(p)), "ignored_for_a_whole_step(p)")
                        for p in ps])
    if not np.all(np.isfinite(answers)):
        raise Wrong("ignored_for_a_whole_step(p) must return a finite probability for every p in [0, 1]")

    def same(values) -> bool:
        """The learner's values are these, at every p."""
        return bool(np.allclose(answers, values, rtol=1e-6, atol=1e-9))

    if same(ps ** k):
        return (f"p^{k}: the {k} frames of a step each repeat the previous action independently, "
                f"and all {k} must; at p = 0.25 that is {0.25 ** k:.4f} (1 step in {round(4 ** k)}), "
                f"at 0.75 it is {0.75 ** k:.2f}")
    if same(ps):
        raise Wrong("p is the probability for one emulator frame; one agent step is several frames")
    if same(1 - (1 - ps) ** k):
        raise Wrong("that is the probability that at least one frame repeats the previous action; "
                    "the action is ignored for the whole step only if every frame does")
    if same(k * ps):
        raise Wrong("p times the number of frames is not a probability (it passes 1): the frames' "
                    "draws are independent events that must all happen")
    if same((1 - ps) ** k):
        raise Wrong("that is the chance that no frame is sticky; the action is ignored for the whole "
                    "step only if every frame is")
    if same(1 - ps ** k):
        raise Wrong("that is the complement: the chance that the new action is carried out on at "
                    "least one frame of the step")
    if np.any((answers < 0) | (answers > 1)):
        raise Wrong("a probability lies in [0, 1] for every p")
    raise Wrong("not the probability that every frame of one agent step repeats the previous "
                "action: how many frames is one agent step (make_atari_env's frame skip)?")


# ------------------------------------------------------------------ 05.2 bytes per slot
@exercise("05.2", "Bytes per slot")
def bytes_per_slot(answer) -> str:
    """Bytes per slot of a ``PrioritizedFrameReplayBuffer(2**20)``: its own ``nbytes`` divided by
    the slots (lazily allocated, so free to ask). The likely slips are computed from the same
    buffer's arrays, so they follow the package if a dtype changes."""
    from ..frame_replay import PrioritizedFrameReplayBuffer

    buffer = PrioritizedFrameReplayBuffer(SLOTS)
    truth = buffer.nbytes / SLOTS
    per_slot = {name: getattr(buffer, name).nbytes / SLOTS
                for name in ("frames", "actions", "rewards", "dones", "flags", "_written_at")}
    tree = buffer._tree._tree
    per_slot["tree"] = tree.nbytes / SLOTS                     # 2 · 2^⌈log2 n⌉ float64 nodes
    answer = _number(answer, "your_bytes_per_slot")
    if np.isclose(answer, truth):
        return (f"{truth:,.0f} bytes: the frame {per_slot['frames']:,.0f}, action, reward, done, "
                f"flags and write count {truth - per_slot['frames'] - per_slot['tree']:.0f}, "
                f"and {per_slot['tree']:.0f} for the sum tree's two float64 nodes per slot")
    if np.isclose(answer, per_slot["frames"]):
        raise Wrong("that is the frame alone: what else does each slot hold?")
    if np.isclose(answer, truth - per_slot["tree"]):
        raise Wrong("the sum tree is an array of this buffer too: count its float64 nodes per slot")
    one_node_per_slot = truth - per_slot["tree"] + tree.itemsize
    if np.isclose(answer, one_node_per_slot) or np.isclose(answer, truth - per_slot["_written_at"]):
        raise Wrong("a few bytes short: a sum tree of n leaves has 2n nodes, not n, and every "
                    "array in the list counts (_written_at too)")
    if answer >= 2 * per_slot["frames"]:
        raise Wrong("a slot stores one frame, not a stack or obs and next_obs: the stacks are "
                    "rebuilt from neighbouring slots")
    if answer > truth:
        raise Wrong("more than the buffer holds: check each array's dtype (bytes per element)")
    raise Wrong("fewer bytes than the buffer holds: check each array in the list and its dtype")


# ------------------------------------------------------------------ 05.3 noise at test time
#: (fan-in p, units q, seed) of the layers that exercise 05.3 measures: small, so that the
#: biases weigh in the means (q of the p·q + q values).
_RATIO_LAYERS = ((3, 4, 0), (5, 2, 1), (16, 6, 2))


def _ratio_test_layers():
    """NoisyDense layers with fixed seeds whose μ and σ are set to values like a trained layer's:
    μ of both signs with a non-zero mean, σ mostly positive but some negative (a trained σ can
    change sign; only |σ| matters, since ε is symmetric), and biases on another scale than the
    kernel, so that every slip in the ratio gives another number."""
    from ..noisy_dense import NoisyDense

    layers = []
    for p, q, seed in _RATIO_LAYERS:
        layer = NoisyDense(q, seed=seed, name=f"noisy_{seed}")
        layer.build((None, p))
        rng = np.random.default_rng(seed)
        layer.kernel_mu.assign(rng.normal(0.05, 0.2, (p, q)).astype(np.float32))
        layer.kernel_sigma.assign(rng.uniform(-0.02, 0.08, (p, q)).astype(np.float32))
        layer.bias_mu.assign(rng.normal(0.5, 1.0, q).astype(np.float32))
        layer.bias_sigma.assign(rng.uniform(-0.1, 0.5, q).astype(np.float32))
        layers.append(layer)
    return layers


def _package_ratio(layer) -> float:
    """mean |μ| / mean |σ| of ``layer`` as the package computes it: ``mu/<layer>`` over
    ``sigma/<layer>`` of :meth:`Agent.noise_statistics` (weights and biases together, by
    :func:`noisy_helpers.noisy_dense.mean_abs_sigma_and_mu`), the ratio that
    :func:`noisy_helpers.exploration.signal_to_noise` and notebooks 05 and 06 plot."""
    from ..noisy_dense import mean_abs_sigma_and_mu

    sigma, mu = mean_abs_sigma_and_mu(layer)
    return float(mu) / float(sigma)


def _ratio_slips(layer) -> dict:
    """The likely wrong versions of the ratio, each with what is wrong."""
    def flat(*variables):
        """The variables' values in one float64 vector."""
        return np.concatenate([np.ravel(v.numpy()) for v in variables]).astype(np.float64)

    mu, sigma = flat(layer.kernel_mu, layer.bias_mu), flat(layer.kernel_sigma, layer.bias_sigma)
    kernel_mu, kernel_sigma = flat(layer.kernel_mu), flat(layer.kernel_sigma)
    return {
        "that is mean |σ| / mean |μ|, the ratio upside down: signal over noise":
            np.mean(np.abs(sigma)) / np.mean(np.abs(mu)),
        "μ has both signs, and positive and negative weights cancel in a plain mean: "
        "the size of μ is mean |μ|": np.mean(mu) / np.mean(np.abs(sigma)),
        "a trained σ can be negative (only its size matters: ε is symmetric): the package "
        "averages |σ|": np.mean(np.abs(mu)) / np.mean(sigma),
        "that is the kernel only: the package's mu/ and sigma/ columns average the biases too":
            np.mean(np.abs(kernel_mu)) / np.mean(np.abs(kernel_sigma)),
        "that is the mean of the ratios |μ|/|σ| weight by weight; the package divides the two "
        "means": np.mean(np.abs(mu) / np.abs(sigma)),
    }


@exercise("05.3", "Noise at test time")
def noise_at_test_time(mean_abs_mu_over_mean_abs_sigma) -> str:
    """``mean_abs_mu_over_mean_abs_sigma(layer)`` of a NoisyDense layer: mean |μ| / mean |σ| over
    its weights and biases together, the signal-to-noise ratio of ``metrics.csv``
    (``mu/<layer>`` / ``sigma/<layer>``). Checked on three small layers with set μ and σ."""
    layers = _ratio_test_layers()
    truth = np.array([_package_ratio(layer) for layer in layers])
    answers = np.array([_number(mean_abs_mu_over_mean_abs_sigma(layer),
                                "mean_abs_mu_over_mean_abs_sigma(layer)") for layer in layers])
    if np.allclose(answers, truth, rtol=1e-4):
        return ("mean |μ| / mean |σ| over weights and biases, the mu/ over sigma/ columns of "
                "metrics.csv: a ratio of 1 means the noise is as large as the signal")
    slips = [_ratio_slips(layer) for layer in layers]
    for message in slips[0]:
        if np.allclose(answers, [slip[message] for slip in slips], rtol=1e-4):
            raise Wrong(message)
    raise Wrong("not mean |μ| / mean |σ| over the layer's weights and biases "
                "(kernel_mu, bias_mu, kernel_sigma, bias_sigma)")


# ------------------------------------------------------------------ 05.4 conv sizes at 60×60
def _nature_sizes(height: int):
    """The height after each Nature convolution of ``build_q_network((4, h, h), kind="nature")``,
    read from the built network, and the network's (kernel, stride) of each convolution."""
    from ..networks import build_q_network

    net = build_q_network((4, height, height), 6, hidden_sizes=(512,), kind="nature", seed=0)
    convolutions = [net.get_layer(f"conv_{i}") for i in (1, 2, 3)]
    sizes = tuple(int(layer.output.shape[1]) for layer in convolutions)
    shapes = [(int(layer.kernel_size[0]), int(layer.strides[0])) for layer in convolutions]
    features = int(net.get_layer("flatten").output.shape[1])
    return sizes, shapes, features


@exercise("05.4", "The original's 60×60 input")
def conv_sizes(answer) -> str:
    """The three spatial sizes after the Nature convolutions of a 60×60 input, valid padding,
    ⌊(n − k)/s⌋ + 1 each (Mnih et al. 2015, Methods): read from the network the package builds."""
    truth, shapes, features = _nature_sizes(60)
    try:
        answer = tuple(int(size) for size in answer)
    except (TypeError, ValueError):
        raise Wrong("your_sizes must be three whole numbers, one per convolution") from None
    if len(answer) != len(truth):
        raise Wrong(f"{len(truth)} sizes, one after each convolution, got {len(answer)}")
    if answer == truth:
        return (f"60 → {' → '.join(map(str, truth))}: {features:,} = {truth[-1]}·{truth[-1]}·64 "
                "flattened features reach the noisy layer, against 3,136 at 84×84")
    if answer == (20, 9, 7):
        raise Wrong("those are the sizes for 84×84: start from 60")
    same, size = [], 60
    for _, stride in shapes:  # 'same' padding: ⌈n / s⌉
        size = math.ceil(size / stride)
        same.append(size)
    if answer == tuple(same):
        raise Wrong("that is 'same' padding (⌈n / s⌉): the Nature convolutions pad nothing")
    raise Wrong("(n - k) // s + 1 for each convolution in turn")


# ------------------------------------------------------------------ 05.5 the frame budget
@exercise("05.5", "The frame budget")
def frame_budget(agent_steps_per_second, hours_for_50m) -> str:
    """Hours for the papers' 50M agent steps (200M frames at frame skip 4) at the learner's own
    measured speed: 50e6 / rate / 3600, to 2 %."""
    rate = _number(agent_steps_per_second, "your_agent_steps_per_second")
    hours = _number(hours_for_50m, "your_hours_for_50M")
    if not (np.isfinite(rate) and rate > 0):
        raise Wrong("your_agent_steps_per_second must be a positive number: the speed Section 5 printed")
    if not (np.isfinite(hours) and hours > 0):
        raise Wrong("your_hours_for_50M must be a positive number of hours")
    truth = PAPER_AGENT_STEPS / rate / 3600

    def close(value) -> bool:
        """The learner's hours are ``value`` to 2 %."""
        return bool(np.isclose(hours, value, rtol=0.02))

    if close(truth):
        return (f"{truth:,.0f} hours ({truth / 24:,.1f} days) for 50M agent steps = 200M frames "
                f"at {rate:,.0f} agent steps/s")
    if close(4 * truth):
        raise Wrong("a frame is not an agent step: 200M frames are 50M agent steps (frame skip 4)")
    if close(truth * 60):
        raise Wrong("that looks like minutes: the checker wants hours")
    if close(truth * 3600):
        raise Wrong("that looks like seconds: the checker wants hours")
    if close(truth / 24):
        raise Wrong("that looks like days: the checker wants hours")
    if close(PAPER_AGENT_STEPS * rate / 3600):
        raise Wrong("steps times steps per second is not a time: divide the steps by the speed")
    raise Wrong("not 50M agent steps at your speed, in hours")
