"""The baseline for ``bench_training.py``: one environment step and one update written the
way the original notebook wrote them, on CartPole with the same MLP as ours.

What it keeps from the original (``get_action`` and ``update_training_model``):

* acting calls the Keras model eagerly on one state (``self.training_model(state)``),
* the update samples 64 transitions from the original's pure-Python sum tree
  (``original_sum_tree.OriginalMemory``), then loops over them: one eager forward pass of
  the online model on the state and one of the target model on the next state,
  *per sample*, and a priority update per sample,
* it builds a *new* Adam optimizer for every update and takes the gradient step eagerly
  (the inner ``train_step`` is a plain Python function, not a ``tf.function``).

What it does not keep: the original's bugs that would crash or make the work
different (its loss ``ISWeights * (targets - preds)`` is not a scalar; here the
weighted squared error is, with the same cost).  Only the benchmark uses it.
"""

import numpy as np
import tensorflow as tf


class OriginalStyleAgent:
    def __init__(self, online, target, n_actions, memory, gamma=0.99, learning_rate=1e-3,
                 batch_size=64, seed=0):
        self.training_model, self.target_model = online, target
        self.action_shape = n_actions
        self.memory = memory
        self.gamma = gamma
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.rng = np.random.default_rng(seed)

    def get_action(self, state):
        q_values = self.training_model(state[None])[0]  # one eager call per step
        return int(np.argmax(q_values))

    def update_training_model(self, beta=0.4):
        tree_idx, batch, weights = self.memory.sample(self.batch_size, beta)
        states_mb = np.zeros((self.batch_size, 4), np.float32)
        targets = np.zeros((self.batch_size, self.action_shape), np.float32)
        absolute_errors = np.zeros(self.batch_size)
        for i in range(self.batch_size):  # per-sample eager forward passes
            state, action, reward, next_state, terminal = batch[i][0]
            states_mb[i] = state
            preds = self.training_model(state[None]).numpy()[0]
            targets[i] = preds
            if terminal:
                targets[i, action] = reward
            else:
                next_value = self.target_model(next_state[None]).numpy()[0, action]
                targets[i, action] = reward + self.gamma * next_value
            absolute_errors[i] = np.abs(targets[i] - preds).sum()
        self.memory.batch_update(tree_idx, absolute_errors / max(absolute_errors.max(), 1e-8))
        optimizer = tf.keras.optimizers.Adam(learning_rate=self.learning_rate)  # new each time

        def train_step(states, targets, weights):  # eager, as in the original
            with tf.GradientTape() as tape:
                preds = self.training_model(states, training=True)
                loss = tf.reduce_mean(weights * (targets - preds) ** 2)
            grads = tape.gradient(loss, self.training_model.trainable_variables)
            optimizer.apply_gradients(zip(grads, self.training_model.trainable_variables))

        train_step(states_mb, targets, weights)
