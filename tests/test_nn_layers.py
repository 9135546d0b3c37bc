"""Linear, Identity, Flatten, Unflatten, Embedding and Dropout against PyTorch, gradcheck, and dropout's
mask semantics, scaling and determinism by seed."""
import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F
from chainrule.func import gradcheck, gradgradcheck
from nn_torch_reference import compare_with_torch, copy_weights, leaf64

RNG = np.random.default_rng(21)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(5, 3), (2, 4, 3), (3,)])
def test_linear_matches_torch_with_broadcast_batch_dims(shape, bias):
    layer, reference = nn.Linear(3, 4, bias=bias).double(), torch.nn.Linear(3, 4, bias=bias).double()
    copy_weights(layer, reference)
    compare_with_torch(layer, reference, [RNG.standard_normal(shape)])


def test_linear_gradcheck_and_gradgradcheck():
    x, w, b = leaf64(RNG.standard_normal((3, 4))), leaf64(RNG.standard_normal((2, 4))), leaf64(RNG.standard_normal(2))
    assert gradcheck(F.linear, (x, w, b))
    assert gradgradcheck(lambda x, w, b: F.linear(x, w, b).tanh(), (x, w, b))


def test_linear_default_init_matches_torch_distribution():
    cr.manual_seed(1)
    layer = nn.Linear(64, 256)
    bound = 1 / np.sqrt(64)
    weight, bias = layer.weight.detach().numpy(), layer.bias.detach().numpy()
    assert np.abs(weight).max() <= bound and np.abs(weight).max() > 0.99 * bound
    np.testing.assert_allclose(weight.std(), bound / np.sqrt(3), rtol=0.03)
    assert abs(weight.mean()) < 0.02 * bound
    assert np.abs(bias).max() <= bound and bias.std() > 0.4 * bound


def test_linear_errors():
    with pytest.raises(ValueError, match=r"linear: input of shape \(2, 5\) has 5 features .*weight of shape \(4, 3\) expects 3"):
        nn.Linear(3, 4)(cr.zeros(2, 5))


def test_identity_flatten_unflatten_match_torch():
    x = RNG.standard_normal((2, 3, 4, 2))
    compare_with_torch(nn.Identity(), torch.nn.Identity(), [x])
    compare_with_torch(nn.Flatten(), torch.nn.Flatten(), [x])
    compare_with_torch(nn.Flatten(0, 2), torch.nn.Flatten(0, 2), [x])
    compare_with_torch(nn.Unflatten(2, (2, 2)), torch.nn.Unflatten(2, (2, 2)), [x])


@pytest.mark.parametrize("padding_idx", [None, 0, -1])
def test_embedding_matches_torch_and_padding_row_gets_no_gradient(padding_idx):
    layer, reference = nn.Embedding(6, 3, padding_idx=padding_idx).double(), torch.nn.Embedding(6, 3, padding_idx=padding_idx).double()
    copy_weights(layer, reference)
    indices = np.array([[0, 5, 2, 0], [5, 5, 1, 3]])
    compare_with_torch(layer, reference, [indices], grad_inputs=[False])
    if padding_idx is not None:
        row = padding_idx % 6
        assert not layer.weight.grad.numpy()[row].any()
        assert not nn.Embedding(6, 3, padding_idx=padding_idx).weight.detach().numpy()[row].any()


def test_embedding_init_and_errors():
    cr.manual_seed(2)
    weight = nn.Embedding(500, 40).weight.detach().numpy()
    np.testing.assert_allclose([weight.mean(), weight.std()], [0.0, 1.0], atol=0.02)
    with pytest.raises(IndexError, match=r"embedding: index 6 is out of range for a table of 6 rows"):
        nn.Embedding(6, 2)(cr.tensor([1, 6]))
    with pytest.raises(TypeError, match="indices must be an integer tensor"):
        nn.Embedding(6, 2)(cr.tensor([1.0]))


def test_dropout_mask_semantics_scaling_and_eval_identity():
    cr.manual_seed(0)
    layer = nn.Dropout(p=0.3)
    x = cr.tensor(RNG.uniform(1, 2, (200, 100)), requires_grad=True)
    y = layer(x)
    kept = y.detach().numpy() != 0
    # survivors are scaled by 1/(1-p); the others are exactly 0
    np.testing.assert_allclose(y.detach().numpy()[kept], x.detach().numpy()[kept] / 0.7, rtol=1e-6)
    assert abs(kept.mean() - 0.7) < 0.01           # 20,000 draws: the kept fraction is 0.7 ± 0.003 (1σ)
    y.sum().backward()                              # the gradient uses the same mask and scale
    np.testing.assert_allclose(x.grad.numpy(), kept / 0.7, rtol=1e-6)
    layer.eval()
    assert layer(x) is x
    assert F.dropout(x, 0.0) is x
    assert not F.dropout(x, 1.0).detach().numpy().any()


def test_dropout_is_deterministic_by_seed_and_uses_a_given_generator():
    x = cr.ones(50, 50)
    cr.manual_seed(123)
    first = nn.Dropout(0.5)(x).numpy()
    cr.manual_seed(123)
    second = nn.Dropout(0.5)(x).numpy()
    np.testing.assert_array_equal(first, second)
    generator = cr.Generator().manual_seed(7)
    own = nn.Dropout(0.5, generator=generator)(x).numpy()
    generator.manual_seed(7)
    np.testing.assert_array_equal(own, F.dropout(x, 0.5, generator=generator).numpy())
    assert not np.array_equal(first, own)


def test_dropout2d_drops_whole_channels():
    cr.manual_seed(4)
    y = nn.Dropout2d(0.5)(cr.ones(8, 16, 3, 3)).numpy()
    per_channel = y.reshape(8, 16, -1)
    assert np.all((per_channel == 0).all(-1) | (per_channel == 2.0).all(-1))
    assert 0 < (per_channel == 0).all(-1).mean() < 1


def test_dropout_gradcheck_with_a_fixed_generator():
    x = leaf64(RNG.standard_normal((4, 5)))

    def dropped(x):
        return F.dropout(x, 0.4, generator=cr.Generator().manual_seed(3))   # same mask at every evaluation

    assert gradcheck(dropped, (x,))


def test_dropout_bad_probability():
    with pytest.raises(ValueError, match=r"Dropout: probability p must be in \[0, 1\], got 1.5"):
        nn.Dropout(1.5)


def test_functional_pad_normalize_cosine_similarity_match_torch():
    x = RNG.standard_normal((3, 4))
    y = RNG.standard_normal((1, 4))
    for mode in ("constant", "reflect", "replicate", "circular"):
        ours = F.pad(cr.tensor(x[None]), (2, 1), mode=mode)
        theirs = torch.nn.functional.pad(torch.tensor(x[None]), (2, 1), mode=mode)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy())
    for function, torch_function, args in [
        (F.normalize, torch.nn.functional.normalize, (x,)),
        (lambda a: F.normalize(a, p=1, dim=0), lambda a: torch.nn.functional.normalize(a, p=1, dim=0), (x,)),
        (F.cosine_similarity, torch.nn.functional.cosine_similarity, (x, y)),
    ]:
        ours_args = [cr.tensor(a, requires_grad=True) for a in args]
        theirs_args = [torch.tensor(a, requires_grad=True) for a in args]
        ours, theirs = function(*ours_args), torch_function(*theirs_args)
        np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-12)
        ours.sum().backward()
        theirs.sum().backward()
        for a, b in zip(ours_args, theirs_args):
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-10, atol=1e-12)
    assert gradcheck(lambda a, b: F.cosine_similarity(a, b), (leaf64(x), leaf64(y)))
    np.testing.assert_array_equal(F.one_hot(cr.tensor([0, 2]), 3).numpy(), [[1, 0, 0], [0, 0, 1]])
