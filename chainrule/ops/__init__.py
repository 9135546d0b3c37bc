"""The ops: primitives (forward + derivative side by side) and ops composed from them.

Primitive classes live in elementwise.py, binary.py, reduce.py, shape.py,
indexing.py and matmul.py; every function here is either a primitive applied to
tensors or a composition of such functions. ``PRIMITIVES`` lists every primitive
with its formulas (the explainer and the docs read it).
"""
from chainrule.ops.binary import (
    Add, Atan2, Div, Maximum, Minimum, Mul, Pow, Sub, Where,
    add, atan2, div, floor_divide, maximum, minimum, mul, pow, remainder, sub, where,
)
from chainrule.ops.elementwise import (
    Abs, Acos, Asin, Atan, Cos, Cosh, Erf, Erfinv, Exp, Expm1, Lgamma, Log, Log1p, Neg, PiecewiseConstant,
    Polygamma, Relu, Sigmoid, Sin, Sinh, Softplus, Sqrt, Tan, Tanh,
    abs, acos, asin, atan, ceil, cos, cosh, digamma, erf, erfinv, exp, expm1, floor, lgamma, log, log1p, log2,
    log10, neg, polygamma, reciprocal, relu, round, rsqrt, sigmoid, sign, sin, sinh, softplus, sqrt, square,
    tan, tanh, trunc,
)
from chainrule.ops.indexing import (
    Clamp, Gather, GetItem, IndexAdd, ScatterAdd,
    clamp, diagonal, gather, getitem, index_put_add, index_select, masked_fill, normalize_index, one_hot,
    scatter_add, tril, triu,
)
from chainrule.ops.logic import (
    NON_DIFFERENTIABLE, allclose, eq, ge, gt, isfinite, isinf, isnan, le, logical_and, logical_not,
    logical_or, logical_xor, lt, ne,
)
from chainrule.ops.matmul import Einsum, Matmul, dot, einsum, matmul, mv, outer
from chainrule.ops.reduce import (
    Amax, Amin, Cumsum, LogSumExp, Norm, Prod, Sum,
    all, amax, amin, any, argmax, argmin, cumsum, log_softmax, logsumexp, max, mean, min, norm, prod,
    softmax, std, sum, var,
)
from chainrule.ops.shape import (
    Astype, Cat, Clone, ConstantPad, Expand, Flip, Permute, Reshape, Roll, ToDevice,
    astype, cat, chunk, clone, expand, flatten, flip, movedim, pad, permute, repeat, reshape, roll, split,
    squeeze, stack, t, to_device, transpose, unbind, unflatten, unsqueeze,
)
from chainrule.ops.matrices import bmm, mm, trace
from chainrule.ops.random_draws import normal
from chainrule.ops.sorting import argsort, sort, topk

PRIMITIVES = (
    Neg, Exp, Log, Log1p, Expm1, Sqrt, Abs, Sin, Cos, Tan, Asin, Acos, Atan, Sinh, Cosh, Tanh, Sigmoid,
    Softplus, Relu, Erf, Erfinv, Lgamma, Polygamma, PiecewiseConstant,
    Add, Sub, Mul, Div, Pow, Maximum, Minimum, Atan2, Where,
    Sum, Amax, Amin, Prod, Cumsum, LogSumExp, Norm,
    Reshape, Permute, Expand, Flip, Roll, Cat, ConstantPad, Astype, Clone, ToDevice,
    GetItem, IndexAdd, Gather, ScatterAdd, Clamp,
    Matmul, Einsum,
)
