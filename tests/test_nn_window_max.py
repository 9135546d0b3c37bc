"""The WindowMax primitive (max pooling's max over each window) against its composed form (a gather at
the first maximum), to second order, with ties and NaN."""
import numpy
import pytest

import chainrule as cr
from chainrule.core.primitive import apply
from chainrule.core.tensor import Tensor
from chainrule.func import gradcheck, gradgradcheck
from chainrule.nn.functional.pooling import _first_max_of_window
from chainrule.nn.primitives import WindowMax


def _windows(with_ties):
    rng = numpy.random.default_rng(0)
    values = rng.standard_normal((3, 4, 10))
    if with_ties:
        values[:, 2] = values[:, 1]           # the first of two equal maxima must take the gradient
        values[0, :, 0] = 0.0                 # a window of equal values (relu's zeros)
    return cr.tensor(values, requires_grad=True)


@pytest.mark.parametrize("with_ties", [False, True])
def test_window_max_matches_gather_at_the_first_maximum(with_ties):
    windows = _windows(with_ties)
    first_max = _first_max_of_window(numpy, windows.array)
    assert (first_max.sum(axis=1) == 1).all()
    position = Tensor._wrap(first_max.argmax(axis=1)[:, None, :])

    def fused(w):
        return apply(WindowMax, w, first_max=Tensor._wrap(first_max))

    def composed(w):
        return w.gather(1, position).squeeze(1)

    numpy.testing.assert_array_equal(fused(windows).detach().numpy(), composed(windows).detach().numpy())
    cotangent = cr.tensor(numpy.random.default_rng(1).standard_normal((3, 10)))
    (ours,) = cr.autograd.grad(fused(windows), windows, cotangent)
    (reference,) = cr.autograd.grad(composed(windows), windows, cotangent)
    numpy.testing.assert_array_equal(ours.numpy(), reference.numpy())
    if not with_ties:  # finite differences are not defined at a tie
        assert gradcheck(fused, (windows,))
        assert gradgradcheck(lambda w: fused(w) ** 2, (windows,))


def test_the_gradient_of_a_window_with_nan_goes_to_its_last_nan_as_in_pytorch():
    values = numpy.array([[[1.0, 2.0], [numpy.nan, 5.0], [numpy.nan, numpy.nan], [3.0, 0.0]]])  # (1, 4, 2)
    first_max = _first_max_of_window(numpy, values)
    numpy.testing.assert_array_equal(first_max.argmax(axis=1), [[2, 2]])
    assert (first_max.sum(axis=1) == 1).all()
    assert numpy.isnan(WindowMax.forward(numpy, values, first_max)).all()
