"""Fused optimizer steps: one pass over each parameter, the twins of the ``update`` methods in optim/.

Each ``*_loop`` is the element-by-element form of one optimizer's NumPy ``update``, in the
same order of operations, each operation rounded to the array's dtype as NumPy rounds it:
the scalars arrive already cast to that dtype (NumPy casts a Python float to float32 before
a float32 ufunc, NEP 50), and no operation is fused (numba does not contract ``a*b + c``
into an FMA unless asked for fast math). So the twin equals its reference bit for bit
(tests/test_kernels_optim.py). The NumPy ``update`` makes about twelve passes over memory;
the loop reads each element once and writes it once.

An argument an option does not use (``max_exp_avg_sq`` without amsgrad) receives the
parameter itself, so every kernel has one signature per dtype and compiles twice at most.

Example:
    >>> import numpy
    >>> from chainrule.kernels.optim import sgd_step
    >>> p, g = numpy.ones(3, numpy.float32), numpy.full(3, 2.0, numpy.float32)
    >>> sgd_step(p, g, None, maximize=False, weight_decay=0.0, momentum=0.0, dampening=0.0, nesterov=False,
    ...          first_step=False, lr=0.25)
    >>> p.tolist()                       # θ ← θ − ηg
    [0.5, 0.5, 0.5]
"""
import numpy

from chainrule.kernels import Kernel

__all__ = ["adam_step", "nadam_step", "radam_step", "adamax_step", "rmsprop_step", "adagrad_step", "adadelta_step",
           "sgd_step", "lion_step"]


# The Adam-family loops repeat their first lines (decay, g, m, v) on purpose: a compiled loop can
# call only other compiled functions, and these are compiled lazily (numba is imported on first
# use), so a shared helper would need a second, hidden compile path. Each loop instead reads
# top to bottom as its optimizer's formula.


def _flat(array):
    """A 1-d view of a C-contiguous array (no copy), so one compiled signature fits every shape."""
    return array.reshape(-1)


def adam_loop(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, maximize, weight_decay, decouple, decay_factor,
              amsgrad, beta1, one_minus_beta1, beta2, one_minus_beta2, eps_scaled, step_size):
    """Twin of ``Adam.update`` (optim/adam.py, with ``AdamFamily``'s decay and moments): θ ← θ − s·m/(√v̂ + ε')."""
    for i in range(param.size):
        p = param[i]
        if decouple:
            p = p * decay_factor                         # θ ← (1 − ηλ)θ
        g = grad[i]
        if maximize:
            g = -g
        if weight_decay != 0:
            g = g + p * weight_decay                     # g ← g + λθ
        m = exp_avg[i] * beta1 + g * one_minus_beta1     # m ← β₁m + (1 − β₁)g
        v = exp_avg_sq[i] * beta2 + (g * g) * one_minus_beta2   # v ← β₂v + (1 − β₂)g²
        exp_avg[i] = m
        exp_avg_sq[i] = v
        if amsgrad:                                      # v̂ ← max(v̂, v), NaN propagating as numpy.maximum
            running_max = max_exp_avg_sq[i]
            if not (running_max != running_max or running_max >= v):
                running_max = v
            max_exp_avg_sq[i] = running_max
            v = running_max
        param[i] = p - (m / (numpy.sqrt(v) + eps_scaled)) * step_size


def nadam_loop(param, grad, exp_avg, exp_avg_sq, maximize, weight_decay, decouple, decay_factor,
               beta1, one_minus_beta1, beta2, one_minus_beta2, grad_coefficient, momentum_coefficient, eps_scaled):
    """Twin of ``NAdam.update`` (optim/nadam.py): θ ← θ − (a·g + b·m)/(√v + ε')."""
    for i in range(param.size):
        p = param[i]
        if decouple:
            p = p * decay_factor
        g = grad[i]
        if maximize:
            g = -g
        if weight_decay != 0:
            g = g + p * weight_decay
        m = exp_avg[i] * beta1 + g * one_minus_beta1
        v = exp_avg_sq[i] * beta2 + (g * g) * one_minus_beta2
        exp_avg[i] = m
        exp_avg_sq[i] = v
        numerator = g * grad_coefficient + m * momentum_coefficient
        param[i] = p - numerator / (numpy.sqrt(v) + eps_scaled)


def radam_loop(param, grad, exp_avg, exp_avg_sq, maximize, weight_decay, decouple, decay_factor,
               beta1, one_minus_beta1, beta2, one_minus_beta2, rectified, eps, coefficient):
    """Twin of ``RAdam.update`` (optim/radam.py): θ ← θ − c·m/(√v + ε) (rectified) or θ − c·m (warm-up)."""
    for i in range(param.size):
        p = param[i]
        if decouple:
            p = p * decay_factor
        g = grad[i]
        if maximize:
            g = -g
        if weight_decay != 0:
            g = g + p * weight_decay
        m = exp_avg[i] * beta1 + g * one_minus_beta1
        v = exp_avg_sq[i] * beta2 + (g * g) * one_minus_beta2
        exp_avg[i] = m
        exp_avg_sq[i] = v
        if rectified:
            param[i] = p - (m / (numpy.sqrt(v) + eps)) * coefficient
        else:
            param[i] = p - m * coefficient


def adamax_loop(param, grad, exp_avg, exp_inf, maximize, weight_decay, beta1, one_minus_beta1, beta2, eps,
                step_size):
    """Twin of ``Adamax.update`` (optim/adamax.py): u ← max(β₂u, |g| + ε), θ ← θ − s·m/u."""
    for i in range(param.size):
        p = param[i]
        g = grad[i]
        if maximize:
            g = -g
        if weight_decay != 0:
            g = g + p * weight_decay                     # g ← g + λθ
        m = exp_avg[i] * beta1 + g * one_minus_beta1     # m ← β₁m + (1 − β₁)g
        decayed = exp_inf[i] * beta2
        bound = numpy.abs(g) + eps
        if decayed >= bound or decayed != decayed:       # max(β₂u, |g| + ε), NaN propagating as numpy.maximum
            u = decayed
        else:
            u = bound
        exp_avg[i] = m
        exp_inf[i] = u
        param[i] = p - (m / u) * step_size


def rmsprop_loop(param, grad, square_avg, grad_avg, momentum_buffer, maximize, weight_decay, alpha, one_minus_alpha,
                 centered, use_momentum, momentum, eps, lr):
    """Twin of ``RMSprop.update`` (optim/rmsprop.py): θ ← θ − η·g/(√ṽ + ε), through a momentum buffer if μ > 0."""
    for i in range(param.size):
        p = param[i]
        g = grad[i]
        if maximize:
            g = -g
        if weight_decay != 0:
            g = g + p * weight_decay
        v = square_avg[i] * alpha + (g * g) * one_minus_alpha      # v ← αv + (1 − α)g²
        square_avg[i] = v
        if centered:
            mean = grad_avg[i] * alpha + g * one_minus_alpha       # ḡ ← αḡ + (1 − α)g
            grad_avg[i] = mean
            root = numpy.sqrt(v - mean * mean)
        else:
            root = numpy.sqrt(v)
        scaled = g / (root + eps)
        if use_momentum:
            buffer = momentum_buffer[i] * momentum + scaled        # b ← μb + g/(√ṽ + ε)
            momentum_buffer[i] = buffer
            param[i] = p - buffer * lr
        else:
            param[i] = p - scaled * lr


def adagrad_loop(param, grad, sum_of_squares, maximize, weight_decay, eps, decayed_lr):
    """Twin of ``Adagrad.update`` (optim/adagrad.py): s ← s + g², θ ← θ − η̃·g/(√s + ε)."""
    for i in range(param.size):
        p = param[i]
        g = grad[i]
        if maximize:
            g = -g
        if weight_decay != 0:
            g = g + p * weight_decay
        s = sum_of_squares[i] + g * g
        sum_of_squares[i] = s
        param[i] = p - (g / (numpy.sqrt(s) + eps)) * decayed_lr


def adadelta_loop(param, grad, square_avg, acc_delta, maximize, weight_decay, rho, one_minus_rho, eps, lr):
    """Twin of ``Adadelta.update`` (optim/adadelta.py): Δ = √(u + ε)/√(v + ε)·g, θ ← θ − η·Δ."""
    for i in range(param.size):
        p = param[i]
        g = grad[i]
        if maximize:
            g = -g
        if weight_decay != 0:
            g = g + p * weight_decay
        v = square_avg[i] * rho + (g * g) * one_minus_rho         # v ← ρv + (1 − ρ)g²
        square_avg[i] = v
        delta = (numpy.sqrt(acc_delta[i] + eps) / numpy.sqrt(v + eps)) * g
        acc_delta[i] = acc_delta[i] * rho + (delta * delta) * one_minus_rho   # u ← ρu + (1 − ρ)Δ²
        param[i] = p - delta * lr


def sgd_loop(param, grad, momentum_buffer, maximize, weight_decay, use_momentum, first_step, momentum,
             dampening, one_minus_dampening, nesterov, lr):
    """Twin of ``SGD.update`` (optim/sgd.py): b ← μb + (1 − τ)g (b₁ = g), θ ← θ − η·d."""
    for i in range(param.size):
        p = param[i]
        g = grad[i]
        if maximize:
            g = -g
        if weight_decay != 0:
            g = g + p * weight_decay
        direction = g
        if use_momentum:
            if first_step:
                buffer = g
            elif dampening == 0:
                buffer = momentum_buffer[i] * momentum + g
            else:
                buffer = momentum_buffer[i] * momentum + g * one_minus_dampening
            momentum_buffer[i] = buffer
            if nesterov:
                direction = buffer * momentum + g
            else:
                direction = buffer
        param[i] = p - direction * lr


def lion_loop(param, grad, exp_avg, maximize, decouple, decay_factor, beta1, one_minus_beta1, beta2,
              one_minus_beta2, lr):
    """Twin of ``Lion.update`` (optim/lion.py): θ ← (1 − ηλ)θ − η·sign(β₁m + (1 − β₁)g), m ← β₂m + (1 − β₂)g."""
    for i in range(param.size):
        p = param[i]
        g = grad[i]
        if maximize:
            g = -g
        m = exp_avg[i]
        c = m * beta1 + g * one_minus_beta1              # c = β₁m + (1 − β₁)g
        # η·sign(c) as NumPy rounds it: ±η, +0 for c = ±0 (c − c is +0 either way; numpy.sign(−0.0) is +0), NaN for NaN.
        if c > 0:
            direction = lr
        elif c < 0:
            direction = -lr
        elif c == 0:
            direction = c - c
        else:
            direction = c
        if decouple:
            p = p * decay_factor                         # θ ← (1 − ηλ)θ
        param[i] = p - direction
        exp_avg[i] = m * beta2 + g * one_minus_beta2     # m ← β₂m + (1 − β₂)g


_adam = Kernel(adam_loop)
_nadam = Kernel(nadam_loop)
_radam = Kernel(radam_loop)
_adamax = Kernel(adamax_loop)
_rmsprop = Kernel(rmsprop_loop)
_adagrad = Kernel(adagrad_loop)
_adadelta = Kernel(adadelta_loop)
_sgd = Kernel(sgd_loop)
_lion = Kernel(lion_loop)


def _decay(param, lr, weight_decay, decoupled):
    """(coupled λ, decouple?, 1 − ηλ) in the dtype of ``param``, as ``AdamFamily._decayed_grad`` applies them."""
    cast = param.dtype.type
    decouple = bool(decoupled and weight_decay != 0)
    coupled = 0.0 if decoupled else weight_decay
    return cast(coupled), decouple, cast(1 - lr * weight_decay)


def adam_step(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, *, maximize, weight_decay, decoupled, lr,
              beta1, beta2, eps_scaled, step_size):
    """One fused Adam/AdamW step in place; ``eps_scaled`` = ε√c₂ and ``step_size`` = η√c₂/c₁ as ``Adam.update`` computes them."""
    cast = param.dtype.type
    coupled, decouple, decay_factor = _decay(param, lr, weight_decay, decoupled)
    amsgrad = max_exp_avg_sq is not None
    running_max = _flat(max_exp_avg_sq) if amsgrad else _flat(param)
    _adam(_flat(param), _flat(grad), _flat(exp_avg), _flat(exp_avg_sq), running_max, bool(maximize), coupled,
          decouple, decay_factor, amsgrad, cast(beta1), cast(1 - beta1), cast(beta2), cast(1 - beta2),
          cast(eps_scaled), cast(step_size))


def nadam_step(param, grad, exp_avg, exp_avg_sq, *, maximize, weight_decay, decoupled, lr, beta1, beta2,
               grad_coefficient, momentum_coefficient, eps_scaled):
    """One fused NAdam step in place, with the coefficients ``NAdam.update`` computes."""
    cast = param.dtype.type
    coupled, decouple, decay_factor = _decay(param, lr, weight_decay, decoupled)
    _nadam(_flat(param), _flat(grad), _flat(exp_avg), _flat(exp_avg_sq), bool(maximize), coupled, decouple,
           decay_factor, cast(beta1), cast(1 - beta1), cast(beta2), cast(1 - beta2), cast(grad_coefficient),
           cast(momentum_coefficient), cast(eps_scaled))


def radam_step(param, grad, exp_avg, exp_avg_sq, *, maximize, weight_decay, decoupled, lr, beta1, beta2,
               rectified, eps, coefficient):
    """One fused RAdam step in place; ``coefficient`` is the rectified or the warm-up step size of ``RAdam.update``."""
    cast = param.dtype.type
    coupled, decouple, decay_factor = _decay(param, lr, weight_decay, decoupled)
    _radam(_flat(param), _flat(grad), _flat(exp_avg), _flat(exp_avg_sq), bool(maximize), coupled, decouple,
           decay_factor, cast(beta1), cast(1 - beta1), cast(beta2), cast(1 - beta2), bool(rectified), cast(eps),
           cast(coefficient))


def adamax_step(param, grad, exp_avg, exp_inf, *, maximize, weight_decay, beta1, beta2, eps, step_size):
    """One fused Adamax step in place; ``step_size`` = η/(1 − β₁ᵗ) as ``Adamax.update`` computes it."""
    cast = param.dtype.type
    _adamax(_flat(param), _flat(grad), _flat(exp_avg), _flat(exp_inf), bool(maximize), cast(weight_decay),
            cast(beta1), cast(1 - beta1), cast(beta2), cast(eps), cast(step_size))


def rmsprop_step(param, grad, square_avg, grad_avg, momentum_buffer, *, maximize, weight_decay, alpha, momentum,
                 eps, lr):
    """One fused RMSprop step in place; ``grad_avg`` is None unless centered, ``momentum_buffer`` None unless μ > 0."""
    cast = param.dtype.type
    centered, use_momentum = grad_avg is not None, momentum_buffer is not None
    _rmsprop(_flat(param), _flat(grad), _flat(square_avg), _flat(grad_avg if centered else param),
             _flat(momentum_buffer if use_momentum else param), bool(maximize), cast(weight_decay), cast(alpha),
             cast(1 - alpha), centered, use_momentum, cast(momentum), cast(eps), cast(lr))


def adagrad_step(param, grad, sum_of_squares, *, maximize, weight_decay, eps, decayed_lr):
    """One fused Adagrad step in place, with the decayed learning rate ``Adagrad.update`` computes."""
    cast = param.dtype.type
    _adagrad(_flat(param), _flat(grad), _flat(sum_of_squares), bool(maximize), cast(weight_decay), cast(eps),
             cast(decayed_lr))


def adadelta_step(param, grad, square_avg, acc_delta, *, maximize, weight_decay, rho, eps, lr):
    """One fused Adadelta step in place."""
    cast = param.dtype.type
    _adadelta(_flat(param), _flat(grad), _flat(square_avg), _flat(acc_delta), bool(maximize), cast(weight_decay),
              cast(rho), cast(1 - rho), cast(eps), cast(lr))


def sgd_step(param, grad, momentum_buffer, *, maximize, weight_decay, momentum, dampening, nesterov, first_step, lr):
    """One fused SGD step in place; ``momentum_buffer`` is None without momentum, and is set to g on ``first_step``."""
    cast = param.dtype.type
    use_momentum = momentum_buffer is not None
    _sgd(_flat(param), _flat(grad), _flat(momentum_buffer if use_momentum else param), bool(maximize),
         cast(weight_decay), use_momentum, bool(first_step), cast(momentum), cast(dampening), cast(1 - dampening),
         bool(nesterov), cast(lr))


def lion_step(param, grad, exp_avg, *, maximize, weight_decay, lr, beta1, beta2):
    """One fused Lion step in place, its weight decay decoupled (θ ← (1 − ηλ)θ) as ``Lion.update`` applies it."""
    cast = param.dtype.type
    _lion(_flat(param), _flat(grad), _flat(exp_avg), bool(maximize), weight_decay != 0, cast(1 - lr * weight_decay),
          cast(beta1), cast(1 - beta1), cast(beta2), cast(1 - beta2), cast(lr))
