"""The runnable examples in the docstrings of chainrule.train, chainrule.models and chainrule.cli run as written."""
import doctest
import importlib

import pytest

MODULES = ["chainrule.train.metrics", "chainrule.train.checkpoint", "chainrule.train.history",
           "chainrule.train.callbacks", "chainrule.train.trainer", "chainrule.train.data_sources",
           "chainrule.models"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0
