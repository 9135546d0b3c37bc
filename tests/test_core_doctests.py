"""The runnable examples in the core's docstrings run and print what they say."""
import doctest
import importlib

import numpy
import pytest

import chainrule as cr

MODULES = [
    "chainrule.core.tensor", "chainrule.core.autograd", "chainrule.core.grad_mode", "chainrule.core.random",
    "chainrule.core.dtypes", "chainrule.core.anomaly", "chainrule.ops.elementwise", "chainrule.ops.binary",
    "chainrule.ops.reduce", "chainrule.ops.indexing", "chainrule.ops.matmul", "chainrule.func.transforms",
    "chainrule.func.gradcheck", "chainrule.backends.numpy_backend",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    cr.manual_seed(0)
    with numpy.errstate(all="ignore"):
        result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0
