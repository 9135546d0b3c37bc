"""Every differentiable chainrule.linalg op, listed once: gradcheck, gradgradcheck and PyTorch.

Each case is a function of the linalg module (``chainrule.linalg`` or
``torch.linalg``: they share names and signatures), so the very same expression
is differentiated by chainrule, checked against central differences in float64,
and compared with torch's values and vector–Jacobian products. Inputs are
batched where the op is. Losses of eigenvectors and singular vectors are
sign-invariant (vᵢ², U·Vh), because each vector is only defined up to sign.
"""
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.linalg
from chainrule.func import gradcheck, gradgradcheck


def sym(a):
    return 0.5 * (a + a.mT)


def spd(a):
    """A well-conditioned symmetric positive definite matrix from any square a."""
    n = a.shape[-1]
    identity = np.eye(n) if isinstance(a, cr.Tensor) else torch.eye(n, dtype=torch.float64)
    if isinstance(a, cr.Tensor):
        identity = cr.tensor(identity, dtype=cr.float64)
    return a @ a.mT + n * identity


def well_conditioned(rng, *shape):
    """Random matrices with singular values kept away from 0 and from each other."""
    a = rng.normal(size=shape)
    m, n = shape[-2:]
    u, _, vh = np.linalg.svd(a, full_matrices=False)
    k = min(m, n)
    s = np.linspace(1.0, 2.5, k)[::-1] + 0.1 * rng.random(shape[:-2] + (k,))
    return (u * s[..., None, :]) @ vh


def triangular(rng, *shape, upper=False):
    a = rng.normal(size=shape) * 0.5
    a = np.triu(a) if upper else np.tril(a)
    n = shape[-1]
    return a + np.eye(n) * (2.0 + rng.random(shape[:-1])[..., None])


@dataclass
class Case:
    name: str
    fn: Callable            # fn(linalg_module, *inputs) -> tensor or tuple of tensors
    make_inputs: Callable   # rng -> list of float64 numpy arrays
    second_order: bool = True
    torch_fn: Callable = None  # the torch expression, when it must differ from fn


CASES = [
    Case("solve", lambda L, a, b: L.solve(a, b), lambda r: [well_conditioned(r, 2, 3, 3), r.normal(size=(2, 3, 2))]),
    Case("solve_vector_broadcast", lambda L, a, b: L.solve(a, b), lambda r: [well_conditioned(r, 2, 3, 3), r.normal(size=(3,))]),
    Case("solve_right", lambda L, a, b: L.solve(a, b, left=False), lambda r: [well_conditioned(r, 3, 3), r.normal(size=(2, 3))]),
    Case("solve_triangular_lower", lambda L, a, b: L.solve_triangular(a, b, upper=False),
         lambda r: [triangular(r, 2, 3, 3), r.normal(size=(2, 3, 2))]),
    Case("solve_triangular_upper_right_unit", lambda L, a, b: L.solve_triangular(a, b, upper=True, left=False, unitriangular=True),
         lambda r: [triangular(r, 3, 3, upper=True), r.normal(size=(2, 2, 3))]),
    Case("inv", lambda L, a: L.inv(a), lambda r: [well_conditioned(r, 2, 3, 3)]),
    Case("det", lambda L, a: L.det(a), lambda r: [well_conditioned(r, 2, 3, 3)]),
    Case("slogdet", lambda L, a: L.slogdet(a)[1], lambda r: [well_conditioned(r, 2, 3, 3)]),
    Case("pinv_tall", lambda L, a: L.pinv(a), lambda r: [well_conditioned(r, 2, 4, 3)]),
    Case("pinv_wide", lambda L, a: L.pinv(a), lambda r: [well_conditioned(r, 3, 4)]),
    Case("lstsq", lambda L, a, b: L.lstsq(a, b).solution, lambda r: [well_conditioned(r, 5, 3), r.normal(size=(5, 2))]),
    Case("lstsq_batched", lambda L, a, b: L.lstsq(a, b).solution, lambda r: [well_conditioned(r, 2, 4, 2), r.normal(size=(2, 4, 3))]),
    Case("cholesky", lambda L, a: L.cholesky(spd(a)), lambda r: [r.normal(size=(2, 3, 3))]),
    Case("cholesky_upper", lambda L, a: L.cholesky(spd(a), upper=True), lambda r: [r.normal(size=(3, 3))]),
    Case("eigh", lambda L, a: (L.eigh(sym(a))[0], L.eigh(sym(a))[1] ** 2), lambda r: [r.normal(size=(2, 4, 4))]),
    Case("eigh_vector_products", lambda L, a: (lambda V: V[..., :, :1] @ V[..., :, 1:2].mT)(L.eigh(sym(a))[1]),
         lambda r: [r.normal(size=(3, 3))]),
    Case("eigvalsh", lambda L, a: L.eigvalsh(sym(a)), lambda r: [r.normal(size=(2, 4, 4))]),
    Case("svd_reduced_tall", lambda L, a: (lambda u, s, vh: (u @ vh, s, u ** 2, vh ** 2))(*L.svd(a, full_matrices=False)),
         lambda r: [well_conditioned(r, 2, 4, 3)]),
    Case("svd_reduced_wide", lambda L, a: (lambda u, s, vh: (u @ vh, s, u ** 2, vh ** 2))(*L.svd(a, full_matrices=False)),
         lambda r: [well_conditioned(r, 3, 5)]),
    Case("svd_full_square", lambda L, a: (lambda u, s, vh: (u @ vh, s))(*L.svd(a)), lambda r: [well_conditioned(r, 2, 3, 3)]),
    Case("svdvals", lambda L, a: L.svdvals(a), lambda r: [well_conditioned(r, 2, 4, 3)]),
    Case("qr_tall", lambda L, a: tuple(L.qr(a)), lambda r: [well_conditioned(r, 2, 4, 3)]),
    Case("qr_square", lambda L, a: tuple(L.qr(a)), lambda r: [well_conditioned(r, 3, 3)]),
    Case("qr_wide", lambda L, a: tuple(L.qr(a)), lambda r: [well_conditioned(r, 2, 3, 5)]),
    # chainrule differentiates R of mode='r' (torch raises there); compare with torch's reduced R.
    Case("qr_mode_r", lambda L, a: L.qr(a, mode="r")[1], lambda r: [well_conditioned(r, 4, 3)],
         torch_fn=lambda L, a: L.qr(a)[1]),
    Case("matrix_exp", lambda L, a: L.matrix_exp(a), lambda r: [r.normal(size=(2, 3, 3))]),
    Case("matrix_exp_large_norm", lambda L, a: L.matrix_exp(3.0 * a), lambda r: [r.normal(size=(3, 3))]),
    Case("matrix_power_0_plus_a", lambda L, a: L.matrix_power(a, 0) + a, lambda r: [r.normal(size=(2, 3, 3))]),
    Case("matrix_power_5", lambda L, a: L.matrix_power(a, 5), lambda r: [r.normal(size=(2, 3, 3)) * 0.6]),
    Case("matrix_power_minus_3", lambda L, a: L.matrix_power(a, -3), lambda r: [well_conditioned(r, 2, 3, 3)]),
    *[
        Case(f"matrix_norm_{order}", (lambda order: lambda L, a: L.matrix_norm(a, ord=order))(order),
             lambda r: [well_conditioned(r, 2, 3, 4)])
        for order in ["fro", "nuc", 2, -2, 1, -1, math.inf, -math.inf]
    ],
    *[
        Case(f"vector_norm_{order}", (lambda order: lambda L, x: L.vector_norm(x, ord=order, dim=-1))(order),
             lambda r: [r.normal(size=(3, 5))])
        for order in [1, 2, 3.5, math.inf, -math.inf]
    ],
    Case("cond_2", lambda L, a: L.cond(a), lambda r: [well_conditioned(r, 2, 3, 3)]),
    # torch.linalg.cond(A, 1) fails in backward (an in-place op on inv's output, torch 2.13);
    # compare with torch's value of the definition ‖A‖₁‖A⁻¹‖₁ instead.
    Case("cond_1", lambda L, a: L.cond(a, 1), lambda r: [well_conditioned(r, 3, 3)],
         torch_fn=lambda L, a: L.matrix_norm(a, 1) * L.matrix_norm(L.inv(a), 1)),
]


def _inputs(case, seed=0):
    return case.make_inputs(np.random.default_rng(seed))


def _as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_gradcheck(case):
    inputs = [cr.tensor(a, dtype=cr.float64, requires_grad=True) for a in _inputs(case)]
    assert gradcheck(lambda *xs: case.fn(cr.linalg, *xs), inputs)


@pytest.mark.parametrize("case", [c for c in CASES if c.second_order], ids=lambda c: c.name)
def test_gradgradcheck(case):
    inputs = [cr.tensor(a, dtype=cr.float64, requires_grad=True) for a in _inputs(case)]
    # Random directions (fast mode): the full second-order Jacobian would take minutes on 2 cores.
    assert gradgradcheck(lambda *xs: case.fn(cr.linalg, *xs), inputs, fast_mode=True)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_matches_torch(case):
    arrays = _inputs(case, seed=1)
    ours = [cr.tensor(a, dtype=cr.float64, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    our_outputs = _as_tuple(case.fn(cr.linalg, *ours))
    their_outputs = _as_tuple((case.torch_fn or case.fn)(torch.linalg, *theirs))
    rng = np.random.default_rng(2)
    cotangents = [rng.normal(size=tuple(o.shape)) for o in their_outputs]
    for mine, reference in zip(our_outputs, their_outputs):
        np.testing.assert_allclose(mine.array, reference.detach().numpy(), rtol=1e-9, atol=1e-10)
    our_grads = cr.autograd.grad(list(our_outputs), ours, [cr.tensor(c, dtype=cr.float64) for c in cotangents])
    their_grads = torch.autograd.grad(their_outputs, theirs, [torch.tensor(c) for c in cotangents])
    for mine, reference in zip(our_grads, their_grads):
        np.testing.assert_allclose(mine.array, reference.numpy(), rtol=1e-7, atol=1e-9)


def test_registry_covers_every_differentiable_linalg_function():
    differentiable = {
        "solve", "solve_triangular", "inv", "det", "slogdet", "pinv", "lstsq", "cholesky", "eigh", "eigvalsh",
        "svd", "svdvals", "qr", "matrix_exp", "matrix_power", "matrix_norm", "vector_norm", "cond",
    }
    covered = {name for name in differentiable if any(case.name.startswith(name) for case in CASES)}
    assert covered == differentiable


def test_eigenvector_gradient_blows_up_at_repeated_eigenvalues_but_eigvalsh_stays_finite():
    # Documented limitation (as in torch): at λ₁ = λ₂ the eigenvectors are not unique.
    a = cr.tensor(np.diag([1.0, 1.0, 3.0]), dtype=cr.float64, requires_grad=True)
    values, vectors = cr.linalg.eigh(a)
    with np.errstate(divide="ignore", invalid="ignore"):
        (vector_grad,) = cr.autograd.grad((vectors[:, 0] * cr.tensor([1.0, 2.0, 3.0], dtype=cr.float64)).sum(), a)
    assert not np.isfinite(vector_grad.array).all()
    (value_grad,) = cr.autograd.grad(cr.linalg.eigvalsh(a).sum(), a)
    np.testing.assert_allclose(value_grad.array, np.eye(3), atol=1e-12)   # d tr(A) / dA = I


def test_svdvals_gradient_is_finite_at_repeated_singular_values():
    a = cr.tensor(np.eye(3), dtype=cr.float64, requires_grad=True)
    (grad,) = cr.autograd.grad(cr.linalg.svdvals(a).sum(), a)      # nuclear norm of I: gradient U Vᵀ = I
    np.testing.assert_allclose(grad.array, np.eye(3), atol=1e-12)


def test_slogdet_sign_has_no_gradient_path_and_matches_torch():
    a = np.array([[-2.0, 1.0], [0.5, 3.0]])
    sign, logabsdet = cr.linalg.slogdet(cr.tensor(a, dtype=cr.float64, requires_grad=True))
    torch_sign, torch_logabsdet = torch.linalg.slogdet(torch.tensor(a))
    assert sign.item() == torch_sign.item() and not sign.requires_grad
    assert logabsdet.item() == pytest.approx(torch_logabsdet.item(), rel=1e-12)
