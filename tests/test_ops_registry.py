"""Every op in the registry: float64 gradcheck, gradgradcheck, and PyTorch on hypothesis-drawn inputs."""
import numpy
import pytest
import torch
from hypothesis import given, settings, strategies as st

import chainrule as cr
from chainrule.func import gradcheck, gradgradcheck
from op_registry import OPS, draw

IDS = [spec.name for spec in OPS]


def make_inputs(spec, shapes, rng):
    arrays = [draw(shape, spec.domain, rng) for shape in shapes]
    ours = tuple(cr.tensor(a, dtype=cr.float64, requires_grad=True) for a in arrays)
    theirs = tuple(torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays)
    return ours, theirs


@pytest.mark.parametrize("spec", OPS, ids=IDS)
def test_gradcheck(spec):
    rng = numpy.random.default_rng(0)
    for shapes in spec.shapes:
        ours, _ = make_inputs(spec, shapes, rng)
        assert gradcheck(spec.fn, ours, atol=spec.atol, rtol=spec.rtol)


@pytest.mark.parametrize("spec", [s for s in OPS if s.second_order], ids=[s.name for s in OPS if s.second_order])
def test_gradgradcheck(spec):
    rng = numpy.random.default_rng(1)
    for shapes in spec.shapes:
        ours, _ = make_inputs(spec, shapes, rng)
        assert gradgradcheck(spec.fn, ours, atol=spec.atol, rtol=spec.rtol)


@pytest.mark.parametrize("spec", OPS, ids=IDS)
@settings(max_examples=4, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), which=st.integers(0, 100))
def test_matches_pytorch(spec, seed, which):
    rng = numpy.random.default_rng(seed)
    shapes = spec.shapes[which % len(spec.shapes)]
    ours, theirs = make_inputs(spec, shapes, rng)
    out, expected = spec.fn(*ours), spec.torch_fn(*theirs)
    assert out.shape == tuple(expected.shape)
    numpy.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    cotangent = rng.standard_normal(out.shape)
    out.backward(cr.tensor(cotangent, dtype=cr.float64))
    expected.backward(torch.tensor(cotangent, dtype=torch.float64))
    for mine, reference in zip(ours, theirs):
        numpy.testing.assert_allclose(mine.grad.numpy(), reference.grad.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("spec", [s for s in OPS if s.name in ("add", "mul", "exp", "matmul", "sum_dim", "softmax")],
                         ids=lambda s: s.name)
def test_float32_matches_pytorch(spec):
    rng = numpy.random.default_rng(3)
    for shapes in spec.shapes:
        arrays = [draw(shape, spec.domain, rng).astype(numpy.float32) for shape in shapes]
        ours = [cr.tensor(a, requires_grad=True) for a in arrays]
        theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
        out, expected = spec.fn(*ours), spec.torch_fn(*theirs)
        assert out.dtype == cr.float32
        numpy.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-5, atol=1e-6)
        out.sum().backward()
        expected.sum().backward()
        for mine, reference in zip(ours, theirs):
            assert mine.grad.dtype == cr.float32
            numpy.testing.assert_allclose(mine.grad.numpy(), reference.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_every_primitive_states_its_math():
    from chainrule.ops import PRIMITIVES
    for op in PRIMITIVES:
        assert op.formula, f"{op.__name__} has no formula"
        assert op.derivatives, f"{op.__name__} has no derivative formulas"
        assert op.name in op.describe()
