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


def _primitives_recorded(out, inputs):
    """The primitives in the graph of ``out`` and in that of its gradient (second-order graphs included)."""
    from chainrule.core.autograd import topological_order
    cotangent = cr.ones(out.shape, dtype=out.dtype, requires_grad=True)   # so the adjoints get recorded too
    grads = cr.autograd.grad(out, inputs, grad_outputs=cotangent, create_graph=True, allow_unused=True)
    roots = [out] + [g for g in grads if g is not None and g.requires_grad]
    return {t._op for t in topological_order(roots) if t._op is not None}


# Not reachable from a float64 check: a device move needs a GPU, and a cast to a lower precision
# hides the derivative from a float64 finite difference (tests/test_core_tensor.py covers both).
UNCHECKED = {"ToDevice": "needs a GPU", "Astype": "changes precision"}


def test_every_primitive_of_ops_is_exercised_by_a_check():
    from chainrule.ops import PRIMITIVES
    rng = numpy.random.default_rng(5)
    exercised = set()
    for spec in OPS:
        ours, _ = make_inputs(spec, spec.shapes[0], rng)
        exercised |= _primitives_recorded(spec.fn(*ours), ours)
    missing = [op.__name__ for op in PRIMITIVES if op not in exercised and op.__name__ not in UNCHECKED]
    assert not missing, f"primitives no check reaches (declare a Check on their card): {missing}"


def test_every_registered_primitive_of_every_folder_states_its_math():
    from chainrule.core.primitive import registered_primitives
    import chainrule.nn, chainrule.linalg, chainrule.probability.implicit  # noqa: F401  (their cards register)
    primitives = registered_primitives()
    folders = {op.__module__.split(".")[1] for op in primitives}
    assert {"ops", "nn", "linalg", "probability"} <= folders
    for op in primitives:
        assert op.formula, f"{op.__module__}.{op.__name__} does not state its formula"
        # A rule comes with its LaTeX; a primitive without rules (an inner helper of another rule)
        # states none, and asking it for a derivative raises, naming it.
        has_rule = bool(op.vjps) or op.vjp_all is not None or "vjp" in vars(op)
        assert bool(op.derivatives) == has_rule, f"{op.__name__}: derivative rules and their formulas disagree"
