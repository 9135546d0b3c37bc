"""The functional forms of the layers, activations and losses (``torch.nn.functional`` names and defaults).

Every function here is composed from chainrule ops, so its derivative comes from
the chain rule; convolution and pooling run on the im2col/col2im primitives of
``chainrule.ops.convolution`` so that their work (backward included) is matrix
products. Layers in ``chainrule.nn`` hold parameters and call these.

    import chainrule as cr, chainrule.nn.functional as F
    y = F.conv2d(cr.randn(1, 3, 8, 8), cr.randn(4, 3, 3, 3), padding="same")   # (1, 4, 8, 8)

One module per topic, all of them read as ``F.name``:

- ``linear.py``: linear, embedding, dropout;
- ``activations.py``: ReLU and its family, GELU, SiLU, Mish, sigmoid, tanh, softmax, log-softmax;
- ``convolution.py``: conv1d/2d, their transposes, unfold/fold, pad;
- ``pooling.py``: max, average and adaptive pooling;
- ``normalization.py``: batch, layer and group norm on the fused standardize;
- ``distances.py``: normalize, cosine similarity;
- ``losses.py``: the losses (and one_hot for class targets);
- ``attention.py``: scaled dot-product attention.

float16 inputs are reduced in float32 (PyTorch's accumulation type) and the results returned in float16.
"""
from chainrule.nn.functional.activations import (
    elu, gelu, hardtanh, leaky_relu, log_softmax, mish, prelu, relu, relu6, selu, sigmoid, silu, softmax, softplus,
    tanh,
)
from chainrule.nn.functional.attention import scaled_dot_product_attention
from chainrule.nn.functional.convolution import (
    conv1d, conv2d, conv_transpose1d, conv_transpose2d, fold, pad, unfold,
)
from chainrule.nn.functional.distances import cosine_similarity, normalize
from chainrule.nn.functional.linear import dropout, dropout2d, embedding, linear
from chainrule.nn.functional.losses import (
    binary_cross_entropy, binary_cross_entropy_with_logits, cosine_embedding_loss, cross_entropy, huber_loss,
    kl_div, l1_loss, margin_ranking_loss, mse_loss, nll_loss, one_hot, smooth_l1_loss,
)
from chainrule.nn.functional.normalization import batch_norm, group_norm, layer_norm, standardize
from chainrule.nn.functional.pooling import (
    adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_max_pool2d, avg_pool1d, avg_pool2d, max_pool1d, max_pool2d,
)

__all__ = [
    "linear", "embedding", "dropout", "dropout2d",
    "relu", "leaky_relu", "prelu", "elu", "selu", "gelu", "silu", "mish", "softplus", "sigmoid", "tanh",
    "hardtanh", "relu6", "softmax", "log_softmax",
    "conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d", "unfold", "fold", "pad",
    "max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d", "adaptive_avg_pool1d", "adaptive_avg_pool2d",
    "adaptive_max_pool2d",
    "standardize", "batch_norm", "layer_norm", "group_norm",
    "normalize", "cosine_similarity",
    "one_hot", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "nll_loss", "cross_entropy", "kl_div", "margin_ranking_loss",
    "cosine_embedding_loss",
    "scaled_dot_product_attention",
]


def __getattr__(name):
    """A name chainrule.nn.functional lacks: the error says whether PyTorch has it (core/porting.py)."""
    import sys

    from chainrule.core.porting import missing_attribute
    raise missing_attribute("chainrule.nn.functional", name, sys.modules[__name__])
