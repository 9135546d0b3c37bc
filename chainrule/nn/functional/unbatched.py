"""Unbatched inputs, as PyTorch accepts them since 1.11: (C, L) for 1-d layers, (C, H, W) for 2-d ones.

An input with no batch axis is run as a batch of one, x.unsqueeze(0), and the result comes
back without it, y.squeeze(0) (each result, where a function also returns indices): the
same numbers and the same gradients as the batched call, since unsqueeze and squeeze are
reshapes. The convolution and pooling functions and the convolution layers take this door.
"""
import functools

from chainrule.core.tensor import Tensor

__all__ = ["accepts_unbatched", "unbatched_forward"]


def _squeezed(result):
    if isinstance(result, tuple):
        return tuple(part.squeeze(0) for part in result)
    return result.squeeze(0)


def accepts_unbatched(spatial):
    """Decorate a function of ``input`` with ``spatial`` spatial axes so that an unbatched input works too."""
    def decorate(function):
        @functools.wraps(function)
        def run(input, *args, **kwargs):
            if isinstance(input, Tensor) and input.ndim == spatial + 1:
                return _squeezed(function(input.unsqueeze(0), *args, **kwargs))
            return function(input, *args, **kwargs)
        return run
    return decorate


def unbatched_forward(forward):
    """The same, for a layer's ``forward(self, input, ...)``; the layer's ``spatial_dims`` says how many axes."""
    @functools.wraps(forward)
    def run(self, input, *args, **kwargs):
        if isinstance(input, Tensor) and input.ndim == self.spatial_dims + 1:
            return _squeezed(forward(self, input.unsqueeze(0), *args, **kwargs))
        return forward(self, input, *args, **kwargs)
    return run
