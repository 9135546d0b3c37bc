"""Padding layers: zero, constant, reflection, replication and circular padding of the last 1, 2 or 3 dims.

Each holds the widths PyTorch's way, ``(left, right)`` for 1-D, ``(left, right, top, bottom)``
for 2-D, ``(left, right, top, bottom, front, back)`` for 3-D (an int pads every side by it),
and calls ``F.pad``, whose gradient sums each padded copy back into the element it copies.
"""
from chainrule.nn import functional as F
from chainrule.nn.module import Module


class _Pad(Module):
    mode = "constant"
    dims = 1

    def __init__(self, padding, value=0.0):
        super().__init__()
        if isinstance(padding, int):
            padding = (padding,) * (2 * self.dims)
        padding = tuple(int(p) for p in padding)
        if len(padding) != 2 * self.dims:
            raise ValueError(f"{type(self).__name__}: padding must be an int or {2 * self.dims} ints, got {padding}")
        self.padding = padding
        self.value = value

    def forward(self, input):
        if self.mode == "constant":
            return F.pad(input, self.padding, "constant", self.value)
        return F.pad(input, self.padding, self.mode)

    def extra_repr(self):
        return f"{self.padding}" + (f", value={self.value}" if self.mode == "constant" else "")


class ConstantPad1d(_Pad):
    """Pad the last dim with ``value``: (left, right).

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.ConstantPad1d((1, 2), 9.0)(cr.tensor([[1.0]]))
        tensor([[9., 1., 9., 9.]])
    """

    def __init__(self, padding, value):
        super().__init__(padding, value)


class ConstantPad2d(ConstantPad1d):
    """Pad the last two dims with ``value``: (left, right, top, bottom).

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.ConstantPad2d(1, -1.0)(cr.zeros(1, 1, 1)).shape
        (1, 3, 3)
    """

    dims = 2


class ConstantPad3d(ConstantPad1d):
    """Pad the last three dims with ``value``: (left, right, top, bottom, front, back).

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.ConstantPad3d(1, 0.5)(cr.zeros(1, 1, 1, 1)).shape
        (1, 3, 3, 3)
    """

    dims = 3


class ZeroPad1d(_Pad):
    """Pad the last dim with zeros: (left, right).

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.ZeroPad1d(1)(cr.tensor([[1.0, 2.0]]))
        tensor([[0., 1., 2., 0.]])
    """

    def __init__(self, padding):
        super().__init__(padding, 0.0)


class ZeroPad2d(ZeroPad1d):
    """Pad the last two dims with zeros: (left, right, top, bottom).

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.ZeroPad2d((1, 0, 0, 2))(cr.ones(1, 2, 2)).shape
        (1, 4, 3)
    """

    dims = 2


class ZeroPad3d(ZeroPad1d):
    """Pad the last three dims with zeros.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.ZeroPad3d(1)(cr.ones(1, 1, 1, 1)).sum()
        tensor(1.)
    """

    dims = 3


class ReflectionPad1d(_Pad):
    """Pad the last dim with its mirror image, the edge not repeated: [1, 2, 3] → [3, 2, 1, 2, 3, 2].

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.ReflectionPad1d((2, 1))(cr.tensor([[1.0, 2.0, 3.0]]))
        tensor([[3., 2., 1., 2., 3., 2.]])
    """

    mode = "reflect"

    def __init__(self, padding):
        super().__init__(padding)


class ReflectionPad2d(ReflectionPad1d):
    """Mirror-pad the last two dims: (left, right, top, bottom).

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.ReflectionPad2d(1)(cr.arange(4.0).reshape(1, 2, 2))[0, 0]
        tensor([3., 2., 3., 2.])
    """

    dims = 2


class ReflectionPad3d(ReflectionPad1d):
    """Mirror-pad the last three dims.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.ReflectionPad3d(1)(cr.ones(1, 1, 2, 2, 2)).shape
        (1, 1, 4, 4, 4)
    """

    dims = 3


class ReplicationPad1d(_Pad):
    """Pad the last dim by repeating its edge values: [1, 2] → [1, 1, 2, 2, 2].

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.ReplicationPad1d((1, 2))(cr.tensor([[1.0, 2.0]]))
        tensor([[1., 1., 2., 2., 2.]])
    """

    mode = "replicate"

    def __init__(self, padding):
        super().__init__(padding)


class ReplicationPad2d(ReplicationPad1d):
    """Edge-pad the last two dims: (left, right, top, bottom).

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.ReplicationPad2d(1)(cr.ones(1, 1, 1)).sum()
        tensor(9.)
    """

    dims = 2


class ReplicationPad3d(ReplicationPad1d):
    """Edge-pad the last three dims.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.ReplicationPad3d(1)(cr.ones(1, 1, 1, 1, 1)).sum()
        tensor(27.)
    """

    dims = 3


class CircularPad1d(_Pad):
    """Pad the last dim by wrapping around: [1, 2, 3] → [3, 1, 2, 3, 1].

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.CircularPad1d(1)(cr.tensor([[1.0, 2.0, 3.0]]))
        tensor([[3., 1., 2., 3., 1.]])
    """

    mode = "circular"

    def __init__(self, padding):
        super().__init__(padding)


class CircularPad2d(CircularPad1d):
    """Wrap-pad the last two dims: (left, right, top, bottom).

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.CircularPad2d(1)(cr.arange(4.0).reshape(1, 2, 2))[0, 0]
        tensor([3., 2., 3., 2.])
    """

    dims = 2


class CircularPad3d(CircularPad1d):
    """Wrap-pad the last three dims.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.CircularPad3d(1)(cr.ones(1, 1, 2, 2, 2)).shape
        (1, 1, 4, 4, 4)
    """

    dims = 3
