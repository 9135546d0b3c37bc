"""Backpropagation semantics: accumulation, retain_graph, create_graph, grad modes, errors."""
import numpy
import pytest
import torch

import chainrule as cr


def test_gradients_accumulate_across_backward_calls_like_pytorch():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    (x * 3).sum().backward()
    assert x.grad.tolist() == [2 + 3, 4 + 3]


def test_reused_node_gets_the_sum_of_its_paths():
    x = cr.tensor(2.0, requires_grad=True)
    y = x * x
    z = y * y + y  # dz/dx = (2y + 1) * 2x = 9 * 4
    z.backward()
    assert x.grad.item() == 36.0


def test_second_backward_through_freed_graph_says_retain_graph():
    x = cr.tensor([1.0], requires_grad=True)
    y = (x.exp() * 2).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()


def test_retain_graph_allows_a_second_walk():
    x = cr.tensor([1.0], requires_grad=True)
    y = (x.exp() * 2).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert numpy.isclose(x.grad.item(), 4 * numpy.e)


def test_backward_on_non_scalar_needs_gradient():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"shape \(2,\).*gradient="):
        (x * 2).backward()
    (x * 2).backward(cr.tensor([1.0, 10.0]))
    assert x.grad.tolist() == [2.0, 20.0]


def test_integer_tensor_cannot_require_grad():
    with pytest.raises(RuntimeError, match="int64.*float"):
        cr.tensor([1, 2], requires_grad=True)


def test_no_grad_and_enable_grad():
    x = cr.tensor([1.0], requires_grad=True)
    with cr.no_grad():
        y = x * 2
        with cr.enable_grad():
            z = x * 2
    assert not y.requires_grad and z.requires_grad

    @cr.no_grad()
    def doubled(t):
        return t * 2

    assert not doubled(x).requires_grad
    assert cr.is_grad_enabled()


def test_create_graph_gives_third_derivative():
    x = cr.tensor(0.7, dtype=cr.float64, requires_grad=True)
    y = x.sin() * x
    (d1,) = cr.autograd.grad(y, x, create_graph=True)
    (d2,) = cr.autograd.grad(d1, x, create_graph=True)
    (d3,) = cr.autograd.grad(d2, x)
    t = torch.tensor(0.7, dtype=torch.float64, requires_grad=True)
    (e1,) = torch.autograd.grad(t.sin() * t, t, create_graph=True)
    (e2,) = torch.autograd.grad(e1, t, create_graph=True)
    (e3,) = torch.autograd.grad(e2, t)
    assert numpy.allclose([d1.item(), d2.item(), d3.item()], [e1.item(), e2.item(), e3.item()], rtol=1e-12)


def test_backward_create_graph_accumulates_differentiable_grad():
    x = cr.tensor([1.0, 2.0], dtype=cr.float64, requires_grad=True)
    (x ** 3).sum().backward(create_graph=True)
    assert x.grad.requires_grad
    first = x.grad
    x.grad = None
    first.sum().backward()
    assert x.grad.tolist() == [6.0, 12.0]


def test_retain_grad_on_non_leaf():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y.retain_grad()
    (y * y).sum().backward()
    assert y.grad.tolist() == [4.0, 8.0]


def test_autograd_grad_does_not_touch_dot_grad_and_reports_unused():
    x = cr.tensor([1.0], requires_grad=True)
    w = cr.tensor([2.0], requires_grad=True)
    (g,) = cr.autograd.grad((x * 3).sum(), x)
    assert g.tolist() == [3.0] and x.grad is None
    with pytest.raises(RuntimeError, match="allow_unused"):
        cr.autograd.grad((x * 3).sum(), [x, w])
    gx, gw = cr.autograd.grad((x * 3).sum(), [x, w], allow_unused=True)
    assert gw is None


def test_detach_stops_gradient():
    x = cr.tensor([3.0], requires_grad=True)
    (x * x.detach()).sum().backward()
    assert x.grad.tolist() == [3.0]


def test_leaf_grad_is_writable_even_when_gradients_share_memory():
    a = cr.tensor([1.0, 2.0], requires_grad=True)
    b = cr.tensor([3.0, 4.0], requires_grad=True)
    (a + b).sum().backward()
    a.grad.array[...] = 0  # must not change b.grad
    assert b.grad.tolist() == [1.0, 1.0]


def test_deep_graph_does_not_hit_recursion_limit():
    x = cr.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(5000):
        y = y * 1.0001
    y.backward()
    assert numpy.isclose(x.grad.item(), 1.0001 ** 5000, rtol=1e-4)


def test_grad_dtype_follows_input_dtype():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = (x * cr.tensor([1.0, 1.0], dtype=cr.float64)).sum()
    y.backward()
    assert x.grad.dtype == cr.float32


def test_missing_derivative_raises_naming_the_op():
    from chainrule.core.primitive import Primitive, apply

    class Opaque(Primitive):
        name = "opaque"

        @staticmethod
        def forward(xp, x):
            return x * 2

    x = cr.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="opaque: no derivative"):
        apply(Opaque, x).sum().backward()


def test_non_differentiable_ops_return_plain_tensors():
    x = cr.tensor([1.0, 3.0, 2.0], requires_grad=True)
    for result in (x > 1, x.argmax(), x == 3, cr.isfinite(x)):
        assert not result.requires_grad and result.grad_fn is None


def test_a_primitive_without_forward_is_refused_when_defined():
    from chainrule.core.primitive import Primitive

    with pytest.raises(TypeError, match="primitive Incomplete must define forward"):
        class Incomplete(Primitive):
            name = "incomplete"


def test_the_walk_shows_each_op_its_gradient_and_every_input_share_to_an_observer():
    from chainrule.core.autograd import run_backward
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    b = cr.tensor([[0.5], [1.5]], requires_grad=True)
    loss = ((w * w) + b).sum()                     # w is used twice and b is broadcast (2, 1) → (2, 2)
    seen = []
    [dw, db] = run_backward([loss], [cr.tensor(1.0)], retain_graph=True, inputs=[w, b],
                            observer=lambda tensor, grad, shares: seen.append((tensor._op.name, grad, shares)))
    assert [name for name, _, _ in seen] == ["sum", "add", "mul"]
    for name, grad, shares in seen:
        for index, parent, share in shares:
            assert share.shape == parent.shape        # already un-broadcast when the observer sees it
    mul_shares = seen[2][2]
    assert [index for index, _, _ in mul_shares] == [0, 1]
    assert numpy.array_equal((mul_shares[0][2] + mul_shares[1][2]).numpy(), dw.numpy())
    assert db.tolist() == [[2.0], [2.0]]
    loss.backward()
    assert numpy.array_equal(w.grad.numpy(), dw.numpy())   # the observed walk is the walk backward() takes
