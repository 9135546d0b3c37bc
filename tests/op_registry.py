"""The one registry of ops that the core tests sweep.

Each entry names an op once: how to call it in chainrule and in PyTorch, which
input shapes to try (chosen to exercise broadcasting, 0-d tensors and size-1
dims), which domain to draw inputs from, and whether second derivatives exist.
tests/test_ops_*.py run every entry through float64 gradcheck/gradgradcheck and
through a comparison with PyTorch on inputs drawn by hypothesis.
"""
from dataclasses import dataclass, field

import numpy
import torch

import chainrule as cr


@dataclass
class OpSpec:
    name: str
    fn: object                      # chainrule: f(*tensors) -> tensor
    torch_fn: object                # PyTorch:   f(*tensors) -> tensor
    shapes: list                    # list of tuples of input shapes
    domain: str = "real"            # real | positive | unit | nonzero | away_from_int | distinct
    second_order: bool = True
    integer_inputs: dict = field(default_factory=dict)  # position -> (high,) for index tensors
    atol: float = 1e-5
    rtol: float = 1e-3


def draw(shape, domain, rng):
    """A float64 array of ``shape`` from ``domain``."""
    if domain == "positive":
        return rng.uniform(0.3, 2.0, size=shape)
    if domain == "unit":
        return rng.uniform(-0.8, 0.8, size=shape)
    if domain == "nonzero":
        return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.5, 2.0, size=shape)
    if domain == "away_from_int":
        return rng.integers(-3, 3, size=shape) + rng.uniform(0.2, 0.8, size=shape)
    if domain == "distinct":
        # Distinct values, so that max/min/sort have a unique winner and finite differences see no tie.
        n = int(numpy.prod(shape)) if shape else 1
        return (rng.permutation(n) * 0.37 + rng.uniform(0, 0.1, size=n)).reshape(shape) - n * 0.18
    return rng.standard_normal(size=shape)


UNARY = [((3, 4),), ((),), ((2, 1, 3),)]
BINARY = [((3, 4), (3, 4)), ((3, 1), (1, 4)), ((), (2, 3)), ((2, 1, 3), (3,)), ((4,), ())]
MATRIX = [((3, 4),), ((2, 3, 4),)]


def unary(name, domain="real", second_order=True, torch_name=None, fn=None, torch_fn=None, shapes=UNARY):
    return OpSpec(
        name,
        fn or getattr(cr, name),
        torch_fn or getattr(torch, torch_name or name),
        shapes, domain, second_order,
    )


def binary(name, domain="real", second_order=True, torch_name=None, shapes=BINARY):
    return OpSpec(name, getattr(cr, name), getattr(torch, torch_name or name), shapes, domain, second_order)


OPS = [
    # ----- elementwise, one input
    unary("neg"), unary("exp"), unary("log", "positive"), unary("log1p", "positive"), unary("expm1"),
    unary("log2", "positive"), unary("log10", "positive"),
    unary("sqrt", "positive"), unary("rsqrt", "positive"), unary("square"), unary("reciprocal", "nonzero"),
    unary("abs", "nonzero"), unary("sign", "nonzero"),
    unary("sin"), unary("cos"), unary("tan", "unit"), unary("asin", "unit"), unary("acos", "unit"),
    unary("atan"), unary("sinh"), unary("cosh"), unary("tanh"), unary("sigmoid"),
    unary("softplus", torch_fn=torch.nn.functional.softplus), unary("relu", "nonzero"),
    unary("erf"), unary("erfinv", "unit"), unary("lgamma", "positive"), unary("digamma", "positive"),
    unary("floor", "away_from_int"), unary("ceil", "away_from_int"), unary("round", "away_from_int"),
    unary("trunc", "away_from_int"),
    OpSpec("pow_scalar", lambda x: x ** 3, lambda x: x ** 3, UNARY),
    OpSpec("pow_fractional", lambda x: x ** 1.5, lambda x: x ** 1.5, UNARY, "positive"),
    OpSpec("rpow", lambda x: 2.0 ** x, lambda x: 2.0 ** x, UNARY),
    OpSpec("clamp", lambda x: x.clamp(-0.5, 0.7), lambda x: x.clamp(-0.5, 0.7), UNARY, "away_from_int"),
    OpSpec("clamp_min", lambda x: x.clamp(min=0.1), lambda x: x.clamp(min=0.1), UNARY, "away_from_int"),
    # ----- elementwise, two inputs (with broadcasting)
    binary("add"), binary("sub"), binary("mul"), binary("div", "nonzero"), binary("pow", "positive"),
    binary("maximum", "distinct"), binary("minimum", "distinct"), binary("atan2", "nonzero"),
    OpSpec("where", lambda a, b: cr.where(a > 0, a, b), lambda a, b: torch.where(a > 0, a, b), BINARY, "nonzero"),
    OpSpec("masked_fill", lambda a: a.masked_fill(a < 0, 2.0), lambda a: a.masked_fill(a < 0, 2.0), UNARY, "nonzero"),
    # ----- reductions
    OpSpec("sum_all", lambda x: x.sum(), lambda x: x.sum(), UNARY),
    OpSpec("sum_dim", lambda x: x.sum(-1), lambda x: x.sum(-1), [((3, 4),), ((2, 1, 3),)]),
    OpSpec("sum_dims_keepdim", lambda x: x.sum((0, 2), keepdim=True), lambda x: x.sum((0, 2), keepdim=True), [((2, 3, 4),)]),
    OpSpec("mean", lambda x: x.mean(0), lambda x: x.mean(0), [((3, 4),), ((2, 1, 3),)]),
    OpSpec("var", lambda x: x.var(1), lambda x: x.var(1), [((3, 4),), ((2, 5, 3),)]),
    OpSpec("var_biased", lambda x: x.var(correction=0), lambda x: x.var(correction=0), [((3, 4),)]),
    OpSpec("std", lambda x: x.std(0, keepdim=True), lambda x: x.std(0, keepdim=True), [((3, 4),)]),
    OpSpec("prod", lambda x: x.prod(1), lambda x: x.prod(1), [((3, 4),), ((2, 1, 3),)], "nonzero"),
    OpSpec("prod_with_zero", lambda x: (x * cr.tensor([0.0, 1.0, 1.0], dtype=x.dtype)).prod(1),
           lambda x: (x * torch.tensor([0.0, 1.0, 1.0], dtype=x.dtype)).prod(1), [((2, 3),)]),
    OpSpec("prod_all", lambda x: x.prod(), lambda x: x.prod(), [((2, 3),)], "nonzero"),
    OpSpec("amax", lambda x: x.amax(1), lambda x: x.amax(1), [((3, 4),)], "distinct"),
    OpSpec("amin_all", lambda x: x.amin(), lambda x: x.amin(), [((3, 4),)], "distinct"),
    OpSpec("max_all", lambda x: x.max(), lambda x: x.max(), [((3, 4),)], "distinct"),
    OpSpec("max_dim", lambda x: x.max(1).values, lambda x: x.max(1).values, [((3, 4),), ((2, 3, 2),)], "distinct"),
    OpSpec("min_dim_keepdim", lambda x: x.min(0, keepdim=True).values, lambda x: x.min(0, keepdim=True).values, [((3, 4),)], "distinct"),
    OpSpec("logsumexp", lambda x: x.logsumexp(-1), lambda x: x.logsumexp(-1), [((3, 4),), ((2, 1, 3),)]),
    OpSpec("logsumexp_dims", lambda x: cr.logsumexp(x, (0, 1)), lambda x: torch.logsumexp(x, (0, 1)), [((3, 4),)]),
    OpSpec("softmax", lambda x: x.softmax(-1), lambda x: x.softmax(-1), [((3, 4),)]),
    OpSpec("log_softmax", lambda x: x.log_softmax(0), lambda x: x.log_softmax(0), [((3, 4),)]),
    OpSpec("cumsum", lambda x: x.cumsum(1), lambda x: x.cumsum(1), [((3, 4),)]),
    OpSpec("norm2", lambda x: x.norm(), lambda x: x.norm(), UNARY[:1]),
    OpSpec("norm2_dim", lambda x: x.norm(dim=1), lambda x: x.norm(dim=1), [((3, 4),)]),
    OpSpec("norm1", lambda x: x.norm(p=1, dim=0), lambda x: x.norm(p=1, dim=0), [((3, 4),)], "nonzero"),
    OpSpec("norm3", lambda x: x.norm(p=3), lambda x: x.norm(p=3), [((3, 4),)], "nonzero"),
    OpSpec("norm_inf", lambda x: x.norm(p=float("inf"), dim=1), lambda x: x.norm(p=float("inf"), dim=1), [((3, 4),)], "distinct"),
    # ----- shape
    OpSpec("reshape", lambda x: x.reshape(4, -1), lambda x: x.reshape(4, -1), [((3, 4),), ((2, 2, 3),)]),
    OpSpec("permute", lambda x: x.permute(2, 0, 1), lambda x: x.permute(2, 0, 1), [((2, 3, 4),)]),
    OpSpec("transpose", lambda x: x.transpose(0, 1), lambda x: x.transpose(0, 1), [((3, 4),)]),
    OpSpec("mT", lambda x: x.mT, lambda x: x.mT, [((2, 3, 4),)]),
    OpSpec("expand", lambda x: x.expand(2, 3, 4), lambda x: x.expand(2, 3, 4), [((3, 1),), ((1, 3, 4),)]),
    OpSpec("repeat", lambda x: x.repeat(2, 1, 3), lambda x: x.repeat(2, 1, 3), [((3, 4),)]),
    OpSpec("squeeze_unsqueeze", lambda x: x.unsqueeze(1).squeeze(), lambda x: x.unsqueeze(1).squeeze(), [((3, 1, 4),)]),
    OpSpec("flatten", lambda x: x.flatten(1), lambda x: x.flatten(1), [((2, 3, 4),)]),
    OpSpec("flip", lambda x: x.flip((0, 1)), lambda x: x.flip((0, 1)), [((3, 4),)]),
    OpSpec("roll", lambda x: x.roll(2, 1), lambda x: x.roll(2, 1), [((3, 4),)]),
    OpSpec("roll_flat", lambda x: x.roll(5), lambda x: x.roll(5), [((3, 4),)]),
    OpSpec("cat", lambda a, b: cr.cat([a, b, a], 1), lambda a, b: torch.cat([a, b, a], 1), [((3, 2), (3, 4))]),
    OpSpec("stack", lambda a, b: cr.stack([a, b], -1), lambda a, b: torch.stack([a, b], -1), [((3, 4), (3, 4))]),
    OpSpec("split", lambda x: x.split(2, 1)[1] * 2 + x.split(2, 1)[0], lambda x: x.split(2, 1)[1] * 2 + x.split(2, 1)[0], [((3, 4),)]),
    OpSpec("chunk", lambda x: x.chunk(3, 0)[2], lambda x: x.chunk(3, 0)[2], [((5, 2),)]),
    OpSpec("unbind", lambda x: x.unbind(1)[2], lambda x: x.unbind(1)[2], [((3, 4),)]),
    OpSpec("pad_constant", lambda x: cr.pad(x, (1, 2, 0, 1), value=0.5), lambda x: torch.nn.functional.pad(x, (1, 2, 0, 1), value=0.5), [((3, 4),)]),
    OpSpec("pad_reflect", lambda x: cr.pad(x, (2, 1), mode="reflect"), lambda x: torch.nn.functional.pad(x, (2, 1), mode="reflect"), [((2, 3, 4),)]),
    OpSpec("pad_replicate", lambda x: cr.pad(x, (2, 1, 1, 1), mode="replicate"), lambda x: torch.nn.functional.pad(x, (2, 1, 1, 1), mode="replicate"), [((1, 2, 3, 4),)]),
    OpSpec("pad_circular", lambda x: cr.pad(x, (2, 1), mode="circular"), lambda x: torch.nn.functional.pad(x, (2, 1), mode="circular"), [((2, 3, 4),)]),
    OpSpec("tril", lambda x: x.tril(), lambda x: x.tril(), [((4, 4),), ((2, 3, 4),)]),
    OpSpec("triu", lambda x: x.triu(1), lambda x: x.triu(1), [((4, 4),)]),
    OpSpec("diagonal", lambda x: x.diagonal(1), lambda x: x.diagonal(1), [((3, 4),)]),
    # ----- indexing
    OpSpec("getitem_basic", lambda x: x[1:, ::2], lambda x: x[1:, ::2], [((3, 4),)]),
    OpSpec("getitem_int_none_ellipsis", lambda x: x[..., 1, None], lambda x: x[..., 1, None], [((2, 3, 4),)]),
    OpSpec("getitem_repeated_indices", lambda x: x[[0, 2, 0, 0]], lambda x: x[[0, 2, 0, 0]], [((3, 4),)]),
    OpSpec("getitem_two_arrays", lambda x: x[[0, 1, 1], [2, 2, 0]], lambda x: x[[0, 1, 1], [2, 2, 0]], [((3, 4),)]),
    OpSpec("getitem_mask", lambda x: x[x > 0], lambda x: x[x > 0], [((3, 4),)], "nonzero"),
    OpSpec("getitem_negative", lambda x: x[-1, [-1, -2]], lambda x: x[-1, [-1, -2]], [((3, 4),)]),
    OpSpec("index_select", lambda x: x.index_select(1, cr.tensor([3, 0, 3])), lambda x: x.index_select(1, torch.tensor([3, 0, 3])), [((3, 4),)]),
    OpSpec("gather", lambda x: x.gather(1, cr.tensor([[0, 0], [3, 1], [2, 2]])), lambda x: x.gather(1, torch.tensor([[0, 0], [3, 1], [2, 2]])), [((3, 4),)]),
    OpSpec("scatter_add", lambda x, s: x.scatter_add(0, cr.tensor([[0, 1, 0, 0], [0, 2, 2, 1]]), s),
           lambda x, s: x.scatter_add(0, torch.tensor([[0, 1, 0, 0], [0, 2, 2, 1]]), s), [((3, 4), (2, 4))]),
    # ----- matrix products
    OpSpec("matmul", lambda a, b: a @ b, lambda a, b: a @ b, [((3, 4), (4, 2)), ((2, 3, 4), (4, 5)), ((2, 1, 3, 4), (3, 4, 2)), ((4,), (4, 3)), ((3, 4), (4,)), ((4,), (4,))]),
    OpSpec("einsum_matmul", lambda a, b: cr.einsum("ij,jk->ik", a, b), lambda a, b: torch.einsum("ij,jk->ik", a, b), [((3, 4), (4, 2))]),
    OpSpec("einsum_batch_trace_out", lambda a, b: cr.einsum("bij,bjk->bk", a, b), lambda a, b: torch.einsum("bij,bjk->bk", a, b), [((2, 3, 4), (2, 4, 2))]),
    OpSpec("einsum_sum_only_in_one", lambda a, b: cr.einsum("ij,k->i", a, b), lambda a, b: torch.einsum("ij,k->i", a, b), [((3, 4), (2,))]),
    OpSpec("einsum_implicit", lambda a, b: cr.einsum("ij,jk", a, b), lambda a, b: torch.einsum("ij,jk", a, b), [((3, 4), (4, 2))]),
    OpSpec("outer", lambda a, b: cr.outer(a, b), lambda a, b: torch.outer(a, b), [((3,), (4,))]),
    OpSpec("dot", lambda a, b: cr.dot(a, b), lambda a, b: torch.dot(a, b), [((4,), (4,))]),
]

OPS_BY_NAME = {spec.name: spec for spec in OPS}
assert len(OPS_BY_NAME) == len(OPS), "two registry entries share a name"
