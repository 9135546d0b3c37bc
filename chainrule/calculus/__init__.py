"""Calculus, numerically and by autodiff: derivatives, Taylor polynomials, integrals, limits, Newton.

    forward/backward/central_difference, richardson_derivative,
    optimal_step, find_best_step, numerical_gradient                differences.py
    taylor, TaylorPolynomial                                        taylor.py
    trapezoid, simpson, gauss_legendre, gauss_legendre_nodes,
    adaptive_quadrature, monte_carlo                                integrate.py
    aitken, richardson_limit, estimate_limit, convergence_order     limits.py
    newton_root, newton_minimize                                    newton.py
"""
from chainrule.calculus.differences import (
    backward_difference, central_difference, find_best_step, forward_difference, numerical_gradient, optimal_step,
    richardson_derivative,
)
from chainrule.calculus.integrate import (
    adaptive_quadrature, gauss_legendre, gauss_legendre_nodes, monte_carlo, simpson, trapezoid,
)
from chainrule.calculus.limits import aitken, convergence_order, estimate_limit, richardson_limit
from chainrule.calculus.newton import newton_minimize, newton_root
from chainrule.calculus.taylor import TaylorPolynomial, taylor

__all__ = [
    "forward_difference", "backward_difference", "central_difference", "richardson_derivative",
    "optimal_step", "find_best_step", "numerical_gradient", "taylor", "TaylorPolynomial",
    "trapezoid", "simpson", "gauss_legendre", "gauss_legendre_nodes", "adaptive_quadrature", "monte_carlo",
    "aitken", "richardson_limit", "estimate_limit", "convergence_order", "newton_root", "newton_minimize",
]
