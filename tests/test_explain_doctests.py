"""The runnable examples in chainrule.explain's and chainrule.lab's docstrings run and print what they say."""
import doctest
import importlib

import pytest

MODULES = [
    "chainrule.explain.chain_rule", "chainrule.explain.formatting", "chainrule.explain.graph",
    "chainrule.explain.gradcheck", "chainrule.explain.curvature", "chainrule.explain.flow",
    "chainrule.explain.landscape", "chainrule.lab",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0
