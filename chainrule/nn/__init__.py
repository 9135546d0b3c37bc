"""Neural-network building blocks: modules, layers, activations, losses, initialization.

    import chainrule as cr, chainrule.nn as nn
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    loss = nn.CrossEntropyLoss()(model(cr.randn(5, 4)), cr.tensor([0, 2, 1, 1, 0]))
    loss.backward()

A layer is a plain object (``Module``) whose ``Parameter`` attributes are found by
walking its attributes; its ``forward`` delegates to ``chainrule.nn.functional``.
"""
from chainrule.nn import init
from chainrule.nn.module import Module, ModuleDict, ModuleList, Parameter, Sequential
from chainrule.nn import functional
from chainrule.nn.activation import (
    CELU, ELU, GELU, GLU, SELU, Hardshrink, Hardsigmoid, Hardswish, Hardtanh, LeakyReLU, LogSigmoid, LogSoftmax,
    Mish, PReLU, ReLU, ReLU6, Sigmoid, SiLU, Softmax, Softmax2d, Softmin, Softplus, Softshrink, Softsign, Tanh,
    Tanhshrink, Threshold,
)
from chainrule.nn.bilinear import Bilinear
from chainrule.nn.containers import ParameterDict, ParameterList
from chainrule.nn.conv import Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d, Fold, Unfold
from chainrule.nn.distance import CosineSimilarity, PairwiseDistance
from chainrule.nn.dropouts import AlphaDropout, Dropout1d, Dropout3d, FeatureAlphaDropout
from chainrule.nn.linear import Dropout, Dropout2d, Embedding, Flatten, Identity, Linear, Unflatten
from chainrule.nn.loss import (
    BCELoss, BCEWithLogitsLoss, CosineEmbeddingLoss, CrossEntropyLoss, HuberLoss, KLDivLoss, L1Loss,
    MarginRankingLoss, MSELoss, NLLLoss, SmoothL1Loss,
)
from chainrule.nn.margin_loss import (
    GaussianNLLLoss, HingeEmbeddingLoss, MultiLabelSoftMarginLoss, MultiMarginLoss, PoissonNLLLoss, SoftMarginLoss,
    TripletMarginLoss, TripletMarginWithDistanceLoss,
)
from chainrule.nn.normalization import (
    BatchNorm1d, BatchNorm2d, GroupNorm, InstanceNorm1d, InstanceNorm2d, LayerNorm, LocalResponseNorm, RMSNorm,
)
from chainrule.nn.padding import (
    CircularPad1d, CircularPad2d, CircularPad3d, ConstantPad1d, ConstantPad2d, ConstantPad3d, ReflectionPad1d,
    ReflectionPad2d, ReflectionPad3d, ReplicationPad1d, ReplicationPad2d, ReplicationPad3d, ZeroPad1d, ZeroPad2d,
    ZeroPad3d,
)
from chainrule.nn.pooling import (
    AdaptiveAvgPool1d, AdaptiveAvgPool2d, AdaptiveMaxPool1d, AdaptiveMaxPool2d, AvgPool1d, AvgPool2d, LPPool1d,
    LPPool2d, MaxPool1d, MaxPool2d,
)
from chainrule.nn.resampling import (
    ChannelShuffle, PixelShuffle, PixelUnshuffle, Upsample, UpsamplingBilinear2d, UpsamplingNearest2d,
)
from chainrule.nn import utils
from chainrule.nn.rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell
from chainrule.nn.attention import MultiheadAttention, TransformerEncoder, TransformerEncoderLayer


def __getattr__(name):
    """A name chainrule.nn lacks: the error says whether PyTorch has it (core/porting.py)."""
    import sys

    from chainrule.core.porting import missing_attribute
    raise missing_attribute("chainrule.nn", name, sys.modules[__name__])
