"""Attention: scaled_dot_product_attention, MultiheadAttention and TransformerEncoderLayer against PyTorch
(same weights), gradient checks, masks, stability, dropout determinism and errors."""
import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given, settings, strategies as st

import chainrule as cr
import chainrule.nn.functional as F
from chainrule.func import gradcheck, gradgradcheck
from chainrule.nn import MultiheadAttention, TransformerEncoderLayer
from chainrule.nn.attention import scaled_dot_product_attention


def both(array, requires_grad=True):
    """The same data as a chainrule tensor and a torch tensor (float64 for float data)."""
    array = np.asarray(array)
    if array.dtype == bool:
        return cr.tensor(array), torch.tensor(array)
    return cr.tensor(array, dtype=cr.float64, requires_grad=requires_grad), torch.tensor(array, requires_grad=requires_grad)


def assert_close(ours, theirs, what="", atol=1e-10):
    theirs = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else np.asarray(theirs)
    np.testing.assert_allclose(np.asarray(ours.array), theirs, rtol=1e-9, atol=atol, err_msg=what)


def copy_weights(ours, theirs):
    ours_by_name = dict(ours.named_parameters())
    theirs_by_name = dict(theirs.named_parameters())
    assert list(ours_by_name) == list(theirs_by_name)
    for name, parameter in theirs_by_name.items():
        ours_by_name[name].array[...] = parameter.detach().numpy()


# ----- scaled_dot_product_attention -------------------------------------------------------------

def sdpa_masks(rng, query_length, key_length):
    bool_2d = rng.random((query_length, key_length)) > 0.4
    bool_2d[:, 0] = True  # every row can attend somewhere (fully masked rows are tested separately)
    per_batch = rng.random((2, 1, query_length, key_length)) > 0.4
    per_batch[..., 0] = True
    return {
        "none": {},
        "bool_2d": {"attn_mask": bool_2d},
        "bool_per_batch": {"attn_mask": per_batch},
        "float": {"attn_mask": rng.standard_normal((query_length, key_length))},
        "float_with_-inf": {"attn_mask": np.where(bool_2d, 0.0, -np.inf)},
        "causal": {"is_causal": True},
        "scale": {"scale": 0.3},
    }


@pytest.mark.parametrize("mask_kind", ["none", "bool_2d", "bool_per_batch", "float", "float_with_-inf", "causal", "scale"])
@pytest.mark.parametrize("query_length,key_length", [(4, 4), (3, 5)])
def test_sdpa_matches_torch_with_gradients(mask_kind, query_length, key_length):
    rng = np.random.default_rng(0)
    q_ours, q_theirs = both(rng.standard_normal((2, 3, query_length, 4)))
    k_ours, k_theirs = both(rng.standard_normal((2, 3, key_length, 4)))
    v_ours, v_theirs = both(rng.standard_normal((2, 3, key_length, 5)))
    options = sdpa_masks(rng, query_length, key_length)[mask_kind]
    ours_options, theirs_options = dict(options), dict(options)
    mask_leaf = None
    if "attn_mask" in options:
        ours_options["attn_mask"], theirs_options["attn_mask"] = both(options["attn_mask"])
        if mask_kind == "float":
            mask_leaf = (ours_options["attn_mask"], theirs_options["attn_mask"])
    out_ours = scaled_dot_product_attention(q_ours, k_ours, v_ours, **ours_options)
    out_theirs = TF.scaled_dot_product_attention(q_theirs, k_theirs, v_theirs, **theirs_options)
    assert out_ours.shape == tuple(out_theirs.shape)
    assert_close(out_ours, out_theirs, "output")
    weights = rng.standard_normal(tuple(out_theirs.shape))
    (out_ours * cr.tensor(weights, dtype=cr.float64)).sum().backward()
    (out_theirs * torch.tensor(weights)).sum().backward()
    for ours, theirs, name in [(q_ours, q_theirs, "query"), (k_ours, k_theirs, "key"), (v_ours, v_theirs, "value")]:
        assert_close(ours.grad, theirs.grad, f"grad of {name}")
    if mask_leaf is not None:
        assert_close(mask_leaf[0].grad, mask_leaf[1].grad, "grad of the float mask")


@pytest.mark.parametrize("mask_kind", ["bool", "float"])
def test_sdpa_fully_masked_rows_give_zeros_like_torch(mask_kind):
    rng = np.random.default_rng(1)
    q_ours, q_theirs = both(rng.standard_normal((2, 3, 4)))
    k_ours, k_theirs = both(rng.standard_normal((2, 5, 4)))
    v_ours, v_theirs = both(rng.standard_normal((2, 5, 4)))
    allowed = np.ones((3, 5), dtype=bool)
    allowed[1] = False  # query 1 may attend to nothing
    mask = allowed if mask_kind == "bool" else np.where(allowed, 0.0, -np.inf)
    mask_ours, mask_theirs = both(mask, requires_grad=False)
    out_ours = scaled_dot_product_attention(q_ours, k_ours, v_ours, attn_mask=mask_ours)
    out_theirs = TF.scaled_dot_product_attention(q_theirs, k_theirs, v_theirs, attn_mask=mask_theirs)
    assert np.all(out_ours.array[:, 1] == 0.0)
    assert_close(out_ours, out_theirs)
    out_ours.sum().backward()
    out_theirs.sum().backward()
    for ours, theirs in [(q_ours, q_theirs), (k_ours, k_theirs), (v_ours, v_theirs)]:
        assert np.isfinite(ours.grad.array).all()
        assert_close(ours.grad, theirs.grad)
    assert np.all(q_ours.grad.array[:, 1] == 0.0)


def test_sdpa_is_stable_for_huge_scores():
    """Scores around ±1e5 overflow a naive exp; the max-shifted softmax matches torch exactly."""
    rng = np.random.default_rng(2)
    q_ours, q_theirs = both(rng.standard_normal((2, 3, 4)) * 300)
    k_ours, k_theirs = both(rng.standard_normal((2, 6, 4)) * 300)
    v_ours, v_theirs = both(rng.standard_normal((2, 6, 3)))
    out_ours = scaled_dot_product_attention(q_ours, k_ours, v_ours)
    out_theirs = TF.scaled_dot_product_attention(q_theirs, k_theirs, v_theirs)
    assert np.isfinite(out_ours.array).all()
    assert_close(out_ours, out_theirs)
    out_ours.sum().backward()
    out_theirs.sum().backward()
    assert np.isfinite(q_ours.grad.array).all()
    assert_close(k_ours.grad, k_theirs.grad, atol=1e-8)
    # float32 too: no overflow, no NaN.
    out32 = scaled_dot_product_attention(*[cr.tensor(t.detach().numpy(), dtype=cr.float32)
                                           for t in (q_theirs, k_theirs, v_theirs)])
    np.testing.assert_allclose(out32.array, out_theirs.detach().numpy(), rtol=1e-4, atol=1e-4)


def test_sdpa_first_and_second_order_gradcheck():
    cr.manual_seed(3)
    q = cr.randn(2, 3, 2, dtype=cr.float64, requires_grad=True)
    k = cr.randn(2, 4, 2, dtype=cr.float64, requires_grad=True)
    v = cr.randn(2, 4, 3, dtype=cr.float64, requires_grad=True)
    float_mask = cr.randn(3, 4, dtype=cr.float64, requires_grad=True)
    assert gradcheck(lambda q, k, v, m: scaled_dot_product_attention(q, k, v, attn_mask=m), (q, k, v, float_mask))
    assert gradgradcheck(lambda q, k, v: scaled_dot_product_attention(q, k, v, is_causal=True), (q, k, v))


@settings(max_examples=10, deadline=None)
@given(query_length=st.integers(1, 5), key_length=st.integers(1, 5), seed=st.integers(0, 10_000))
def test_sdpa_output_is_a_convex_combination_and_ignores_key_order(query_length, key_length, seed):
    rng = np.random.default_rng(seed)
    q = cr.tensor(rng.standard_normal((query_length, 3)) * 3, dtype=cr.float64)
    k = cr.tensor(rng.standard_normal((key_length, 3)) * 3, dtype=cr.float64)
    v = cr.tensor(rng.standard_normal((key_length, 2)), dtype=cr.float64)
    out = scaled_dot_product_attention(q, k, v).array
    # Each output row is a weighted average of value rows: inside their range per feature.
    assert np.all(out <= v.array.max(axis=0) + 1e-12) and np.all(out >= v.array.min(axis=0) - 1e-12)
    # Attention is a set operation over (key, value) pairs: shuffling them together changes nothing.
    order = rng.permutation(key_length)
    shuffled = scaled_dot_product_attention(q, k[order], v[order]).array
    np.testing.assert_allclose(shuffled, out, rtol=1e-12, atol=1e-12)


def test_sdpa_dropout_is_seeded_and_scales_kept_weights():
    q = k = v = cr.randn(2, 6, 4, dtype=cr.float64)
    cr.manual_seed(4)
    a = scaled_dot_product_attention(q, k, v, dropout_p=0.5).array.copy()
    cr.manual_seed(4)
    b = scaled_dot_product_attention(q, k, v, dropout_p=0.5).array.copy()
    assert np.array_equal(a, b)
    assert not np.allclose(a, scaled_dot_product_attention(q, k, v).array)
    assert np.all(scaled_dot_product_attention(q, k, v, dropout_p=1.0).array == 0.0)


def test_sdpa_errors_name_the_shapes():
    q, k, v = cr.randn(2, 3, 4), cr.randn(2, 5, 4), cr.randn(2, 5, 6)
    with pytest.raises(ValueError, match=r"query and key must have the same feature size.*\(2, 3, 4\).*\(2, 5, 3\)"):
        scaled_dot_product_attention(q, cr.randn(2, 5, 3), v)
    with pytest.raises(ValueError, match=r"key and value must have the same length.*\(2, 5, 4\).*\(2, 4, 6\)"):
        scaled_dot_product_attention(q, k, cr.randn(2, 4, 6))
    with pytest.raises(ValueError, match=r"attn_mask of shape \(3, 4\) does not broadcast.*\(2, 3, 5\)"):
        scaled_dot_product_attention(q, k, v, attn_mask=cr.ones(3, 4))
    with pytest.raises(ValueError, match="either attn_mask or is_causal"):
        scaled_dot_product_attention(q, k, v, attn_mask=cr.ones(3, 5), is_causal=True)
    with pytest.raises(ValueError, match=r"query must be a tensor with at least 2 dims.*\(4,\)"):
        scaled_dot_product_attention(cr.randn(4), k, v)


def test_sdpa_is_reachable_from_functional():
    assert F.scaled_dot_product_attention is scaled_dot_product_attention


# ----- MultiheadAttention ----------------------------------------------------------------------

MHA_CASES = ["none", "bool_attn_mask", "float_attn_mask", "per_head_attn_mask", "bool_key_padding",
             "float_key_padding", "both_masks", "causal"]


def mha_masks(case, rng, batch, heads, query_length, key_length):
    """(ours kwargs, theirs kwargs) for one masking case (True = do not attend, PyTorch's MHA convention)."""
    blocked = rng.random((query_length, key_length)) > 0.6
    blocked[:, 0] = False
    padding = np.zeros((batch, key_length), dtype=bool)
    padding[0, -2:] = True
    kwargs = {
        "none": {},
        "bool_attn_mask": {"attn_mask": blocked},
        "float_attn_mask": {"attn_mask": rng.standard_normal((query_length, key_length))},
        "per_head_attn_mask": {"attn_mask": rng.standard_normal((batch * heads, query_length, key_length))},
        "bool_key_padding": {"key_padding_mask": padding},
        "float_key_padding": {"key_padding_mask": np.where(padding, -np.inf, 0.0)},
        "both_masks": {"attn_mask": blocked, "key_padding_mask": padding},
        "causal": {"attn_mask": np.triu(np.ones((query_length, key_length), dtype=bool), 1), "is_causal": True},
    }[case]
    ours, theirs = {}, {}
    for key, value in kwargs.items():
        if isinstance(value, np.ndarray):
            ours[key], theirs[key] = both(value, requires_grad=False)
        else:
            ours[key] = theirs[key] = value
    return ours, theirs


@pytest.mark.parametrize("case", MHA_CASES)
@pytest.mark.parametrize("batch_first,average", list(itertools.product([False, True], [True, False])))
def test_mha_matches_torch_outputs_weights_and_all_gradients(case, batch_first, average):
    rng = np.random.default_rng(5)
    batch, heads, embed, query_length, key_length = 2, 2, 6, 3, 5
    torch.manual_seed(0)
    theirs = torch.nn.MultiheadAttention(embed, heads, batch_first=batch_first).double()
    ours = MultiheadAttention(embed, heads, batch_first=batch_first, dtype=cr.float64)
    copy_weights(ours, theirs)
    # Random biases (torch starts them at zero, which would hide bias-gradient mistakes).
    with torch.no_grad():
        theirs.in_proj_bias.copy_(torch.tensor(rng.standard_normal(3 * embed)))
        theirs.out_proj.bias.copy_(torch.tensor(rng.standard_normal(embed)))
    copy_weights(ours, theirs)

    def layout(length):
        return (batch, length, embed) if batch_first else (length, batch, embed)

    q_ours, q_theirs = both(rng.standard_normal(layout(query_length)))
    k_ours, k_theirs = both(rng.standard_normal(layout(key_length)))
    v_ours, v_theirs = both(rng.standard_normal(layout(key_length)))
    ours_masks, theirs_masks = mha_masks(case, rng, batch, heads, query_length, key_length)
    out_ours, w_ours = ours(q_ours, k_ours, v_ours, average_attn_weights=average, **ours_masks)
    out_theirs, w_theirs = theirs(q_theirs, k_theirs, v_theirs, average_attn_weights=average, **theirs_masks)
    assert out_ours.shape == tuple(out_theirs.shape) and w_ours.shape == tuple(w_theirs.shape)
    assert_close(out_ours, out_theirs, "output")
    assert_close(w_ours, w_theirs, "attention weights")
    weights = rng.standard_normal(tuple(out_theirs.shape))
    (out_ours * cr.tensor(weights, dtype=cr.float64)).sum().backward()
    (out_theirs * torch.tensor(weights)).sum().backward()
    for ours_input, theirs_input, name in [(q_ours, q_theirs, "query"), (k_ours, k_theirs, "key"), (v_ours, v_theirs, "value")]:
        assert_close(ours_input.grad, theirs_input.grad, f"grad of {name}")
    theirs_params = dict(theirs.named_parameters())
    for name, parameter in ours.named_parameters():
        assert_close(parameter.grad, theirs_params[name].grad, f"grad of {name}")


def test_mha_with_kdim_vdim_no_bias_and_unbatched_input_matches_torch():
    rng = np.random.default_rng(6)
    torch.manual_seed(1)
    theirs = torch.nn.MultiheadAttention(4, 2, kdim=3, vdim=5, bias=False).double()
    ours = MultiheadAttention(4, 2, kdim=3, vdim=5, bias=False, dtype=cr.float64)
    assert [n for n, _ in ours.named_parameters()] == ["q_proj_weight", "k_proj_weight", "v_proj_weight", "out_proj.weight"]
    copy_weights(ours, theirs)
    q_ours, q_theirs = both(rng.standard_normal((3, 4)))
    k_ours, k_theirs = both(rng.standard_normal((6, 3)))
    v_ours, v_theirs = both(rng.standard_normal((6, 5)))
    padding_ours, padding_theirs = both(np.array([False, False, True, False, True, False]))
    out_ours, w_ours = ours(q_ours, k_ours, v_ours, key_padding_mask=padding_ours)
    out_theirs, w_theirs = theirs(q_theirs, k_theirs, v_theirs, key_padding_mask=padding_theirs)
    assert out_ours.shape == (3, 4) and w_ours.shape == (3, 6)
    assert_close(out_ours, out_theirs)
    assert_close(w_ours, w_theirs)
    out_ours.sum().backward()
    out_theirs.sum().backward()
    for ours_input, theirs_input in [(q_ours, q_theirs), (k_ours, k_theirs), (v_ours, v_theirs)]:
        assert_close(ours_input.grad, theirs_input.grad)
    theirs_params = dict(theirs.named_parameters())
    for name, parameter in ours.named_parameters():
        assert_close(parameter.grad, theirs_params[name].grad, name)


def test_mha_need_weights_false_self_attention_path_and_is_causal_alone():
    rng = np.random.default_rng(7)
    cr.manual_seed(8)
    mha = MultiheadAttention(4, 2, batch_first=True, dtype=cr.float64)
    x = cr.tensor(rng.standard_normal((2, 5, 4)), dtype=cr.float64)
    output, weights = mha(x, x, x, need_weights=False)
    assert weights is None
    np.testing.assert_array_equal(output.array, mha(x, x, x)[0].array)
    # Self-attention (one stacked projection GEMM) equals the general path (three projections).
    np.testing.assert_allclose(output.array, mha(x, x * 1.0, x * 1.0)[0].array, rtol=1e-12, atol=1e-14)
    causal_mask = cr.tensor(np.triu(np.ones((5, 5), dtype=bool), 1))
    np.testing.assert_allclose(mha(x, x, x, is_causal=True)[0].array, mha(x, x, x, attn_mask=causal_mask)[0].array,
                               rtol=0, atol=0)


def test_mha_fully_padded_sequence_gives_zeros_like_torch_sdpa_path():
    """A sequence whose every key is padding: torch's SDPA path returns 0 (its need_weights path NaN); we give 0."""
    rng = np.random.default_rng(9)
    torch.manual_seed(2)
    theirs = torch.nn.MultiheadAttention(4, 2, batch_first=True, bias=False).double()
    ours = MultiheadAttention(4, 2, batch_first=True, bias=False, dtype=cr.float64)
    copy_weights(ours, theirs)
    x_ours, x_theirs = both(rng.standard_normal((2, 3, 4)))
    padding = np.zeros((2, 3), dtype=bool)
    padding[1] = True
    padding_ours, padding_theirs = both(padding)
    out_ours, w_ours = ours(x_ours, x_ours, x_ours, key_padding_mask=padding_ours)
    out_theirs, _ = theirs(x_theirs, x_theirs, x_theirs, key_padding_mask=padding_theirs, need_weights=False)
    assert_close(out_ours, out_theirs)
    assert np.all(w_ours.array[1] == 0.0) and np.allclose(w_ours.array[0].sum(-1), 1.0)
    out_ours.sum().backward()
    out_theirs.sum().backward()
    assert_close(x_ours.grad, x_theirs.grad)


def test_mha_gradcheck_float64():
    cr.manual_seed(10)
    mha = MultiheadAttention(4, 2, batch_first=True, dtype=cr.float64)
    with cr.no_grad():
        mha.in_proj_bias.copy_(cr.randn(12, dtype=cr.float64))
    query = cr.randn(2, 3, 4, dtype=cr.float64, requires_grad=True)
    memory = cr.randn(2, 4, 4, dtype=cr.float64, requires_grad=True)
    padding = cr.tensor(np.array([[False, False, False, True], [False, True, False, False]]))

    def attend(query, memory, *weights):
        return mha(query, memory, memory, key_padding_mask=padding, average_attn_weights=False)

    assert gradcheck(attend, (query, memory, *mha.parameters()))


def test_mha_train_mode_dropout_is_seeded_and_off_in_eval():
    cr.manual_seed(11)
    mha = MultiheadAttention(4, 2, dropout=0.5, batch_first=True)
    x = cr.randn(2, 5, 4)
    cr.manual_seed(12)
    out_a, weights_a = mha(x, x, x, average_attn_weights=False)
    cr.manual_seed(12)
    out_b, weights_b = mha(x, x, x, average_attn_weights=False)
    assert np.array_equal(out_a.array, out_b.array) and np.array_equal(weights_a.array, weights_b.array)
    mha.eval()
    _, clean = mha(x, x, x, average_attn_weights=False)
    # Each dropped-out weight is either 0 or the clean weight scaled by 1/(1 − p) = 2.
    kept = weights_a.array != 0
    assert kept.any() and (~kept).any()
    np.testing.assert_allclose(weights_a.array[kept], 2 * clean.array[kept], rtol=1e-5)


def test_mha_errors_name_the_layer_and_shapes():
    with pytest.raises(ValueError, match=r"MultiheadAttention: embed_dim \(10\) must be divisible by num_heads \(3\)"):
        MultiheadAttention(10, 3)
    mha = MultiheadAttention(4, 2, batch_first=True)
    x = cr.randn(2, 3, 4)
    with pytest.raises(ValueError, match=r"MultiheadAttention: query has 5 features \(shape \(2, 3, 5\)\).*embed_dim=4"):
        mha(cr.randn(2, 3, 5), x, x)
    with pytest.raises(ValueError, match=r"key_padding_mask must have shape \(N, S\) = \(2, 3\).*got \(3, 2\)"):
        mha(x, x, x, key_padding_mask=cr.zeros(3, 2).bool())
    with pytest.raises(ValueError, match=r"attn_mask must have shape \(L, S\) = \(3, 3\).*\(4, 3, 3\).*got \(2, 3, 3\)"):
        mha(x, x, x, attn_mask=cr.zeros(2, 3, 3))
    with pytest.raises(ValueError, match=r"MultiheadAttention: query must be 3-D \(batch, length, embed_dim\).*\(2, 3, 4, 4\)"):
        mha(cr.randn(2, 3, 4, 4), x, x)
    with pytest.raises(ValueError, match="same batch size"):
        mha(x, cr.randn(3, 3, 4), cr.randn(3, 3, 4))
    with pytest.raises(TypeError, match=r"MultiheadAttention: query has dtype float64 but the layer's weights are float32"):
        mha(x.double(), x, x)


# ----- TransformerEncoderLayer ------------------------------------------------------------------

@pytest.mark.parametrize("norm_first,activation,batch_first", [(False, "relu", True), (True, "relu", False),
                                                               (False, "gelu", False), (True, "gelu", True)])
def test_encoder_layer_eval_matches_torch_with_gradients(norm_first, activation, batch_first):
    rng = np.random.default_rng(12)
    torch.manual_seed(3)
    kwargs = dict(d_model=6, nhead=2, dim_feedforward=10, dropout=0.1, activation=activation,
                  batch_first=batch_first, norm_first=norm_first)
    theirs = torch.nn.TransformerEncoderLayer(**kwargs).double().eval()
    ours = TransformerEncoderLayer(**kwargs, dtype=cr.float64).eval()
    with torch.no_grad():
        for parameter in theirs.parameters():  # move LayerNorm and biases away from their 1/0 starts
            parameter.add_(torch.tensor(rng.standard_normal(tuple(parameter.shape)) * 0.1))
    copy_weights(ours, theirs)
    shape = (2, 4, 6) if batch_first else (4, 2, 6)
    x_ours, x_theirs = both(rng.standard_normal(shape))
    padding = np.array([[False, False, False, True], [False, False, False, False]])
    padding_ours, padding_theirs = both(padding)
    causal = np.triu(np.ones((4, 4), dtype=bool), 1)
    mask_ours, mask_theirs = both(causal)
    out_ours = ours(x_ours, src_mask=mask_ours, src_key_padding_mask=padding_ours)
    out_theirs = theirs(x_theirs, src_mask=mask_theirs, src_key_padding_mask=padding_theirs)
    assert_close(out_ours, out_theirs, "output")
    weights = rng.standard_normal(shape)
    (out_ours * cr.tensor(weights, dtype=cr.float64)).sum().backward()
    (out_theirs * torch.tensor(weights)).sum().backward()
    assert_close(x_ours.grad, x_theirs.grad, "input grad")
    theirs_params = dict(theirs.named_parameters())
    for name, parameter in ours.named_parameters():
        assert_close(parameter.grad, theirs_params[name].grad, f"grad of {name}")


def test_encoder_layer_gradcheck_float64():
    cr.manual_seed(13)
    layer = TransformerEncoderLayer(4, 2, dim_feedforward=6, dropout=0.0, batch_first=True, norm_first=True,
                                    activation="gelu", dtype=cr.float64)
    x = cr.randn(2, 3, 4, dtype=cr.float64, requires_grad=True)
    assert gradcheck(lambda x, *weights: layer(x, is_causal=True), (x, *layer.parameters()))


def test_encoder_layer_train_mode_is_seeded_and_unbatched_works():
    cr.manual_seed(14)
    layer = TransformerEncoderLayer(4, 2, dim_feedforward=8, dropout=0.3)
    x = cr.randn(5, 2, 4)
    cr.manual_seed(15)
    a = layer(x).array.copy()
    cr.manual_seed(15)
    b = layer(x).array.copy()
    assert np.array_equal(a, b)
    layer.eval()
    assert not np.allclose(a, layer(x).array)
    single = layer(x[:, 0])
    np.testing.assert_allclose(single.array, layer(x)[:, 0].array, rtol=1e-5, atol=1e-6)


def test_encoder_layer_accepts_an_activation_callable():
    cr.manual_seed(16)
    by_name = TransformerEncoderLayer(4, 2, dim_feedforward=8, activation="gelu", dtype=cr.float64).eval()
    by_function = TransformerEncoderLayer(4, 2, dim_feedforward=8, activation=F.gelu, dtype=cr.float64).eval()
    for name, parameter in by_name.named_parameters():
        dict(by_function.named_parameters())[name].array[...] = parameter.array
    x = cr.randn(3, 2, 4, dtype=cr.float64)
    assert np.array_equal(by_name(x).array, by_function(x).array)


def test_encoder_layer_errors():
    with pytest.raises(ValueError, match="activation should be 'relu' or 'gelu'"):
        TransformerEncoderLayer(4, 2, activation="tanh")
    with pytest.raises(ValueError, match=r"embed_dim \(6\) must be divisible by num_heads \(4\)"):
        TransformerEncoderLayer(6, 4)
    layer = TransformerEncoderLayer(4, 2, dim_feedforward=8)
    with pytest.raises(ValueError, match=r"query has 3 features"):
        layer(cr.randn(5, 2, 3))
