"""The runnable examples in chainrule.data's docstrings run and print what they say."""
import doctest
import importlib

import pytest

MODULES = ["dataset", "digits", "idx", "loader", "synthetic", "transforms"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(f"chainrule.data.{name}")
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"chainrule.data.{name} has no examples"
    assert result.failed == 0
