"""The dueling head: Q-values from a state value and action advantages.

Wang et al. (2016) split the last layer of a Q-network in two streams on the same features,
a value ``V(s)`` (one unit) and advantages ``A(s, a)`` (one per action), and add them back:

    Q(s, a) = V(s) + A(s, a) − mean_a' A(s, a')          (Wang et al. 2016, Eq. 9)

Subtracting the mean makes the split identifiable (without it, adding c to V and −c to every A
would change no Q) and leaves the greedy action that of A.  The value is learned from every
transition, whatever its action; the advantages carry only the differences between actions.
Fortunato et al. (§3.1) make both streams noisy in NoisyNet-Dueling.

``build_q_network(..., dueling=True)`` (``Config.dueling``) ends on :class:`DuelingCombine`.
"""

from __future__ import annotations

import keras
from keras import ops

__all__ = ["DuelingCombine", "dueling_q_values"]


def dueling_q_values(value, advantages):
    """``value`` ``(batch, 1)`` and ``advantages`` ``(batch, n_actions)`` to Q-values
    ``(batch, n_actions)`` by Eq. 9 of Wang et al. (2016); arrays or tensors."""
    return value + advantages - ops.mean(advantages, axis=1, keepdims=True)


class DuelingCombine(keras.layers.Layer):
    """A layer without weights: ``[value, advantages]`` to Q-values (:func:`dueling_q_values`)."""

    def call(self, inputs):
        value, advantages = inputs
        return dueling_q_values(value, advantages)

    def compute_output_shape(self, input_shapes):
        return tuple(input_shapes[1])
