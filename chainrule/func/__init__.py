"""Function transforms (torch.func / JAX style) and numerical gradient checks.

    grad, value_and_grad, vjp, jvp, jacrev, jacfwd, jacobian, hessian, hvp
    gradcheck, gradgradcheck
"""
from chainrule.func.gradcheck import GradcheckError, gradcheck, gradgradcheck
from chainrule.func.pytree import tree_flatten, tree_unflatten
from chainrule.func.transforms import grad, hessian, hvp, jacfwd, jacobian, jacrev, jvp, value_and_grad, vjp

__all__ = [
    "grad", "value_and_grad", "vjp", "jvp", "jacrev", "jacfwd", "jacobian", "hessian", "hvp",
    "gradcheck", "gradgradcheck", "GradcheckError", "tree_flatten", "tree_unflatten",
]
