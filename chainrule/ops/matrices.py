"""Matrix helpers under PyTorch's names, composed from the primitives: ``bmm``, ``mm``, ``trace``.

bmm(A, B)ᵦ = Aᵦ Bᵦ for each batch b (3-d inputs), mm(A, B) = A B (2-d), trace(A) = Σᵢ Aᵢᵢ;
their gradients come from matmul's and diagonal's rules.
"""
from chainrule.core.tensor import Tensor, tensor
from chainrule.ops.indexing import diagonal
from chainrule.ops.matmul import matmul
from chainrule.ops.reduce import sum as reduce_sum


def _as_tensor(x):
    return x if isinstance(x, Tensor) else tensor(x)


def bmm(input, mat2):
    """Batched matrix product of two 3-d tensors: out[b] = input[b] @ mat2[b], (B, n, m) × (B, m, p) → (B, n, p).

    Example:
        >>> import chainrule as cr
        >>> cr.bmm(cr.ones(2, 1, 3), cr.ones(2, 3, 4)).shape
        (2, 1, 4)
    """
    input, mat2 = _as_tensor(input), _as_tensor(mat2)
    if input.ndim != 3 or mat2.ndim != 3:
        raise RuntimeError(f"bmm: both inputs must be 3-d (batch, rows, columns), got shapes {input.shape} and "
                           f"{mat2.shape}; use matmul for broadcasting products")
    if input.shape[0] != mat2.shape[0] or input.shape[2] != mat2.shape[1]:
        raise RuntimeError(f"bmm: shapes {input.shape} and {mat2.shape} do not fit: need (B, n, m) and (B, m, p)")
    return matmul(input, mat2)


def mm(input, mat2):
    """Matrix product of two 2-d tensors: (n, m) × (m, p) → (n, p).

    Example:
        >>> import chainrule as cr
        >>> cr.mm(cr.ones(2, 3), cr.ones(3, 1))
        tensor([[3.],
                [3.]])
    """
    input, mat2 = _as_tensor(input), _as_tensor(mat2)
    if input.ndim != 2 or mat2.ndim != 2:
        raise RuntimeError(f"mm: both inputs must be 2-d matrices, got shapes {input.shape} and {mat2.shape}")
    return matmul(input, mat2)


def trace(input):
    """The sum of the main diagonal of a 2-d tensor: tr(A) = Σᵢ Aᵢᵢ; its gradient is the identity pattern.

    Example:
        >>> import chainrule as cr
        >>> cr.trace(cr.tensor([[1.0, 2.0], [3.0, 4.0]]))
        tensor(5.)
    """
    input = _as_tensor(input)
    if input.ndim != 2:
        raise RuntimeError(f"trace: expected a 2-d matrix, got shape {input.shape}")
    return reduce_sum(diagonal(input))


__all__ = ["bmm", "mm", "trace"]
