"""chainrule.autograd.Function: PyTorch's custom-op classes give PyTorch's values and gradients, checked numerically too."""
import numpy
import pytest
import torch

import chainrule as cr
from chainrule.func import gradcheck, gradgradcheck


def _pair(library):
    """The same Function subclasses written against either library (only the module differs)."""

    class LegendrePolynomial3(library.autograd.Function):        # the PyTorch tutorial's custom Function
        @staticmethod
        def forward(ctx, input):
            ctx.save_for_backward(input)
            return 0.5 * (5 * input ** 3 - 3 * input)

        @staticmethod
        def backward(ctx, grad_output):
            (input,) = ctx.saved_tensors
            return grad_output * 1.5 * (5 * input ** 2 - 1)

    class ScaledProduct(library.autograd.Function):               # two tensors, a number, two outputs
        @staticmethod
        def forward(ctx, x, y, scale):
            ctx.save_for_backward(x, y)
            ctx.scale = scale
            return x * y * scale, (x + y).sin()

        @staticmethod
        def backward(ctx, grad_product, grad_sine):
            x, y = ctx.saved_tensors
            cosine = (x + y).cos() * grad_sine
            return grad_product * y * ctx.scale + cosine, grad_product * x * ctx.scale + cosine, None

    class Exp(library.autograd.Function):                         # saves its output
        @staticmethod
        def forward(ctx, x):
            result = x.exp()
            ctx.save_for_backward(result)
            return result

        @staticmethod
        def backward(ctx, grad_output):
            (result,) = ctx.saved_tensors
            return grad_output * result

    return LegendrePolynomial3, ScaledProduct, Exp


OURS, THEIRS = _pair(cr), _pair(torch)


def _inputs(shape, seed, count=1):
    rng = numpy.random.default_rng(seed)
    arrays = [rng.normal(size=shape) for _ in range(count)]
    return ([cr.tensor(a, dtype=cr.float64, requires_grad=True) for a in arrays],
            [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays])


@pytest.mark.parametrize("seed", range(3))
def test_the_tutorials_legendre_function_matches_torch(seed):
    (x,), (tx,) = _inputs((5,), seed)
    y, ty = OURS[0].apply(x), THEIRS[0].apply(tx)
    numpy.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-12)
    (y * y).sum().backward()
    (ty * ty).sum().backward()
    numpy.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)


def test_several_inputs_and_outputs_with_broadcasting_match_torch():
    ours, theirs = _inputs((2, 3), 4)
    small, torch_small = _inputs((1, 3), 5)
    product, sine = OURS[1].apply(ours[0], small[0], 2.5)
    torch_product, torch_sine = THEIRS[1].apply(theirs[0], torch_small[0], 2.5)
    (product.sum() + (sine * sine).sum()).backward()
    (torch_product.sum() + (torch_sine * torch_sine).sum()).backward()
    numpy.testing.assert_allclose(ours[0].grad.numpy(), theirs[0].grad.numpy(), rtol=1e-12)
    numpy.testing.assert_allclose(small[0].grad.numpy(), torch_small[0].grad.numpy(), rtol=1e-12)


def test_only_one_output_used_matches_torch():
    ours, theirs = _inputs((4,), 6, count=2)
    OURS[1].apply(*ours, 3.0)[1].sum().backward()
    THEIRS[1].apply(*theirs, 3.0)[1].sum().backward()
    for a, b in zip(ours, theirs):
        numpy.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("which", [0, 1, 2])
def test_gradcheck_and_gradgradcheck_pass_through_custom_functions(which):
    (x, y), _ = _inputs((3,), 7, count=2)
    function = OURS[which]
    call = {0: lambda a, b: function.apply(a) * b, 1: lambda a, b: function.apply(a, b, 1.5)[0] + function.apply(a, b, 1.5)[1],
            2: lambda a, b: function.apply(a * b)}[which]
    assert gradcheck(call, (x, y))
    assert gradgradcheck(call, (x, y))


def test_a_wrong_backward_is_caught_by_gradcheck():
    class WrongSine(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x.sin()

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * x.sin()          # should be cos

    (x,), _ = _inputs((3,), 8)
    assert not gradcheck(WrongSine.apply, (x,), raise_exception=False)


def test_needs_input_grad_and_the_context_match_torch():
    seen = {}

    def make(library, key):
        class Probe(library.autograd.Function):
            @staticmethod
            def forward(ctx, a, b, k):
                seen[key] = ctx.needs_input_grad
                return a * b * k

            @staticmethod
            def backward(ctx, grad):
                return grad, grad, None
        return Probe

    make(cr, "ours").apply(cr.ones(2, requires_grad=True), cr.ones(2), 2)
    make(torch, "theirs").apply(torch.ones(2, requires_grad=True), torch.ones(2), 2)
    assert seen["ours"] == seen["theirs"] == (True, False, False)
    with cr.no_grad():
        out = make(cr, "ours").apply(cr.ones(2, requires_grad=True), cr.ones(2), 2)
    assert not out.requires_grad and seen["ours"] == (False, False, False)


def test_the_newer_setup_context_style_works():
    class Square(cr.autograd.Function):
        @staticmethod
        def forward(x):
            return x * x

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_backward(inputs[0])

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return 2 * x * grad

    x = cr.tensor([3.0], requires_grad=True)
    Square.apply(x).backward()
    assert x.grad.tolist() == [6.0]


def test_non_differentiable_outputs_and_none_gradients():
    class SortValues(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            order = cr.tensor(numpy.argsort(x.detach().numpy()))
            ctx.mark_non_differentiable(order)
            ctx.save_for_backward(order)
            return x[order], order

        @staticmethod
        def backward(ctx, grad_values, grad_order):
            (order,) = ctx.saved_tensors
            grad = cr.zeros(grad_values.shape, dtype=grad_values.dtype)
            grad[order] = grad_values
            return grad

    x = cr.tensor([3.0, 1.0, 2.0], requires_grad=True)
    values, order = SortValues.apply(x)
    assert not order.requires_grad and values.requires_grad
    (values * cr.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert x.grad.tolist() == [3.0, 1.0, 2.0]

    class Ignores(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            return x + y

        @staticmethod
        def backward(ctx, grad):
            return grad, None

    a, b = cr.ones(2, requires_grad=True), cr.ones(2, requires_grad=True)
    Ignores.apply(a, b).sum().backward()
    assert a.grad.tolist() == [1.0, 1.0] and b.grad.tolist() == [0.0, 0.0]


def _function(backward_result):
    class Broken(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, grad):
            return backward_result(grad)
    return Broken


@pytest.mark.parametrize("backward_result, error, words", [
    (lambda g: (g, g), RuntimeError, "returned 2 gradient\\(s\\) but forward took 1"),
    (lambda g: cr.ones(5), RuntimeError, "has shape \\(5,\\) but that input has shape \\(3,\\)"),
    (lambda g: 1.0, TypeError, "is a float; return a tensor"),
])
def test_a_broken_backward_is_named(backward_result, error, words):
    with pytest.raises(error, match="BrokenBackward|Broken.backward") as caught:
        _function(backward_result).apply(cr.ones(3, requires_grad=True)).sum().backward()
    assert caught.match(words)


def test_misuse_of_the_context_and_forward_is_explained():
    class SavesNumber(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(3)
            return x

    with pytest.raises(TypeError, match="only tensors"):
        SavesNumber.apply(cr.ones(1, requires_grad=True))

    class ReturnsList(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return [x]

    with pytest.raises(TypeError, match="must return a tensor"):
        ReturnsList.apply(cr.ones(1, requires_grad=True))
    with pytest.raises(TypeError, match="define forward"):
        cr.autograd.Function.apply(cr.ones(1))


def test_a_second_backward_through_a_freed_function_node_says_why():
    x = cr.ones(2, requires_grad=True)
    y = OURS[0].apply(x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def _walk(grad_fn):
    """The graph below ``grad_fn`` as nested (kind, children) tuples, in next_functions order."""
    if grad_fn is None:
        return None
    if hasattr(grad_fn, "variable"):       # AccumulateGrad, in both libraries
        return "leaf"
    return tuple(_walk(node) for node, _ in grad_fn.next_functions)


def test_next_functions_has_torchs_shape():
    def model(library, w, b, x):
        return (library.sigmoid(x @ w + b) * 2.0).sum()

    rng = numpy.random.default_rng(0)
    arrays = rng.normal(size=(3, 2)), rng.normal(size=(2,)), rng.normal(size=(4, 3))
    ours = [cr.tensor(a, requires_grad=i < 2) for i, a in enumerate(arrays)]
    theirs = [torch.tensor(a, requires_grad=i < 2) for i, a in enumerate(arrays)]
    loss, torch_loss = model(cr, *ours), model(torch, *theirs)
    assert _walk(loss.grad_fn) == _walk(torch_loss.grad_fn)
    add = loss.grad_fn.next_functions[0][0].next_functions[0][0].next_functions[0][0]   # sum ← mul ← sigmoid ← add
    assert add.next_functions[0][0].next_functions[1][0].variable is ours[0]             # add ← matmul ← w
    assert add.next_functions[1][0].variable is ours[1]                                  # add ← b
    assert OURS[0].apply(ours[0]).grad_fn.name() == "LegendrePolynomial3Backward"
    assert loss.grad_fn.name == "sum" and loss.grad_fn == loss.grad_fn and cr.ones(1).grad_fn is None


def test_a_function_node_answers_for_several_inputs_from_one_backward_call():
    calls = []

    class Product(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            ctx.save_for_backward(x, y)
            return x * y

        @staticmethod
        def backward(ctx, grad):
            calls.append(1)
            x, y = ctx.saved_tensors
            return grad * y, grad * x

    x, y = cr.tensor([2.0], requires_grad=True), cr.tensor([5.0], requires_grad=True)
    out = Product.apply(x, y)
    shares = out._op.vjp_all(cr.ones(1), out, x, y)
    assert [share.tolist() for share in shares] == [[5.0], [2.0]] and len(calls) == 1
    out.backward()  # the walk asks once for both inputs
    assert x.grad.tolist() == [5.0] and y.grad.tolist() == [2.0] and len(calls) == 2
