"""The functional forms of the layers, activations and losses (``torch.nn.functional`` names and defaults).

Every function here is composed from chainrule ops, so its derivative comes from
the chain rule; convolution and pooling run on the im2col/col2im primitives of
``chainrule.ops.convolution`` so that their work (backward included) is matrix
products. Layers in ``chainrule.nn`` hold parameters and call these.

    import chainrule as cr, chainrule.nn.functional as F
    y = F.conv2d(cr.randn(1, 3, 8, 8), cr.randn(4, 3, 3, 3), padding="same")   # (1, 4, 8, 8)

One module per topic, all of them read as ``F.name``:

- ``linear.py``: linear, embedding, dropout; ``bilinear.py``: the bilinear map;
- ``dropouts.py``: 1-D and 3-D channel dropout, alpha dropout;
- ``activations.py``: ReLU and its family, GELU, SiLU, Mish, sigmoid, tanh, softmax, log-softmax, the shrinks,
  hard sigmoid/swish, GLU, CELU (and the in-place forms relu_, ...);
- ``convolution.py``: conv1d/2d, their transposes, unfold/fold, pad;
- ``pooling.py``: max, average, power-average and adaptive pooling;
- ``resampling.py``: interpolate (nearest, linear, bilinear, trilinear, area), pixel and channel shuffles;
- ``normalization.py``: batch, layer, group and instance norm on the fused standardize; RMS norm;
- ``distances.py``: normalize, cosine similarity, pairwise distance;
- ``losses.py``: the losses (and one_hot for class targets);
- ``margin_losses.py``: soft margin, hinge embedding, triplet, multi-class/multi-label margin, Poisson and Gaussian NLL;
- ``attention.py``: scaled dot-product attention.

float16 inputs are reduced in float32 (PyTorch's accumulation type) and the results returned in float16.
"""
from chainrule.nn.functional.activations import (
    celu, celu_, elu, elu_, gelu, glu, gumbel_softmax, hardshrink, hardsigmoid, hardswish, hardtanh, hardtanh_, leaky_relu,
    leaky_relu_, log_softmax, logsigmoid, mish, prelu, relu, relu_, relu6, selu, selu_, sigmoid, silu, softmax,
    softmin, softplus, softshrink, softsign, tanh, tanhshrink, threshold, threshold_,
)
from chainrule.nn.functional.attention import scaled_dot_product_attention
from chainrule.nn.functional.bilinear import bilinear
from chainrule.nn.functional.convolution import (
    conv1d, conv2d, conv_transpose1d, conv_transpose2d, fold, pad, unfold,
)
from chainrule.nn.functional.distances import cosine_similarity, normalize, pairwise_distance
from chainrule.nn.functional.dropouts import alpha_dropout, dropout1d, dropout3d, feature_alpha_dropout
from chainrule.nn.functional.linear import dropout, dropout2d, embedding, linear
from chainrule.nn.functional.losses import (
    binary_cross_entropy, binary_cross_entropy_with_logits, cosine_embedding_loss, cross_entropy, huber_loss,
    kl_div, l1_loss, margin_ranking_loss, mse_loss, nll_loss, one_hot, smooth_l1_loss,
)
from chainrule.nn.functional.margin_losses import (
    gaussian_nll_loss, hinge_embedding_loss, multi_margin_loss, multilabel_soft_margin_loss, poisson_nll_loss,
    soft_margin_loss, triplet_margin_loss, triplet_margin_with_distance_loss,
)
from chainrule.nn.functional.normalization import (
    batch_norm, group_norm, instance_norm, layer_norm, local_response_norm, rms_norm, standardize,
)
from chainrule.nn.functional.pooling import (
    adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_max_pool1d, adaptive_max_pool2d, avg_pool1d, avg_pool2d,
    lp_pool1d, lp_pool2d, max_pool1d, max_pool1d_with_indices, max_pool2d, max_pool2d_with_indices,
)
from chainrule.nn.functional.resampling import (
    channel_shuffle, interpolate, pixel_shuffle, pixel_unshuffle, upsample, upsample_bilinear, upsample_nearest,
)

__all__ = [
    "linear", "embedding", "dropout", "dropout2d", "dropout1d", "dropout3d", "alpha_dropout", "feature_alpha_dropout",
    "relu", "leaky_relu", "prelu", "elu", "selu", "gelu", "silu", "mish", "softplus", "sigmoid", "tanh",
    "hardtanh", "relu6", "softmax", "log_softmax", "softmin", "softsign", "tanhshrink", "threshold", "hardshrink",
    "softshrink", "hardsigmoid", "hardswish", "logsigmoid", "glu", "celu", "gumbel_softmax", "bilinear",
    "relu_", "elu_", "leaky_relu_", "hardtanh_", "selu_", "celu_", "threshold_",
    "conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d", "unfold", "fold", "pad",
    "max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d", "adaptive_avg_pool1d", "adaptive_avg_pool2d",
    "adaptive_max_pool2d", "adaptive_max_pool1d", "lp_pool1d", "lp_pool2d", "max_pool1d_with_indices",
    "max_pool2d_with_indices",
    "interpolate", "upsample", "upsample_nearest", "upsample_bilinear", "pixel_shuffle", "pixel_unshuffle",
    "channel_shuffle",
    "standardize", "batch_norm", "layer_norm", "group_norm", "instance_norm", "rms_norm", "local_response_norm",
    "normalize", "cosine_similarity", "pairwise_distance",
    "one_hot", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "nll_loss", "cross_entropy", "kl_div", "margin_ranking_loss",
    "cosine_embedding_loss", "soft_margin_loss", "hinge_embedding_loss", "triplet_margin_loss",
    "triplet_margin_with_distance_loss", "multilabel_soft_margin_loss", "multi_margin_loss", "poisson_nll_loss",
    "gaussian_nll_loss",
    "scaled_dot_product_attention",
]


def __getattr__(name):
    """A name chainrule.nn.functional lacks: the error says whether PyTorch has it (core/porting.py)."""
    import sys

    from chainrule.core.porting import missing_attribute
    raise missing_attribute("chainrule.nn.functional", name, sys.modules[__name__])
