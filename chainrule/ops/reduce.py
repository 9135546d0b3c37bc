"""Reductions: sums, extremes, products, cumulative sums, norms, logsumexp.

Each reduction takes ``dim`` (an int, a tuple of ints, or None for all) and
``keepdim``. Its derivative spreads the upstream gradient back over the reduced
axes: every element of a sum receives ∂L/∂sum unchanged, so the rules first put
the reduced axes back (as size 1) and then broadcast.
"""
import builtins
import collections
import math

from chainrule.core import dtypes
from chainrule.core.convert import as_tensor, normalize_dims
from chainrule.core.primitive import UNARY, Check, Primitive, apply, composite
from chainrule.core.tensor import Tensor
from chainrule.ops.binary import where
from chainrule.ops.elementwise import exp, log, sqrt
from chainrule.ops.indexing import gather
from chainrule.ops.logic import isnan
from chainrule.ops.shape import movedim

__all__ = [
    "sum", "mean", "var", "std", "amax", "max", "amin", "min", "prod", "cumsum", "logsumexp", "softmax",
    "log_softmax", "norm", "argmax", "argmin", "all", "any",
]


def _keepdim_shape(shape, dims):
    return tuple(1 if i in dims else n for i, n in enumerate(shape))


def _accumulator(dtype):
    """The dtype a reduction sums in: float32 for float16, as PyTorch does (a float16 sum of
    70,000 ones overflows at 65,504, and each float16 addition rounds to 11 bits); None: NumPy's own."""
    return dtypes.float32 if dtype == dtypes.float16 else None


def _restore(g, x, dims, keepdim):
    """Reshape an upstream gradient of a reduction so that it broadcasts against ``x``."""
    if not keepdim:
        g = g.reshape(_keepdim_shape(x.shape, dims))
    return g


def _float(x):
    x = as_tensor(x)
    return x.to(dtypes.get_default_dtype()) if x.dtype.kind in "iub" else x


def _require_floating(x, op_name, fix):
    """PyTorch averages only floating-point tensors: the mean of integers has no dtype of its own to be in."""
    if x.dtype.kind not in "fc":
        raise RuntimeError(f"{op_name}(): could not infer output dtype. Input dtype must be either a floating point "
                           f"or complex dtype. Got: {x.dtype}; convert it first: {fix}")


def _check_not_empty(x, op_name):
    if x.numel() == 0:
        raise RuntimeError(f"{op_name}: cannot reduce an empty tensor of shape {x.shape}")


class Sum(Primitive):
    name = "sum"
    formula = r"y = \sum_{i \in \text{dims}} x_i"
    derivatives = (r"\bar{x}_i = \bar{y}",)
    checks = (
        Check("sum_all", call=lambda lib, x: x.sum()),
        Check("sum_dim", call=lambda lib, x: x.sum(-1), shapes=(((3, 4),), ((2, 1, 3),))),
        Check("sum_dims_keepdim", call=lambda lib, x: x.sum((0, 2), keepdim=True), shapes=(((2, 3, 4),),)),
    )

    @staticmethod
    def forward(xp, x, dims, keepdim):
        accumulator = _accumulator(x.dtype)
        if accumulator is None:
            return xp.sum(x, axis=dims, keepdims=keepdim)
        return xp.sum(x, axis=dims, keepdims=keepdim, dtype=accumulator).astype(x.dtype)

    @staticmethod
    def grad_x(g, out, x, dims, keepdim):
        return _restore(g, x, dims, keepdim).expand(x.shape)

    vjps = (grad_x,)


def sum(x, dim=None, keepdim=False, dtype=None):
    """Σ over ``dim`` (all elements if None): y = Σ_{i ∈ dim} xᵢ.

    A bool tensor is summed as int64 (it counts the True values), as in PyTorch. The
    gradient broadcasts ȳ back over the reduced dims: x̄ᵢ = ȳ.

    Example:
        >>> import chainrule as cr
        >>> cr.tensor([[1, 2], [3, 4]]).sum(0)
        tensor([4, 6])
        >>> cr.sum(cr.tensor([[1.0, 2.0], [3.0, 4.0]]), dim=-1, keepdim=True)
        tensor([[3.],
                [7.]])
    """
    x = as_tensor(x)
    if dtype is not None:
        x = x.to(dtype)
    elif x.dtype.kind == "b":
        x = x.to(dtypes.int64)
    return apply(Sum, x, dims=normalize_dims(dim, x.ndim, "sum"), keepdim=keepdim)


@composite(Check("mean", call=lambda lib, x: x.mean(0), shapes=(((3, 4),), ((2, 1, 3),))))
def mean(x, dim=None, keepdim=False, dtype=None):
    """The average over ``dim``: (1/n) Σ xᵢ, n the number of reduced elements (all if ``dim`` is None).

    The input must be floating point, as in PyTorch: an integer or bool tensor is refused (average
    it with ``dtype=chainrule.float32``, or convert it first, ``x.float().mean()``). ``dtype``
    converts the input before averaging. The gradient is x̄ᵢ = ȳ / n.

    Example:
        >>> import chainrule as cr
        >>> x = cr.tensor([[1.0, 2.0], [3.0, 4.0]])
        >>> cr.mean(x), cr.mean(x, dim=1)
        (tensor(2.5), tensor([1.5, 3.5]))
    """
    x = as_tensor(x) if dtype is None else as_tensor(x).to(dtype)
    _require_floating(x, "mean", "x.float().mean() or x.mean(dtype=chainrule.float32)")
    if x.dtype == dtypes.float16:  # sum and divide in float32, then round once (as PyTorch)
        return mean(x.float(), dim, keepdim).half()
    dims = normalize_dims(dim, x.ndim, "mean")
    count = math.prod(x.shape[d] for d in dims)
    return sum(x, dims, keepdim) / count


@composite(
    Check("var", call=lambda lib, x: x.var(1), shapes=(((3, 4),), ((2, 5, 3),))),
    Check("var_biased", call=lambda lib, x: x.var(correction=0), shapes=(((3, 4),),)),
)
def var(x, dim=None, keepdim=False, correction=1, unbiased=None):
    """Variance Σ(xᵢ − x̄)² / (n − correction); correction=1 is the unbiased (Bessel) estimate.

    correction=1 is the default, as in PyTorch; ``unbiased=False`` means correction=0 (divide
    by n). The gradient is x̄ᵢ = 2ȳ (xᵢ − x̄) / (n − correction).

    Example:
        >>> import chainrule as cr
        >>> x = cr.tensor([1.0, 3.0])
        >>> cr.var(x), cr.var(x, correction=0)
        (tensor(2.), tensor(1.))
    """
    x = as_tensor(x)
    _require_floating(x, "var", "x.float().var()")
    if x.dtype == dtypes.float16:  # (x − x̄)² of float16 overflows from |x − x̄| ≈ 256: work in float32
        return var(x.float(), dim, keepdim, correction=correction, unbiased=unbiased).half()
    if unbiased is not None:
        correction = 1 if unbiased else 0
    dims = normalize_dims(dim, x.ndim, "var")
    count = math.prod(x.shape[d] for d in dims)
    centered = x - mean(x, dims, keepdim=True)
    return sum(centered * centered, dims, keepdim) / builtins.max(count - correction, 0)


@composite(Check("std", call=lambda lib, x: x.std(0, keepdim=True), shapes=(((3, 4),),)))
def std(x, dim=None, keepdim=False, correction=1, unbiased=None):
    """Standard deviation √var (see ``var`` for ``correction``; the default 1 is unbiased, as in PyTorch).

    σ = √(Σ(xᵢ − x̄)² / (n − correction)); the gradient is x̄ᵢ = ȳ (xᵢ − x̄) / ((n − correction) σ).

    Example:
        >>> import chainrule as cr
        >>> x = cr.tensor([2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0])
        >>> cr.std(x, correction=0)          # population std: √(32/8)
        tensor(2.)
        >>> round(float(cr.std(x)), 4)       # default, unbiased: √(32/7)
        2.1381
    """
    x = as_tensor(x)
    _require_floating(x, "std", "x.float().std()")
    if x.dtype == dtypes.float16:
        return std(x.float(), dim, keepdim, correction=correction, unbiased=unbiased).half()
    variance = var(x, dim, keepdim, correction=correction, unbiased=unbiased)
    # √ has an infinite slope at 0: where every value is the same, pass gradient 0 (as PyTorch
    # does) instead of ∞·0 = nan.
    constant = variance == 0
    return where(constant, 0.0, sqrt(where(constant, 1.0, variance)))


class Amax(Primitive):
    name = "amax"
    formula = r"y = \max_{i \in \text{dims}} x_i"
    derivatives = (r"\bar{x}_i = \bar{y}\,[x_i = y] / \#\{j : x_j = y\}",)
    checks = (Check("amax", call=lambda lib, x: x.amax(1), shapes=(((3, 4),),), domain="distinct"),)

    @staticmethod
    def forward(xp, x, dims, keepdim):
        return xp.amax(x, axis=dims, keepdims=keepdim)

    @staticmethod
    def grad_x(g, out, x, dims, keepdim):
        return _spread_over_ties(g, out, x, dims, keepdim)

    vjps = (grad_x,)


def _spread_over_ties(g, out, x, dims, keepdim):
    """The gradient of an extreme value, shared evenly among the elements that attain it."""
    hits = (x == _restore(out.detach(), x, dims, keepdim)).to(x.dtype)
    count = hits.sum(dim=dims, keepdim=True)
    return _restore(g, x, dims, keepdim) * hits / count


def amax(x, dim=None, keepdim=False):
    """The largest value over ``dim``; ties share the gradient evenly.

    y = max_{i ∈ dim} xᵢ and x̄ᵢ = ȳ [xᵢ = y] / #{j : xⱼ = y}.

    Example:
        >>> import chainrule as cr
        >>> cr.amax(cr.tensor([[1.0, 5.0], [7.0, 2.0]]), dim=0)
        tensor([7., 5.])
        >>> x = cr.tensor([1.0, 5.0, 5.0], requires_grad=True)
        >>> cr.amax(x).backward(); x.grad     # the two maxima share ȳ = 1
        tensor([0. , 0.5, 0.5])
    """
    x = as_tensor(x)
    _check_not_empty(x, "amax")
    return apply(Amax, x, dims=normalize_dims(dim, x.ndim, "amax"), keepdim=keepdim)


@composite(
    Check("max_all", call=lambda lib, x: x.max(), shapes=(((3, 4),),), domain="distinct"),
    Check("max_dim", call=lambda lib, x: x.max(1).values, shapes=(((3, 4),), ((2, 3, 2),)), domain="distinct"),
)
def max(x, dim=None, keepdim=False):
    """``max(x)``: the largest element; ``max(x, dim)``: (values, indices) along ``dim``.

    With a ``dim`` the gradient goes to the element at the returned index, as in PyTorch;
    without one, tied maxima share it evenly, and a nan is the maximum (its entries share it).

    Example:
        >>> import chainrule as cr
        >>> cr.tensor([[1, 5], [7, 2]]).max(dim=1)
        MaxResult(values=tensor([5, 7]), indices=tensor([1, 0]))
    """
    x = as_tensor(x)
    if dim is None:
        return _extreme_of_all(x, amax)
    return _extreme_along(x, dim, keepdim, argmax)


class Amin(Primitive):
    name = "amin"
    formula = r"y = \min_{i \in \text{dims}} x_i"
    derivatives = (r"\bar{x}_i = \bar{y}\,[x_i = y] / \#\{j : x_j = y\}",)
    checks = (Check("amin_all", call=lambda lib, x: x.amin(), shapes=(((3, 4),),), domain="distinct"),)

    @staticmethod
    def forward(xp, x, dims, keepdim):
        return xp.amin(x, axis=dims, keepdims=keepdim)

    @staticmethod
    def grad_x(g, out, x, dims, keepdim):
        return _spread_over_ties(g, out, x, dims, keepdim)

    vjps = (grad_x,)


def amin(x, dim=None, keepdim=False):
    """The smallest value over ``dim``; ties share the gradient evenly.

    y = min_{i ∈ dim} xᵢ and x̄ᵢ = ȳ [xᵢ = y] / #{j : xⱼ = y}.

    Example:
        >>> import chainrule as cr
        >>> x = cr.tensor([[1.0, 5.0], [7.0, 2.0]])
        >>> cr.amin(x), cr.amin(x, dim=1, keepdim=True)
        (tensor(1.), tensor([[1.],
                [2.]]))
    """
    x = as_tensor(x)
    _check_not_empty(x, "amin")
    return apply(Amin, x, dims=normalize_dims(dim, x.ndim, "amin"), keepdim=keepdim)


@composite(Check("min_dim_keepdim", call=lambda lib, x: x.min(0, keepdim=True).values,
                 shapes=(((3, 4),),), domain="distinct"))
def min(x, dim=None, keepdim=False):
    """``min(x)``: the smallest element; ``min(x, dim)``: (values, indices) along ``dim``.

    y = min xᵢ. Without ``dim`` tied minima share the gradient evenly (as ``amin``); with a
    ``dim`` the gradient goes to the element at the returned index, as in PyTorch.

    Example:
        >>> import chainrule as cr
        >>> x = cr.tensor([[1, 5], [7, 2]])
        >>> cr.min(x)
        tensor(1)
        >>> cr.min(x, dim=1)
        MaxResult(values=tensor([1, 2]), indices=tensor([0, 1]))
    """
    x = as_tensor(x)
    if dim is None:
        return _extreme_of_all(x, amin)
    return _extreme_along(x, dim, keepdim, argmin)


MaxResult = collections.namedtuple("MaxResult", ["values", "indices"])


def _extreme_of_all(x, extreme):
    """max(x) or min(x) over every element. A nan wins, and the nan entries share the gradient
    evenly (as PyTorch's max() does; amax, like torch.amax, gives nan everywhere instead)."""
    if x.dtype.kind != "f" or not bool(x.xp.isnan(x.array).any()):
        return extreme(x)
    nans = isnan(x)
    return where(nans, x, 0.0).sum() / nans.sum()


def _extreme_along(x, dim, keepdim, pick):
    _check_not_empty(x, "max/min")
    indices = pick(x, dim, keepdim=True)
    values = gather(x, dim, indices)
    if not keepdim:
        values, indices = values.squeeze(dim), indices.squeeze(dim)
    return MaxResult(values, indices)


class Prod(Primitive):
    name = "prod"
    formula = r"y = \prod_{i \in \text{dims}} x_i"
    derivatives = (r"\bar{x}_i = \bar{y} \prod_{j \ne i} x_j",)
    checks = (
        Check("prod", call=lambda lib, x: x.prod(1), shapes=(((3, 4),), ((2, 1, 3),)), domain="nonzero"),
        Check("prod_with_zero", call=lambda lib, x: (x * lib.tensor([0.0, 1.0, 1.0], dtype=x.dtype)).prod(1),
              shapes=(((2, 3),),)),
        Check("prod_all", call=lambda lib, x: x.prod(), shapes=(((2, 3),),), domain="nonzero"),
    )

    @staticmethod
    def forward(xp, x, dims, keepdim):
        return xp.prod(x, axis=dims, keepdims=keepdim)

    @staticmethod
    def grad_x(g, out, x, dims, keepdim):
        g = _restore(g, x, dims, keepdim)
        if not bool((x == 0).any()):
            return g * _restore(out, x, dims, keepdim) / x
        # With zeros, y/xᵢ is 0/0: form ∏_{j≠i} x_j directly, one reduced axis at a time.
        return g * _product_of_others(x, dims)

    vjps = (grad_x,)


def _product_of_others(x, dims):
    """∏ over ``dims`` of every element except x_i itself, for each i (exact when x has zeros)."""
    moved = movedim(x, dims, tuple(range(x.ndim - len(dims), x.ndim)))
    lead = moved.shape[: x.ndim - len(dims)]
    n = math.prod(moved.shape[x.ndim - len(dims):])
    flat = moved.reshape(lead + (n,))
    eye = x.xp.eye(n, dtype=bool)
    # others[..., i, j] = x_j for j ≠ i, and 1 on the diagonal.
    others = flat.unsqueeze(-2).expand(lead + (n, n)).masked_fill(as_tensor(eye), 1.0)
    result = others.prod(dim=-1).reshape(moved.shape)
    return movedim(result, tuple(range(x.ndim - len(dims), x.ndim)), dims)


def prod(x, dim=None, keepdim=False):
    """∏ over ``dim``; its gradient ∏_{j≠i} x_j is exact even where x has zeros.

    y = ∏_{i ∈ dim} xᵢ and x̄ᵢ = ȳ ∏_{j≠i} xⱼ.

    Example:
        >>> import chainrule as cr
        >>> x = cr.tensor([1.0, 0.0, 3.0], requires_grad=True)
        >>> cr.prod(x).backward()
        >>> x.grad                            # 0·3, 1·3, 1·0
        tensor([0., 3., 0.])
    """
    x = as_tensor(x)
    return apply(Prod, x, dims=normalize_dims(dim, x.ndim, "prod"), keepdim=keepdim)


class Cumsum(Primitive):
    name = "cumsum"
    formula = r"y_k = \sum_{i \le k} x_i"
    derivatives = (r"\bar{x}_i = \sum_{k \ge i} \bar{y}_k",)
    checks = (Check("cumsum", call=lambda lib, x: x.cumsum(1), shapes=(((3, 4),),)),)

    @staticmethod
    def forward(xp, x, dim):
        accumulator = _accumulator(x.dtype)
        if accumulator is None:
            return xp.cumsum(x, axis=dim)
        return xp.cumsum(x, axis=dim, dtype=accumulator).astype(x.dtype)

    @staticmethod
    def grad_x(g, out, x, dim):
        return g.flip(dim).cumsum(dim).flip(dim)

    vjps = (grad_x,)


def cumsum(x, dim):
    """Running sum along ``dim``: yₖ = Σ_{i≤k} xᵢ.

    The gradient is the running sum taken from the other end: x̄ᵢ = Σ_{k≥i} ȳₖ.

    Example:
        >>> import chainrule as cr
        >>> cr.cumsum(cr.tensor([1, 2, 3, 4]), dim=0)
        tensor([ 1,  3,  6, 10])
        >>> x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
        >>> cr.cumsum(x, dim=0).sum().backward(); x.grad
        tensor([3., 2., 1.])
    """
    x = as_tensor(x)
    (axis,) = normalize_dims(dim, x.ndim, "cumsum")
    return apply(Cumsum, x, dim=axis)


class LogSumExp(Primitive):
    name = "logsumexp"
    formula = r"y = \ln \sum_i e^{x_i} = m + \ln \sum_i e^{x_i - m},\ m = \max_i x_i"
    derivatives = (r"\bar{x}_i = \bar{y}\, e^{x_i - y} = \bar{y}\,\operatorname{softmax}(x)_i",)
    checks = (
        Check("logsumexp", call=lambda lib, x: x.logsumexp(-1), shapes=(((3, 4),), ((2, 1, 3),))),
        Check("logsumexp_dims", call=lambda lib, x: lib.logsumexp(x, (0, 1)), shapes=(((3, 4),),)),
    )

    @staticmethod
    def forward(xp, x, dims, keepdim):
        m = xp.amax(x, axis=dims, keepdims=True)
        m = xp.where(xp.isfinite(m), m, 0)  # an all −inf (or +inf) slice: shift by 0, not by ∓inf
        with xp.errstate(divide="ignore"):
            out = xp.log(xp.sum(xp.exp(x - m), axis=dims, keepdims=True)) + m
        return out if keepdim else xp.squeeze(out, axis=dims)

    @staticmethod
    def grad_x(g, out, x, dims, keepdim):
        return _restore(g, x, dims, keepdim) * (x - _restore(out, x, dims, keepdim)).exp()

    vjps = (grad_x,)


def logsumexp(x, dim, keepdim=False):
    """ln Σ exp(xᵢ) over ``dim``, shifted by the maximum so it never overflows.

    Rows of all −inf give −inf (and ±1e4 inputs stay exact), as in PyTorch.

    Example:
        >>> import chainrule as cr
        >>> cr.logsumexp(cr.tensor([1e4, 1e4]), dim=0)     # 1e4 + ln 2
        tensor(10000.693)
    """
    x = _float(x)
    return apply(LogSumExp, x, dims=normalize_dims(dim, x.ndim, "logsumexp"), keepdim=keepdim)


def _shifted_by_max(x, dim):
    """x − max(x) along ``dim``, the max treated as a constant (softmax does not depend on it).

    Shifting first keeps exp from overflowing and keeps float32 accurate at ±1e4.
    A slice holding +inf, or only −inf, becomes nan, exactly as in PyTorch.
    """
    return x - amax(x, dim, keepdim=True).detach()


@composite(Check("softmax", call=lambda lib, x: x.softmax(-1), shapes=(((3, 4),),)))
def softmax(x, dim):
    """softmax(x)ᵢ = exp(xᵢ − m) / Σⱼ exp(xⱼ − m), with m = max x: positive, sums to 1 along ``dim``.

    Example:
        >>> import chainrule as cr
        >>> cr.softmax(cr.tensor([1e4, 1e4]), dim=0)
        tensor([0.5, 0.5])
    """
    x = _float(x)
    exps = exp(_shifted_by_max(x, dim))
    probabilities = exps / sum(exps, dim, keepdim=True)
    probabilities.name = "softmax"  # lets anomaly mode suggest log_softmax for log(softmax(x))
    return probabilities


@composite(Check("log_softmax", call=lambda lib, x: x.log_softmax(0), shapes=(((3, 4),),)))
def log_softmax(x, dim):
    """log softmax(x)ᵢ = (xᵢ − m) − ln Σⱼ exp(xⱼ − m): exact where softmax underflows to 0.

    Here m = max x along ``dim``. The gradient is x̄ᵢ = ȳᵢ − softmax(x)ᵢ Σⱼ ȳⱼ.

    Example:
        >>> import chainrule as cr
        >>> cr.log_softmax(cr.tensor([1e4, 0.0]), dim=0)     # log(softmax(x)) would give -inf
        tensor([     0., -10000.])
        >>> [round(v, 4) for v in cr.log_softmax(cr.tensor([0.0, 0.0]), dim=0).tolist()]   # ln ½
        [-0.6931, -0.6931]
    """
    x = _float(x)
    shifted = _shifted_by_max(x, dim)
    return shifted - log(sum(exp(shifted), dim, keepdim=True))


class Norm(Primitive):
    name = "norm"
    formula = r"y = \Big(\sum_i |x_i|^p\Big)^{1/p}"
    derivatives = (r"\bar{x}_i = \bar{y}\, \operatorname{sign}(x_i) |x_i|^{p-1} / y^{p-1}\ (0 \text{ where } y = 0)",)
    checks = (
        Check("norm2", call=lambda lib, x: x.norm(), shapes=UNARY[:1]),
        Check("norm2_dim", call=lambda lib, x: x.norm(dim=1), shapes=(((3, 4),),)),
        Check("norm1", call=lambda lib, x: x.norm(p=1, dim=0), shapes=(((3, 4),),), domain="nonzero"),
        Check("norm3", call=lambda lib, x: x.norm(p=3), shapes=(((3, 4),),), domain="nonzero"),
        Check("norm_inf", call=lambda lib, x: x.norm(p=float("inf"), dim=1),
              shapes=(((3, 4),),), domain="distinct"),
    )

    @staticmethod
    def forward(xp, x, p, dims, keepdim):
        if p == 2:
            return xp.sqrt(xp.sum(x * x, axis=dims, keepdims=keepdim))
        return xp.sum(xp.abs(x) ** p, axis=dims, keepdims=keepdim) ** (1.0 / p)

    @staticmethod
    def grad_x(g, out, x, p, dims, keepdim):
        y = _restore(out, x, dims, keepdim)
        g = _restore(g, x, dims, keepdim)
        safe_y = where(y == 0, 1.0, y)
        if p == 2:
            share = x / safe_y
        else:
            share = x.sign() * x.abs() ** (p - 1) / safe_y ** (p - 1)
        return where(y == 0, 0.0, g * share)

    vjps = (grad_x,)


def norm(x, p=2, dim=None, keepdim=False):
    """The p-norm (Σ|xᵢ|ᵖ)^{1/p} over ``dim`` (p = inf: max |xᵢ|); its gradient at 0 is 0, as in PyTorch.

    p = -inf gives min |xᵢ| and p = 'fro' is p = 2. The gradient is
    x̄ᵢ = ȳ sign(xᵢ) |xᵢ|^{p−1} / y^{p−1} (x̄ = ȳ x / ‖x‖ for p = 2).

    Example:
        >>> import chainrule as cr
        >>> x = cr.tensor([3.0, -4.0])
        >>> cr.norm(x), cr.norm(x, p=1), cr.norm(x, p=float("inf"))
        (tensor(5.), tensor(7.), tensor(4.))
        >>> cr.norm(cr.tensor([[3.0, 4.0], [6.0, 8.0]]), dim=1)
        tensor([ 5., 10.])
    """
    x = _float(x)
    if x.dtype == dtypes.float16:  # x² of float16 overflows from |x| ≈ 256: work in float32
        return norm(x.float(), p, dim, keepdim).half()
    dims = normalize_dims(dim, x.ndim, "norm")
    if p in (math.inf, "inf"):
        return amax(x.abs(), dims, keepdim)
    if p in (-math.inf, "-inf"):
        return amin(x.abs(), dims, keepdim)
    if p == "fro":
        p = 2
    if not p > 0:
        raise ValueError(f"norm: p must be positive or ±inf, got {p}")
    return apply(Norm, x, p=float(p), dims=dims, keepdim=keepdim)


# ----- not differentiable: indices and truth values


def argmax(x, dim=None, keepdim=False):
    """Index of the largest element (of the flattened tensor if ``dim`` is None). Not differentiable.

    i* = argmax_i xᵢ (the first one if several tie), as int64.

    Example:
        >>> import chainrule as cr
        >>> x = cr.tensor([[1, 5], [7, 2]])
        >>> cr.argmax(x), cr.argmax(x, dim=1)      # 7 is element 2 of the flattened x
        (tensor(2), tensor([1, 0]))
    """
    return _arg_extreme(as_tensor(x), dim, keepdim, "argmax")


def argmin(x, dim=None, keepdim=False):
    """Index of the smallest element (of the flattened tensor if ``dim`` is None). Not differentiable.

    i* = argmin_i xᵢ (the first one if several tie), as int64.

    Example:
        >>> import chainrule as cr
        >>> x = cr.tensor([[1, 5], [7, 2]])
        >>> cr.argmin(x), cr.argmin(x, dim=0, keepdim=True)
        (tensor(0), tensor([[0, 1]]))
    """
    return _arg_extreme(as_tensor(x), dim, keepdim, "argmin")


def _arg_extreme(x, dim, keepdim, function):
    _check_not_empty(x, function)
    xp = x.xp
    if dim is None:
        result = getattr(xp, function)(x.array.reshape(-1))
        if keepdim:
            result = result.reshape((1,) * x.ndim)
    else:
        (axis,) = normalize_dims(dim, x.ndim, function)
        result = getattr(xp, function)(x.array, axis=axis, keepdims=keepdim)
    return Tensor._wrap(xp.asarray(result, dtype=xp.int64))


def all(x, dim=None, keepdim=False):
    """True where every element along ``dim`` is nonzero. Not differentiable.

    y = ∧_{i ∈ dim} [xᵢ ≠ 0] (all elements if ``dim`` is None).

    Example:
        >>> import chainrule as cr
        >>> m = cr.tensor([[True, False], [True, True]])
        >>> cr.all(m), cr.all(m, dim=1)
        (tensor(False), tensor([False,  True]))
    """
    x = as_tensor(x)
    return Tensor._wrap(x.xp.asarray(x.xp.all(x.array, axis=None if dim is None else normalize_dims(dim, x.ndim, "all"), keepdims=keepdim)))


def any(x, dim=None, keepdim=False):
    """True where some element along ``dim`` is nonzero. Not differentiable.

    y = ∨_{i ∈ dim} [xᵢ ≠ 0] (all elements if ``dim`` is None).

    Example:
        >>> import chainrule as cr
        >>> x = cr.tensor([[1, 0], [0, 0]])
        >>> cr.any(x), cr.any(x, dim=1)
        (tensor(True), tensor([ True, False]))
    """
    x = as_tensor(x)
    return Tensor._wrap(x.xp.asarray(x.xp.any(x.array, axis=None if dim is None else normalize_dims(dim, x.ndim, "any"), keepdims=keepdim)))
