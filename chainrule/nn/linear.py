"""Linear layers and friends: Linear, Identity, Flatten, Unflatten, Embedding, Dropout."""
import math

from chainrule.core.creation import empty
from chainrule.core.grad_mode import no_grad
from chainrule.nn import functional as F
from chainrule.nn import init
from chainrule.nn.module import Module, Parameter


class Identity(Module):
    """Returns its input unchanged: y = x (a placeholder where a layer is optional); any arguments are ignored.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.Identity()(cr.tensor([1.0, 2.0]))
        tensor([1., 2.])
    """

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):
        return input


class Linear(Module):
    r"""Affine layer :math:`y = x W^\top + b`, W of shape (out_features, in_features).

    Initialization as PyTorch: W ~ kaiming_uniform(a=√5), i.e. U(−1/√in, 1/√in), and b ~ U(−1/√in, 1/√in).

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> layer = nn.Linear(3, 2)
        >>> layer(cr.ones(5, 3)).shape
        (5, 2)
    """

    def __init__(self, in_features, out_features, bias=True, dtype=None):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(empty(out_features, in_features, dtype=dtype))
        self.bias = Parameter(empty(out_features, dtype=dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self):
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input):
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Flatten(Module):
    """Flatten dims start_dim..end_dim into one (default: everything but the batch dim).

    (N, d₁, …, d_k) -> (N, d₁·…·d_k) with the defaults start_dim=1, end_dim=−1; the values keep their order.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.Flatten()(cr.zeros(2, 3, 4, 5)).shape
        (2, 60)
    """

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input):
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split dim ``dim`` into ``unflattened_size``: (N, 12) -> (N, 3, 4) with dim=1, unflattened_size=(3, 4).

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.Unflatten(1, (3, 4))(cr.zeros(2, 12)).shape
        (2, 3, 4)
    """

    def __init__(self, dim, unflattened_size):
        super().__init__()
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)

    def forward(self, input):
        return input.unflatten(self.dim, self.unflattened_size)

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


class Embedding(Module):
    r"""A lookup table: :math:`y = W_{i}` for each integer index i; W ~ N(0, 1) (PyTorch's init).

    The row ``padding_idx`` starts at zero and gets no gradient.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> table = nn.Embedding(10, 4, padding_idx=0)
        >>> table(cr.tensor([[0, 3, 9]])).shape
        (1, 3, 4)
    """

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, dtype=None, _weight=None):
        super().__init__()
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(f"Embedding: padding_idx {padding_idx} must be within the {num_embeddings} rows")
            padding_idx = padding_idx % num_embeddings
        self.padding_idx = padding_idx
        if _weight is not None:
            self.weight = Parameter(_weight)
        else:
            self.weight = Parameter(empty(num_embeddings, embedding_dim, dtype=dtype))
            self.reset_parameters()

    def reset_parameters(self):
        init.normal_(self.weight)
        if self.padding_idx is not None:
            with no_grad():
                self.weight.array[self.padding_idx] = 0

    def forward(self, input):
        return F.embedding(input, self.weight, self.padding_idx)

    def extra_repr(self):
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        return text + (f", padding_idx={self.padding_idx}" if self.padding_idx is not None else "")


class Dropout(Module):
    r"""In training, zero each element with probability p and scale the rest by 1/(1−p); the identity in eval mode.

    Draws from ``generator`` if given, else from the seeded default generator.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> drop = nn.Dropout(0.5).eval()
        >>> drop(cr.ones(3))
        tensor([1., 1., 1.])
    """

    def __init__(self, p=0.5, inplace=False, generator=None):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: probability p must be in [0, 1], got {p}")
        self.p, self.inplace, self.generator = p, inplace, generator

    def forward(self, input):
        return F.dropout(input, self.p, self.training, generator=self.generator)

    def extra_repr(self):
        return f"p={self.p}"


class Dropout2d(Dropout):
    """Channel dropout: zero whole channels of (N, C, H, W) with probability p, scale the rest by 1/(1−p).

    y[n, c] = x[n, c]·m[n, c]/(1 − p), one m[n, c] ~ Bernoulli(1 − p) per channel; the identity in eval mode.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> _ = cr.manual_seed(0)
        >>> y = nn.Dropout2d(0.5)(cr.ones(2, 4, 3, 3))
        >>> bool((y.amax((2, 3)) == y.amin((2, 3))).all())   # each channel all 0 or all 2
        True
    """

    def forward(self, input):
        return F.dropout2d(input, self.p, self.training, generator=self.generator)
