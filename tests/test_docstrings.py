"""The examples in the package's docstrings run and print what they show."""

import doctest
import importlib
import pkgutil

import pytest

import noisy_helpers

MODULES = sorted(m.name for m in pkgutil.iter_modules(noisy_helpers.__path__)
                 if m.name != "__main__")


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_hold(name):
    module = importlib.import_module(f"noisy_helpers.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
