"""Matrix products: ``matmul`` (batched, broadcasting) and ``einsum``.

For Z = X·Y the chain rule gives X̄ = Z̄·Yᵀ and Ȳ = Xᵀ·Z̄: each input's gradient
is again a matrix product, so the backward pass costs two GEMMs, like the forward
one. Batch dimensions broadcast as in NumPy and are summed back by the walk.
"""
from chainrule.core import dtypes
from chainrule.core.convert import as_tensor, check_broadcast
from chainrule.core.primitive import Check, Primitive, apply, composite
from chainrule.ops.indexing import diagonal

__all__ = ["matmul", "dot", "mv", "outer", "einsum"]


def _blas_ready(xp, a):
    """``a`` as an operand BLAS accepts. NumPy falls back to a loop many times slower for a matrix
    with a zero stride (a broadcast gradient, e.g. from ``loss.sum().backward()``) or with neither
    unit-stride rows nor unit-stride columns; one copy avoids that."""
    if a.ndim < 2 or a.size == 0:
        return a
    row_stride, col_stride, item = a.strides[-2], a.strides[-1], a.itemsize
    blas_ok = (col_stride == item and row_stride >= item * a.shape[-1]) or (
        row_stride == item and col_stride >= item * a.shape[-2])
    return a if blas_ok else xp.ascontiguousarray(a)


# OpenBLAS (NumPy's BLAS here) runs two thin shapes 2-3× slower in one call than in slices of
# this many columns, measured on one thread at a convolution's GEMMs (chainrule/kernels/README.md,
# "Small CNN step"): a contraction of at most _SHORT_CONTRACTION with a long output
# (conv1's forward, (16, 9) @ (9, 50176): 0.59 -> 0.26 ms) and a long contraction with a small
# output (every weight gradient Ḡ·Colsᵀ, (16, 50176) @ (50176, 9): 0.58 -> 0.20 ms; (32, 12544) @
# (12544, 144): 2.06 -> 1.64 ms). Each slice's product still goes to BLAS whole.
_SLICE = 4096
_SHORT_CONTRACTION = 16


def _sliced_product(xp, x, y):
    """x @ y for 2-D x (M, K), y (K, N), cut into slices of _SLICE along a long N or K where that pays, else None.

    Long N, K ≤ _SHORT_CONTRACTION: Z[:, s] = X · Y[:, s] per column slice s, written in place,
    each entry the same sum as one call gives. Long K ≥ 16·max(M, N): Zᵀ = Σ_s Y[s, :]ᵀ X[:, s]ᵀ,
    the slices' products added in order (a fixed order, so deterministic; the rounding is that of
    a blocked sum), and computed transposed, (N, M), which OpenBLAS runs faster for these shapes.
    A matrix-vector product (M or N = 1) stays one call: BLAS's gemv, which slices only slow down.
    """
    (rows, inner), columns = x.shape, y.shape[1]
    if columns > _SLICE and inner <= _SHORT_CONTRACTION:
        out = xp.empty((rows, columns), dtype=xp.result_type(x, y))
        for start in range(0, columns, _SLICE):
            xp.matmul(x, y[:, start:start + _SLICE], out=out[:, start:start + _SLICE])
        return out
    if inner > _SLICE and inner >= 16 * max(rows, columns) and min(rows, columns) > 1:   # (a vector: one gemv)
        y_t, x_t = y.T, x.T
        out_t = y_t[:, :_SLICE] @ x_t[:_SLICE]
        for start in range(_SLICE, inner, _SLICE):
            out_t += y_t[:, start:start + _SLICE] @ x_t[start:start + _SLICE]
        return xp.ascontiguousarray(out_t.T)   # C order, as one call gives (its consumers reshape it)
    return None


class Matmul(Primitive):
    name = "matmul"
    formula = r"Z = X Y,\ Z_{ij} = \sum_k X_{ik} Y_{kj}"
    derivatives = (r"\bar{X} = \bar{Z} Y^{\top}", r"\bar{Y} = X^{\top} \bar{Z}")
    checks = (Check("matmul", call=lambda lib, a, b: a @ b,
                    shapes=(((3, 4), (4, 2)), ((2, 3, 4), (4, 5)), ((2, 1, 3, 4), (3, 4, 2)), ((4,), (4, 3)), ((3, 4), (4,)), ((4,), (4,)))),)

    @staticmethod
    def forward(xp, x, y):
        if x.ndim == 2 and y.ndim == 2:
            x, y = _blas_ready(xp, x), _blas_ready(xp, y)
            sliced = _sliced_product(xp, x, y)
            # xp.dot hands transposed views straight to BLAS; matmul copies them first (measured
            # 5x slower for x @ w.T at 128x784 @ 784x512 with NumPy 2.4).
            return xp.dot(x, y) if sliced is None else sliced
        return xp.matmul(_blas_ready(xp, x), _blas_ready(xp, y))

    @staticmethod
    def grad_x(g, out, x, y):
        return g @ y.mT

    @staticmethod
    def grad_y(g, out, x, y):
        return x.mT @ g

    vjps = (grad_x, grad_y)


def matmul(x, y):
    """The matrix product, NumPy/PyTorch style: 1-D operands are vectors, leading dims are batches.

    Example:
        >>> import chainrule as cr
        >>> cr.tensor([[1.0, 2.0]]) @ cr.tensor([[3.0], [4.0]])
        tensor([[11.]])
    """
    x, y = as_tensor(x), as_tensor(y)
    if x.ndim == 0 or y.ndim == 0:
        raise ValueError(f"matmul: both operands need at least 1 dim, got shapes {x.shape} and {y.shape}; use * for scalars")
    if x.dtype != y.dtype:
        common = dtypes.promote_types(x.dtype, y.dtype)
        x, y = x.to(common), y.to(common)
    squeeze_rows, squeeze_cols = x.ndim == 1, y.ndim == 1
    if squeeze_rows:
        x = x.unsqueeze(0)
    if squeeze_cols:
        y = y.unsqueeze(-1)
    if x.shape[-1] != y.shape[-2]:
        raise ValueError(
            f"matmul: shapes {x.shape} and {y.shape} cannot be multiplied: the last dim of the first "
            f"({x.shape[-1]}) must equal the second-to-last dim of the second ({y.shape[-2]}). "
            "Did you mean to transpose one of them (x.mT)?"
        )
    if x.shape[:-2] != y.shape[:-2]:
        check_broadcast("matmul (batch dims)", x.shape[:-2], y.shape[:-2])
    out = apply(Matmul, x, y)
    if squeeze_rows:
        out = out.squeeze(-2)
    if squeeze_cols:
        out = out.squeeze(-1)
    return out


@composite(Check("dot", shapes=(((4,), (4,)),)))
def dot(x, y):
    """The inner product of two 1-D tensors, Σ xᵢyᵢ.

    For z = x·y the gradients are x̄ = z̄ y and ȳ = z̄ x: each input's gradient is the other input.

    Example:
        >>> import chainrule as cr
        >>> x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
        >>> z = cr.dot(x, cr.tensor([4.0, 5.0, 6.0])); float(z)
        32.0
        >>> z.backward(); x.grad
        tensor([4., 5., 6.])
    """
    x, y = as_tensor(x), as_tensor(y)
    if x.ndim != 1 or y.ndim != 1 or x.shape != y.shape:
        raise ValueError(f"dot: expected two 1-D tensors of the same length, got {x.shape} and {y.shape}")
    return matmul(x, y)


def mv(matrix, vector):
    """Matrix–vector product A·v: yᵢ = Σⱼ Aᵢⱼ vⱼ.

    The gradients are Ā = ȳ vᵀ (an outer product) and v̄ = Aᵀ ȳ.

    Example:
        >>> import chainrule as cr
        >>> cr.mv(cr.tensor([[1.0, 2.0], [3.0, 4.0]]), cr.tensor([1.0, 1.0]))
        tensor([3., 7.])
    """
    return matmul(matrix, vector)


@composite(Check("outer", shapes=(((3,), (4,)),)))
def outer(x, y):
    """The outer product xyᵀ of two vectors: Zᵢⱼ = xᵢ yⱼ.

    The gradients are x̄ᵢ = Σⱼ Z̄ᵢⱼ yⱼ and ȳⱼ = Σᵢ Z̄ᵢⱼ xᵢ.

    Example:
        >>> import chainrule as cr
        >>> cr.outer(cr.tensor([1.0, 2.0]), cr.tensor([1.0, 10.0, 100.0]))
        tensor([[  1.,  10., 100.],
                [  2.,  20., 200.]])
    """
    return as_tensor(x).unsqueeze(-1) * as_tensor(y)


class Einsum(Primitive):
    name = "einsum"
    formula = r"Z = \operatorname{einsum}(\text{spec}, X_1, \dots, X_n)"
    derivatives = (r"\bar{X}_k = \operatorname{einsum}(\text{out}, \{X_j\}_{j \ne k} \to \text{in}_k;\ \bar{Z}, \dots)",)
    checks = (
        Check("einsum_matmul", call=lambda lib, a, b: lib.einsum("ij,jk->ik", a, b), shapes=(((3, 4), (4, 2)),)),
        Check("einsum_batch_trace_out", call=lambda lib, a, b: lib.einsum("bij,bjk->bk", a, b),
              shapes=(((2, 3, 4), (2, 4, 2)),)),
        Check("einsum_sum_only_in_one", call=lambda lib, a, b: lib.einsum("ij,k->i", a, b),
              shapes=(((3, 4), (2,)),)),
        Check("einsum_implicit", call=lambda lib, a, b: lib.einsum("ij,jk", a, b), shapes=(((3, 4), (4, 2)),)),
    )

    @staticmethod
    def forward(xp, *arrays, inputs_spec, output_spec):
        return xp.einsum(",".join(inputs_spec) + "->" + output_spec, *arrays)

    @classmethod
    def vjp(cls, index, g, out, /, *operands, inputs_spec, output_spec):
        # Z̄ contracted with every other operand gives X̄_k (einsum is linear in each operand).
        target = inputs_spec[index]
        if len(set(target)) != len(target):
            raise RuntimeError(
                f"einsum: no derivative for operand {index} with a repeated index ('{target}', a diagonal); "
                "take the diagonal with chainrule.diagonal first"
            )
        others = [(spec, op) for k, (spec, op) in enumerate(zip(inputs_spec, operands)) if k != index]
        available = set(output_spec).union(*[set(spec) for spec, _ in others])
        # Indices that appear only in X_k were summed away: its gradient is constant along them.
        kept = "".join(c for c in target if c in available)
        spec = ",".join([output_spec] + [s for s, _ in others]) + "->" + kept
        grad = einsum(spec, g, *[op for _, op in others])
        if kept != target:
            shape = [operands[index].shape[target.index(c)] if c not in kept else grad.shape[kept.index(c)] for c in target]
            grad = grad.reshape([grad.shape[kept.index(c)] if c in kept else 1 for c in target]).expand(tuple(shape))
        return grad


def einsum(equation, *operands):
    """Einstein summation, e.g. ``einsum('ij,jk->ik', a, b)`` is a @ b; ``'bij,bjk->bik'`` a batched product.

    The gradient of each operand is another einsum of the upstream gradient with the
    other operands. Explicit output (``->``) or implicit (sorted unrepeated indices).

    Z[out] = Σ over the indices not in ``out`` of ∏ₖ Xₖ[inₖ]; for example 'ij,jk->ik' is
    Z_ik = Σⱼ X_ij Y_jk and 'ii' is the trace Σᵢ X_ii.

    Example:
        >>> import chainrule as cr
        >>> a = cr.tensor([[1.0, 2.0], [3.0, 4.0]])
        >>> cr.einsum("ij,jk->ik", a, a)
        tensor([[ 7., 10.],
                [15., 22.]])
        >>> cr.einsum("ii", a), cr.einsum("ij->", a), cr.einsum("ba", a).tolist()   # trace, sum, transpose
        (tensor(5.), tensor(10.), [[1.0, 3.0], [2.0, 4.0]])
    """
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    operands = [as_tensor(op) for op in operands]
    equation = equation.replace(" ", "")
    if "..." in equation:
        raise ValueError("einsum: ellipsis ('...') is not supported; name every index explicitly")
    if "->" in equation:
        inputs_part, output_spec = equation.split("->")
    else:
        inputs_part = equation
        letters = inputs_part.replace(",", "")
        output_spec = "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    inputs_spec = tuple(inputs_part.split(","))
    if len(inputs_spec) != len(operands):
        raise ValueError(f"einsum: '{equation}' names {len(inputs_spec)} operands but {len(operands)} were given")
    sizes = {}
    for spec, op in zip(inputs_spec, operands):
        if len(spec) != op.ndim:
            raise ValueError(f"einsum: operand '{spec}' has {len(spec)} indices but its shape is {op.shape}")
        for letter, n in zip(spec, op.shape):
            if sizes.setdefault(letter, n) != n:
                raise ValueError(f"einsum: index '{letter}' has size {sizes[letter]} in one operand and {n} in another")
    inputs_spec, operands = _repeated_indices_as_diagonals(inputs_spec, operands)
    dtype = dtypes.promote_types(*[op.dtype for op in operands])
    operands = [op.to(dtype) for op in operands]
    return apply(Einsum, *operands, inputs_spec=inputs_spec, output_spec=output_spec)


def _repeated_indices_as_diagonals(inputs_spec, operands):
    """'ii->i', 'iij,j': an index repeated within one operand is its diagonal, taken first so it has a gradient.

    X[..., i, ..., i, ...] over i is diagonal(X, 0, d₁, d₂), which moves i to the last axis
    (diagonal's rule scatters the gradient back); repeat until no operand repeats an index.
    """
    specs, tensors = list(inputs_spec), list(operands)
    for k, spec in enumerate(specs):
        while len(set(spec)) != len(spec):
            letter = next(c for c in spec if spec.count(c) > 1)
            first = spec.index(letter)
            second = spec.index(letter, first + 1)
            tensors[k] = diagonal(tensors[k], 0, first, second)
            spec = "".join(c for position, c in enumerate(spec) if position not in (first, second)) + letter
        specs[k] = spec
    return tuple(specs), tensors
