"""Optimizers, regularization, learning-rate schedules, the LR finder and test functions.

    import chainrule as cr
    opt = cr.optim.Adam(model.parameters(), lr=1e-3)
    for inputs, targets in batches:
        opt.zero_grad()
        loss_fn(model(inputs), targets).backward()
        opt.step()

Every optimizer is a per-parameter update rule (its docstring states it as math)
under the thin base class ``Optimizer``; the rule runs in place on the raw arrays.
See README.md in this folder for the design.
"""
from chainrule.optim import lr_scheduler, regularization, testfunctions
from chainrule.optim.adadelta import Adadelta
from chainrule.optim.adagrad import Adagrad
from chainrule.optim.adam import Adam, AdamW
from chainrule.optim.adamax import Adamax
from chainrule.optim.lbfgs import LBFGS
from chainrule.optim.lion import Lion
from chainrule.optim.lr_finder import LRFinderResult, lr_find
from chainrule.optim.nadam import NAdam
from chainrule.optim.optimizer import Optimizer
from chainrule.optim.radam import RAdam
from chainrule.optim.rmsprop import RMSprop
from chainrule.optim.sgd import SGD

__all__ = [
    "Optimizer", "SGD", "Adam", "AdamW", "Adagrad", "RMSprop", "Adadelta", "Adamax", "NAdam", "RAdam", "Lion",
    "LBFGS", "lr_scheduler", "regularization", "testfunctions", "lr_find", "LRFinderResult",
]
