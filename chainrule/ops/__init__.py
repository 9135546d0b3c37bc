"""The ops: primitives, each on one card, and ops composed from them.

A card is a primitive's class (forward, one derivative rule per input, the LaTeX of
both, the checks the tests run) with its public function right below it; the files
group the cards by kind: elementwise.py, binary.py, reduce.py, shape.py,
indexing.py, matmul.py, convolution.py (logic.py holds the non-differentiable
comparisons). Each file's ``__all__`` names its public ops, and this package
exports them all. ``PRIMITIVES`` is read from the registry that every primitive
joins when its class is defined, so no list of them is kept by hand.
"""
import sys

from chainrule.core import tensor as core_tensor
from chainrule.core.primitive import registered_primitives
from chainrule.ops import (  # noqa: F401
    binary, combined, convolution, elementwise, indexing, logic, matmul, matrices, random_draws, reduce, shape, sorting,
)

# Computed before the star imports below, which rebind some of these names (matmul) to functions.
# (convolution's im2col and col2im are the machinery of nn's convolutions: imported, not exported.)
__all__ = (
    binary.__all__ + combined.__all__ + elementwise.__all__ + indexing.__all__ + logic.__all__ + matmul.__all__
    + matrices.__all__ + random_draws.__all__ + reduce.__all__ + shape.__all__ + sorting.__all__
)
from chainrule.ops.binary import *  # noqa: F401,F403  (the names in each file's __all__)
from chainrule.ops.combined import *  # noqa: F401,F403
from chainrule.ops.elementwise import *  # noqa: F401,F403
from chainrule.ops.indexing import *  # noqa: F401,F403
from chainrule.ops.logic import *  # noqa: F401,F403
from chainrule.ops.matmul import *  # noqa: F401,F403
from chainrule.ops.matrices import *  # noqa: F401,F403
from chainrule.ops.random_draws import *  # noqa: F401,F403
from chainrule.ops.reduce import *  # noqa: F401,F403
from chainrule.ops.shape import *  # noqa: F401,F403
from chainrule.ops.sorting import *  # noqa: F401,F403
# Doors for Tensor's methods (x[i], x.to(...)), not ops a user calls by name:
from chainrule.ops.indexing import getitem, index_put_add, normalize_index  # noqa: F401
from chainrule.ops.combined import windows  # noqa: F401  (Tensor.unfold; torch has no function of that name)
from chainrule.ops.logic import NON_DIFFERENTIABLE  # noqa: F401
from chainrule.ops.shape import astype, to_device  # noqa: F401

PRIMITIVES = registered_primitives("chainrule.ops.")

# Tensor's methods (x + y, x.sum(), ...) call the functions of this package: hand it to core,
# which may not import a room above it (see core/tensor.py).
core_tensor.connect_ops(sys.modules[__name__])
