"""The runnable examples in chainrule.linalg's docstrings run and print what they say."""
import doctest
import importlib

import pytest

import chainrule.linalg  # noqa: F401  (the examples spell it cr.linalg)

MODULES = ["solvers", "decompositions", "matrix_functions", "norms", "iterative", "subspaces", "pca"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(f"chainrule.linalg.{name}")
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"chainrule.linalg.{name} has no examples"
    assert result.failed == 0


def test_every_public_function_has_a_docstring_with_an_example():
    for name in chainrule.linalg.__all__:
        doc = getattr(chainrule.linalg, name).__doc__ or ""
        assert ">>>" in doc, f"chainrule.linalg.{name} needs a runnable example in its docstring"


def test_every_primitive_carries_its_math():
    for primitive in chainrule.linalg.PRIMITIVES:
        assert primitive.name and primitive.formula and primitive.derivatives, primitive
        assert len(primitive.vjps) == len(primitive.derivatives)      # one rule (and its LaTeX) per input
        assert primitive.describe().startswith(primitive.name + ":")
