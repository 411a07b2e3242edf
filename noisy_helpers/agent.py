"""The Noisy Double DQN agent: acting, one compiled training step, target sync, checkpoints.

Taught in ``notebooks/04_noisy_double_dqn.ipynb``.

How the paper's pieces fit (Fortunato et al. 2018, Algorithm 1, with Double DQN):

* **Acting** is greedy on the *noisy* Q-values of the online network, with no
  ε (§3.1): the noise in the weights is the exploration.  Acting runs through a
  compiled ``tf.function`` (one observation in, one action out), never
  ``model.predict``, which rebuilds a data pipeline on every call.
* **Noise schedule.** A noise sample is held fixed between optimisation steps
  and redrawn after each one, in the online *and* the target network, each
  from its own generator (Algorithm 1 draws ε for the online network and ε'
  for the target network independently).  With one update per environment
  step this is the paper's "re-sampled before every action".
* **Training step** (compiled): the Double DQN target
  y = r + γ(1 − done) Q_target(s', argmax_a Q_online(s', a)), the Huber loss of
  δ = y − Q_online(s, a) weighted by the importance-sampling weights of
  prioritized replay, one Adam step with global-norm clipping, and |δ| returned
  for the priority update.
* **Target sync** copies the online network's *trainable* weights (μ and σ
  included) into the target network.  Copying all variables would also copy
  the noise and the noise generator's state, and the two networks would then
  draw identical noise forever.

Checkpoints are Keras ``.weights.h5`` for the networks, ``np.savez`` (no
pickle) for the optimizer's state and JSON for counters: no pickle anywhere.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from .config import Config  # noqa: E402
from .networks import build_q_network, layer_seeds  # noqa: E402
from .noisy_dense import noisy_layers  # noqa: E402
from .replay import linear_schedule  # noqa: E402
from .targets import double_dqn_targets, dqn_targets  # noqa: E402

__all__ = ["Agent", "huber"]



def huber(x, delta: float = 1.0):
    """Huber loss: x²/2 for |x| <= delta, delta·(|x| − delta/2) beyond (Mnih et al. 2015)."""
    abs_x = tf.abs(x)
    quadratic = tf.minimum(abs_x, delta)
    return 0.5 * quadratic**2 + delta * (abs_x - quadratic)


class Agent:
    """Online and target Q-networks, an Adam optimizer and the compiled functions that use them.

    Args:
        config: the run's :class:`~noisy_helpers.Config`.
        obs_shape: shape of one observation.
        n_actions: number of discrete actions.
        obs_dtype: dtype of observations (float32 for CartPole).
    """

    def __init__(self, config: Config, obs_shape, n_actions: int, obs_dtype=np.float32):
        if not isinstance(config, Config):
            raise TypeError(f"config must be a noisy_helpers.Config, got {type(config).__name__}")
        self.config = config
        self.obs_shape = tuple(int(d) for d in np.atleast_1d(obs_shape))
        self.n_actions = int(n_actions)
        self.obs_dtype = np.dtype(obs_dtype)
        online_seed, target_seed, action_seed = layer_seeds(config.seed, 3)
        network = dict(
            obs_shape=self.obs_shape, n_actions=self.n_actions,
            hidden_sizes=config.hidden_sizes, noisy=config.noisy,
            noisy_hidden=config.noisy_hidden, sigma0=config.sigma0,
            factorised=config.factorised, kind=config.network,
        )
        self.online = build_q_network(**network, seed=online_seed, name="online")
        # Its own seed: the target network's noise is independent of the online one's.
        self.target = build_q_network(**network, seed=target_seed, name="target")
        self.sync_target()
        learning_rate = config.learning_rate
        if config.learning_rate_end is not None:
            # Linear decay over the run's gradient steps (the optimizer counts them).
            updates = max(1, (config.total_steps - config.learning_starts)
                          // config.train_frequency)
            learning_rate = keras.optimizers.schedules.PolynomialDecay(
                config.learning_rate, updates, end_learning_rate=config.learning_rate_end
            )
        self.optimizer = keras.optimizers.Adam(
            learning_rate=learning_rate, epsilon=config.adam_epsilon,
            global_clipnorm=config.max_grad_norm,
        )
        self.optimizer.build(self.online.trainable_variables)
        self.noisy_online = noisy_layers(self.online)
        self.noisy_target = noisy_layers(self.target)
        self.epsilon = linear_schedule(
            config.epsilon_start, config.epsilon_end, config.epsilon_decay_steps
        )
        self.rng = np.random.default_rng(action_seed)  # ε-greedy's coin and random actions
        self.train_steps = 0

        obs_spec = tf.TensorSpec((None, *self.obs_shape), tf.as_dtype(self.obs_dtype))
        # Acting is one small forward pass, so TensorFlow's per-call overhead dominates it:
        # compiled with XLA and called through its concrete function, it costs about half
        # as much as a plain tf.function call (measured on the 2-core machine that runs CI).
        # The training step is compiled without XLA, which did not speed it up there.
        self._greedy_actions = tf.function(
            self._greedy_actions_graph, jit_compile=True
        ).get_concrete_function(obs_spec)
        self._train_step = tf.function(self._train_step_graph).get_concrete_function(
            obs_spec, tf.TensorSpec((None,), tf.int64), tf.TensorSpec((None,), tf.float32),
            obs_spec, tf.TensorSpec((None,), tf.float32), tf.TensorSpec((None,), tf.float32),
        )
        self._reset_noise = tf.function(self._reset_noise_graph).get_concrete_function()

    # ------------------------------------------------------------ acting
    def _greedy_actions_graph(self, observations):
        q_values = self.online(observations, training=False)  # (batch, n_actions)
        return tf.argmax(q_values, axis=1)

    def greedy_actions(self, observations) -> np.ndarray:
        """argmax_a Q_online(s, a) for a batch of observations, with the current noise."""
        observations = tf.convert_to_tensor(np.asarray(observations, dtype=self.obs_dtype))
        return self._greedy_actions(observations).numpy()

    def act(self, observation, step: int = 0) -> int:
        """The action for one observation: greedy on the noisy Q (NoisyNet, no ε), or
        ε-greedy with ε = epsilon(step) when the network is not noisy."""
        observation = np.asarray(observation, dtype=self.obs_dtype)
        if observation.shape != self.obs_shape:
            raise ValueError(
                f"observation must have shape {self.obs_shape}, got {observation.shape}"
            )
        if not self.config.noisy and self.rng.random() < self.epsilon(step):
            return int(self.rng.integers(self.n_actions))
        return int(self._greedy_actions(tf.convert_to_tensor(observation[None])).numpy()[0])

    def act_batch(self, observations, step: int = 0) -> np.ndarray:
        """Actions for a batch of observations, one per environment (vectorised envs):
        greedy on the noisy Q-values, or ε-greedy (one coin per environment) when the
        network is not noisy."""
        actions = self.greedy_actions(observations)
        if not self.config.noisy:
            explore = self.rng.random(actions.size) < self.epsilon(step)
            actions = np.where(explore, self.rng.integers(self.n_actions, size=actions.size),
                               actions)
        return actions

    # ------------------------------------------------------------- noise
    def _redraw_noise(self):
        """New noise in every noisy layer of both networks (traced into the graphs that call it)."""
        for layer in self.noisy_online + self.noisy_target:
            layer.reset_noise()

    def _reset_noise_graph(self):
        self._redraw_noise()
        return tf.constant(0)

    def reset_noise(self) -> None:
        """Draw new noise in the online and the target network (each from its own generator)."""
        if self.noisy_online:
            self._reset_noise()

    @contextlib.contextmanager
    def keep_noise(self):
        """Inside the block, the online network's noise may change (e.g. for an evaluation);
        afterwards it is back exactly as before, generator state included.  Only the online
        network's: a :meth:`reset_noise` inside the block also draws new target noise (an
        independent draw either way, but not the one a run without the block would draw)."""
        saved = [v.numpy() for v in self.online.non_trainable_variables]
        try:
            yield
        finally:
            for variable, value in zip(self.online.non_trainable_variables, saved):
                variable.assign(value)

    def remove_noise(self) -> None:
        """Zero the online network's noise: it then acts with μ only (evaluation)."""
        for layer in self.noisy_online:
            layer.remove_noise()

    # ----------------------------------------------------------- learning
    def _train_step_graph(self, obs, actions, rewards, next_obs, dones, weights):
        config = self.config
        next_q_online = self.online(next_obs, training=False)  # (batch, n_actions)
        next_q_target = self.target(next_obs, training=False)  # (batch, n_actions)
        if config.double:
            targets = double_dqn_targets(rewards, dones, next_q_online, next_q_target, config.gamma)
        else:
            targets = dqn_targets(rewards, dones, next_q_target, config.gamma)
        targets = tf.stop_gradient(targets)  # (batch,)
        variables = self.online.trainable_variables
        with tf.GradientTape() as tape:
            q_values = self.online(obs, training=True)  # (batch, n_actions)
            q_taken = tf.gather(q_values, actions, batch_dims=1)  # Q(s, a), (batch,)
            td_errors = targets - q_taken  # δ
            # Prioritized replay: each transition's loss is weighted by its IS weight
            # (Schaul et al. 2016, Algorithm 1, line 12).
            loss = tf.reduce_mean(weights * huber(td_errors, config.huber_delta))
        gradients = tape.gradient(loss, variables)
        self.optimizer.apply(gradients, variables)
        if config.noise_resample == "step":
            self._redraw_noise()  # new noise for the next steps, in both networks (Algorithm 1)
        return loss, tf.abs(td_errors)

    def train_step(self, batch):
        """One gradient step on a replay ``Batch``; returns ``(loss, |δ|)`` as numpy.

        Afterwards the noise of both networks is redrawn (``config.noise_resample == "step"``,
        the paper's choice; with ``"episode"`` the training loop redraws it instead)."""
        convert = tf.convert_to_tensor
        loss, abs_td = self._train_step(
            convert(np.asarray(batch.obs, dtype=self.obs_dtype)),
            convert(np.asarray(batch.actions, dtype=np.int64)),
            convert(np.asarray(batch.rewards, dtype=np.float32)),
            convert(np.asarray(batch.next_obs, dtype=self.obs_dtype)),
            convert(np.asarray(batch.dones, dtype=np.float32)),
            convert(np.asarray(batch.weights, dtype=np.float32)),
        )
        self.train_steps += 1
        return float(loss), abs_td.numpy()

    def sync_target(self) -> None:
        """Copy the online network's trainable weights (μ, σ, Dense kernels) to the target
        network.  Not the noise and not its generator: those stay independent."""
        for target_variable, online_variable in zip(
            self.target.trainable_variables, self.online.trainable_variables
        ):
            target_variable.assign(online_variable)

    # --------------------------------------------------------- inspection
    def noise_statistics(self) -> dict:
        """Mean σ and mean |μ| of each noisy layer of the online network (weights and biases
        together), keyed ``sigma/<layer>`` and ``mu/<layer>``."""
        stats = {}
        for layer in self.noisy_online:
            sigma = np.concatenate([np.ravel(layer.kernel_sigma.numpy()),
                                    np.ravel(layer.bias_sigma.numpy())])
            mu = np.concatenate([np.ravel(layer.kernel_mu.numpy()),
                                 np.ravel(layer.bias_mu.numpy())])
            stats[f"sigma/{layer.name}"] = float(np.mean(np.abs(sigma)))
            stats[f"mu/{layer.name}"] = float(np.mean(np.abs(mu)))
        return stats

    # --------------------------------------------------------- checkpoints
    def _architecture(self) -> dict:
        config = self.config
        return dict(
            obs_shape=list(self.obs_shape), n_actions=self.n_actions,
            obs_dtype=self.obs_dtype.name, network=config.network,
            hidden_sizes=list(config.hidden_sizes),
            noisy=config.noisy, noisy_hidden=config.noisy_hidden, factorised=config.factorised,
        )

    def save(self, directory) -> None:
        """Write ``online.weights.h5``, ``target.weights.h5``, ``optimizer.npz``,
        ``noise.npz`` and ``agent.json`` into ``directory`` (created if missing)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.online.save_weights(directory / "online.weights.h5")
        self.target.save_weights(directory / "target.weights.h5")
        np.savez(
            directory / "optimizer.npz",
            **{f"v{i}": v.numpy() for i, v in enumerate(self.optimizer.variables)},
        )
        # The noise and the state of its generators: `.weights.h5` does not hold the
        # generators' state, and a resumed run should draw the noise it would have drawn.
        np.savez(directory / "noise.npz", **{
            f"{name}{i}": v.numpy()
            for name, model in (("online", self.online), ("target", self.target))
            for i, v in enumerate(model.non_trainable_variables)
        })
        state = dict(
            architecture=self._architecture(), train_steps=self.train_steps,
            rng=self.rng.bit_generator.state,
        )
        (directory / "agent.json").write_text(json.dumps(state, indent=1))

    def load(self, directory, weights_only: bool = False) -> None:
        """Load what :meth:`save` wrote.  A checkpoint of another architecture raises
        ``ValueError`` saying what differs, before anything is changed.

        ``weights_only``: the networks only (to evaluate or watch an agent, not to continue
        training it); a checkpoint without ``target.weights.h5`` (an exported agent) then
        gets a target network copied from the online one."""
        directory = Path(directory)
        state_path = directory / "agent.json"
        if not state_path.exists():
            raise FileNotFoundError(f"no agent checkpoint in {str(directory)!r} (agent.json missing)")
        state = json.loads(state_path.read_text())
        saved, mine = state["architecture"], self._architecture()
        different = {k: (saved.get(k), v) for k, v in mine.items() if saved.get(k) != v}
        if different:
            details = ", ".join(f"{k}: checkpoint {a!r} vs this agent {b!r}"
                                for k, (a, b) in different.items())
            raise ValueError(f"checkpoint in {str(directory)!r} is for another network ({details})")
        self.online.load_weights(directory / "online.weights.h5")
        if weights_only and not (directory / "target.weights.h5").exists():
            self.sync_target()  # an exported agent (export_agent) ships the online network only
            return
        self.target.load_weights(directory / "target.weights.h5")
        if weights_only:
            return
        with np.load(directory / "optimizer.npz", allow_pickle=False) as arrays:
            values = [arrays[f"v{i}"] for i in range(len(arrays.files))]
        if len(values) != len(self.optimizer.variables):
            raise ValueError(
                f"optimizer.npz holds {len(values)} variables, this agent's optimizer has "
                f"{len(self.optimizer.variables)}"
            )
        for variable, value in zip(self.optimizer.variables, values):
            variable.assign(value)
        with np.load(directory / "noise.npz", allow_pickle=False) as arrays:
            for name, model in (("online", self.online), ("target", self.target)):
                for i, variable in enumerate(model.non_trainable_variables):
                    variable.assign(arrays[f"{name}{i}"])
        self.train_steps = int(state["train_steps"])
        self.rng.bit_generator.state = state["rng"]
