"""Config: every setting of a Noisy Double DQN run, in one frozen dataclass.

Taught in ``notebooks/04_noisy_double_dqn.ipynb``.

Each field says what it does and why its default is what it is.  The flags
``noisy``, ``double`` and ``prioritized`` switch the three components, so that
ε-greedy DQN, plain (non-double) DQN and uniform replay are each one changed
field: ``dataclasses.replace(config, noisy=False)``.

The defaults are for CartPole-v1 on a CPU.  Where they differ from the
Atari settings of the papers, the field's docstring says so.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

__all__ = ["Config"]


def _short(value, limit: int = 80) -> str:
    """``repr(value)`` on one line, cut to ``limit`` characters (a message shows the bad value)."""
    text = repr(value).replace("\n", " ")
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _check(condition: bool, name: str, value, requirement: str) -> None:
    """Raise ``ValueError("Config.<name> must be <requirement>, got <value>")`` if not ok."""
    if not condition:
        raise ValueError(f"Config.{name} must be {requirement}, got {_short(value)}")


def _is_int(value) -> bool:
    """A true int (not a bool, which Python counts as an int)."""
    return isinstance(value, int) and not isinstance(value, bool)


#: The widest hidden layer a Config accepts (a guard against typos such as 2560000).
MAX_HIDDEN_SIZE = 65_536
#: Seeds must fit numpy's and Keras' global seeding (``keras.utils.set_random_seed``).
MAX_SEED = 2**32 - 1
#: Fields added after runs were already saved, with the value that those runs used: a saved
#: config (``state.json``, a study's ``result.json``) without one is read with this value, so
#: that an older run still loads, resumes and matches its cached result.
ADDED_FIELDS = {"importance_normalise": "batch", "best_check_episodes": 0, "n_step": 1,
                "dueling": False, "observation_scale": None}
#: Fields that hold a tuple (or None): lists in ``to_dict``'s JSON, tuples again in ``from_dict``.
TUPLE_FIELDS = ("hidden_sizes", "observation_scale")
#: The longest multi-step return (``n_step``).
MAX_N_STEP = 100
#: Episode seeds of one evaluation (its episodes and its best-agent check) lie within a block
#: of this many, so that no start state is played by two evaluations of a run.
EVALUATION_SEED_BLOCK = 1_009
#: The longest a noise draw may be held, in agent steps (``noise_resample=k``).
MAX_NOISE_HOLD = 10**9


@dataclass(frozen=True)
class Config:
    """Settings of one training run (the environment id is given to ``train`` separately)."""

    # ------------------------------------------------------------------ run
    total_steps: int = 50_000
    """Environment steps of the whole run (each step is one action in one environment)."""

    seed: int = 0
    """One seed for everything: network initialisation, noise, replay sampling, environments.
    The same seed repeats a run exactly on the same machine, with the same TensorFlow thread
    settings (another number of threads may sum in another order)."""

    num_envs: int = 1
    """Atari only: games played side by side by ale-py's ``AtariVectorEnv`` (C++ threads),
    acting on all of them in one batch.  1: one gymnasium env with the wrappers of
    ``make_atari_env``.  Steps, periods and budgets count agent steps over all games."""

    # -------------------------------------------------------------- network
    network: str = "mlp"
    """The Q-network: ``"mlp"`` for vector observations (CartPole), ``"nature"`` for Atari
    frame stacks: the three convolutions of Mnih et al. (2015), then ``hidden_sizes``."""

    hidden_sizes: tuple = (256, 256)
    """Widths of the hidden fully connected layers (ReLU): of the MLP, or after the
    convolutions of the Nature network (there ``(512,)``, as in Mnih et al. 2015)."""

    noisy: bool = True
    """NoisyNet (True): the output layer (and, with ``noisy_hidden``, every hidden layer) is a
    ``NoisyDense`` and actions are greedy on the noisy Q-values, with no ε (Fortunato et al.,
    §3.1 and Algorithm 1).  False: plain ``Dense`` layers and ε-greedy exploration with the
    ``epsilon_*`` schedule."""

    noisy_hidden: bool = False
    """Make the hidden layers ``NoisyDense`` too (with ``noisy``), as the paper replaces every
    fully connected layer of the network by a noisy one (§3.1; ``Config.atari()`` does: its
    512-unit layer and its output are noisy, its convolutions are not).  False (the CartPole
    default, our choice): only the output layer is noisy.  On CartPole the first hidden layer
    reads the four raw state numbers, and noise there perturbs every feature at once: on the
    tuning seeds 100 and 101 the all-noisy network's best evaluation in its first 20k steps
    was 291 and 268, and the output-noisy one first reached 475 at 12.5k and 20k
    (``benchmarks/results/cartpole/README.md``, "the first round of choices")."""

    dueling: bool = False
    """A dueling head (Wang et al. 2016): the last hidden layer feeds a value V(s) and
    advantages A(s, a), and Q = V + A − mean_a A (``noisy_helpers.dueling``); with ``noisy``
    both heads are noisy, as in NoisyNet-Dueling (Fortunato et al., §3.1).  False (the
    default): one output layer, as in NoisyNet-DQN.  On the Nature network it acts without
    the cached effective weights of ``Agent.cached_acting`` (slower per action)."""

    observation_scale: tuple | None = None
    """MLP only: a tuple of positive numbers, one per observation component, by which each
    component is divided before the first layer (a fixed ``keras.layers.Rescaling``, no
    weights).  None (the default): the observation enters as it is.  For CartPole,
    ``(2.4, 1.0, 0.2095, 1.0)`` puts the cart's position and the pole's angle on the limits
    at which an episode ends (±2.4, ±12° = ±0.2095 rad) and keeps the two velocities, so
    that the angle (raw ±0.21) weighs as much in the first layer as the position (raw ±2.4).
    Tried as a CartPole default: it met every bar on the tuning seeds 4000-4019, then three of
    the first twelve held-out seeds 8000-8011 kept 475 in fewer than 70 % of their later
    evaluations (``benchmarks/results/cartpole/README.md``), so it stays off."""

    sigma0: float = 0.5
    """σ0 of factorised noise, σ = σ0/√p at initialisation (§3.2: 0.5)."""

    factorised: bool = True
    """Factorised Gaussian noise (True, the paper's choice for DQN, §3.2) or independent."""

    noise_resample: str | int = "step"
    """When the noise of both networks is redrawn.  ``"step"``: after every gradient step
    (and on the same rhythm before learning starts), as NoisyNet-DQN does (§3.1,
    Algorithm 1): every ``train_frequency`` agent steps, so every step on CartPole
    (``Config()``) and every 4 on Atari (``Config.atari()``).  An int ``k``: one draw held
    for ``k`` agent steps, redrawn after every ``k``-th step whatever the gradient steps
    (``k == train_frequency`` is ``"step"`` exactly).  ``"episode"``: once when each
    training episode starts, held for the whole episode (one perturbed policy per episode;
    one env only).  Evaluations with the noise on and videos follow the same schedule.
    Taught in ``notebooks/03_noisy_dense.ipynb``; compared in
    ``notebooks/06_exploration.ipynb``."""

    # ------------------------------------------------------------------ DQN
    double: bool = True
    """Double DQN target: the online network picks a* = argmax Q_online(s', ·), the target
    network values it (van Hasselt et al. 2016, Eq. 4).  False: the DQN target max Q_target."""

    gamma: float = 0.99
    """Discount factor γ (Mnih et al. 2015)."""

    n_step: int = 1
    """Rewards summed before bootstrapping: y = Σ_{i<n} γ^i r_{t+i} + γ^n Q_target(s_{t+n}, a*)
    (Sutton & Barto 2018, §7.1; Rainbow, Hessel et al. 2018).  1: the one-step target of DQN
    and Double DQN.  More than 1 only with one game of whole observations (not Atari frames);
    see ``noisy_helpers.n_step``."""

    learning_rate: float = 1e-3
    """Adam step size at the start.  Atari papers use 6.25e-5 with far larger networks and
    budgets; on CartPole a large early step learns fast, and the decay below makes it safe
    (README, "CartPole: defaults tested on held-out seeds")."""

    learning_rate_end: float = 1e-5
    """The step size falls linearly from ``learning_rate`` to this value by
    ``learning_rate_decay_steps`` (None: constant).  Not in the papers: a step 100 times
    smaller once the agent has learned makes it less likely that a policy which balances the
    pole unlearns it (on CartPole's held-out seeds: README)."""

    learning_rate_decay_steps: int | None = 25_000
    """Environment steps by which the step size has fallen (linearly) to
    ``learning_rate_end``; it stays there afterwards.  None: the whole run (``total_steps``).
    A number of steps, not a share of the budget, so a shorter or longer run keeps the same
    early schedule.  On CartPole 25,000: half the default budget."""

    adam_epsilon: float = 1.5e-4
    """Adam's ε, as in Rainbow (Hessel et al. 2018); larger than Keras' 1e-7, it damps the
    steps of weights whose gradients are tiny."""

    max_grad_norm: float = 10.0
    """Gradients are clipped to this global norm (Keras ``global_clipnorm``), a guard against
    rare huge TD errors.  1.0 was tried on CartPole and not adopted: no better on held-out
    seeds 6000-6019 (README, "CartPole: defaults tested on held-out seeds")."""

    huber_delta: float = 1.0
    """The Huber loss is quadratic for |δ| < huber_delta and linear beyond (Mnih et al. 2015)."""

    batch_size: int = 128
    """Transitions per gradient step.  On CartPole (every layer noisy, 5 seeds each), 128 with a
    target sync every 100 steps kept a learned policy far more steadily than 64 with a sync
    every 50 (README)."""

    buffer_size: int = 50_000
    """Replay capacity (transitions); the oldest are overwritten when it is full."""

    learning_starts: int = 1_000
    """Environment steps collected before the first gradient step."""

    train_frequency: int = 1
    """One gradient step every this many environment steps (Atari DQN: 4)."""

    target_update_period: int = 100
    """Environment steps between copies of the online network's weights to the target network.
    Only trainable weights are copied, never the noise or its generator (§3.1: the target
    network has its own, independent noise).  Nature DQN copies every 10k updates; on
    CartPole, in our trials, 50-100 learned far faster than 500, and 20 diverged."""

    target_update_tau: float = 1.0
    """How far each target update moves the target network toward the online one:
    θ' ← τ θ + (1 − τ) θ' on the trainable weights.  1.0: a hard copy, as in DQN (Mnih et al.
    2015) and NoisyNet-DQN.  Below 1: a soft (Polyak) update, as in DDPG (Lillicrap et al.
    2016), usually with ``target_update_period=1``.  Never the noise (see above)."""

    # ------------------------------------------------------------------ PER
    prioritized: bool = True
    """Proportional prioritized replay (Schaul et al. 2016) or, if False, uniform replay."""

    alpha: float = 0.6
    """Priority exponent, P(i) = p_i^α / Σ p_k^α (Schaul et al. 2016, Eq. 1 and Table 3)."""

    beta_start: float = 0.4
    """Importance-sampling exponent β at the start of training (Schaul et al. 2016, Table 3)."""

    beta_end: float = 1.0
    """β reached, linearly, at the end of training: the bias is fully corrected at the end."""

    priority_eps: float = 1e-6
    """Added to |δ| so that no transition gets probability zero (Schaul et al. 2016, §3.3)."""

    importance_normalise: str = "batch"
    """What the IS weights are divided by: "batch", their largest value in the sampled batch
    (Dopamine, PFRL), or "buffer", the largest any stored transition could get, from the
    tree's smallest priority (OpenAI Baselines; Schaul et al. 2016, Algorithm 1).  "buffer"
    keeps the expected update at β = 1 proportional to the uniform one; "batch" leaves a
    small bias (notebook 02 measures both, and says why "batch" stays the default)."""

    # ----------------------------------------------------------- ε-greedy
    epsilon_start: float = 1.0
    """ε at step 0 (only when ``noisy`` is False)."""

    epsilon_end: float = 0.05
    """Final ε (only when ``noisy`` is False)."""

    epsilon_decay_steps: int = 10_000
    """Steps over which ε falls linearly from start to end (only when ``noisy`` is False)."""

    stop_at_return: float | None = None
    """End the run after the first training episode whose return is at least this (None:
    always run ``total_steps``).  The exploration study uses it to measure the episodes it
    takes to first reach a goal, without spending the rest of the budget."""

    # ----------------------------------------------------------- evaluation
    eval_period: int = 2_500
    """Environment steps between evaluations."""

    eval_episodes: int = 10
    """Episodes per evaluation, played with the noise removed (μ only, greedy) and, reported
    alongside, with the noise on as in training."""

    best_check_episodes: int = 30
    """More greedy episodes, on start states of their own, that an agent plays before it may
    become the best agent (``best/``), when its evaluation is at least the best's: the best is
    the agent with the highest mean over its evaluation's and these episodes together (ties:
    the later one).  Ten episodes are a noisy pick: on a held-out CartPole seed the last agent
    scored 500 on its 10 and failed 21 of 200 fresh episodes (README, held-out benchmark).
    0: pick on the evaluation alone (Atari, and runs saved before this field)."""

    # --------------------------------------------------------- checkpoints
    checkpoint_period: int = 10_000
    """Environment steps between checkpoints (one is also written at the end and on Ctrl-C)."""

    def __post_init__(self):
        """Check every field: type, range, finiteness; bools are not ints and ints not bools."""
        self._check_ints()
        self._check_flags_and_choices()
        self._check_numbers()
        _check(self.batch_size <= self.buffer_size, "batch_size", self.batch_size,
               f"<= buffer_size ({self.buffer_size})")

    def _check_ints(self) -> None:
        """Counts, periods and sizes: ints (not bools) in range."""
        for name in (
            "total_steps", "batch_size", "buffer_size", "train_frequency",
            "target_update_period", "eval_period", "eval_episodes", "checkpoint_period",
            "epsilon_decay_steps", "num_envs",
        ):
            value = getattr(self, name)
            _check(_is_int(value) and value >= 1, name, value, "an int >= 1")
        _check(_is_int(self.learning_starts) and self.learning_starts >= 0, "learning_starts",
               self.learning_starts, "an int >= 0")
        _check(self.eval_episodes <= EVALUATION_SEED_BLOCK, "eval_episodes", self.eval_episodes,
               f"an int in [1, {EVALUATION_SEED_BLOCK}]")
        _check(_is_int(self.best_check_episodes) and 0 <= self.best_check_episodes
               <= EVALUATION_SEED_BLOCK - self.eval_episodes, "best_check_episodes",
               self.best_check_episodes,
               f"an int in [0, {EVALUATION_SEED_BLOCK} - eval_episodes]")
        _check(_is_int(self.n_step) and 1 <= self.n_step <= MAX_N_STEP, "n_step", self.n_step,
               f"an int in [1, {MAX_N_STEP}]")
        _check(self.n_step == 1 or (self.network == "mlp" and self.num_envs == 1), "n_step",
               self.n_step, "1 with the Nature network or num_envs > 1")
        _check(_is_int(self.seed) and 0 <= self.seed <= MAX_SEED, "seed", self.seed,
               f"an int in [0, {MAX_SEED}]")
        _check(isinstance(self.hidden_sizes, tuple) and all(
            _is_int(h) and 1 <= h <= MAX_HIDDEN_SIZE for h in self.hidden_sizes),
            "hidden_sizes", self.hidden_sizes, f"a tuple of ints in [1, {MAX_HIDDEN_SIZE}]")
        scale = self.observation_scale
        _check(scale is None or (isinstance(scale, tuple) and len(scale) >= 1 and all(
            _is_number(s) and s > 0 for s in scale)), "observation_scale", scale,
            "None or a non-empty tuple of finite numbers > 0")
        _check(scale is None or self.network == "mlp", "observation_scale", scale,
               "None with the Nature network (its frames are scaled to [0, 1] already)")

    def _check_flags_and_choices(self) -> None:
        """Switches are bools (not 0/1); named choices are one of their strings."""
        for name in ("noisy", "noisy_hidden", "dueling", "factorised", "double", "prioritized"):
            _check(isinstance(getattr(self, name), bool), name, getattr(self, name), "a bool")
        _check(isinstance(self.network, str) and self.network in ("mlp", "nature"), "network",
               self.network, "'mlp' or 'nature'")
        _check(isinstance(self.importance_normalise, str)
               and self.importance_normalise in ("batch", "buffer"), "importance_normalise",
               self.importance_normalise, "'batch' or 'buffer'")
        schedule = self.noise_resample
        _check((isinstance(schedule, str) and schedule in ("step", "episode"))
               or (_is_int(schedule) and 1 <= schedule <= MAX_NOISE_HOLD),
               "noise_resample", schedule, f"'step', 'episode' or an int in [1, {MAX_NOISE_HOLD}]")

    def _check_numbers(self) -> None:
        """Real-valued settings: finite numbers (not bools, not NaN or inf) in range."""
        for name, low, high in (
            ("gamma", 0.0, 1.0), ("alpha", 0.0, 1.0), ("beta_start", 0.0, 1.0),
            ("beta_end", 0.0, 1.0), ("epsilon_start", 0.0, 1.0), ("epsilon_end", 0.0, 1.0),
        ):
            value = getattr(self, name)
            _check(_is_number(value) and low <= value <= high, name, value,
                   f"a number in [{low}, {high}]")
        for name in ("learning_rate", "adam_epsilon", "max_grad_norm", "huber_delta",
                     "priority_eps"):
            value = getattr(self, name)
            _check(_is_number(value) and value > 0, name, value, "a finite number > 0")
        _check(_is_number(self.target_update_tau) and 0 < self.target_update_tau <= 1,
               "target_update_tau", self.target_update_tau, "a number in (0, 1]")
        _check(_is_number(self.sigma0) and self.sigma0 >= 0, "sigma0", self.sigma0,
               "a finite number >= 0")
        _check(self.learning_rate_end is None or (
            _is_number(self.learning_rate_end) and self.learning_rate_end > 0),
            "learning_rate_end", self.learning_rate_end, "None or a finite number > 0")
        _check(self.learning_rate_decay_steps is None or (
            _is_int(self.learning_rate_decay_steps) and self.learning_rate_decay_steps >= 1),
            "learning_rate_decay_steps", self.learning_rate_decay_steps, "None or an int >= 1")
        _check(self.stop_at_return is None or _is_number(self.stop_at_return), "stop_at_return",
               self.stop_at_return, "None or a finite number")

    # ------------------------------------------------------------------
    @classmethod
    def field_docs(cls) -> dict:
        """``{field: its docstring}``, read from this class's source (for ``--help``)."""
        return dict(_FIELD_DOCS)

    def replace(self, **changes) -> "Config":
        """A copy with some fields changed (validated): ``config.replace(noisy=False)``."""
        return dataclasses.replace(self, **changes)

    @classmethod
    def small(cls, **changes) -> "Config":
        """A tiny budget for CI smoke runs and quick checks: seconds, not minutes.

        It exercises every code path (warm-up, training, target sync, evaluation,
        checkpoints) but does not learn much."""
        settings = dict(
            total_steps=600, hidden_sizes=(32, 32), batch_size=16, buffer_size=1_000,
            learning_starts=100, target_update_period=100, eval_period=300, eval_episodes=2,
            best_check_episodes=2, checkpoint_period=300, epsilon_decay_steps=300,
        )
        settings.update(changes)
        return cls(**settings)

    @classmethod
    def atari(cls, **changes) -> "Config":
        """Defaults for Atari (``ALE/...`` ids; the CLI picks them from the env id), each
        overridable: ``Config.atari(total_steps=10_000)``.

        From the Nature DQN (Mnih et al. 2015) and NoisyNet-DQN: the Nature network with a
        noisy 512 layer and noisy output, batch 32, one update every 4 agent steps, Adam
        ε 1.5e-4 and ε-greedy (noisy=False only) falling to 0.01, as in Rainbow / Dopamine.
        Scaled down for a CPU: a 100k-transition replay (0.7 GB of uint8 frames, not 1M),
        1M agent steps (4M frames, not 200M), learning from 20k steps, a target sync every
        8k agent steps (2k updates, Rainbow's period), and a constant learning rate of 1e-4
        (the data-efficient Rainbow's, larger than the 6.25e-5 of 200M-frame runs).  The best
        agent is picked on the evaluation alone (``best_check_episodes=0``): a check would
        play more whole games."""
        settings = dict(
            total_steps=1_000_000, network="nature", hidden_sizes=(512,), noisy_hidden=True,
            learning_rate=1e-4, learning_rate_end=None, learning_rate_decay_steps=None,
            batch_size=32, buffer_size=100_000,
            learning_starts=20_000, train_frequency=4, target_update_period=8_000,
            epsilon_end=0.01, epsilon_decay_steps=250_000, eval_period=25_000,
            eval_episodes=5, best_check_episodes=0, checkpoint_period=50_000,
        )
        settings.update(changes)
        return cls(**settings)

    def to_dict(self) -> dict:
        """The fields as plain JSON-serialisable values."""
        values = dataclasses.asdict(self)
        for name in TUPLE_FIELDS:
            if values[name] is not None:
                values[name] = list(values[name])
        return values

    @classmethod
    def from_dict(cls, values: dict) -> "Config":
        """Inverse of :meth:`to_dict`, for untrusted input (a ``state.json`` read from disk).

        Every field must be present, and nothing else: a missing or an unknown key raises
        ``ValueError`` naming it, as does a value of the wrong type (``hidden_sizes`` may be
        a list, as JSON writes it).  Never ``KeyError`` or ``AttributeError``.  The one
        exception: a field of :data:`ADDED_FIELDS`, added after runs were already saved, may be
        missing, and then has the value those runs used."""
        if not isinstance(values, dict):
            raise TypeError(f"Config.from_dict: values must be a dict, got "
                            f"{type(values).__name__} {_short(values)}")
        names = [field.name for field in dataclasses.fields(cls)]
        unknown = [key for key in values if key not in names]
        if unknown:
            raise ValueError(f"Config.from_dict: unknown Config fields {_short(unknown)}")
        missing = [name for name in names if name not in values and name not in ADDED_FIELDS]
        if missing:
            raise ValueError(f"Config.from_dict: missing Config fields {missing}")
        values = {**{k: v for k, v in ADDED_FIELDS.items() if k not in values}, **values}
        for name in TUPLE_FIELDS:  # JSON has lists, not tuples
            if isinstance(values[name], list):
                values[name] = tuple(values[name])
        return cls(**values)


def _is_number(value) -> bool:
    """A finite int or float, not a bool (an int too large for a float is not finite)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _read_field_docs() -> dict:
    """The string literal under each field of ``Config`` (attribute docstrings)."""
    import ast
    import inspect
    import textwrap

    tree = ast.parse(textwrap.dedent(inspect.getsource(Config)))
    body = tree.body[0].body
    docs = {}
    for node, following in zip(body, body[1:]):
        if (isinstance(node, ast.AnnAssign) and isinstance(following, ast.Expr)
                and isinstance(following.value, ast.Constant)
                and isinstance(following.value.value, str)):
            docs[node.target.id] = " ".join(following.value.value.split())
    return docs


_FIELD_DOCS = _read_field_docs()
