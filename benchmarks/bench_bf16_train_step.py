"""bfloat16 mixed precision for the Atari train step on this CPU: faster or not?

    python benchmarks/bench_bf16_train_step.py [--rounds 5] [--steps 30]

Builds the Nature Q-network of ``Config.atari()`` (three convolutions, a noisy 512 layer and a
noisy output; UpNDown's 6 actions) twice: once in float32 and once under Keras'
``mixed_bfloat16`` policy (weights kept in float32, the layers compute in bfloat16, the
Q-values cast back to float32 before the loss).  Each gets the same train step as
``Agent.train_step`` (Double DQN targets, IS-weighted Huber loss, Adam with ε 1.5e-4 and a
global clip norm of 10, new noise in both networks afterwards) compiled with ``tf.function``,
and the same acting call (``argmax`` of one observation, compiled with XLA as
``Agent.act``'s, and also without XLA).  Both see the same random uint8 batches of 32 transitions.

The two are timed in turns, ``--rounds`` times ``--steps`` calls each after a warm-up, in one
process, so that the ratio compares them under the same machine load.  It prints the median
time of a call for each and the ratio bfloat16 / float32 (< 1: bfloat16 is faster), and how
far bfloat16's Q-values of the same weights are from float32's.

The question comes from issue 17: the CPU of the 2-core AMD EPYC machines this was measured on
has AVX-512 with BF16 instructions.  bfloat16 becomes a ``Config`` option only if it is faster
here and a short run learns as well (README, "Atari training speed": not yet).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ACTIONS = 6  # UpNDown
BATCH = 32
OBS_SHAPE = (4, 84, 84)


def build(policy: str, seed: int = 1):
    """The Nature network (``Config.atari()``'s) built under the Keras dtype ``policy``."""
    import keras

    from noisy_helpers import Config
    from noisy_helpers.networks import build_q_network

    config = Config.atari()
    keras.mixed_precision.set_global_policy(policy)
    try:
        return [build_q_network(OBS_SHAPE, ACTIONS, hidden_sizes=config.hidden_sizes,
                                noisy=config.noisy, noisy_hidden=config.noisy_hidden,
                                sigma0=config.sigma0, factorised=config.factorised, seed=seed + i,
                                kind="nature", name=name)
                for i, name in enumerate(("online", "target"))]
    finally:
        keras.mixed_precision.set_global_policy("float32")


def make_calls(online, target):
    """``(train_step, act, act_without_xla)``: the agent's train step and acting call for these
    networks, and the acting call compiled without XLA."""
    import keras
    import tensorflow as tf

    from noisy_helpers import Config
    from noisy_helpers.agent import huber
    from noisy_helpers.noisy_dense import NoisyDense
    from noisy_helpers.targets import double_dqn_targets

    config = Config.atari()
    optimizer = keras.optimizers.Adam(learning_rate=config.learning_rate,
                                      epsilon=config.adam_epsilon,
                                      global_clipnorm=config.max_grad_norm)
    optimizer.build(online.trainable_variables)
    noisy = [layer for model in (online, target) for layer in model.layers
             if isinstance(layer, NoisyDense)]

    def q_values(model, obs, training=False):
        return tf.cast(model(obs, training=training), tf.float32)  # the loss in float32

    @tf.function
    def train_step(obs, actions, rewards, next_obs, dones, weights):
        targets = tf.stop_gradient(double_dqn_targets(
            rewards, dones, q_values(online, next_obs), q_values(target, next_obs),
            config.gamma))
        variables = online.trainable_variables
        with tf.GradientTape() as tape:
            q_taken = tf.gather(q_values(online, obs, True), actions, batch_dims=1)
            td_errors = targets - q_taken
            loss = tf.reduce_mean(weights * huber(td_errors, config.huber_delta))
        optimizer.apply(tape.gradient(loss, variables), variables)
        for layer in noisy:
            layer.reset_noise()
        return loss, tf.abs(td_errors)

    def greedy(obs):
        return tf.argmax(online(obs, training=False), axis=1)

    return train_step, tf.function(greedy, jit_compile=True), tf.function(greedy)


def batch(rng):
    import tensorflow as tf

    def frames():
        return tf.constant(rng.integers(0, 256, (BATCH, *OBS_SHAPE), dtype=np.uint8))

    return (frames(), tf.constant(rng.integers(0, ACTIONS, BATCH), tf.int64),
            tf.constant(rng.normal(size=BATCH), tf.float32), frames(),
            tf.constant((rng.random(BATCH) < 0.05).astype(np.float32)),
            tf.constant(rng.random(BATCH).astype(np.float32)))


def timed(call, args, count: int) -> float:
    """Median seconds of one call over ``count`` calls (the result fetched each time)."""
    times = []
    for _ in range(count):
        start = time.perf_counter()
        result = call(*args)
        np.asarray(result[0] if isinstance(result, tuple) else result)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=30, help="timed calls per round")
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.steps < 1:
        parser.error(f"--rounds and --steps must be >= 1, got {args.rounds} and {args.steps}")
    import tensorflow as tf

    rng = np.random.default_rng(0)
    nets = {"float32": build("float32"), "bfloat16": build("mixed_bfloat16")}
    for model, same in zip(nets["float32"], nets["bfloat16"]):  # the same weights and noise
        for source, copy in zip(model.weights, same.weights):
            copy.assign(source)
    obs = batch(rng)[0]
    f32 = nets["float32"][0](obs).numpy()
    b16 = tf.cast(nets["bfloat16"][0](obs), tf.float32).numpy()
    scale = np.abs(f32).max()
    same_argmax = float(np.mean(f32.argmax(1) == b16.argmax(1)))
    print(f"same weights, same noise: bfloat16's Q-values differ from float32's by at most "
          f"{np.abs(b16 - f32).max() / scale:.2%} of the largest |Q|; the greedy action agrees "
          f"on {same_argmax:.0%} of {BATCH} observations")

    calls = {name: make_calls(*models) for name, models in nets.items()}
    data = batch(rng)
    one = data[0][:1]
    for train_step, act, act_plain in calls.values():  # warm-up: tracing and first runs
        for _ in range(3):
            train_step(*data)
            act(one)
            act_plain(one)
    results = {name: {"train": [], "act": [], "act_plain": []} for name in calls}
    for _ in range(args.rounds):  # in turns, so that both see the same load
        for name, (train_step, act, act_plain) in calls.items():
            results[name]["train"].append(timed(train_step, data, args.steps))
            results[name]["act"].append(timed(act, (one,), args.steps))
            results[name]["act_plain"].append(timed(act_plain, (one,), args.steps))
    print(f"{args.rounds} rounds x {args.steps} calls, batch {BATCH}, Nature network, "
          f"{os.cpu_count()} CPUs")
    print(f"{'':<10} {'train step':>12} {'act, XLA':>12} {'act, no XLA':>12}")
    medians = {name: {kind: statistics.median(values) for kind, values in kinds.items()}
               for name, kinds in results.items()}
    for name, kinds in medians.items():
        print(f"{name:<10} {kinds['train'] * 1e3:>9.2f} ms {kinds['act'] * 1e3:>9.3f} ms "
              f"{kinds['act_plain'] * 1e3:>9.3f} ms")
    for kind in ("train", "act", "act_plain"):
        ratios = [b / f for b, f in zip(results["bfloat16"][kind], results["float32"][kind])]
        print(f"bfloat16 / float32, {kind}: median {statistics.median(ratios):.2f} "
              f"(rounds {min(ratios):.2f}-{max(ratios):.2f})")


if __name__ == "__main__":
    main()
