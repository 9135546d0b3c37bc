r"""Classic optimization test functions, written with tensor ops so autodiff gives their gradients.

Each is a callable object: ``f(x)`` takes a tensor whose last axis holds the
coordinates (shape ``(dim,)``, or ``(..., dim)`` for a whole grid at once, e.g.
for a contour plot) and returns the value(s). Each knows its minima
(``minima``, ``minimum_value``), a standard starting point (``start``) and a
plotting window (``bounds``).

Example:
    >>> import chainrule as cr
    >>> from chainrule.optim.testfunctions import Rosenbrock
    >>> f = Rosenbrock()
    >>> x = cr.tensor(f.start, requires_grad=True)
    >>> f(x).backward()
    >>> f.start, [round(g, 2) for g in x.grad.tolist()]     # (-1.2, 1) and ∇f there
    ((-1.2, 1.0), [-215.6, -88.0])
"""
import math

import numpy

from chainrule.core.tensor import Tensor


class ObjectiveFunction:
    r"""What every test function has: a name, its minima and a standard start.

    A subclass writes ``value(x)``, the formula :math:`f: \mathbb{R}^n \to \mathbb{R}` in tensor ops over
    the last axis of ``x``; its minimum value is ``minimum_value`` (0 by default), reached at each
    point of ``minima``, and ``distance_to_minimum(x)`` is :math:`\min_{x^*} \lVert x - x^* \rVert`.

    Example (the sphere :math:`f(x) = \sum_i x_i^2`, minimum :math:`f(0) = 0`):
        >>> import chainrule as cr
        >>> from chainrule.optim.testfunctions import ObjectiveFunction
        >>> class Sphere(ObjectiveFunction):
        ...     name = "Sphere"
        ...     def __init__(self, dim=2):
        ...         super().__init__(dim, minima=[[0.0] * dim], start=[1.0] * dim, bounds=((-2.0, 2.0), (-2.0, 2.0)))
        ...     def value(self, x):
        ...         return (x * x).sum(dim=-1)
        >>> f = Sphere()
        >>> f(cr.tensor([1.0, 2.0])).item(), f.distance_to_minimum([3.0, 4.0]), f.start
        (5.0, 5.0, (1.0, 1.0))
    """

    name = "objective"
    minimum_value = 0.0

    def __init__(self, dim, minima, start, bounds):
        if not callable(getattr(self, "value", None)):
            raise TypeError(f"{type(self).__name__}: a test function defines value(x), its formula in tensor ops")
        self.dim = dim
        self.minima = tuple(tuple(float(v) for v in point) for point in minima)
        self.start = tuple(float(v) for v in start)
        self.bounds = bounds

    def __call__(self, x):
        if not isinstance(x, Tensor):
            raise TypeError(f"{self.name}: expected a Tensor of shape (..., {self.dim}), got {type(x).__name__}")
        if x.ndim == 0 or x.shape[-1] != self.dim:
            raise ValueError(
                f"{self.name}: expected a tensor whose last axis has the {self.dim} coordinates, got shape {x.shape}"
            )
        return self.value(x)

    def distance_to_minimum(self, x):
        """The distance from the point ``x`` (a tensor or sequence) to the nearest minimum."""
        point = numpy.asarray(x.tolist() if isinstance(x, Tensor) else x, dtype=float)
        return min(float(numpy.linalg.norm(point - numpy.asarray(m))) for m in self.minima)

    def __repr__(self):
        return f"{type(self).__name__}(dim={self.dim}, minima={self.minima}, start={self.start})"


class Rosenbrock(ObjectiveFunction):
    r"""Rosenbrock's banana valley, :math:`f(x) = \sum_{i=1}^{n-1} b\,(x_{i+1} - x_i^2)^2 + (a - x_i)^2`.

    With :math:`a=1, b=100`: one minimum, :math:`f(1,\dots,1) = 0`, at the end of a
    long, flat, curved valley; standard start :math:`(-1.2, 1, -1.2, 1, \dots)`.
    Finding the valley is easy, following it is hard.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.optim.testfunctions import Rosenbrock
        >>> f = Rosenbrock()
        >>> f(cr.tensor([[1.0, 1.0], [0.0, 0.0]])).tolist(), f.minima        # the minimum, and (a − 0)² = 1
        ([0.0, 1.0], ((1.0, 1.0),))
    """

    name = "Rosenbrock"

    def __init__(self, dim=2, a=1.0, b=100.0):
        if dim < 2:
            raise ValueError(f"Rosenbrock: dim must be at least 2, got {dim}")
        self.a, self.b = float(a), float(b)
        start = [-1.2 if i % 2 == 0 else 1.0 for i in range(dim)]
        super().__init__(dim, [[a] * dim], start, bounds=((-2.0, 2.0), (-1.0, 3.0)))

    def value(self, x):
        head, tail = x[..., :-1], x[..., 1:]
        valley = tail - head * head                  # squares as products: cheaper to differentiate than ** 2
        offset = self.a - head
        return (self.b * (valley * valley) + offset * offset).sum(dim=-1)


class Beale(ObjectiveFunction):
    r"""Beale's function, :math:`f(x,y) = (1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2`.

    One minimum, :math:`f(3, 0.5) = 0`, in a narrow curved valley, with sharp
    ridges in the corners; standard start :math:`(1, 1)`.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.optim.testfunctions import Beale
        >>> f = Beale()
        >>> f(cr.tensor([3.0, 0.5])).item(), f(cr.tensor(f.start)).item()     # 1.5² + 2.25² + 2.625²
        (0.0, 14.203125)
    """

    name = "Beale"

    def __init__(self):
        super().__init__(2, [[3.0, 0.5]], [1.0, 1.0], bounds=((-4.5, 4.5), (-4.5, 4.5)))

    def value(self, point):
        x, y = point[..., 0], point[..., 1]
        return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y ** 2) ** 2 + (2.625 - x + x * y ** 3) ** 2


class Himmelblau(ObjectiveFunction):
    r"""Himmelblau's function, :math:`f(x,y) = (x^2 + y - 11)^2 + (x + y^2 - 7)^2`.

    Four minima, all with :math:`f = 0`: :math:`(3, 2)`, :math:`(-2.805118, 3.131312)`,
    :math:`(-3.779310, -3.283186)`, :math:`(3.584428, -1.848126)`; which one an
    optimizer reaches depends on where it starts. Standard start :math:`(0, 0)`.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.optim.testfunctions import Himmelblau
        >>> f = Himmelblau()
        >>> x = cr.tensor(f.start, requires_grad=True); f(x).backward()
        >>> f(cr.tensor([3.0, 2.0])).item(), len(f.minima), x.grad.tolist()   # ∇f(0, 0) = (2·(−7), 2·(−11))
        (0.0, 4, [-14.0, -22.0])
    """

    name = "Himmelblau"

    def __init__(self):
        minima = [[3.0, 2.0], [-2.805118086952745, 3.131312518250573],
                  [-3.779310253377747, -3.283185991286170], [3.584428340330492, -1.848126526964404]]
        super().__init__(2, minima, [0.0, 0.0], bounds=((-5.0, 5.0), (-5.0, 5.0)))

    def value(self, point):
        x, y = point[..., 0], point[..., 1]
        return (x * x + y - 11) ** 2 + (x + y * y - 7) ** 2


class Rastrigin(ObjectiveFunction):
    r"""Rastrigin's function, :math:`f(x) = A n + \sum_i \big(x_i^2 - A\cos(2\pi x_i)\big)`, :math:`A = 10`.

    A bowl covered in a grid of local minima (near every integer point); the global
    minimum is :math:`f(0) = 0`. Gradient methods stop in the local minimum of the
    basin they start in, so the standard start :math:`(0.3, -0.2, \dots)` lies in the
    global minimum's basin (:math:`|x_i| < 0.5`); start at e.g. :math:`(2.2, 2.2)` to
    watch an optimizer get trapped.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.optim.testfunctions import Rastrigin
        >>> f = Rastrigin()
        >>> f(cr.tensor([[0.0, 0.0], [1.0, 1.0]])).tolist()        # the global minimum, and 20 + 2·(1 − 10)
        [0.0, 2.0]
    """

    name = "Rastrigin"

    def __init__(self, dim=2, amplitude=10.0):
        self.amplitude = float(amplitude)
        start = [0.3 if i % 2 == 0 else -0.2 for i in range(dim)]
        super().__init__(dim, [[0.0] * dim], start, bounds=((-5.12, 5.12), (-5.12, 5.12)))

    def value(self, x):
        return self.amplitude * self.dim + (x * x - self.amplitude * (2 * math.pi * x).cos()).sum(dim=-1)


class QuadraticBowl(ObjectiveFunction):
    r"""A quadratic bowl of chosen condition number, :math:`f(x) = \tfrac12\, x^\top A x`.

    :math:`A = Q\,\operatorname{diag}(\lambda_1,\dots,\lambda_n)\,Q^\top` with eigenvalues
    spaced geometrically from 1 to :math:`\kappa` (``condition_number``) and, with
    ``rotate=True``, a fixed rotation :math:`Q` so the axes of the ellipses are not
    the coordinate axes (a diagonal preconditioner such as Adam's cannot simply
    undo the conditioning). Minimum :math:`f(0) = 0`; standard start
    :math:`(1, \dots, 1)`. Gradient descent with step :math:`\eta` converges iff
    :math:`\eta < 2/\lambda_{\max} = 2/\kappa`, and the slowest direction then
    shrinks by :math:`1 - \eta` per step: conditioning is the speed limit.

    Example:
        >>> import chainrule as cr, numpy as np
        >>> from chainrule.optim.testfunctions import QuadraticBowl
        >>> f = QuadraticBowl(condition_number=10.0)
        >>> np.linalg.eigvalsh(f.hessian).round(6).tolist(), f(cr.tensor([0.0, 0.0])).item()
        ([1.0, 10.0], 0.0)
        >>> QuadraticBowl(rotate=False)(cr.tensor([1.0, 1.0])).item()         # ½ (1·1² + 10·1²)
        5.5
    """

    name = "QuadraticBowl"

    def __init__(self, dim=2, condition_number=10.0, rotate=True):
        if condition_number < 1:
            raise ValueError(f"QuadraticBowl: condition_number must be >= 1, got {condition_number}")
        self.condition_number = float(condition_number)
        self.eigenvalues = numpy.geomspace(1.0, condition_number, dim) if dim > 1 else numpy.ones(1)
        if rotate and dim > 1:
            # A fixed rotation: the Q of a QR factorization of a seeded random matrix.
            random_matrix = numpy.random.default_rng(12345).standard_normal((dim, dim))
            rotation, _ = numpy.linalg.qr(random_matrix)
        else:
            rotation = numpy.eye(dim)
        self.hessian = rotation @ numpy.diag(self.eigenvalues) @ rotation.T
        self.hessian = (self.hessian + self.hessian.T) / 2
        super().__init__(dim, [[0.0] * dim], [1.0] * dim, bounds=((-1.5, 1.5), (-1.5, 1.5)))

    def value(self, x):
        hessian = Tensor._wrap(x.xp.asarray(self.hessian, dtype=x.dtype))
        return 0.5 * ((x @ hessian) * x).sum(dim=-1)


ALL_FUNCTIONS = (Rosenbrock, Beale, Himmelblau, Rastrigin, QuadraticBowl)
