"""``normal``: Gaussian draws whose mean and standard deviation may be tensors, differentiably.

y = μ + σ·ε with ε ~ N(0, 1) drawn from the generator: ∂y/∂μ = 1 and ∂y/∂σ = ε, the
reparameterization PyTorch's ``torch.normal`` also differentiates through.
"""
import numbers

from chainrule.core import dtypes
from chainrule.core.creation import randn
from chainrule.core.tensor import Tensor, tensor


def normal(mean, std=1.0, size=None, *, generator=None, dtype=None, device=None, out=None):
    """Draws from N(mean, std²): elementwise for tensor ``mean``/``std`` (broadcast), or of ``size`` for numbers.

    Example:
        >>> import chainrule as cr
        >>> _ = cr.manual_seed(0)
        >>> cr.normal(0.0, 1.0, size=(2,)).shape, cr.normal(cr.zeros(3), cr.ones(3)).shape
        ((2,), (3,))
        >>> mu = cr.zeros(2, requires_grad=True)
        >>> cr.normal(mu, 0.5).sum().backward(); mu.grad
        tensor([1., 1.])
    """
    if out is not None:
        raise TypeError("normal: out= is not supported; assign the result instead (x = chainrule.normal(...))")
    tensors = [value for value in (mean, std) if isinstance(value, Tensor)]
    if not tensors:
        if size is None:
            raise TypeError("normal: with a number mean and std, give size=, e.g. chainrule.normal(0.0, 1.0, size=(3,))")
        if not isinstance(std, numbers.Real) or std < 0:
            raise RuntimeError(f"normal: std must be >= 0, got {std!r}")
        return randn(*tuple(size), generator=generator, dtype=dtype, device=device) * std + mean
    if size is not None:
        raise TypeError("normal: size= goes with number mean and std; with tensors the shape is theirs (broadcast)")
    like = tensors[0]
    mean = mean if isinstance(mean, Tensor) else tensor(mean, dtype=like.dtype)
    std = std if isinstance(std, Tensor) else tensor(std, dtype=like.dtype)
    if std.numel() and bool((std.detach() < 0).any()):
        raise RuntimeError("normal: every std must be >= 0")
    shape = tuple(like.xp.broadcast_shapes(mean.shape, std.shape))
    kind = dtypes.promote_types(mean.dtype, std.dtype)
    noise = randn(*shape, generator=generator, dtype=dtype or kind, device=like.device)
    return mean + std * noise


__all__ = ["normal"]
