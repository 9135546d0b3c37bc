"""The runnable examples in chainrule.calculus's docstrings run and print what they say."""
import doctest
import importlib

import pytest

import chainrule.calculus

MODULES = ["differences", "taylor", "integrate", "limits", "newton"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(f"chainrule.calculus.{name}")
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"chainrule.calculus.{name} has no examples"
    assert result.failed == 0


def test_every_public_function_has_a_docstring_with_an_example():
    for name in chainrule.calculus.__all__:
        if name == "TaylorPolynomial":      # returned by taylor(), whose docstring shows it in use
            continue
        doc = getattr(chainrule.calculus, name).__doc__ or ""
        assert ">>>" in doc, f"chainrule.calculus.{name} needs a runnable example in its docstring"
