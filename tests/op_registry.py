"""The one registry of ops that the core tests sweep, read from the ops' own cards.

Each primitive's card (its class, in ops/, nn/primitives.py, linalg/) and each composed op
(``@composite``) declares its checks: how to call it in chainrule and in PyTorch,
which input shapes to try (chosen to exercise broadcasting, 0-d tensors and size-1
dims), which domain to draw inputs from, and whether second derivatives exist
(``chainrule.core.primitive.Check``). tests/test_ops_registry.py runs every entry
through float64 gradcheck/gradgradcheck and through a comparison with PyTorch on
inputs drawn by hypothesis.
"""
from dataclasses import dataclass

import numpy
import torch

import chainrule as cr
from chainrule.core.primitive import registered_checks


@dataclass
class OpSpec:
    name: str
    fn: object                      # chainrule: f(*tensors) -> tensor
    torch_fn: object                # PyTorch:   f(*tensors) -> tensor
    shapes: list                    # list of tuples of input shapes
    domain: str = "real"            # real | positive | unit | nonzero | away_from_int | distinct
    second_order: bool = True
    atol: float = 1e-5
    rtol: float = 1e-3


def from_check(check):
    """The test entry of a ``Check`` declared on a card: its call, bound once to chainrule and once to torch."""
    twin = check.torch_call or check.call
    return OpSpec(
        check.name,
        lambda *tensors: check.call(cr, *tensors),
        lambda *tensors: twin(torch, *tensors),
        list(check.shapes), check.domain, check.second_order, check.atol, check.rtol,
    )


def draw(shape, domain, rng):
    """A float64 array of ``shape`` from ``domain``."""
    if domain == "positive":
        return rng.uniform(0.3, 2.0, size=shape)
    if domain == "unit":
        return rng.uniform(-0.8, 0.8, size=shape)
    if domain == "nonzero":
        return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.5, 2.0, size=shape)
    if domain == "away_from_int":
        return rng.integers(-3, 3, size=shape) + rng.uniform(0.2, 0.8, size=shape)
    if domain == "distinct":
        # Distinct values, so that max/min/sort have a unique winner and finite differences see no tie.
        n = int(numpy.prod(shape)) if shape else 1
        return (rng.permutation(n) * 0.37 + rng.uniform(0, 0.1, size=n)).reshape(shape) - n * 0.18
    return rng.standard_normal(size=shape)


OPS = [from_check(check) for check in registered_checks()]
OPS_BY_NAME = {spec.name: spec for spec in OPS}
assert len(OPS_BY_NAME) == len(OPS), "two registry entries share a name"
