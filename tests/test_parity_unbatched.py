"""Unbatched inputs to convolution and pooling, as PyTorch accepts them: (C, L) and (C, H, W), values and gradients."""
import numpy
import pytest
import torch
import torch.nn.functional as TF

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F
from chainrule.func import gradcheck, gradgradcheck

RNG = numpy.random.default_rng(0)

CASES = [
    ("conv1d", (3, 9), lambda lib, x, w: lib.conv1d(x, w, padding=1), (4, 3, 3)),
    ("conv2d", (3, 7, 6), lambda lib, x, w: lib.conv2d(x, w, stride=2, padding=1), (4, 3, 3, 3)),
    ("conv_transpose1d", (3, 5), lambda lib, x, w: lib.conv_transpose1d(x, w, stride=2), (3, 2, 3)),
    ("conv_transpose2d", (3, 4, 4), lambda lib, x, w: lib.conv_transpose2d(x, w, stride=2, padding=1), (3, 2, 3, 3)),
    ("max_pool1d", (2, 9), lambda lib, x, w: lib.max_pool1d(x, 3, 2), None),
    ("max_pool2d", (2, 6, 7), lambda lib, x, w: lib.max_pool2d(x, 2), None),
    ("avg_pool1d", (2, 9), lambda lib, x, w: lib.avg_pool1d(x, 3, 2, 1), None),
    ("avg_pool2d", (2, 6, 7), lambda lib, x, w: lib.avg_pool2d(x, 3, 2, 1), None),
    ("adaptive_avg_pool2d", (2, 6, 7), lambda lib, x, w: lib.adaptive_avg_pool2d(x, (2, 3)), None),
    ("adaptive_max_pool2d", (2, 6, 7), lambda lib, x, w: lib.adaptive_max_pool2d(x, (2, 3)), None),
    ("adaptive_avg_pool1d", (2, 9), lambda lib, x, w: lib.adaptive_avg_pool1d(x, 4), None),
    ("fold", (12, 4), lambda lib, x, w: lib.fold(x, (3, 3), 2), None),
]


@pytest.mark.parametrize("name, shape, call, weight_shape", CASES, ids=[case[0] for case in CASES])
def test_unbatched_inputs_give_torchs_values_and_gradients(name, shape, call, weight_shape):
    x = RNG.permutation(int(numpy.prod(shape))).reshape(shape) * 0.1 + RNG.normal(size=shape) * 0.01
    ours, theirs = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    w = None if weight_shape is None else RNG.normal(size=weight_shape)
    our_w = None if w is None else cr.tensor(w, requires_grad=True)
    their_w = None if w is None else torch.tensor(w, requires_grad=True)
    out, expected = call(F, ours, our_w), call(TF, theirs, their_w)
    assert out.shape == tuple(expected.shape)
    numpy.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    cotangent = RNG.normal(size=out.shape)
    out.backward(cr.tensor(cotangent))
    expected.backward(torch.tensor(cotangent))
    numpy.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-10, atol=1e-12)
    if w is not None:
        numpy.testing.assert_allclose(our_w.grad.numpy(), their_w.grad.numpy(), rtol=1e-10, atol=1e-12)
        assert gradcheck(lambda a, b: call(F, a, b), (ours, our_w)) and gradgradcheck(lambda a, b: call(F, a, b), (ours, our_w))
    else:
        assert gradcheck(lambda a: call(F, a, None), (ours,))


def test_unbatched_layers_match_their_batched_selves_and_torch():
    cr.manual_seed(0)
    for ours, make_torch, shape in [(nn.Conv2d(3, 4, 3, padding=1), lambda: torch.nn.Conv2d(3, 4, 3, padding=1), (3, 5, 5)),
                                    (nn.Conv1d(3, 2, 2), lambda: torch.nn.Conv1d(3, 2, 2), (3, 6)),
                                    (nn.ConvTranspose2d(3, 2, 2, stride=2), lambda: torch.nn.ConvTranspose2d(3, 2, 2, stride=2), (3, 3, 3)),
                                    (nn.MaxPool2d(2), lambda: torch.nn.MaxPool2d(2), (3, 4, 4)),
                                    (nn.AdaptiveMaxPool2d((1, 2)), lambda: torch.nn.AdaptiveMaxPool2d((1, 2)), (3, 4, 4))]:
        theirs = make_torch()
        with torch.no_grad():
            for (_, mine), (_, reference) in zip(ours.state_dict().items(), theirs.state_dict().items()):
                reference.copy_(torch.from_numpy(mine.numpy().copy()))
        x = RNG.normal(size=shape).astype(numpy.float32)
        unbatched = ours(cr.tensor(x))
        numpy.testing.assert_allclose(unbatched.detach().numpy(), ours(cr.tensor(x[None])).detach().numpy()[0], rtol=1e-6)
        numpy.testing.assert_allclose(unbatched.detach().numpy(), theirs(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6)


def test_max_pool_indices_come_back_unbatched_too():
    x = RNG.normal(size=(2, 4, 4))
    values, indices = F.max_pool2d(cr.tensor(x), 2, return_indices=True)
    torch_values, torch_indices = TF.max_pool2d(torch.tensor(x), 2, return_indices=True)
    assert values.shape == tuple(torch_values.shape) == (2, 2, 2)
    numpy.testing.assert_allclose(values.numpy(), torch_values.numpy())
    assert indices.tolist() == torch_indices.tolist()
