"""Tests for noisy_helpers/budget.py."""

import pytest

import noisy_helpers as nh


@pytest.mark.parametrize("value", ["true", "1", "TRUE", "yes", " on "])
def test_ci_variable_set_to_a_true_value_selects_the_ci_budget(monkeypatch, value):
    monkeypatch.setenv("CI", value)
    assert nh.in_ci() and nh.budget(full=20_000, ci=500) == 500


@pytest.mark.parametrize("value", [None, "", "false", "0", "no"])
def test_without_ci_a_learner_gets_the_full_budget(monkeypatch, value):
    if value is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", value)
    assert not nh.in_ci() and nh.budget(full=20_000, ci=500) == 20_000
