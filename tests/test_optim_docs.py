"""The examples in the optim docstrings run and print what they claim (doctest)."""
import doctest
import importlib

import pytest

import chainrule.optim  # noqa: F401  (makes cr.optim reachable in the examples)

MODULES = [
    "chainrule.optim.optimizer", "chainrule.optim.sgd", "chainrule.optim.adam", "chainrule.optim.adagrad",
    "chainrule.optim.rmsprop", "chainrule.optim.adadelta", "chainrule.optim.adamax", "chainrule.optim.nadam",
    "chainrule.optim.radam", "chainrule.optim.lion", "chainrule.optim.lbfgs", "chainrule.optim.regularization",
    "chainrule.optim.lr_scheduler", "chainrule.optim.lr_finder", "chainrule.optim.testfunctions",
    "chainrule.nn.utils",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    failures, attempted = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert attempted > 0, f"{name} has no examples"
    assert failures == 0
