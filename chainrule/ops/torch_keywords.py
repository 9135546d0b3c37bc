"""PyTorch's keyword forms of the public ops: ``out=``, and NumPy's ``axis=``/``keepdims=``.

``torch.add(x, y, out=z)`` writes the sum into ``z``; ``torch.sum(x, axis=0, keepdims=True)``
is ``torch.sum(x, dim=0, keepdim=True)``. The ops themselves (ops/binary.py, ...) take
neither: these keywords belong to the names a PyTorch script calls, so they are added
here, in one place, around the functions the facade exports (``chainrule.add`` is
``add`` below; ``chainrule.ops.add``, which Tensor's operators call, stays the bare op
and pays nothing for them).

Which ops take which keyword follows PyTorch 2.13 (tests/test_parity_out_axis.py asks
the installed PyTorch): every op whose ``dim`` PyTorch's argument parser binds accepts
``axis``, its ``keepdim`` also ``keepdims``; Python-level functions (``torch.norm``,
``torch.split``, ``F.softmax``, ``F.normalize``) do not, and neither do their chainrule twins.

``out=`` follows PyTorch's rules:

- the result is computed as usual, then written into ``out`` (which may be an input:
  ``torch.exp(x, out=x)``), and ``out`` is returned; ``max``/``min`` along a dim, ``sort`` and
  ``topk`` take a pair ``out=(values, indices)``;
- the result's dtype must cast to ``out``'s without changing kind downwards (a float
  result into an int ``out`` is refused, an int result into a float ``out`` is written);
- with grad mode on, an input or ``out`` that requires grad is refused: out= arguments
  don't support automatic differentiation (use ``no_grad()``, or no ``out=``);
- ``out`` must have the result's shape. PyTorch still resizes a wrong-shaped ``out`` with a
  deprecation warning (it will stop except for zero-element outputs); chainrule never
  resizes, since a resize would cut ``out`` off from the views that share its memory.
"""
import builtins
import functools
import importlib

from chainrule.core.device import device_of
from chainrule.core.grad_mode import is_grad_enabled
from chainrule.core.tensor import Tensor, numpy_keywords
from chainrule.ops import binary, elementwise, indexing, matrices, reduce, shape, sorting

__all__ = [
    "add", "sub", "mul", "div", "pow", "maximum", "minimum", "atan2", "remainder", "where",
    "exp", "log", "log2", "log10", "log1p", "expm1", "sqrt", "rsqrt", "abs", "neg", "sin", "cos", "tan", "tanh",
    "sigmoid", "erf", "floor", "ceil", "round", "trunc", "sign", "square", "reciprocal",
    "matmul", "mm", "bmm", "mv", "dot", "outer",
    "clamp", "clip", "gather", "index_select", "scatter_add",
    "sum", "mean", "std", "var", "prod", "amax", "amin", "max", "min", "argmax", "argmin", "logsumexp", "cumsum",
    "all", "any", "softmax", "log_softmax",
    "cat", "concat", "concatenate", "stack", "squeeze", "unsqueeze", "unflatten", "unbind", "chunk",
    "sort", "argsort", "topk",
]

# The module ops/matmul.py: chainrule.ops.matmul names the op, which hides the module of that name.
products = importlib.import_module("chainrule.ops.matmul")

# Kinds of dtype in PyTorch's order of promotion: a result may be written into an out= of its kind or a later one.
_KIND_ORDER = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}


def torch_keywords(op, out=False, axis=False):
    """``op`` taking PyTorch's ``out=`` (when ``out``) and NumPy's ``axis=``/``keepdims=`` (when ``axis``).

    Example:
        >>> import chainrule as cr
        >>> from chainrule.ops.torch_keywords import torch_keywords
        >>> total = torch_keywords(cr.ops.sum, out=True, axis=True)
        >>> into = cr.zeros(2)
        >>> total(cr.tensor([[1.0, 2.0], [3.0, 4.0]]), axis=0, out=into) is into
        True
        >>> into
        tensor([4., 6.])
    """
    named = numpy_keywords(op) if axis else op
    if not out:
        return named

    @functools.wraps(op)
    def with_out(*args, out=None, **kwargs):
        if out is None:
            return named(*args, **kwargs)
        return _compute_into(op.__name__, out, named, args, kwargs)
    with_out.__doc__ = (op.__doc__ or "") + (
        f"\n\n    As ``chainrule.{op.__name__}`` it also takes PyTorch's ``out=``: the result is written into that "
        "tensor (see chainrule/ops/torch_keywords.py).\n")
    return with_out


def _compute_into(name, out, compute, args, kwargs):
    """``compute(*args, **kwargs)`` written into ``out`` (a tensor, or a pair for ops that return two)."""
    outs = tuple(out) if isinstance(out, (tuple, list)) else (out,)
    for given in outs:
        if not isinstance(given, Tensor):
            raise TypeError(f"{name}(): out= must be a chainrule Tensor (or a tuple of them), got {type(given).__name__}")
    if is_grad_enabled() and builtins.any(given.requires_grad for given in outs):
        raise _no_autograd(name)
    result = compute(*args, **kwargs)
    results = tuple(result) if isinstance(result, tuple) else (result,)
    if len(results) != len(outs):
        raise TypeError(f"{name}(): this call returns {len(results)} tensor(s), so out= takes "
                        f"{'a tensor' if len(results) == 1 else f'a tuple of {len(results)} tensors'}; got {len(outs)}")
    if is_grad_enabled() and builtins.any(r.requires_grad for r in results):
        raise _no_autograd(name)
    for given, computed in zip(outs, results):
        _check_out(name, given, computed)
    for given, computed in zip(outs, results):
        given.array[...] = computed.array
    if not isinstance(result, tuple):
        return out
    return type(result)(*outs) if hasattr(result, "_fields") else outs


def _no_autograd(name):
    return RuntimeError(f"{name}(): functions with out=... arguments don't support automatic differentiation, but "
                        "one of the arguments requires grad; call it without out= (y = chainrule."
                        f"{name}(...)), or inside `with chainrule.no_grad():`")


def _check_out(name, given, computed):
    if given.shape != computed.shape:
        raise RuntimeError(f"{name}(): out= has shape {given.shape} but the result has shape {computed.shape}; "
                           f"chainrule writes into out= without resizing it: pass e.g. "
                           f"out=chainrule.empty({computed.shape}, dtype=chainrule.{computed.dtype})")
    if _KIND_ORDER[computed.dtype.kind] > _KIND_ORDER[given.dtype.kind]:
        raise RuntimeError(f"{name}(): result type {computed.dtype} can't be cast to the desired output type "
                           f"{given.dtype} of out=; pass an out= of dtype {computed.dtype}, or convert the inputs")
    if device_of(given.array) != device_of(computed.array):
        raise RuntimeError(f"{name}(): out= is on {given.device} but the result is on {computed.device}; "
                           "pass an out= on the inputs' device")


def _add(input, other, *, alpha=1):
    """input + alpha·other (``alpha`` as in PyTorch's ``torch.add``); see ``chainrule.ops.add``.

    Example:
        >>> import chainrule as cr
        >>> cr.add(cr.tensor([1.0]), cr.tensor([2.0]), alpha=10)
        tensor([21.])
    """
    return binary.add(input, other if alpha == 1 else binary.mul(other, alpha))


def _sub(input, other, *, alpha=1):
    """input − alpha·other (``alpha`` as in PyTorch's ``torch.sub``); see ``chainrule.ops.sub``.

    Example:
        >>> import chainrule as cr
        >>> cr.sub(cr.tensor([1.0]), cr.tensor([2.0]), alpha=10)
        tensor([-19.])
    """
    return binary.sub(input, other if alpha == 1 else binary.mul(other, alpha))


_add.__name__, _sub.__name__ = "add", "sub"   # the names errors and out= messages show

# Elementwise and binary ops, products: out=.
add = torch_keywords(_add, out=True)
sub = torch_keywords(_sub, out=True)
mul = torch_keywords(binary.mul, out=True)
div = torch_keywords(binary.div, out=True)
pow = torch_keywords(binary.pow, out=True)   # noqa: A001  (PyTorch's name)
maximum = torch_keywords(binary.maximum, out=True)
minimum = torch_keywords(binary.minimum, out=True)
atan2 = torch_keywords(binary.atan2, out=True)
remainder = torch_keywords(binary.remainder, out=True)
where = torch_keywords(binary.where, out=True)
exp = torch_keywords(elementwise.exp, out=True)
log = torch_keywords(elementwise.log, out=True)
log2 = torch_keywords(elementwise.log2, out=True)
log10 = torch_keywords(elementwise.log10, out=True)
log1p = torch_keywords(elementwise.log1p, out=True)
expm1 = torch_keywords(elementwise.expm1, out=True)
sqrt = torch_keywords(elementwise.sqrt, out=True)
rsqrt = torch_keywords(elementwise.rsqrt, out=True)
abs = torch_keywords(elementwise.abs, out=True)   # noqa: A001
neg = torch_keywords(elementwise.neg, out=True)
sin = torch_keywords(elementwise.sin, out=True)
cos = torch_keywords(elementwise.cos, out=True)
tan = torch_keywords(elementwise.tan, out=True)
tanh = torch_keywords(elementwise.tanh, out=True)
sigmoid = torch_keywords(elementwise.sigmoid, out=True)
erf = torch_keywords(elementwise.erf, out=True)
floor = torch_keywords(elementwise.floor, out=True)
ceil = torch_keywords(elementwise.ceil, out=True)
round = torch_keywords(elementwise.round, out=True)   # noqa: A001
trunc = torch_keywords(elementwise.trunc, out=True)
sign = torch_keywords(elementwise.sign, out=True)
square = torch_keywords(elementwise.square, out=True)
reciprocal = torch_keywords(elementwise.reciprocal, out=True)
matmul = torch_keywords(products.matmul, out=True)
mm = torch_keywords(matrices.mm, out=True)
bmm = torch_keywords(matrices.bmm, out=True)
mv = torch_keywords(products.mv, out=True)
dot = torch_keywords(products.dot, out=True)
outer = torch_keywords(products.outer, out=True)
clamp = torch_keywords(indexing.clamp, out=True)
clip = torch_keywords(indexing.clamp, out=True)

# Ops along a dim: out= and axis=/keepdims=.
gather = torch_keywords(indexing.gather, out=True, axis=True)
index_select = torch_keywords(indexing.index_select, out=True, axis=True)
scatter_add = torch_keywords(indexing.scatter_add, axis=True)
sum = torch_keywords(reduce.sum, out=True, axis=True)   # noqa: A001
mean = torch_keywords(reduce.mean, out=True, axis=True)
std = torch_keywords(reduce.std, out=True, axis=True)
var = torch_keywords(reduce.var, out=True, axis=True)
prod = torch_keywords(reduce.prod, out=True, axis=True)
amax = torch_keywords(reduce.amax, out=True, axis=True)
amin = torch_keywords(reduce.amin, out=True, axis=True)
max = torch_keywords(reduce.max, out=True, axis=True)   # noqa: A001
min = torch_keywords(reduce.min, out=True, axis=True)   # noqa: A001
argmax = torch_keywords(reduce.argmax, out=True, axis=True)
argmin = torch_keywords(reduce.argmin, out=True, axis=True)
logsumexp = torch_keywords(reduce.logsumexp, out=True, axis=True)
cumsum = torch_keywords(reduce.cumsum, out=True, axis=True)
all = torch_keywords(reduce.all, out=True, axis=True)   # noqa: A001
any = torch_keywords(reduce.any, out=True, axis=True)   # noqa: A001
softmax = torch_keywords(reduce.softmax, axis=True)
log_softmax = torch_keywords(reduce.log_softmax, axis=True)
cat = torch_keywords(shape.cat, out=True, axis=True)
concat = cat
concatenate = cat
stack = torch_keywords(shape.stack, out=True, axis=True)
squeeze = torch_keywords(shape.squeeze, axis=True)
unsqueeze = torch_keywords(shape.unsqueeze, axis=True)
unflatten = torch_keywords(shape.unflatten, axis=True)
unbind = torch_keywords(shape.unbind, axis=True)
chunk = torch_keywords(shape.chunk, axis=True)
sort = torch_keywords(sorting.sort, out=True, axis=True)
argsort = torch_keywords(sorting.argsort, axis=True)
topk = torch_keywords(sorting.topk, out=True, axis=True)
