"""chainrule: a deep learning library built from the math up.

    import chainrule as cr
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    (x ** 2).sum().backward()      # x.grad == 2x

Tensors record the ops applied to them; ``backward()`` applies the chain rule in
reverse (core/autograd.py). Function transforms live in ``chainrule.func``.
"""
import sys

from chainrule.core import autograd
from chainrule import func  # noqa: E402  (function transforms: chainrule.func.grad, ...)
from chainrule.core.anomaly import AnomalyError, AnomalyWarning, detect_anomaly, is_anomaly_enabled
from chainrule.core.creation import (
    arange, as_tensor, empty, empty_like, eye, from_numpy, full, full_like, linspace, logspace, ones,
    ones_like, rand, rand_like, randint, randint_like, randn, randn_like, randperm, zeros, zeros_like,
)
from chainrule.core.device import device, get_default_device, set_default_device
from chainrule.core.dtypes import (
    bool_, double, finfo, float16, float32, float64, get_default_dtype, half, iinfo, int8, int16, int32, int64, long,
    promote_types, set_default_dtype, uint8,
)
from chainrule.core.grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from chainrule.core.random import (
    Generator, default_generator, get_rng_state, initial_seed, manual_seed, seed, set_rng_state,
)
from chainrule.core.tensor import Tensor, tensor
from chainrule.ops import *  # noqa: F401,F403  (every public op: the __all__ of each file in chainrule/ops)
from chainrule.ops.torch_keywords import *  # noqa: F401,F403  (the same ops taking PyTorch's out= and axis=)
from chainrule.core.size import Size, inference_mode, numel  # noqa: F401

bool = bool_  # noqa: A001  (PyTorch spells it chainrule.bool)
float = float32  # noqa: A001
int = int32  # noqa: A001

__version__ = "0.1.0"

from chainrule import calculus, explain, information, linalg, nn, optim, probability, stats  # noqa: E402  (they build on the names above)
# torch.conv2d, torch.pixel_shuffle, ...: the nn.functional functions whose torch-level twins take the same arguments.
from chainrule.nn.functional import (  # noqa: E402,F401
    adaptive_avg_pool1d, avg_pool1d, celu, channel_shuffle, conv1d, conv2d, conv_transpose1d, conv_transpose2d,
    cosine_similarity, group_norm, hardshrink, layer_norm, max_pool1d, max_pool1d_with_indices, max_pool2d,
    pairwise_distance, pixel_shuffle, pixel_unshuffle, prelu, rms_norm, selu, threshold,
)
from chainrule.io.dlpack import from_dlpack  # noqa: E402,F401  (DLPack: zero-copy from torch, NumPy, CuPy)
from chainrule import accelerator, cuda  # noqa: E402,F401  (is there a GPU? CuPy's, honestly answered)
from chainrule.io.serialization import load, save  # noqa: E402,F401  (safetensors + JSON, never pickle)
from chainrule import data, utils  # noqa: E402,F401  (chainrule.utils.data is torch.utils.data's name for chainrule.data)


def __getattr__(name):
    """A name chainrule lacks: the error says whether PyTorch has it (core/porting.py)."""
    from chainrule.core.porting import missing_attribute
    raise missing_attribute("chainrule", name, sys.modules[__name__])

