"""Every public function and class shows a runnable example, and every example in the package runs as written.

The first test walks the user-facing namespaces (what ``import chainrule`` and its
sub-packages export) and lists any public function or class whose docstring has no
``>>>`` example; exceptions and warnings are exempt. The second runs the doctests of
every module in the package, so an example cannot drift from the code it shows.
"""
import doctest
import importlib
import inspect
import pkgutil

import matplotlib
import numpy
import pytest

import chainrule as cr

matplotlib.use("Agg")

NAMESPACES = [
    "chainrule", "chainrule.nn", "chainrule.nn.functional", "chainrule.nn.init", "chainrule.nn.utils",
    "chainrule.optim", "chainrule.optim.lr_scheduler", "chainrule.optim.lr_finder", "chainrule.optim.testfunctions",
    "chainrule.func", "chainrule.linalg", "chainrule.calculus", "chainrule.probability", "chainrule.stats",
    "chainrule.information", "chainrule.explain", "chainrule.data", "chainrule.train", "chainrule.lab",
    "chainrule.models", "chainrule.io", "chainrule.distributed",
]

MODULES = sorted(
    info.name for info in pkgutil.walk_packages(cr.__path__, "chainrule.") if not info.name.endswith("__main__")
)


def _public_objects(namespace):
    module = importlib.import_module(namespace)
    names = getattr(module, "__all__", None) or [name for name in dir(module) if not name.startswith("_")]
    for name in names:
        obj = getattr(module, name, None)
        if not (inspect.isfunction(obj) or inspect.isclass(obj)):
            continue
        if not getattr(obj, "__module__", "").startswith("chainrule"):
            continue
        if inspect.isclass(obj) and issubclass(obj, (Exception, Warning)):
            continue
        yield f"{namespace}.{name}", obj


def test_every_public_function_and_class_has_a_runnable_example():
    missing = sorted({
        f"{obj.__module__}.{obj.__qualname__} (as {public_name})"
        for namespace in NAMESPACES
        for public_name, obj in _public_objects(namespace)
        if ">>>" not in (inspect.getdoc(obj) or "")
    })
    assert not missing, "docstrings without a '>>>' example:\n  " + "\n  ".join(missing)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run_as_written(name):
    module = importlib.import_module(name)
    cr.manual_seed(0)
    with numpy.errstate(all="ignore"):
        result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in {name} printed something else"
