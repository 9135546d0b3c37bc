"""The WindowMax primitive (max pooling's max over each window of an image) against its composed form
(im2col, then a gather at the first maximum), to second order, with ties and NaN."""
import numpy
import pytest

import chainrule as cr
from chainrule.core.primitive import apply
from chainrule.core.tensor import Tensor
from chainrule.func import gradcheck, gradgradcheck
from chainrule.nn.primitives import WindowMax, first_max_of_window, window_columns
from chainrule.ops.convolution import im2col

GEOMETRY = dict(kernel_size=(2, 2), dilation=(1, 1), stride=(2, 2), grid=(2, 3))


def _image(with_ties):
    rng = numpy.random.default_rng(0)
    values = rng.standard_normal((2, 3, 4, 6))
    if with_ties:
        values[:, :, 0, 1] = values[:, :, 0, 0]   # the first of two equal maxima must take the gradient
        values[0, 0, :2, 2:4] = 0.0                # a window of equal values (relu's zeros)
    return cr.tensor(values, requires_grad=True)


@pytest.mark.parametrize("with_ties", [False, True])
def test_window_max_matches_gather_at_the_first_maximum(with_ties):
    image = _image(with_ties)
    first_max = first_max_of_window(numpy, window_columns(numpy, image.array, **GEOMETRY))
    assert (first_max.sum(axis=1) == 1).all()
    position = Tensor._wrap(first_max.argmax(axis=1)[:, None, :])

    def fused(x):
        return apply(WindowMax, x, **GEOMETRY)

    def composed(x):
        windows = im2col(x, (2, 2), stride=(2, 2)).reshape(3, 4, -1)
        return windows.gather(1, position).squeeze(1)

    numpy.testing.assert_array_equal(fused(image).detach().numpy(), composed(image).detach().numpy())
    cotangent = cr.tensor(numpy.random.default_rng(1).standard_normal((3, 12)))
    (ours,) = cr.autograd.grad(fused(image), image, cotangent)
    (reference,) = cr.autograd.grad(composed(image), image, cotangent)
    numpy.testing.assert_array_equal(ours.numpy(), reference.numpy())
    if not with_ties:  # finite differences are not defined at a tie
        assert gradcheck(fused, (image,))
        assert gradgradcheck(lambda x: fused(x) ** 2, (image,))


def test_the_graph_keeps_the_image_not_the_windows():
    image = _image(False)
    out = apply(WindowMax, image, **GEOMETRY)
    assert len(out._inputs) == 1 and out._inputs[0] is image
    assert all(not isinstance(value, (numpy.ndarray, Tensor)) for value in out._params.values())


def test_the_gradient_of_a_window_with_nan_goes_to_its_last_nan_as_in_pytorch():
    values = numpy.array([[[1.0, 2.0], [numpy.nan, 5.0], [numpy.nan, numpy.nan], [3.0, 0.0]]])  # (1, 4, 2)
    first_max = first_max_of_window(numpy, values)
    numpy.testing.assert_array_equal(first_max.argmax(axis=1), [[2, 2]])
    assert (first_max.sum(axis=1) == 1).all()
    image = numpy.array([[[[1.0, numpy.nan], [numpy.nan, 3.0]]]])
    assert numpy.isnan(WindowMax.forward(numpy, image, (2, 2), (1, 1), (2, 2), (1, 1))).all()
