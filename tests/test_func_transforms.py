"""chainrule.func against torch.func, and gradcheck's own behaviour (it must be able to fail)."""
import numpy
import pytest
import torch
import torch.func
from hypothesis import given, settings, strategies as st

import chainrule as cr
from chainrule import func


def f_ours(x, y):
    return ((x.sin() * y).sum(-1) ** 2).sum() + (x @ y.mT).tanh().sum()


def f_torch(x, y):
    return ((x.sin() * y).sum(-1) ** 2).sum() + (x @ y.mT).tanh().sum()


def vec_ours(x):
    return cr.stack([x[0] * x[1], x.exp().sum(), (x ** 3).sum() * x[2]])


def vec_torch(x):
    return torch.stack([x[0] * x[1], x.exp().sum(), (x ** 3).sum() * x[2]])


def _pair(rng, shape):
    a = rng.standard_normal(shape)
    return cr.tensor(a, dtype=cr.float64), torch.tensor(a, dtype=torch.float64)


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_grad_and_value_and_grad_match_torch_func(seed):
    rng = numpy.random.default_rng(seed)
    (x, tx), (y, ty) = _pair(rng, (2, 3)), _pair(rng, (2, 3))
    gx, gy = func.grad(f_ours, argnums=(0, 1))(x, y)
    ex, ey = torch.func.grad(f_torch, argnums=(0, 1))(tx, ty)
    numpy.testing.assert_allclose(gx.numpy(), ex.numpy(), rtol=1e-10)
    numpy.testing.assert_allclose(gy.numpy(), ey.numpy(), rtol=1e-10)
    value, g = func.value_and_grad(f_ours)(x, y)
    assert value.item() == pytest.approx(f_torch(tx, ty).item(), rel=1e-12)
    assert not g.requires_grad  # like torch.func at the outermost level


@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_jacobians_hessian_jvp_vjp_hvp_match_torch_func(seed):
    rng = numpy.random.default_rng(seed)
    x, tx = _pair(rng, (3,))
    v, tv = _pair(rng, (3,))
    expected_jac = torch.func.jacrev(vec_torch)(tx).numpy()
    numpy.testing.assert_allclose(func.jacrev(vec_ours)(x).numpy(), expected_jac, rtol=1e-10)
    numpy.testing.assert_allclose(func.jacfwd(vec_ours)(x).numpy(), expected_jac, rtol=1e-10)
    numpy.testing.assert_allclose(func.jacobian(vec_ours)(x).numpy(), expected_jac, rtol=1e-10)

    scalar_ours = lambda t: (vec_ours(t) ** 2).sum()  # noqa: E731
    scalar_torch = lambda t: (vec_torch(t) ** 2).sum()  # noqa: E731
    numpy.testing.assert_allclose(func.hessian(scalar_ours)(x).numpy(), torch.func.hessian(scalar_torch)(tx).numpy(), rtol=1e-9)

    _, tangent = func.jvp(vec_ours, (x,), (v,))
    _, expected_tangent = torch.func.jvp(vec_torch, (tx,), (tv,))
    numpy.testing.assert_allclose(tangent.numpy(), expected_tangent.numpy(), rtol=1e-10)

    w, tw = _pair(rng, (3,))
    _, vjp_fn = func.vjp(vec_ours, x)
    _, torch_vjp_fn = torch.func.vjp(vec_torch, tx)
    numpy.testing.assert_allclose(vjp_fn(w)[0].numpy(), torch_vjp_fn(tw)[0].numpy(), rtol=1e-10)

    _, hv = func.hvp(scalar_ours, (x,), (v,))
    _, expected_hv = torch.autograd.functional.hvp(scalar_torch, tx, tv)
    numpy.testing.assert_allclose(hv[0].numpy(), expected_hv.numpy(), rtol=1e-9)


def test_transforms_compose_to_any_order():
    x = cr.tensor(0.3, dtype=cr.float64)
    fourth = func.grad(func.grad(func.grad(func.grad(cr.sin))))(x)
    assert fourth.item() == pytest.approx(numpy.sin(0.3), rel=1e-12)
    mixed = func.jacfwd(func.jacrev(lambda t: (t ** 3).sum()))(cr.tensor([1.0, 2.0], dtype=cr.float64))
    assert mixed.numpy().tolist() == [[6.0, 0.0], [0.0, 12.0]]


def test_grad_sees_through_closures_in_nested_transforms():
    # d/dy [ d/dx (x² y³) ] at x=2, y=1  =  d/dy [2 x y³] = 6 x y² = 12
    def inner_grad_at(y):
        return func.grad(lambda x: x ** 2 * y ** 3)(cr.tensor(2.0, dtype=cr.float64))

    assert func.grad(inner_grad_at)(cr.tensor(1.0, dtype=cr.float64)).item() == pytest.approx(12.0)


def test_pytrees_and_has_aux():
    params = {"w": cr.tensor([1.0, 2.0], dtype=cr.float64), "b": cr.tensor(0.5, dtype=cr.float64)}

    def loss(p):
        value = (p["w"] ** 2).sum() + p["b"] * 3
        return value, {"value": value.item()}

    grads, aux = func.grad(loss, has_aux=True)(params)
    assert grads["w"].tolist() == [2.0, 4.0] and grads["b"].item() == 3.0
    assert aux == {"value": 6.5}


def test_grad_requires_a_scalar_output():
    with pytest.raises(RuntimeError, match=r"scalar.*shape \(2,\)"):
        func.grad(lambda x: x * 2)(cr.tensor([1.0, 2.0]))


def test_gradcheck_catches_a_wrong_derivative_and_reports_it():
    from chainrule.core.primitive import Primitive, apply

    class WrongSquare(Primitive):
        name = "wrong_square"
        formula = "y = x^2"
        derivatives = (r"\bar{x} = 3 x \bar{y} \text{ (deliberately wrong)}",)

        @staticmethod
        def forward(xp, x):
            return x * x

        @staticmethod
        def grad_x(g, out, x):
            return g * x * 3

        vjps = (grad_x,)

    x = cr.tensor([1.0, 2.0], dtype=cr.float64, requires_grad=True)
    with pytest.raises(func.GradcheckError) as info:
        func.gradcheck(lambda t: apply(WrongSquare, t), (x,))
    message = str(info.value)
    assert "input 0" in message and "analytic" in message and "numeric" in message and "rel error" in message
    assert func.gradcheck(lambda t: apply(WrongSquare, t), (x,), raise_exception=False) is False
    big = cr.randn(60, 60, dtype=cr.float64, requires_grad=True)
    with pytest.raises(func.GradcheckError, match="fast mode"):
        func.gradcheck(lambda t: apply(WrongSquare, t), (big,))
    assert func.gradcheck(lambda t: (t * t).sum(0), (big,))  # fast mode passes on a right derivative


def test_gradgradcheck_catches_a_wrong_second_derivative():
    from chainrule.core.primitive import Primitive, apply

    class CubeWithConstantSlope(Primitive):
        # First derivative right at the point but written with a detached x: its own derivative is wrong.
        name = "cube_detached_rule"
        formula = "y = x^3"
        derivatives = (r"\bar{x} = 3x^2 \bar{y}",)

        @staticmethod
        def forward(xp, x):
            return x ** 3

        @staticmethod
        def grad_x(g, out, x):
            return g * 3 * x.detach() ** 2

        vjps = (grad_x,)

    x = cr.tensor([0.5, 1.5], dtype=cr.float64, requires_grad=True)
    assert func.gradcheck(lambda t: apply(CubeWithConstantSlope, t), (x,))
    with pytest.raises(func.GradcheckError):
        func.gradgradcheck(lambda t: apply(CubeWithConstantSlope, t), (x,))
