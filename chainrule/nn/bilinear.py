"""The bilinear layer: y_k = x₁ᵀ W_k x₂ + b_k (``F.bilinear``), with PyTorch's initialization."""
import math

from chainrule.core.creation import empty
from chainrule.nn import functional as F
from chainrule.nn import init
from chainrule.nn.module import Module, Parameter


class Bilinear(Module):
    r""":math:`y_k = x_1^\top W_k\, x_2 + b_k`; W of shape (out, in1, in2) and b drawn from U(−1/√in1, 1/√in1), as PyTorch.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.Bilinear(4, 5, 3)(cr.randn(2, 4), cr.randn(2, 5)).shape
        (2, 3)
    """

    def __init__(self, in1_features, in2_features, out_features, bias=True, dtype=None):
        super().__init__()
        self.in1_features, self.in2_features, self.out_features = in1_features, in2_features, out_features
        self.weight = Parameter(empty(out_features, in1_features, in2_features, dtype=dtype))
        self.bias = Parameter(empty(out_features, dtype=dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self):
        bound = 1 / math.sqrt(self.in1_features)
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1, input2):
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self):
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")
