"""The bilinear map ``F.bilinear`` (``nn.Bilinear``): one bilinear form of two inputs per output feature."""
from chainrule import ops
from chainrule.core.primitive import Check, composite


@composite(Check("F.bilinear", call=lambda lib, a, b, w, c: lib.nn.functional.bilinear(a, b, w, c),
                 shapes=(((3, 4), (3, 5), (2, 4, 5), (2,)), ((2, 3, 4), (2, 3, 5), (2, 4, 5), (2,)))),
           Check("F.bilinear_no_bias", call=lambda lib, a, b, w: lib.nn.functional.bilinear(a, b, w),
                 shapes=(((3, 4), (3, 5), (2, 4, 5)), ((4,), (5,), (2, 4, 5)))))
def bilinear(input1, input2, weight, bias=None):
    r"""A bilinear form per output feature: :math:`y_k = x_1^\top W_k\, x_2 + b_k`, W of shape (out, in1, in2).

    The gradients are :math:`\bar{x}_1 = \sum_k \bar{y}_k W_k x_2`, :math:`\bar{x}_2 = \sum_k \bar{y}_k W_k^\top x_1`,
    :math:`\bar{W}_k = \bar{y}_k\, x_1 x_2^\top` (from the einsum that computes it).

    Example:
        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> F.bilinear(cr.tensor([[1.0, 2.0]]), cr.tensor([[3.0]]), cr.ones(1, 2, 1))     # (1 + 2)·3
        tensor([[9.]])
    """
    if weight.ndim != 3 or input1.shape[-1] != weight.shape[1] or input2.shape[-1] != weight.shape[2]:
        raise ValueError(f"bilinear: weight must be (out, in1, in2) = (?, {input1.shape[-1]}, {input2.shape[-1]}) for "
                         f"inputs of shapes {input1.shape} and {input2.shape}, got {weight.shape}")
    if input1.shape[:-1] != input2.shape[:-1]:
        raise ValueError(f"bilinear: the inputs must agree in all but their last dim, got {input1.shape} and "
                         f"{input2.shape}")
    rows1, rows2 = input1.reshape((-1, input1.shape[-1])), input2.reshape((-1, input2.shape[-1]))
    out = ops.einsum("bi,kij,bj->bk", rows1, weight, rows2).reshape(input1.shape[:-1] + (weight.shape[0],))
    return out if bias is None else out + bias
