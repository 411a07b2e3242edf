"""Sizes that cannot be allocated are refused as a ``ValueError`` that names the argument and
the bytes it needs, never a ``MemoryError`` (or an allocation that swaps the machine to a halt).

The limit is the machine's physical memory: a fixed number for a machine, so that the same
arguments are accepted or refused the same way whatever else is running.
"""

from __future__ import annotations

import math
import os

import numpy as np

__all__ = ["physical_memory", "check_memory", "allocate"]


def physical_memory() -> int | None:
    """Bytes of physical memory, or None where the platform does not say."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def check_memory(what: str, nbytes: int) -> None:
    """Refuse ``what`` (the argument and its value, e.g. ``"capacity=2**35"``) when the arrays
    it asks for, ``nbytes``, exceed physical memory."""
    memory = physical_memory()
    if memory is not None and nbytes > memory:
        raise ValueError(f"{what} needs {nbytes:,} bytes, more than this machine's "
                         f"{memory:,} bytes of memory")


def allocate(what: str, shape, dtype) -> np.ndarray:
    """``np.zeros(shape, dtype)``, with ``MemoryError`` turned into a ``ValueError`` naming
    ``what`` asked for it."""
    try:
        return np.zeros(shape, dtype=dtype)
    except (MemoryError, ValueError) as error:  # ValueError: "array is too big"
        nbytes = math.prod(np.atleast_1d(shape).tolist()) * np.dtype(dtype).itemsize
        raise ValueError(f"{what} needs {nbytes:,} bytes, which cannot be allocated "
                         f"({type(error).__name__})") from None
