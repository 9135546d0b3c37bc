r"""Loss landscapes: the loss along lines and planes through parameter space.

With the trained parameters θ* (flattened) and directions d₁, d₂,

    f(α) = L(θ* + α d₁)              (a 1-D slice)
    f(α, β) = L(θ* + α d₁ + β d₂)     (a 2-D slice, drawn as contours).

Random directions must be scaled to the network, or the picture depends on the
parameterization (a ReLU net computes the same function with a filter scaled up
and the next layer scaled down). Li et al. (2018), "Visualizing the Loss
Landscape of Neural Nets", normalize per filter: each filter d_i (a row of a
weight, the slice along its first axis) is rescaled to ‖d_i‖ = ‖θ_i‖, and the
directions of biases are set to zero. Other useful directions are the Hessian's
top eigenvectors (the sharpest lines through θ*) and the principal components
of the optimizer's path, whose plane contains most of that path.
"""
import numpy

from chainrule.core import dtypes
from chainrule.core.grad_mode import no_grad
from chainrule.core.random import Generator
from chainrule.core.tensor import tensor
from chainrule.linalg import svd


def _parameters(model):
    return [p for p in model.parameters() if p.requires_grad]


def parameter_vector(model):
    """All trainable parameters as one flat float64 NumPy array (a copy), in ``model.parameters()`` order.

    θ = (vec W₁, vec b₁, vec W₂, …): the point of parameter space the landscape is drawn around.

    Example:
        >>> import chainrule.nn as nn
        >>> from chainrule.explain import parameter_vector
        >>> theta = parameter_vector(nn.Linear(3, 2))        # 2·3 weights, then 2 biases
        >>> theta.shape, str(theta.dtype)
        ((8,), 'float64')
    """
    return numpy.concatenate([numpy.asarray(p.array, dtype=numpy.float64).ravel() for p in _parameters(model)])


def set_parameter_vector(model, vector):
    """Write a flat vector back into the model's parameters (in place); the inverse of ``parameter_vector``.

    Example:
        >>> import chainrule.nn as nn
        >>> from chainrule.explain import parameter_vector, set_parameter_vector
        >>> model = nn.Linear(2, 1)
        >>> set_parameter_vector(model, [1.0, 2.0, 3.0])
        >>> model.weight.tolist(), model.bias.tolist(), parameter_vector(model).tolist()
        ([[1.0, 2.0]], [3.0], [1.0, 2.0, 3.0])
    """
    vector = numpy.asarray(vector)
    offset = 0
    with no_grad():
        for p in _parameters(model):
            size = p.numel()
            if offset + size > vector.size:
                raise ValueError(f"set_parameter_vector: the vector has {vector.size} entries, the model needs more")
            p.array[...] = vector[offset:offset + size].reshape(p.shape)
            offset += size
    if offset != vector.size:
        raise ValueError(f"set_parameter_vector: the vector has {vector.size} entries, the model has {offset}")


def random_direction(model, generator=None, filter_normalize=True, ignore_biases=True):
    """A Gaussian direction in parameter space, filter-normalized as in Li et al. (2018).

    For each weight with two or more axes, every filter (slice along axis 0) of
    the direction is rescaled to the norm of the same filter of the weight; 1-D
    parameters (biases, norm scales) get a zero direction (or, with
    ``ignore_biases=False``, one rescaled to their norm). Returns a flat array.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> model = nn.Linear(3, 2)
        >>> d = random_direction(model, cr.Generator().manual_seed(0))
        >>> W = model.weight.detach().numpy()
        >>> import numpy; bool(numpy.allclose(numpy.linalg.norm(d[:6].reshape(2, 3), axis=1), numpy.linalg.norm(W, axis=1)))
        True
        >>> d[6:].tolist()                                  # the bias direction is zero
        [0.0, 0.0]
    """
    generator = generator or Generator().manual_seed(0)
    pieces = []
    for p in _parameters(model):
        weight = numpy.asarray(p.array, dtype=numpy.float64)
        direction = generator.normal(weight.shape, 0.0, 1.0, numpy.float64)
        if filter_normalize:
            if weight.ndim >= 2:
                rows_w = weight.reshape(weight.shape[0], -1)
                rows_d = direction.reshape(weight.shape[0], -1)
                scale = numpy.linalg.norm(rows_w, axis=1) / numpy.maximum(numpy.linalg.norm(rows_d, axis=1), 1e-12)
                direction = (rows_d * scale[:, None]).reshape(weight.shape)
            elif ignore_biases:
                direction = numpy.zeros_like(weight)
            else:
                direction = direction * numpy.linalg.norm(weight) / max(numpy.linalg.norm(direction), 1e-12)
        pieces.append(direction.ravel())
    return numpy.concatenate(pieces)


def _loss_at(model, loss_fn, batch, vector):
    set_parameter_vector(model, vector)
    inputs, targets = batch
    with no_grad():
        return float(loss_fn(model(inputs), targets).item())


def loss_slice_1d(model, loss_fn, batch, direction, alphas):
    """f(α) = L(θ* + α d) for each α; the model's parameters are restored afterwards.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> model = nn.Linear(1, 1, bias=False)
        >>> with cr.no_grad():
        ...     _ = model.weight.fill_(0.0)
        >>> batch = (cr.tensor([[1.0], [2.0]]), cr.tensor([[0.0], [0.0]]))
        >>> loss_slice_1d(model, nn.MSELoss(), batch, [1.0], [-1.0, 0.0, 2.0]).tolist()   # mean((αx)²) = 2.5α²
        [2.5, 0.0, 10.0]
    """
    center = parameter_vector(model)
    direction = numpy.asarray(direction, dtype=numpy.float64)
    try:
        return numpy.array([_loss_at(model, loss_fn, batch, center + a * direction) for a in alphas])
    finally:
        set_parameter_vector(model, center)


def loss_surface_2d(model, loss_fn, batch, direction1, direction2, alphas, betas):
    """f(α, β) = L(θ* + α d₁ + β d₂) on the grid, shape (len(betas), len(alphas)) (rows are β, for contour plots).

    The model's parameters are restored afterwards.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> from chainrule.explain import loss_surface_2d, set_parameter_vector
        >>> model, batch = nn.Linear(2, 1, bias=False), (cr.eye(2), cr.zeros(2, 1))   # L(w) = (w₁² + w₂²)/2
        >>> set_parameter_vector(model, [0.0, 0.0])
        >>> loss_surface_2d(model, nn.MSELoss(), batch, [1.0, 0.0], [0.0, 1.0], [-1.0, 0.0, 1.0], [0.0, 2.0]).tolist()
        [[0.5, 0.0, 0.5], [2.5, 2.0, 2.5]]
    """
    center = parameter_vector(model)
    d1 = numpy.asarray(direction1, dtype=numpy.float64)
    d2 = numpy.asarray(direction2, dtype=numpy.float64)
    try:
        return numpy.array([[_loss_at(model, loss_fn, batch, center + a * d1 + b * d2) for a in alphas]
                            for b in betas])
    finally:
        set_parameter_vector(model, center)


def project_path(path, center, direction1, direction2):
    """Coordinates (α, β) of each point of ``path`` (a list of flat parameter vectors) in the plane
    center + α d₁ + β d₂, by least squares (exact for points in the plane). Returns shape (len(path), 2).

    (α, β) = argmin ‖θ − center − α d₁ − β d₂‖ for each point θ of the path.

    Example:
        >>> import numpy as np
        >>> from chainrule.explain import project_path
        >>> path = [np.array([1.0, 2.0, 0.0]), np.array([0.5, 0.0, 0.0])]
        >>> project_path(path, np.zeros(3), [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]).tolist()
        [[1.0, 2.0], [0.5, 0.0]]
    """
    basis = numpy.stack([numpy.asarray(direction1, dtype=numpy.float64), numpy.asarray(direction2, dtype=numpy.float64)], 1)
    offsets = numpy.stack([numpy.asarray(p, dtype=numpy.float64) - center for p in path], 1)
    coordinates, *_ = numpy.linalg.lstsq(basis, offsets, rcond=None)
    return coordinates.T


def path_directions(path, center):
    """The two principal directions of the path's offsets θ_k − θ* (unit vectors), and the fraction of
    the offsets' variance they capture: the plane that shows an optimizer's trajectory best.

    Computed from ``chainrule.linalg.svd`` of the offsets, uncentered, so that the plane goes through θ*:
    with the offsets as rows, D = U S Vᵀ, the directions are the first two rows of Vᵀ and the
    fraction is (s₁² + s₂²) / Σᵢ sᵢ². (Each direction's sign is arbitrary.)

    Example:
        >>> import numpy as np
        >>> from chainrule.explain import path_directions
        >>> path = [np.array([2.0, 0.0, 0.0]), np.array([1.0, 0.0, 0.0]), np.array([0.0, 0.5, 0.0])]
        >>> d1, d2, explained = path_directions(path, np.zeros(3))
        >>> np.abs(d1).round(6).tolist(), np.abs(d2).round(6).tolist(), round(explained, 6)   # it lies in the xy-plane
        ([1.0, 0.0, 0.0], [0.0, 1.0, 0.0], 1.0)
    """
    offsets = numpy.stack([numpy.asarray(p, dtype=numpy.float64) - center for p in path])
    _, singular_values, vh = svd(tensor(offsets, dtype=dtypes.float64), full_matrices=False)
    s = numpy.asarray(singular_values.array)
    explained = float((s[:2] ** 2).sum() / max((s ** 2).sum(), 1e-300))
    vh = numpy.asarray(vh.array)
    return vh[0].copy(), vh[1].copy(), explained
