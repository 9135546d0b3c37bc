r"""Curvature of a model's loss: Hessian-vector products and what they reveal.

The Hessian H = ∇²L(θ) of the loss with respect to all parameters θ (flattened
into one vector of length n) is n × n: too big to form for a real network, but
a product H v costs about two backward passes (Pearlmutter 1994):

    H v = ∇_θ (∇_θ L(θ) · v),

the gradient of the scalar g·v, where g = ∇L is computed with ``create_graph=True``
so that it can be differentiated again ("double backward"). From products alone:

* the top eigenvalues by Lanczos (``hessian_top_eigenvalues``);
* the trace by Hutchinson's estimator, tr H = E[zᵀ H z] for random signs z;
* the spectral density by stochastic Lanczos quadrature (Ghorbani et al. 2019):
  m Lanczos steps from a random unit v give a tridiagonal T with eigenpairs
  (θ_j, s_j); the nodes θ_j with weights τ_j = s_{1j}² form a quadrature rule
  with Σ τ_j θ_j^k = vᵀ H^k v for every k < 2m, and their average over probes
  estimates the density of eigenvalues;
* the Gauss–Newton product G v = Jᵀ H_ℓ J v (J = ∂outputs/∂θ, H_ℓ the Hessian
  of the loss in the outputs), a positive semi-definite stand-in for H;
* the learning-rate limit: gradient descent on a quadratic with top eigenvalue
  λ_max is stable iff its step η < 2/λ_max (along that eigenvector the error is
  multiplied by 1 − ηλ_max per step); heavy-ball momentum μ raises it to
  2(1 + μ)/λ_max; Adam's limit is on the preconditioned sharpness λ_max(P⁻¹H).
"""
import math
from dataclasses import dataclass

import numpy

from chainrule.core import autograd
from chainrule.core.random import Generator
from chainrule.core.tensor import Tensor
from chainrule.linalg import lanczos, power_iteration


def _model_parameters(model, parameters):
    params = list(parameters) if parameters is not None else [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("curvature: the model has no parameters that require grad")
    return params


class _ParameterOperator:
    """Shared plumbing: split a flat vector into parameter-shaped pieces and join the results."""

    def __init__(self, params):
        self.parameters = params
        self.shapes = [p.shape for p in params]
        self.sizes = [p.numel() for p in params]
        self.n = sum(self.sizes)
        self.dtype = params[0].dtype

    def split(self, vector):
        data = vector.detach().array if isinstance(vector, Tensor) else numpy.asarray(vector)
        if data.shape != (self.n,):
            raise ValueError(f"curvature: expected a flat vector of length {self.n} (all parameters), got shape {data.shape}")
        pieces, offset = [], 0
        for shape, size in zip(self.shapes, self.sizes):
            pieces.append(Tensor._wrap(data[offset:offset + size].reshape(shape).astype(self.dtype)))
            offset += size
        return pieces, data.dtype

    def join(self, pieces, dtype):
        xp = self.parameters[0].xp
        parts = [xp.zeros(size, dtype=dtype) if piece is None else piece.array.reshape(-1).astype(dtype)
                 for piece, size in zip(pieces, self.sizes)]
        return Tensor._wrap(xp.concatenate(parts))

    def __call__(self, vector):
        return self.matvec(vector)

    def dense(self):
        """The explicit n × n matrix, one product per column (for small models and tests)."""
        columns = [self.matvec(column).array for column in numpy.eye(self.n)]
        return numpy.stack(columns, axis=1)


class HessianOperator(_ParameterOperator):
    """v ↦ H v for the Hessian of L(θ) = loss_fn(model(inputs), targets) in the model's parameters.

    The gradient is computed once with ``create_graph=True``; each product is then
    one more backward pass through it: H v = ∇(∇L · v). Vectors are flat, in the
    order of ``model.parameters()``; float64 vectors give float64 results.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> model = nn.Linear(2, 1, bias=False)
        >>> with cr.no_grad():
        ...     _ = model.weight.copy_(cr.tensor([[1.0, -1.0]]))
        >>> x, y = cr.tensor([[1.0, 0.0], [0.0, 2.0]]), cr.tensor([[0.0], [0.0]])
        >>> H = HessianOperator(model, nn.MSELoss(), (x, y))     # L = mean((Xw)²): H = 2XᵀX/N = diag(1, 4)
        >>> H.dense().tolist()
        [[1.0, 0.0], [0.0, 4.0]]
    """

    def __init__(self, model, loss_fn, batch, parameters=None):
        params = _model_parameters(model, parameters)
        super().__init__(params)
        inputs, targets = batch
        self.loss = loss_fn(model(inputs), targets)
        if self.loss.numel() != 1:
            raise ValueError(f"HessianOperator: loss_fn must return a scalar, got shape {self.loss.shape}")
        self.gradients = autograd.grad(self.loss, params, create_graph=True, allow_unused=True)

    def matvec(self, vector):
        """H v for a flat vector v (Tensor or array) of length n."""
        pieces, dtype = self.split(vector)
        dot = None
        for gradient, piece in zip(self.gradients, pieces):
            if gradient is not None and gradient.requires_grad:
                term = (gradient * piece).sum()
                dot = term if dot is None else dot + term
        if dot is None:  # the loss is linear in the parameters: H = 0
            return self.join([None] * len(pieces), dtype)
        products = autograd.grad(dot, self.parameters, retain_graph=True, allow_unused=True)
        return self.join(products, dtype)


class GaussNewtonOperator(_ParameterOperator):
    r"""v ↦ G v = Jᵀ H_ℓ J v, the Gauss–Newton approximation of the Hessian.

    With outputs z = model(inputs), J = ∂z/∂θ and H_ℓ = ∂²ℓ/∂z² the Hessian of the
    loss in the outputs, H = Jᵀ H_ℓ J + Σ_i (∂ℓ/∂z_i) ∇²z_i; G drops the second
    term, which vanishes where the residuals do, and is positive semi-definite
    for convex losses (MSE, cross-entropy). Three passes per product: J v by the
    double-vjp trick (Jᵀu is linear in a dummy u, so J v = ∂(Jᵀu · v)/∂u), then
    H_ℓ (J v) by double backward in z, then Jᵀ(·) by one vjp.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> model = nn.Linear(2, 1, bias=False)
        >>> x, y = cr.tensor([[1.0, 0.0], [0.0, 2.0]]), cr.tensor([[0.0], [0.0]])
        >>> G = GaussNewtonOperator(model, nn.MSELoss(), (x, y))   # linear model: G = H = XᵀX·(2/N)
        >>> G.dense().tolist()
        [[1.0, 0.0], [0.0, 4.0]]
    """

    def __init__(self, model, loss_fn, batch, parameters=None):
        params = _model_parameters(model, parameters)
        super().__init__(params)
        inputs, targets = batch
        self.outputs = model(inputs)
        xp = self.outputs.xp
        self._dummy = Tensor._wrap(xp.zeros(self.outputs.shape, dtype=self.outputs.dtype)).requires_grad_()
        self._jt_dummy = autograd.grad(self.outputs, params, grad_outputs=self._dummy, create_graph=True,
                                       allow_unused=True)
        self._z = self.outputs.detach().requires_grad_()
        loss = loss_fn(self._z, targets)
        (self._loss_gradient,) = autograd.grad(loss, self._z, create_graph=True)

    def matvec(self, vector):
        pieces, dtype = self.split(vector)
        dot = None
        for jt_u, piece in zip(self._jt_dummy, pieces):
            if jt_u is not None:
                term = (jt_u * piece).sum()
                dot = term if dot is None else dot + term
        (jv,) = autograd.grad(dot, self._dummy, retain_graph=True)
        if not self._loss_gradient.requires_grad:   # loss linear in the outputs: H_ℓ = 0
            return self.join([None] * len(pieces), dtype)
        (hl_jv,) = autograd.grad((self._loss_gradient * jv.detach()).sum(), self._z, retain_graph=True)
        products = autograd.grad(self.outputs, self.parameters, grad_outputs=hl_jv.detach(), retain_graph=True,
                                 allow_unused=True)
        return self.join(products, dtype)


def hessian_vector_product(model, loss_fn, batch, vector):
    """H v for the loss's Hessian in the model's parameters (flat v, flat result). See ``HessianOperator``.

    H v = ∇_θ (∇_θ L(θ) · v), with L(θ) = loss_fn(model(inputs), targets): two backward passes, H never formed.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> from chainrule.explain import hessian_vector_product
        >>> model, x, y = nn.Linear(2, 1, bias=False), cr.tensor([[1.0, 0.0], [0.0, 2.0]]), cr.tensor([[0.0], [0.0]])
        >>> hessian_vector_product(model, nn.MSELoss(), (x, y), cr.tensor([1.0, 1.0]))   # H = diag(1, 4)
        tensor([1., 4.])
    """
    return HessianOperator(model, loss_fn, batch).matvec(vector)


def gauss_newton_vector_product(model, loss_fn, batch, vector):
    """G v = Jᵀ H_ℓ J v (flat v, flat result). See ``GaussNewtonOperator``.

    J = ∂model(inputs)/∂θ and H_ℓ = ∂²loss/∂outputs²; for a model linear in θ, G = H.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> from chainrule.explain import gauss_newton_vector_product
        >>> model, x, y = nn.Linear(2, 1, bias=False), cr.tensor([[1.0, 0.0], [0.0, 2.0]]), cr.tensor([[0.0], [0.0]])
        >>> gauss_newton_vector_product(model, nn.MSELoss(), (x, y), cr.tensor([1.0, 1.0]))   # G = 2XᵀX/N
        tensor([1., 4.])
    """
    return GaussNewtonOperator(model, loss_fn, batch).matvec(vector)


def _float64_matvec(operator):
    def matvec(v):
        return operator.matvec(v).array.astype(numpy.float64)
    return matvec


def hessian_top_eigenvalues(operator, k=1, method="lanczos", generator=None, num_iterations=None):
    """The k largest (algebraic) eigenvalues of the operator, and their eigenvectors (columns).

    ``method``: 'lanczos' (``chainrule.linalg.lanczos``, k ≥ 1) or 'power'
    (``chainrule.linalg.power_iteration``, k = 1, the eigenvalue of largest
    magnitude). Returns (eigenvalues: NumPy (k,), eigenvectors: NumPy (n, k)).

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> model = nn.Linear(2, 1, bias=False)
        >>> x, y = cr.tensor([[1.0, 0.0], [0.0, 2.0]]), cr.tensor([[0.0], [0.0]])
        >>> values, vectors = hessian_top_eigenvalues(HessianOperator(model, nn.MSELoss(), (x, y)), k=1)
        >>> round(float(values[0]), 6)
        4.0
    """
    generator = generator or Generator().manual_seed(0)
    matvec = _float64_matvec(operator)
    if method == "lanczos":
        values, vectors = lanczos(matvec, operator.n, k, num_iterations=num_iterations, generator=generator)
        return numpy.asarray(values.array), numpy.asarray(vectors.array)
    if method == "power":
        if k != 1:
            raise ValueError("hessian_top_eigenvalues: power iteration finds one eigenvalue; use method='lanczos' for k > 1")
        result = power_iteration(matvec, operator.n, generator=generator, num_iterations=num_iterations or 1000)
        return numpy.asarray([result.eigenvalue.item()]), numpy.asarray(result.eigenvector.array).reshape(-1, 1)
    raise ValueError(f"hessian_top_eigenvalues: method must be 'lanczos' or 'power', got {method!r}")


@dataclass
class TraceEstimate:
    """Hutchinson's estimate of tr H: the mean of zᵀ H z over Rademacher z, with its standard error.

    ``value`` = (1/m) Σᵢ zᵢᵀ H zᵢ, ``standard_error`` = s/√m (s the sample standard deviation of
    ``samples``, the m values zᵢᵀ H zᵢ).

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> from chainrule.explain import HessianOperator, hutchinson_trace
        >>> model, x, y = nn.Linear(2, 1, bias=False), cr.tensor([[1.0, 0.0], [0.0, 2.0]]), cr.tensor([[0.0], [0.0]])
        >>> estimate = hutchinson_trace(HessianOperator(model, nn.MSELoss(), (x, y)), num_samples=10)
        >>> estimate.value, estimate.standard_error, estimate.samples.shape      # H = diag(1, 4): every zᵀHz = 5
        (5.0, 0.0, (10,))
    """

    value: float
    standard_error: float
    samples: numpy.ndarray


def hutchinson_trace(operator, num_samples=100, generator=None):
    """tr H ≈ (1/m) Σ zᵢᵀ H zᵢ with zᵢ of independent random signs ±1 (E[z zᵀ] = I).

    Its variance is 2 Σ_{i≠j} H_ij² per sample (smaller than with Gaussian z),
    so the standard error falls as 1/√m.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> model = nn.Linear(2, 1, bias=False)
        >>> x, y = cr.tensor([[1.0, 0.0], [0.0, 2.0]]), cr.tensor([[0.0], [0.0]])
        >>> hutchinson_trace(HessianOperator(model, nn.MSELoss(), (x, y)), num_samples=10).value   # diagonal H: exact
        5.0
    """
    if num_samples < 2:
        raise ValueError(f"hutchinson_trace: need at least 2 samples for a standard error, got {num_samples}")
    generator = generator or Generator().manual_seed(0)
    signs = numpy.where(generator.uniform((num_samples, operator.n), 0.0, 1.0, numpy.float64) < 0.5, -1.0, 1.0)
    samples = numpy.array([z @ operator.matvec(z).array.astype(numpy.float64) for z in signs])
    return TraceEstimate(float(samples.mean()), float(samples.std(ddof=1) / math.sqrt(num_samples)), samples)


def lanczos_quadrature(matvec, start, num_steps):
    """The Gauss quadrature rule of the spectral measure seen from ``start``: (nodes θ_j, weights τ_j).

    m Lanczos steps from q₁ = start/‖start‖ (with full reorthogonalization) give
    the tridiagonal T = Qᵀ A Q; with T = S diag(θ) Sᵀ, τ_j = S_{1j}², and
    Σ_j τ_j f(θ_j) ≈ q₁ᵀ f(A) q₁, exactly for polynomials f of degree < 2m.

    Example:
        >>> import numpy as np
        >>> from chainrule.explain.curvature import lanczos_quadrature
        >>> A = np.diag([1.0, 2.0, 3.0])
        >>> nodes, weights = lanczos_quadrature(lambda v: A @ v, np.ones(3), num_steps=3)
        >>> [round(float(t), 6) for t in nodes], [round(float(w), 6) for w in weights]   # λᵢ, (uᵢᵀq₁)²
        ([1.0, 2.0, 3.0], [0.333333, 0.333333, 0.333333])
    """
    q = numpy.asarray(start, dtype=numpy.float64)
    q = q / numpy.linalg.norm(q)
    n = q.shape[0]
    basis, alphas, betas = [q], [], []
    for step in range(min(num_steps, n)):
        w = matvec(basis[-1])
        alphas.append(float(basis[-1] @ w))
        Q = numpy.stack(basis)
        for _ in range(2):  # full reorthogonalization, twice
            w = w - Q.T @ (Q @ w)
        beta = float(numpy.linalg.norm(w))
        if step == min(num_steps, n) - 1 or beta <= 1e-12 * max(abs(alphas[-1]), 1.0):
            break
        betas.append(beta)
        basis.append(w / beta)
    m = len(alphas)
    T = numpy.diag(alphas) + numpy.diag(betas[: m - 1], 1) + numpy.diag(betas[: m - 1], -1)
    nodes, vectors = numpy.linalg.eigh(T)
    return nodes, vectors[0] ** 2


@dataclass
class SpectralDensity:
    """The estimated eigenvalue density: ``density`` on ``grid`` (integrates to about 1), and the
    quadrature ``nodes``/``weights`` of each probe (rows) it was smoothed from.

    density(t) = (1/P) Σ_p Σ_j τ_pj · exp(−(t − θ_pj)²/2σ²)/(σ√(2π)) over the P probes, σ = ``sigma``.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> from chainrule.explain import HessianOperator, spectral_density
        >>> model, x, y = nn.Linear(2, 1, bias=False), cr.tensor([[1.0, 0.0], [0.0, 2.0]]), cr.tensor([[0.0], [0.0]])
        >>> sd = spectral_density(HessianOperator(model, nn.MSELoss(), (x, y)), num_probes=1)
        >>> sd.grid.shape, round(float(sd.density.sum() * (sd.grid[1] - sd.grid[0])), 4)
        ((400,), 1.0)
    """

    grid: numpy.ndarray
    density: numpy.ndarray
    nodes: list
    weights: list
    sigma: float


def spectral_density(operator, num_probes=4, num_steps=30, grid=None, sigma=None, generator=None):
    """The Hessian's eigenvalue density by stochastic Lanczos quadrature (Ghorbani, Krishnan & Xiao 2019).

    For each of ``num_probes`` random unit vectors v, ``lanczos_quadrature`` gives
    nodes θ_j and weights τ_j with Σ τ_j δ(t − θ_j) ≈ Σ_i (vᵀu_i)² δ(t − λ_i), whose
    expectation over v is the eigenvalue density (1/n) Σ_i δ(t − λ_i). Each
    delta is smoothed into a Gaussian of width ``sigma`` (default 1% of the range)
    and evaluated on ``grid`` (default 400 points over the nodes' range).

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> model = nn.Linear(2, 1, bias=False)
        >>> x, y = cr.tensor([[1.0, 0.0], [0.0, 2.0]]), cr.tensor([[0.0], [0.0]])
        >>> sd = spectral_density(HessianOperator(model, nn.MSELoss(), (x, y)), num_probes=1)
        >>> [round(float(t), 6) for t in sd.nodes[0]]        # the eigenvalues 1 and 4
        [1.0, 4.0]
    """
    generator = generator or Generator().manual_seed(0)
    matvec = _float64_matvec(operator)
    all_nodes, all_weights = [], []
    for _ in range(num_probes):
        start = generator.normal((operator.n,), 0.0, 1.0, numpy.float64)
        nodes, weights = lanczos_quadrature(matvec, start, num_steps)
        all_nodes.append(nodes)
        all_weights.append(weights)
    low = min(float(n.min()) for n in all_nodes)
    high = max(float(n.max()) for n in all_nodes)
    span = max(high - low, 1e-12 * max(abs(high), 1.0), 1e-12)
    sigma = 0.01 * span if sigma is None else float(sigma)
    if grid is None:
        grid = numpy.linspace(low - 5 * sigma, high + 5 * sigma, 400)
    grid = numpy.asarray(grid, dtype=numpy.float64)
    density = numpy.zeros_like(grid)
    for nodes, weights in zip(all_nodes, all_weights):
        gaussians = numpy.exp(-0.5 * ((grid[:, None] - nodes[None, :]) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))
        density += gaussians @ weights
    density /= num_probes
    return SpectralDensity(grid, density, all_nodes, all_weights, sigma)


@dataclass
class LearningRateAdvice:
    """The curvature limit on the step of the optimizer in use, against its learning rate.

    On a quadratic with top Hessian eigenvalue λ_max (near a minimum, the loss's local
    model), each method has its own stability limit on η:

    * plain gradient descent, e ← (I − ηH)e: stable iff η < 2/λ_max;
    * heavy-ball momentum μ (``SGD(momentum=μ)``): the two-step recursion is stable iff
      η < 2(1 + μ)/λ_max; Nesterov's variant iff η < 2(1 + μ)/((1 + 2μ)λ_max);
    * Adam divides each coordinate's step by P = √v̂ + ε, so what its η must respect is the
      *preconditioned* sharpness λ_max(P⁻¹H): with β₁ the limit is
      λ_max(P⁻¹H) < (2 + 2β₁)/((1 − β₁)η) (38/η for β₁ = 0.9; Cohen et al. 2022).
      2/λ_max of H itself says nothing about a safe Adam step.

    ``max_stable_lr`` is the limit of the method ``method`` ('gd', 'momentum', 'nesterov'
    or 'adam'; for Adam it uses ``preconditioned_lambda_max``), ``gd_limit`` = 2/λ_max
    always; ``ratio`` = lr/max_stable_lr (stable below 1) and ``contraction`` = |1 − lr·λ_max|,
    the factor by which one plain GD step scales the error along the top eigenvector.

    Example:
        >>> from chainrule.explain.curvature import learning_rate_advice
        >>> advice = learning_rate_advice(4.0, lr=0.4)
        >>> advice.max_stable_lr, round(advice.ratio, 6), round(advice.contraction, 6)
        (0.5, 0.8, 0.6)
        >>> round(learning_rate_advice(4.0, lr=0.4, momentum=0.9).max_stable_lr, 6)     # 2(1 + μ)/λ_max
        0.95
    """

    lambda_max: float
    max_stable_lr: float
    lr: float
    method: str = "gd"
    momentum: float = 0.0
    preconditioned_lambda_max: float = None

    @property
    def gd_limit(self):
        """2/λ_max: the stability limit of plain gradient descent."""
        return 2 / self.lambda_max if self.lambda_max > 0 else math.inf

    @property
    def ratio(self):
        """lr / (the method's limit): below 1 stable, above 1 divergent along the sharpest direction."""
        return self.lr / self.max_stable_lr if self.lr is not None else None

    @property
    def contraction(self):
        """|1 − lr·λ_max|: how much one plain GD step multiplies the error along the top eigenvector."""
        return abs(1 - self.lr * self.lambda_max) if self.lr is not None else None

    def _limit_name(self):
        return {"gd": "2/λ_max", "momentum": f"2(1 + μ)/λ_max with μ = {self.momentum:g}",
                "nesterov": f"2(1 + μ)/((1 + 2μ)λ_max) with μ = {self.momentum:g}",
                "adam": f"(2 + 2β₁)/((1 − β₁) λ_max(P⁻¹H)) with β₁ = {self.momentum:g}"}[self.method]

    def verdict(self):
        if self.lambda_max <= 0:
            return "the top eigenvalue is not positive: no curvature limit on the step here (a saddle or flat region)"
        limit = f"{self._limit_name()} = {self.max_stable_lr:.3g}"
        if self.method == "adam":
            note = (f"2/λ_max = {self.gd_limit:.3g} is the limit of plain gradient descent, not of Adam: Adam divides "
                    f"each coordinate's step by √v̂ + ε, so its limit is set by the preconditioned sharpness "
                    f"λ_max(P⁻¹H) = {self.preconditioned_lambda_max:.4g}. ")
            if self.lr is None:
                return note + f"Adam is stable near here for lr below {limit}"
            state = "below" if self.ratio < 1 else "above"
            return (note + f"lr = {self.lr:.3g} is {state} {limit}" +
                    (": stable" if self.ratio < 1 else ": Adam oscillates along the sharpest preconditioned direction "
                     "(training at this 'edge of stability' is common and often still makes progress)"))
        fastest = ("; on a quadratic the fastest plain-GD rate is 2/(λ_max + λ_min), a little below 2/λ_max when "
                   "λ_min ≪ λ_max" if self.method == "gd" else "")
        if self.lr is None:
            return f"steps below {limit} are stable{fastest}"
        if self.ratio < 0.5:
            return (f"lr = {self.lr:.3g} is well below {limit}: stable, but far from the limit; "
                    f"a larger step may train faster{fastest}")
        if self.ratio < 1:
            sign = (f" (plain GD: error along the top eigenvector × {self.contraction:.3g} per step, "
                    f"flipping sign since lr > 1/λ_max)" if self.method == "gd" and self.lr * self.lambda_max > 1 else "")
            return f"lr = {self.lr:.3g} is below {limit}: stable{sign}"
        return (f"lr = {self.lr:.3g} exceeds {limit}: the iteration diverges along the top eigenvector; "
                f"use lr < {self.max_stable_lr:.3g}")

    def __str__(self):
        return (f"λ_max = {self.lambda_max:.4g}, max stable lr ({self.method}) = {self.max_stable_lr:.4g}: "
                f"{self.verdict()}")


def _optimizer_settings(optimizer):
    """(method, momentum or β₁, lr) of a chainrule optimizer, read from its first parameter group."""
    group = optimizer.param_groups[0]
    name = type(optimizer).__name__
    if "betas" in group and name in ("Adam", "AdamW", "NAdam", "RAdam", "Adamax"):
        return "adam", float(group["betas"][0]), group["lr"]
    if name == "SGD":
        momentum = float(group.get("momentum", 0.0))
        if momentum == 0:
            return "gd", 0.0, group["lr"]
        return ("nesterov" if group.get("nesterov") else "momentum"), momentum, group["lr"]
    raise ValueError(f"learning_rate_advice: no stability rule for {name}; pass an SGD or Adam-family optimizer, "
                     "or method='gd'/'momentum'/'nesterov' with momentum=")


class _PreconditionedOperator:
    """v ↦ P^{-1/2} H P^{-1/2} v: symmetric, with the eigenvalues of P⁻¹H (P = diag(√v̂ + ε))."""

    def __init__(self, operator, diagonal):
        self.operator, self.n = operator, operator.n
        self.scale = 1.0 / numpy.sqrt(diagonal)

    def matvec(self, vector):
        data = numpy.asarray(vector.array if isinstance(vector, Tensor) else vector, dtype=numpy.float64)
        product = self.operator.matvec(Tensor._wrap(data * self.scale)).array.astype(numpy.float64)
        return Tensor._wrap(product * self.scale)


def adam_preconditioner(optimizer, parameters):
    """The diagonal P = √v̂ + ε of an Adam-family optimizer's current state, flat in ``parameters``' order.

    v̂ = v/(1 − β₂ᵗ) is the bias-corrected second moment; a parameter not stepped yet has P = ε.
    """
    group = optimizer.param_groups[0]
    beta2, eps = group["betas"][1], group["eps"]
    pieces = []
    for p in parameters:
        state = optimizer.state.get(p)
        if not state or not state.get("step"):
            pieces.append(numpy.full(p.numel(), eps))
            continue
        v_hat = numpy.asarray(state["exp_avg_sq"], dtype=numpy.float64).ravel() / (1 - beta2 ** state["step"])
        pieces.append(numpy.sqrt(v_hat) + eps)
    return numpy.concatenate(pieces)


def learning_rate_advice(operator, lr=None, generator=None, optimizer=None, method="gd", momentum=0.0):
    """The largest stable learning rate near here for the optimizer in use, with a verdict on ``lr``.

    ``operator`` is a ``HessianOperator`` (λ_max by Lanczos) or λ_max itself.
    For L(θ* + e) ≈ L* + ½ eᵀ H e, one step of gradient descent maps e to
    (I − ηH) e, which shrinks every component iff |1 − ηλ_i| < 1 for all i,
    i.e. 0 < η < 2/λ_max. Momentum and Adam have their own limits (see
    ``LearningRateAdvice``). Pass ``optimizer=`` (a chainrule SGD or Adam-family
    optimizer; its lr, momentum or β₁ and, for Adam, its √v̂ state are read) or
    ``method=`` and ``momentum=``. Adam needs a ``HessianOperator`` and its optimizer.

    Example:
        >>> print(learning_rate_advice(4.0, lr=0.6))
        λ_max = 4, max stable lr (gd) = 0.5: lr = 0.6 exceeds 2/λ_max = 0.5: the iteration diverges along the top eigenvector; use lr < 0.5
    """
    if optimizer is not None:
        method, momentum, optimizer_lr = _optimizer_settings(optimizer)
        lr = optimizer_lr if lr is None else lr
    elif method == "gd" and momentum:
        method = "momentum"
    if method not in ("gd", "momentum", "nesterov", "adam"):
        raise ValueError(f"learning_rate_advice: method must be 'gd', 'momentum', 'nesterov' or 'adam', got {method!r}")
    if isinstance(operator, (int, float)):
        lambda_max = float(operator)
    else:
        lambda_max = float(hessian_top_eigenvalues(operator, k=1, generator=generator)[0][0])
    preconditioned = None
    if lambda_max <= 0:
        limit = math.inf
    elif method == "gd":
        limit = 2 / lambda_max
    elif method == "momentum":
        limit = 2 * (1 + momentum) / lambda_max
    elif method == "nesterov":
        limit = 2 * (1 + momentum) / ((1 + 2 * momentum) * lambda_max)
    else:
        if optimizer is None or isinstance(operator, (int, float)):
            raise ValueError("learning_rate_advice: Adam's limit needs its preconditioner: pass a HessianOperator "
                             "and optimizer= (the Adam that trained the model)")
        diagonal = adam_preconditioner(optimizer, operator.parameters)
        preconditioned = float(hessian_top_eigenvalues(_PreconditionedOperator(operator, diagonal), k=1,
                                                       generator=generator)[0][0])
        limit = (2 + 2 * momentum) / ((1 - momentum) * preconditioned) if preconditioned > 0 else math.inf
    return LearningRateAdvice(lambda_max=lambda_max, max_stable_lr=limit, lr=lr, method=method, momentum=momentum,
                              preconditioned_lambda_max=preconditioned)
