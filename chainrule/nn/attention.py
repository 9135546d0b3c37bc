"""Attention layers: multi-head attention and the Transformer encoder layer, on
``F.scaled_dot_product_attention`` (in nn/functional/attention.py).

Attention lets every query position take a weighted average of the value vectors,
weighted by how well the query matches each key:

    Attention(Q, K, V) = softmax(Q Kᵀ · scale + M) V,   scale = 1/√d_k by default,

where the additive mask M is 0 where a query may look and −∞ where it may not.
Multi-head attention runs ``num_heads`` of these side by side on learned
projections of the inputs (each head sees d_k = embed_dim / num_heads features)
and mixes the heads' results with one more projection.

Everything is composed from tensor ops, so gradients of every order come from the
chain rule. The softmax is shifted by the row maximum (via logsumexp), so large
scores never overflow. A query row that may look at no key at all (every entry −∞)
gets all-zero weights, output 0 and zero gradients, as PyTorch's
``scaled_dot_product_attention`` gives (``torch.nn.MultiheadAttention`` with
``need_weights=True`` gives NaN there instead; we keep the zeros everywhere).
"""
import copy
import math

from chainrule import ops
from chainrule.core.creation import zeros
from chainrule.nn import functional as F
from chainrule.nn.functional.attention import (  # noqa: F401  (scaled_dot_product_attention: its old address)
    _as_additive_mask, _attend, _causal_mask, scaled_dot_product_attention,
)
from chainrule.nn import init
from chainrule.nn.linear import Dropout, Linear
from chainrule.nn.module import Module, ModuleList, Parameter
from chainrule.nn.normalization import LayerNorm


class MultiheadAttention(Module):
    r"""Multi-head attention, as ``torch.nn.MultiheadAttention`` (same arguments, parameter names and layout).

    For each head h: headₕ = Attention(Q W_qₕᵀ + b_qₕ, K W_kₕᵀ + b_kₕ, V W_vₕᵀ + b_vₕ), and
    out = [head₁, ..., head_H] W_oᵀ + b_o. Parameters: ``in_proj_weight`` (3·E, E) holding
    [W_q; W_k; W_v] (or ``q_proj_weight``, ``k_proj_weight`` (E, kdim), ``v_proj_weight`` (E, vdim)
    when kdim or vdim differ from E), ``in_proj_bias`` (3·E), and ``out_proj`` (a Linear(E, E)).

    ``forward(query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
    average_attn_weights=True, is_causal=False)`` returns ``(output, weights)``; inputs are
    (L, N, E) ((N, L, E) with ``batch_first``) or unbatched (L, E). Masks follow PyTorch's
    convention here: a boolean **True means "do not attend"**; float masks are added.
    ``key_padding_mask`` is (N, S); ``attn_mask`` is (L, S) or (N·num_heads, L, S).

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> _ = cr.manual_seed(0)
        >>> mha = nn.MultiheadAttention(embed_dim=8, num_heads=2, batch_first=True)
        >>> x = cr.randn(3, 5, 8)
        >>> output, weights = mha(x, x, x)
        >>> output.shape, weights.shape
        ((3, 5, 8), (3, 5, 5))
    """

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, kdim=None, vdim=None, batch_first=False,
                 dtype=None):
        super().__init__()
        for label, number in (("embed_dim", embed_dim), ("num_heads", num_heads)):
            if not isinstance(number, int) or isinstance(number, bool) or number <= 0:
                raise ValueError(f"MultiheadAttention: {label} must be a positive integer, got {number!r}")
        if embed_dim % num_heads != 0:
            raise ValueError(
                f"MultiheadAttention: embed_dim ({embed_dim}) must be divisible by num_heads ({num_heads}), "
                f"since each head gets embed_dim / num_heads features; choose e.g. num_heads in "
                f"{[h for h in range(1, embed_dim + 1) if embed_dim % h == 0]}"
            )
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"MultiheadAttention: dropout must be in [0, 1], got {dropout}")
        self.embed_dim = embed_dim
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        self.dropout = float(dropout)
        self.batch_first = batch_first
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(zeros((3 * embed_dim, embed_dim), dtype=dtype))
            self.q_proj_weight = self.k_proj_weight = self.v_proj_weight = None
        else:
            self.in_proj_weight = None
            self.q_proj_weight = Parameter(zeros((embed_dim, embed_dim), dtype=dtype))
            self.k_proj_weight = Parameter(zeros((embed_dim, self.kdim), dtype=dtype))
            self.v_proj_weight = Parameter(zeros((embed_dim, self.vdim), dtype=dtype))
        self.in_proj_bias = Parameter(zeros((3 * embed_dim,), dtype=dtype)) if bias else None
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, dtype=dtype)
        self.reset_parameters()

    def reset_parameters(self):
        """Xavier-uniform input projections, zero biases, and the out projection as a default Linear (as PyTorch)."""
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            init.xavier_uniform_(self.q_proj_weight)
            init.xavier_uniform_(self.k_proj_weight)
            init.xavier_uniform_(self.v_proj_weight)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)

    def extra_repr(self):
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, dropout={self.dropout}"

    def _projection_weights(self):
        """(W_q, W_k, W_v) and (b_q, b_k, b_v) (biases None without bias)."""
        E = self.embed_dim
        if self._qkv_same_embed_dim:
            w = self.in_proj_weight
            weights = (w[:E], w[E:2 * E], w[2 * E:])
        else:
            weights = (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight)
        b = self.in_proj_bias
        biases = (None, None, None) if b is None else (b[:E], b[E:2 * E], b[2 * E:])
        return weights, biases

    def _check_inputs(self, query, key, value):
        name = "MultiheadAttention"
        if query.ndim not in (2, 3):
            raise ValueError(
                f"{name}: query must be 3-D "
                f"{'(batch, length, embed_dim)' if self.batch_first else '(length, batch, embed_dim)'} "
                f"or 2-D unbatched (length, embed_dim), got {query.shape}"
            )
        if key.ndim != query.ndim or value.ndim != query.ndim:
            raise ValueError(f"{name}: query, key and value must have the same number of dims, got "
                             f"{query.shape}, {key.shape} and {value.shape}")
        for label, tensor, size, arg in (("query", query, self.embed_dim, "embed_dim"), ("key", key, self.kdim, "kdim"),
                                         ("value", value, self.vdim, "vdim")):
            if tensor.shape[-1] != size:
                raise ValueError(
                    f"{name}: {label} has {tensor.shape[-1]} features (shape {tensor.shape}) but the layer expects "
                    f"{arg}={size}"
                )
        weight_dtype = self.out_proj.weight.dtype
        for label, tensor in (("query", query), ("key", key), ("value", value)):
            if tensor.dtype != weight_dtype:
                raise TypeError(
                    f"{name}: {label} has dtype {tensor.dtype} but the layer's weights are {weight_dtype}; "
                    f"convert the inputs (x.to({weight_dtype})) or the layer (layer.to({tensor.dtype}))"
                )
        batch_dim = 0 if self.batch_first else 1
        length_dim = 1 - batch_dim if query.ndim == 3 else 0
        if key.shape[length_dim] != value.shape[length_dim]:
            raise ValueError(f"{name}: key and value must have the same length, got {key.shape} and {value.shape}")
        if query.ndim == 3 and not (query.shape[batch_dim] == key.shape[batch_dim] == value.shape[batch_dim]):
            raise ValueError(f"{name}: query, key and value must have the same batch size, got "
                             f"{query.shape}, {key.shape} and {value.shape} (batch_first={self.batch_first})")

    def _split_heads(self, projected):
        """(N, length, embed_dim) → (N, heads, length, head_dim): each head gets its own slice of features."""
        batch, length, _ = projected.shape
        return projected.reshape(batch, length, self.num_heads, self.head_dim).permute(0, 2, 1, 3)

    def _project_inputs(self, query, key, value, self_attention):
        """The per-head queries, keys and values, each (N, heads, length, head_dim)."""
        if self_attention and self._qkv_same_embed_dim:
            # One GEMM with the stacked [W_q; W_k; W_v] instead of three.
            stacked = F.linear(query, self.in_proj_weight, self.in_proj_bias)
            return tuple(self._split_heads(part) for part in ops.chunk(stacked, 3, dim=-1))
        (w_q, w_k, w_v), (b_q, b_k, b_v) = self._projection_weights()
        return (self._split_heads(F.linear(query, w_q, b_q)), self._split_heads(F.linear(key, w_k, b_k)),
                self._split_heads(F.linear(value, w_v, b_v)))

    def _additive_mask(self, attn_mask, key_padding_mask, is_causal, batch, query_length, key_length, like):
        """attn_mask and key_padding_mask as one float mask broadcastable to (N, heads, L, S), or None."""
        name = "MultiheadAttention"
        mask = None
        if attn_mask is None and is_causal:
            attn_mask = ops.logical_not(_causal_mask(query_length, key_length, like.xp))
        if attn_mask is not None:
            if tuple(attn_mask.shape) == (query_length, key_length):
                attn_mask = attn_mask.reshape(1, 1, query_length, key_length)
            elif tuple(attn_mask.shape) == (batch * self.num_heads, query_length, key_length):
                attn_mask = attn_mask.reshape(batch, self.num_heads, query_length, key_length)
            else:
                raise ValueError(
                    f"{name}: attn_mask must have shape (L, S) = {(query_length, key_length)} or "
                    f"(N·num_heads, L, S) = {(batch * self.num_heads, query_length, key_length)}, "
                    f"got {attn_mask.shape}"
                )
            mask = _as_additive_mask(attn_mask, like.dtype, "ignore", name)
        if key_padding_mask is not None:
            if tuple(key_padding_mask.shape) != (batch, key_length):
                raise ValueError(
                    f"{name}: key_padding_mask must have shape (N, S) = {(batch, key_length)} "
                    f"(one flag per key of each sequence), got {key_padding_mask.shape}"
                )
            padding = _as_additive_mask(key_padding_mask, like.dtype, "ignore", name).reshape(batch, 1, 1, key_length)
            mask = padding if mask is None else mask + padding
        return mask

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
                average_attn_weights=True, is_causal=False):
        """Attend from ``query`` to ``key``/``value``; returns ``(output, weights or None)``.

        ``weights`` is (N, L, S) averaged over heads, or (N, num_heads, L, S) with
        ``average_attn_weights=False`` (without N for unbatched input). ``is_causal=True``
        without an ``attn_mask`` builds the causal mask (PyTorch requires the mask as well).
        """
        self._check_inputs(query, key, value)
        self_attention = query is key and key is value
        batched = query.ndim == 3
        # Work in (batch, length, features).
        if not batched:
            query, key, value = query.unsqueeze(0), key.unsqueeze(0), value.unsqueeze(0)
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask.unsqueeze(0)
        elif not self.batch_first:
            query, key, value = query.transpose(0, 1), key.transpose(0, 1), value.transpose(0, 1)
        batch, query_length, _ = query.shape
        key_length = key.shape[1]

        q, k, v = self._project_inputs(query, key, value, self_attention)
        mask = self._additive_mask(attn_mask, key_padding_mask, is_causal, batch, query_length, key_length, q)
        dropout_p = self.dropout if self.training else 0.0
        output, weights = _attend(q, k, v, mask, 1.0 / math.sqrt(self.head_dim), dropout_p)
        output = output.permute(0, 2, 1, 3).reshape(batch, query_length, self.embed_dim)
        output = self.out_proj(output)

        if not batched:
            output = output.squeeze(0)
        elif not self.batch_first:
            output = output.transpose(0, 1)
        if not need_weights:
            return output, None
        if average_attn_weights:
            weights = weights.mean(dim=1)
        return output, (weights if batched else weights.squeeze(0))


class TransformerEncoderLayer(Module):
    r"""One Transformer encoder block: self-attention then a feed-forward net, each with a residual and LayerNorm.

    Post-norm (``norm_first=False``, the original Transformer, PyTorch's default):
        x = LayerNorm₁(x + SelfAttention(x)),   x = LayerNorm₂(x + FeedForward(x))
    Pre-norm (``norm_first=True``, steadier to train when deep):
        x = x + SelfAttention(LayerNorm₁(x)),   x = x + FeedForward(LayerNorm₂(x))
    with FeedForward(x) = W₂ dropout(activation(W₁ x + b₁)) + b₂, and dropout after each branch.

    Same arguments, sub-module names (``self_attn``, ``linear1``, ``linear2``, ``norm1``, ``norm2``)
    and shapes as ``torch.nn.TransformerEncoderLayer``; ``activation`` is "relu", "gelu" or a callable.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> _ = cr.manual_seed(0)
        >>> layer = nn.TransformerEncoderLayer(d_model=8, nhead=2, dim_feedforward=16, batch_first=True)
        >>> layer(cr.randn(3, 5, 8)).shape
        (3, 5, 8)
    """

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation="relu", layer_norm_eps=1e-5,
                 batch_first=False, norm_first=False, bias=True, dtype=None):
        super().__init__()
        if isinstance(activation, str):
            if activation not in ("relu", "gelu"):
                raise ValueError(f"TransformerEncoderLayer: activation should be 'relu' or 'gelu' (or a callable), "
                                 f"not {activation!r}")
            activation = F.relu if activation == "relu" else F.gelu
        elif not callable(activation):
            raise TypeError(f"TransformerEncoderLayer: activation must be 'relu', 'gelu' or a callable, "
                            f"got {type(activation).__name__}")
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first,
                                            dtype=dtype)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.activation = activation
        self.batch_first = batch_first

    def _self_attention_block(self, x, attn_mask, key_padding_mask, is_causal):
        attended, _ = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                                     need_weights=False, is_causal=is_causal)
        return self.dropout1(attended)

    def _feed_forward_block(self, x):
        return self.dropout2(self.linear2(self.dropout(self.activation(self.linear1(x)))))

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal=False):
        """src: (S, N, E), (N, S, E) with batch_first, or unbatched (S, E); masks as in MultiheadAttention."""
        x = src
        if self.norm_first:
            x = x + self._self_attention_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            x = x + self._feed_forward_block(self.norm2(x))
        else:
            x = self.norm1(x + self._self_attention_block(x, src_mask, src_key_padding_mask, is_causal))
            x = self.norm2(x + self._feed_forward_block(x))
        return x


class TransformerEncoder(Module):
    r"""A stack of ``num_layers`` copies of ``encoder_layer``, then an optional ``norm``: :math:`y = N(L_n(\cdots L_1(x)))`.

    Each copy starts from the given layer's weights (deep copies, as PyTorch makes them), so the
    parameters are ``layers.0.…``, ``layers.1.…``, with PyTorch's names.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> layer = nn.TransformerEncoderLayer(d_model=8, nhead=2, dim_feedforward=16, batch_first=True)
        >>> encoder = nn.TransformerEncoder(layer, num_layers=2)
        >>> encoder(cr.randn(3, 5, 8)).shape
        (3, 5, 8)
    """

    def __init__(self, encoder_layer, num_layers, norm=None, enable_nested_tensor=True, mask_check=True):
        super().__init__()
        self.layers = ModuleList([copy.deepcopy(encoder_layer) for _ in range(num_layers)])
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, src, mask=None, src_key_padding_mask=None, is_causal=None):
        """src as for the layer; ``mask`` and ``src_key_padding_mask`` are handed to every layer."""
        out = src
        for layer in self.layers:
            out = layer(out, src_mask=mask, src_key_padding_mask=src_key_padding_mask, is_causal=bool(is_causal))
        return out if self.norm is None else self.norm(out)
