"""``Size``, ``numel`` and ``inference_mode``: small PyTorch names with plain meanings.

``Size`` is a tuple of dimension sizes (``x.size()`` returns one), with ``numel()``;
``inference_mode`` is ``no_grad`` (chainrule keeps no version counters that inference
mode would switch off in PyTorch, so not recording the graph is all there is to it).
"""
import functools
import math

from chainrule.core.grad_mode import set_grad_enabled

__all__ = ["Size", "inference_mode", "numel"]


class Size(tuple):
    """A shape: a tuple of sizes, printed as PyTorch prints one, with ``numel()`` = ∏ sizes.

    Example:
        >>> import chainrule as cr
        >>> cr.zeros(2, 3).size(), cr.Size([2, 3]).numel(), cr.Size([2, 3]) == (2, 3)
        (chainrule.Size([2, 3]), 6, True)
    """

    def __new__(cls, sizes=()):
        sizes = tuple(sizes)
        for size in sizes:
            if isinstance(size, bool) or not hasattr(size, "__index__") or size.__index__() < 0:
                raise TypeError(f"Size: every entry must be a non-negative integer, got {size!r}")
        return super().__new__(cls, (size.__index__() for size in sizes))

    def numel(self):
        return math.prod(self)

    def __repr__(self):
        return f"chainrule.Size({list(self)})"

    def __getitem__(self, index):
        item = super().__getitem__(index)
        return Size(item) if isinstance(index, slice) else item


def numel(input):
    """The number of elements of a tensor: ∏ of its sizes.

    Example:
        >>> import chainrule as cr
        >>> cr.numel(cr.zeros(2, 3, 4))
        24
    """
    return input.numel()


class inference_mode(set_grad_enabled):  # noqa: N801  (PyTorch's name)
    """``no_grad`` under PyTorch's inference name: a context manager or decorator (``mode=False`` records again).

    Example:
        >>> import chainrule as cr
        >>> w = cr.ones(2, requires_grad=True)
        >>> with cr.inference_mode():
        ...     y = w * 2
        >>> y.requires_grad
        False
    """

    def __init__(self, mode=True):
        super().__init__(not mode)          # recording is on exactly when inference mode is off
        self.inference = bool(mode)

    def __call__(self, function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            with inference_mode(self.inference):
                return function(*args, **kwargs)
        return wrapper
