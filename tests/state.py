"""A deep snapshot of an object's state, for the bad-input tables: every test that feeds an
object a bad argument takes ``snapshot(obj)`` before, expects the error, and then checks
``assert_unchanged(before, obj)``.

The snapshot walks the object's attributes (and theirs, a few levels down) and copies every
numpy array, number, string, container, numpy ``Generator`` state, and the value of every
Keras/TensorFlow variable (a model's weights, noise and noise-generator state; an
optimizer's slots and iteration counter).  Functions and compiled graphs are skipped: they
hold no state of their own.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np

_MAX_DEPTH = 4


def _is_variable(value) -> bool:
    return hasattr(value, "assign") and hasattr(value, "numpy")


def snapshot(obj, _depth: int = 0, _seen=None):
    """A deep, comparable copy of ``obj``'s state."""
    _seen = set() if _seen is None else _seen
    if obj is None or isinstance(obj, (bool, int, float, str, bytes, np.generic)):
        return obj
    if isinstance(obj, np.ndarray):
        return obj.copy()
    if isinstance(obj, np.random.Generator):
        return ("Generator", json.dumps(obj.bit_generator.state, default=str))
    if _is_variable(obj):
        return ("Variable", np.array(obj.numpy(), copy=True))
    if id(obj) in _seen or _depth > _MAX_DEPTH:
        return ("seen", type(obj).__name__)
    _seen.add(id(obj))
    if isinstance(obj, (list, tuple)):
        return [snapshot(v, _depth + 1, _seen) for v in obj]
    if isinstance(obj, dict):
        return {str(k): snapshot(v, _depth + 1, _seen) for k, v in obj.items()}
    try:
        import keras
    except ImportError:  # pragma: no cover
        keras = None
    if keras is not None and isinstance(obj, keras.Model):
        return ("Model", [np.array(v.numpy(), copy=True) for v in obj.variables])
    if keras is not None and isinstance(obj, keras.optimizers.Optimizer):
        return ("Optimizer", [np.array(v.numpy(), copy=True) for v in obj.variables])
    if callable(obj) or not hasattr(obj, "__dict__"):
        return ("opaque", type(obj).__name__)
    return {name: snapshot(value, _depth + 1, _seen) for name, value in vars(obj).items()
            if not callable(value) or hasattr(value, "__dict__")}


def _equal(a, b, path: str) -> None:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        same = (a.shape == b.shape and a.dtype == b.dtype
                and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
        assert same, f"{path} changed"
    elif isinstance(a, dict) and isinstance(b, dict):
        assert a.keys() == b.keys(), f"{path}: keys changed {set(a) ^ set(b)}"
        for key in a:
            _equal(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        assert len(a) == len(b), f"{path}: length changed {len(a)} -> {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            _equal(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return
    else:
        assert a == b, f"{path} changed: {a!r} -> {b!r}"


def assert_unchanged(before, obj) -> None:
    """``obj``'s state equals the ``before`` snapshot, everywhere."""
    _equal(before, snapshot(obj), type(obj).__name__)


def tree_hashes(folder) -> dict:
    """Every file under ``folder`` with its SHA-256: a folder "as it was", for the tables of
    bad inputs that must leave a run folder untouched."""
    folder = Path(folder)
    return {str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.rglob("*")) if path.is_file()}


def assert_refused_unchanged(obj, call, error, regex) -> None:
    """``call(obj)`` raises ``error`` with a message matching ``regex`` (the argument's name),
    and ``obj``'s whole state is as it was before: one row of a bad-input table."""
    import pytest

    before = snapshot(obj)
    with pytest.raises(error, match=regex):
        call(obj)
    assert_unchanged(before, obj)
