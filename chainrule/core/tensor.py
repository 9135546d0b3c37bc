"""The Tensor: an array, and (when it requires grad) its place in the graph.

A tensor holds ``data``, an array of the array module ``xp`` (NumPy, or CuPy on
a GPU). A tensor made by an op also remembers that op and its inputs, so that
``backward()`` can walk from a result back to the leaves (see core/autograd.py).
The math lives one room up, in ``chainrule.ops``; the methods here are thin, named
doors to it (``x + y`` is ``ops.add(x, y)``: the next file to read is ops/binary.py).
"""
import functools

import numpy

from chainrule.backends import array_module, is_cupy_array
from chainrule.core import dtypes
from chainrule.core.device import array_module_for, device_of, require_cuda, split_to_arguments
from chainrule.core.grad_mode import is_grad_enabled
from chainrule.core.porting import is_missing_name, stand_in_for_missing_names
from chainrule.core.size import Size


# Tensor's methods are doors to the ops (``x + y`` is ``ops.add(x, y)``, which ops/binary.py
# defines next to its primitive ``Add``), but ops is built on core, so core never imports it.
# Instead chainrule/ops/__init__.py hands itself over when it loads (``connect_ops``), and
# ``import chainrule`` (or any ``chainrule.*``) always loads ops first: no arrow points up.
ops = None


def connect_ops(module):
    """Called once, by chainrule/ops/__init__.py: ``module`` is where Tensor's methods find their ops."""
    global ops
    ops = module


def numpy_keywords(method):
    """Let a reduction take NumPy's ``axis=`` and ``keepdims=`` for ``dim=`` and ``keepdim=``, as PyTorch does."""
    @functools.wraps(method)
    def with_numpy_keywords(self, *args, **kwargs):
        for numpy_name, torch_name in (("axis", "dim"), ("keepdims", "keepdim")):
            if numpy_name in kwargs:
                if torch_name in kwargs:
                    raise TypeError(f"{method.__name__}: give {torch_name}= or its alias {numpy_name}=, not both")
                kwargs[torch_name] = kwargs.pop(numpy_name)
        return method(self, *args, **kwargs)
    return with_numpy_keywords


class Tensor:
    """An n-dimensional array that records the operations applied to it.

    Example:
        >>> import chainrule as cr
        >>> x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
        >>> y = (x * x).sum()          # y = Σ xᵢ²
        >>> y.backward()
        >>> x.grad                      # ∂y/∂x = 2x
        tensor([2., 4., 6.])
    """

    __slots__ = ("data", "requires_grad", "_grad", "_op", "_inputs", "_params", "_retains_grad", "name", "_trace", "_hooks", "__weakref__")
    __array_priority__ = 1000  # so that ndarray + Tensor defers to Tensor.__radd__

    def __init__(self, data, dtype=None, requires_grad=False):
        """Wrap ``data`` (an array, used without a copy, or anything ``tensor()`` accepts)."""
        if isinstance(data, Tensor):
            data = data.data
        if not hasattr(data, "dtype") or dtype is not None:
            data = tensor(data, dtype=dtype).data
        self.data = data
        self._grad = None
        self._op = None
        self._inputs = None
        self._params = None
        self._retains_grad = False
        self.name = None
        self._trace = None
        self._hooks = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _wrap(cls, array):
        """A new leaf around an array, without checks or copies (internal fast path)."""
        t = object.__new__(cls)   # Tensor defines no __new__: this is cls.__new__(cls), without the lookup
        t.data = array
        t._grad = None
        t._op = None
        t._inputs = None
        t._params = None
        t._retains_grad = False
        t.name = None
        t._trace = None
        t._hooks = None
        t.requires_grad = False
        return t

    # ----- what it is ---------------------------------------------------------------
    @property
    def array(self):
        """The raw array (NumPy or CuPy) this tensor wraps, shared, not copied."""
        return self.data

    @property
    def xp(self):
        """The array module of ``data``: numpy, or cupy for a tensor on a GPU."""
        return array_module(self.data)

    @property
    def shape(self):
        return self.array.shape   # already a tuple, for NumPy and CuPy alike

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def device(self):
        """Where the data lives: ``device(type='cpu')`` for NumPy data, ``device(type='cuda', index=N)`` for CuPy's."""
        return device_of(self.data)

    @property
    def is_leaf(self):
        """True for tensors made by the user rather than by an op that recorded the graph."""
        return self._op is None

    @property
    def grad_fn(self):
        """The op that made this tensor, with ``name()`` and ``next_functions`` (``None`` for a leaf)."""
        if self._op is None:
            return None
        from chainrule.core.function import GradFn   # core/function.py builds on this file
        return GradFn(self)

    def size(self, dim=None):
        return Size(self.shape) if dim is None else self.shape[dim]

    def dim(self):
        return self.ndim

    def numel(self):
        return int(self.data.size)

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def element_size(self):
        return self.data.itemsize

    # ----- autograd -------------------------------------------------------------------
    @property
    def grad(self):
        """∂L/∂self, filled by ``backward()`` (None until then); assignable, with PyTorch's checks."""
        return self._grad

    @grad.setter
    def grad(self, value):
        # Checked here, as PyTorch checks it, so that a wrong value fails at the assignment
        # rather than deep inside the next backward() or optimizer step.
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(
                    f"assigned grad expected to be a Tensor or None but got grad of type {type(value).__name__}; "
                    "to clear it write x.grad = None, to zero it x.grad.zero_(), for a constant "
                    "x.grad = chainrule.full_like(x, value)"
                )
            if value.shape != self.shape:
                raise RuntimeError(f"assigned grad has shape {value.shape} but the tensor has shape {self.shape}; "
                                   "they must match")
            if value.dtype != self.dtype:
                raise RuntimeError(f"assigned grad has dtype {value.dtype} but the tensor has dtype {self.dtype}; "
                                   f"convert it first, e.g. grad.to({self.dtype})")
            if value.device != self.device:
                raise RuntimeError(f"assigned grad is on {value.device} but the tensor is on {self.device}; "
                                   "move it first, e.g. grad.to(x.device)")
        self._grad = value

    def requires_grad_(self, requires_grad=True):
        """Mark this leaf as a variable to differentiate with respect to (in place)."""
        if requires_grad and not dtypes.is_floating(self.dtype):
            raise RuntimeError(
                f"requires_grad: only floating-point tensors can require gradients, but this tensor is "
                f"{self.dtype}; convert it first, e.g. x.float() or x.double()"
            )
        if not requires_grad and self._op is not None:
            raise RuntimeError("requires_grad_(False): only leaves can stop requiring grad; use .detach() instead")
        self.requires_grad = bool(requires_grad)
        return self

    def register_hook(self, hook):
        """Call ``hook(grad)`` when backward has ∂L/∂self; a returned tensor replaces the gradient. Returns a handle.

        Example:
            >>> import chainrule as cr
            >>> x = cr.tensor([1.0, 2.0], requires_grad=True)
            >>> seen = []
            >>> _ = x.register_hook(lambda grad: seen.append(grad.tolist()))
            >>> (3 * x).sum().backward(); seen
            [[3.0, 3.0]]
        """
        from chainrule.core.hooks import add_tensor_hook
        return add_tensor_hook(self, hook)

    def retain_grad(self):
        """Keep ``.grad`` on this non-leaf tensor after ``backward()``."""
        self._retains_grad = True
        return self

    def detach(self):
        """The same data as a new leaf with no history: gradients stop here."""
        return Tensor._wrap(self.data)

    def detach_(self):
        self._op = self._inputs = self._params = None
        self.requires_grad = False
        return self

    def backward(self, gradient=None, retain_graph=None, create_graph=False):
        """Backpropagate from this tensor and add ∂self/∂leaf into every leaf's ``.grad``.

        ``gradient`` is ∂L/∂self (needed unless self is a scalar). The graph's
        saved values are freed afterwards unless ``retain_graph=True``; with
        ``create_graph=True`` the backward pass is itself recorded, so that the
        gradients can be differentiated again.
        """
        from chainrule.core.autograd import _initial_grad, run_backward

        if not self.requires_grad:
            raise RuntimeError(
                f"backward: this tensor (shape {self.shape}) does not require grad and has no grad_fn; "
                "make sure some input was created with requires_grad=True and that no_grad() was not active"
            )
        if retain_graph is None:
            retain_graph = create_graph
        run_backward([self], [_initial_grad(self, gradient, "backward")], retain_graph, create_graph)

    def register_post_accumulate_grad_hook(self, hook):
        """Call ``hook(self)`` each time ``backward()`` has finished adding into this leaf's ``.grad``; as PyTorch.

        The hook sees the final gradient of this backward pass (``self.grad``), may change it
        in place, and must return None. Only leaves that require grad take such hooks;
        ``autograd.grad`` does not run them. Returns a handle whose ``remove()`` unregisters it.

        Example:
            >>> import chainrule as cr
            >>> w = cr.tensor([1.0, 2.0], requires_grad=True)
            >>> handle = w.register_post_accumulate_grad_hook(lambda t: print("final:", t.grad))
            >>> (3 * w).sum().backward()
            final: tensor([3., 3.])
            >>> handle.remove()
        """
        from chainrule.core.autograd import register_post_accumulate_grad_hook

        return register_post_accumulate_grad_hook(self, hook)

    # ----- leaving the tensor world ----------------------------------------------------
    def numpy(self):
        """The data as a NumPy array, sharing memory when the tensor is on the CPU."""
        if self.requires_grad:
            raise RuntimeError("numpy(): can't call numpy() on a tensor that requires grad; use tensor.detach().numpy()")
        return self.data if self.device == "cpu" else self.data.get()

    def __array__(self, dtype=None, copy=None):
        array = self.data if self.device == "cpu" else self.data.get()
        return array if dtype is None else array.astype(dtype)

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self.numel() != 1:
            raise ValueError(f"item(): only one-element tensors can be converted to a Python scalar, got shape {self.shape}")
        return self.data.reshape(()).item()

    def tolist(self):
        return self.data.tolist()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __bool__(self):
        if self.numel() != 1:
            raise RuntimeError(
                f"bool(): the truth value of a tensor with {self.numel()} elements is ambiguous; use .any() or .all()"
            )
        return bool(self.item())

    def __index__(self):
        if self.dtype.kind not in "iub" or self.numel() != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __repr__(self):
        body = numpy.array2string(
            numpy.asarray(self.__array__()), separator=", ", prefix="tensor(", precision=4, threshold=200
        )
        extras = []
        if self.dtype not in (dtypes.get_default_dtype(), numpy.dtype("int64"), numpy.dtype("bool")):
            extras.append(f"dtype={self.dtype}")
        if self.device != "cpu":
            extras.append(f"device='{self.device}'")
        if self._op is not None:
            extras.append(f"grad_fn=<{self._op.name}>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extras) + ")"

    def __hash__(self):
        return id(self)

    def __dir__(self):
        # The PyTorch names chainrule lacks stand on the class only to explain themselves when read (core/porting.py).
        return [name for name in super().__dir__() if not is_missing_name(type(self), name)]

    def __format__(self, spec):
        """``f'{loss:.4f}'`` formats a 0-d tensor's value, as PyTorch does; other tensors take no spec."""
        if self.ndim == 0:
            return self.item().__format__(spec)
        return object.__format__(self, spec)

    # ----- new tensors like this one (its dtype and device unless told otherwise) ---------------------
    def new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
        return self._new("zeros", size, dtype, device, requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad=False):
        return self._new("ones", size, dtype, device, requires_grad)

    def new_empty(self, *size, dtype=None, device=None, requires_grad=False):
        return self._new("empty", size, dtype, device, requires_grad)

    def new_full(self, size, fill_value, dtype=None, device=None, requires_grad=False):
        return self._new("full", (tuple(size), fill_value), dtype, device, requires_grad)

    def new_tensor(self, data, dtype=None, device=None, requires_grad=False):
        return tensor(data, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad)

    def _new(self, maker, args, dtype, device, requires_grad):
        from chainrule.core import creation   # creation builds on this file
        return getattr(creation, maker)(*args, dtype=dtype or self.dtype, device=device or self.device,
                                        requires_grad=requires_grad)

    # ----- dtype and device ------------------------------------------------------------
    def to(self, *args, dtype=None, device=None, non_blocking=False):
        """Convert dtype and/or device: ``x.to(cr.float64)``, ``x.to('cuda')``, ``x.to(cr.device('cpu'), cr.float32)``, ``x.to(other)``.

        Copies are synchronous, so ``non_blocking`` (a hint in PyTorch) changes nothing here.
        """
        target, dtype = split_to_arguments(args, dtype, device)
        out = self
        if target is not None:
            out = _move(out, target)
        if dtype is not None and dtypes.to_dtype(dtype) != out.dtype:
            out = ops.astype(out, dtypes.to_dtype(dtype))
        return out

    def cpu(self):
        return self.to("cpu")

    def cuda(self, device=None, non_blocking=False):
        """This tensor on a GPU (CuPy); a clear error where CUDA is not available."""
        require_cuda("Tensor.cuda()")
        return self.to("cuda" if device is None else _cuda_argument(device))

    def float(self):
        return self.to(dtypes.float32)

    def double(self):
        return self.to(dtypes.float64)

    def half(self):
        return self.to(dtypes.float16)

    def long(self):
        return self.to(dtypes.int64)

    def int(self):
        return self.to(dtypes.int32)

    def bool(self):
        return self.to(dtypes.bool_)

    def type(self, dtype):
        return self.to(dtype)

    def clone(self):
        return ops.clone(self)

    def contiguous(self):
        return self

    def is_floating_point(self):
        return dtypes.is_floating(self.dtype)

    # ----- operators -------------------------------------------------------------------
    def __add__(self, other): return ops.add(self, other)
    def __radd__(self, other): return ops.add(other, self)
    def __sub__(self, other): return ops.sub(self, other)
    def __rsub__(self, other): return ops.sub(other, self)
    def __mul__(self, other): return ops.mul(self, other)
    def __rmul__(self, other): return ops.mul(other, self)
    def __truediv__(self, other): return ops.div(self, other)
    def __rtruediv__(self, other): return ops.div(other, self)
    def __floordiv__(self, other): return ops.floor_divide(self, other)
    def __mod__(self, other): return ops.remainder(self, other)
    def __pow__(self, other): return ops.pow(self, other)
    def __rpow__(self, other): return ops.pow(other, self)
    def __matmul__(self, other): return ops.matmul(self, other)
    def __rmatmul__(self, other): return ops.matmul(other, self)
    def __neg__(self): return ops.neg(self)
    def __pos__(self): return self
    def __abs__(self): return ops.abs(self)
    def __eq__(self, other): return ops.eq(self, other)
    def __ne__(self, other): return ops.ne(self, other)
    def __lt__(self, other): return ops.lt(self, other)
    def __le__(self, other): return ops.le(self, other)
    def __gt__(self, other): return ops.gt(self, other)
    def __ge__(self, other): return ops.ge(self, other)
    def __and__(self, other): return ops.logical_and(self, other)
    def __or__(self, other): return ops.logical_or(self, other)
    def __xor__(self, other): return ops.logical_xor(self, other)
    def __invert__(self): return ops.logical_not(self)
    def __getitem__(self, index): return ops.getitem(self, index)

    # x += y and friends: in place on the data when no graph is being recorded (an
    # optimizer step under no_grad, say); while recording, a non-leaf is rebound to
    # a new tensor instead, and a leaf that requires grad refuses, as in PyTorch.
    def __iadd__(self, other): return self._inplace("__iadd__", ops.add, other)
    def __isub__(self, other): return self._inplace("__isub__", ops.sub, other)
    def __imul__(self, other): return self._inplace("__imul__", ops.mul, other)
    def __itruediv__(self, other): return self._inplace("__itruediv__", ops.div, other)

    def _inplace(self, method, op, other):
        if self.requires_grad and is_grad_enabled():
            if self._op is None:
                raise RuntimeError(
                    f"{method}: a leaf that requires grad is used in an in-place operation; "
                    "wrap the update in `with chainrule.no_grad():`"
                )
            return op(self, other)
        other = other.data if isinstance(other, Tensor) else other
        getattr(self.data, method)(other)
        return self

    def __setitem__(self, index, value):
        """In-place assignment, allowed only where no gradient is being tracked."""
        if self.requires_grad and is_grad_enabled():
            raise RuntimeError(
                "setitem: in-place assignment into a tensor that requires grad would corrupt its gradient; "
                "wrap it in `with chainrule.no_grad():`, or build a new tensor with chainrule.where / index_put"
            )
        self.data[ops.normalize_index(index)] = value.data if isinstance(value, Tensor) else value

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.shape[0]))

    # ----- in place (no graph: for optimizers, initializers and no_grad code) -------------
    def _check_inplace(self, name):
        if self.requires_grad and is_grad_enabled():
            raise RuntimeError(
                f"{name}: a leaf that requires grad is used in an in-place operation; "
                "wrap it in `with chainrule.no_grad():`"
            )

    def zero_(self):
        self._check_inplace("zero_")
        self.data[...] = 0
        return self

    def fill_(self, value):
        self._check_inplace("fill_")
        self.data[...] = value
        return self

    def copy_(self, source):
        self._check_inplace("copy_")
        self.data[...] = source.data if isinstance(source, Tensor) else source
        return self

    def add_(self, other, alpha=1):
        self._check_inplace("add_")
        other = other.data if isinstance(other, Tensor) else other
        self.data += other if alpha == 1 else alpha * other
        return self

    def mul_(self, other):
        self._check_inplace("mul_")
        self.data *= other.data if isinstance(other, Tensor) else other
        return self

    def sub_(self, other, alpha=1):
        return self.add_(other, alpha=-alpha)

    def div_(self, other):
        self._check_inplace("div_")
        self.data /= other.data if isinstance(other, Tensor) else other
        return self

    def clamp_(self, min=None, max=None):
        self._check_inplace("clamp_")
        self.xp.clip(self.data, min, max, out=self.data)
        return self

    def uniform_(self, a=0.0, b=1.0, generator=None):
        from chainrule.core.random import default_generator
        self._check_inplace("uniform_")
        self.data[...] = (generator or default_generator()).uniform(self.shape, a, b, self.dtype, self.xp)
        return self

    def normal_(self, mean=0.0, std=1.0, generator=None):
        from chainrule.core.random import default_generator
        self._check_inplace("normal_")
        self.data[...] = (generator or default_generator()).normal(self.shape, mean, std, self.dtype, self.xp)
        return self

    # ----- shape -----------------------------------------------------------------------
    def reshape(self, *shape): return ops.reshape(self, _shape_args(shape))
    def view(self, *shape): return ops.reshape(self, _shape_args(shape))
    def view_as(self, other): return ops.reshape(self, other.shape)
    def reshape_as(self, other): return ops.reshape(self, other.shape)
    def flatten(self, start_dim=0, end_dim=-1): return ops.flatten(self, start_dim, end_dim)
    def unflatten(self, dim, sizes): return ops.unflatten(self, dim, sizes)
    def permute(self, *dims): return ops.permute(self, _shape_args(dims))
    def transpose(self, dim0, dim1): return ops.transpose(self, dim0, dim1)
    def swapaxes(self, dim0, dim1): return ops.transpose(self, dim0, dim1)
    def t(self): return ops.t(self)
    @property
    def T(self): return ops.permute(self, tuple(reversed(range(self.ndim))))
    @property
    def mT(self): return ops.transpose(self, -2, -1)
    def squeeze(self, dim=None): return ops.squeeze(self, dim)
    def unsqueeze(self, dim): return ops.unsqueeze(self, dim)
    def expand(self, *shape): return ops.expand(self, _shape_args(shape))
    def expand_as(self, other): return ops.expand(self, other.shape)
    def broadcast_to(self, shape): return ops.expand(self, shape)
    def repeat(self, *repeats): return ops.repeat(self, _shape_args(repeats))
    def flip(self, dims): return ops.flip(self, dims)
    def roll(self, shifts, dims=None): return ops.roll(self, shifts, dims)
    def split(self, split_size_or_sections, dim=0): return ops.split(self, split_size_or_sections, dim)
    def chunk(self, chunks, dim=0): return ops.chunk(self, chunks, dim)
    def unbind(self, dim=0): return ops.unbind(self, dim)
    def gather(self, dim, index): return ops.gather(self, dim, index)
    def scatter_add(self, dim, index, src): return ops.scatter_add(self, dim, index, src)
    def index_select(self, dim, index): return ops.index_select(self, dim, index)
    def masked_fill(self, mask, value): return ops.masked_fill(self, mask, value)
    def tril(self, diagonal=0): return ops.tril(self, diagonal)
    def triu(self, diagonal=0): return ops.triu(self, diagonal)
    def diagonal(self, offset=0, dim1=0, dim2=1): return ops.diagonal(self, offset, dim1, dim2)

    # ----- elementwise -------------------------------------------------------------------
    def exp(self): return ops.exp(self)
    def log(self): return ops.log(self)
    def log2(self): return ops.log2(self)
    def log10(self): return ops.log10(self)
    def log1p(self): return ops.log1p(self)
    def expm1(self): return ops.expm1(self)
    def sqrt(self): return ops.sqrt(self)
    def rsqrt(self): return ops.rsqrt(self)
    def square(self): return ops.square(self)
    def abs(self): return ops.abs(self)
    def sign(self): return ops.sign(self)
    def neg(self): return ops.neg(self)
    def reciprocal(self): return ops.reciprocal(self)
    def sin(self): return ops.sin(self)
    def cos(self): return ops.cos(self)
    def tan(self): return ops.tan(self)
    def asin(self): return ops.asin(self)
    def acos(self): return ops.acos(self)
    def atan(self): return ops.atan(self)
    def sinh(self): return ops.sinh(self)
    def cosh(self): return ops.cosh(self)
    def tanh(self): return ops.tanh(self)
    def sigmoid(self): return ops.sigmoid(self)
    def relu(self): return ops.relu(self)
    def erf(self): return ops.erf(self)
    def floor(self): return ops.floor(self)
    def ceil(self): return ops.ceil(self)
    def round(self): return ops.round(self)
    def pow(self, exponent): return ops.pow(self, exponent)
    def clamp(self, min=None, max=None): return ops.clamp(self, min, max)
    def clip(self, min=None, max=None): return ops.clamp(self, min, max)
    def maximum(self, other): return ops.maximum(self, other)
    def minimum(self, other): return ops.minimum(self, other)
    def where(self, condition, other): return ops.where(condition, self, other)
    def isnan(self): return ops.isnan(self)
    def isinf(self): return ops.isinf(self)
    def isfinite(self): return ops.isfinite(self)

    # ----- reductions ------------------------------------------------------------------
    @numpy_keywords
    def sum(self, dim=None, keepdim=False, dtype=None): return ops.sum(self, dim, keepdim, dtype=dtype)
    @numpy_keywords
    def mean(self, dim=None, keepdim=False): return ops.mean(self, dim, keepdim)
    @numpy_keywords
    def var(self, dim=None, keepdim=False, correction=1, unbiased=None): return ops.var(self, dim, keepdim, correction=correction, unbiased=unbiased)
    @numpy_keywords
    def std(self, dim=None, keepdim=False, correction=1, unbiased=None): return ops.std(self, dim, keepdim, correction=correction, unbiased=unbiased)
    @numpy_keywords
    def prod(self, dim=None, keepdim=False): return ops.prod(self, dim, keepdim)
    @numpy_keywords
    def max(self, dim=None, keepdim=False): return ops.max(self, dim, keepdim)
    @numpy_keywords
    def min(self, dim=None, keepdim=False): return ops.min(self, dim, keepdim)
    @numpy_keywords
    def amax(self, dim=None, keepdim=False): return ops.amax(self, dim, keepdim)
    @numpy_keywords
    def amin(self, dim=None, keepdim=False): return ops.amin(self, dim, keepdim)
    @numpy_keywords
    def argmax(self, dim=None, keepdim=False): return ops.argmax(self, dim, keepdim)
    @numpy_keywords
    def argmin(self, dim=None, keepdim=False): return ops.argmin(self, dim, keepdim)
    @numpy_keywords
    def logsumexp(self, dim, keepdim=False): return ops.logsumexp(self, dim, keepdim)
    @numpy_keywords
    def cumsum(self, dim): return ops.cumsum(self, dim)
    def sort(self, dim=-1, descending=False, stable=False): return ops.sort(self, dim, descending, stable)
    def argsort(self, dim=-1, descending=False, stable=False): return ops.argsort(self, dim, descending, stable)
    def topk(self, k, dim=-1, largest=True, sorted=True): return ops.topk(self, k, dim, largest, sorted)
    def trace(self): return ops.trace(self)
    @numpy_keywords
    def norm(self, p=2, dim=None, keepdim=False): return ops.norm(self, p, dim, keepdim)
    @numpy_keywords
    def all(self, dim=None, keepdim=False): return ops.all(self, dim, keepdim)
    @numpy_keywords
    def any(self, dim=None, keepdim=False): return ops.any(self, dim, keepdim)
    @numpy_keywords
    def softmax(self, dim): return ops.softmax(self, dim)
    @numpy_keywords
    def log_softmax(self, dim): return ops.log_softmax(self, dim)

    # ----- linear algebra -------------------------------------------------------------
    def matmul(self, other): return ops.matmul(self, other)
    def mm(self, other): return ops.mm(self, other)
    def bmm(self, other): return ops.bmm(self, other)
    def dot(self, other): return ops.dot(self, other)

    # ----- arithmetic by name --------------------------------------------------------
    def add(self, other, alpha=1): return ops.add(self, other if alpha == 1 else ops.mul(other, alpha))
    def sub(self, other, alpha=1): return ops.sub(self, other if alpha == 1 else ops.mul(other, alpha))
    def mul(self, other): return ops.mul(self, other)
    def div(self, other, *, rounding_mode=None): return ops.div(self, other, rounding_mode=rounding_mode)
    def eq(self, other): return ops.eq(self, other)
    def ne(self, other): return ops.ne(self, other)
    def lt(self, other): return ops.lt(self, other)
    def le(self, other): return ops.le(self, other)
    def gt(self, other): return ops.gt(self, other)
    def ge(self, other): return ops.ge(self, other)

    # ----- DLPack: share memory with NumPy, PyTorch, CuPy (chainrule.from_dlpack is the other way) ---------
    def __dlpack__(self, **kwargs):
        """A DLPack capsule of ``data`` (zero-copy): ``torch.from_dlpack(x)`` and ``numpy.from_dlpack(x)`` call it."""
        if self.requires_grad:
            raise RuntimeError("__dlpack__: can't export a tensor that requires grad (its graph would not "
                               "follow it); use tensor.detach()")
        return self.data.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        """(device type, device id) of ``data`` as DLPack numbers them: (1, 0) for the CPU, (2, n) for CUDA device n."""
        return self.data.__dlpack_device__()


# PyTorch's Tensor names that this one lacks explain themselves when read (instead of a __getattr__, which
# would slow down every attribute read of every tensor: core/porting.py says why).
stand_in_for_missing_names(Tensor, "chainrule.Tensor")


def _cuda_argument(where):
    """``x.cuda(1)`` and ``x.cuda('cuda:1')`` both mean GPU 1."""
    return f"cuda:{where}" if isinstance(where, int) else where


def _move(x, target):
    """``x`` on ``target`` (a chainrule.device), through the ToDevice primitive so the gradient moves back."""
    here = x.device
    if here.type == target.type:
        if target.index is None or target.index == here.index or here.type == "cpu":
            return x
        raise RuntimeError(f"to({str(target)!r}): the tensor is on {here}; chainrule moves tensors between the CPU "
                           f"and a GPU, so go through the CPU: x.cpu().to({str(target)!r})")
    if target.type == "cpu":
        return ops.to_device(x, "cpu")
    cupy = require_cuda(f"to({str(target)!r})")
    gpu = cupy.cuda.runtime.getDevice() if target.index is None else target.index
    with cupy.cuda.Device(gpu):
        return ops.to_device(x, "cuda")


def _shape_args(args):
    """Accept both ``x.reshape(2, 3)`` and ``x.reshape((2, 3))``."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return tuple(args[0])
    return tuple(args)


def tensor(data, dtype=None, requires_grad=False, device=None):
    """Make a tensor from data (nested lists, numbers, NumPy arrays or tensors), copying it.

    Python floats become float32 unless ``dtype`` says otherwise, Python integers
    int64 and booleans bool; a NumPy array keeps its dtype. All as in PyTorch.

    Example:
        >>> import chainrule as cr
        >>> cr.tensor([[1, 2], [3, 4]]).dtype
        dtype('int64')
        >>> cr.tensor([0.5, 1.5], dtype=cr.float64)
        tensor([0.5, 1.5], dtype=float64)
    """
    if isinstance(data, Tensor):
        data = data.data
    xp = array_module(data)
    if device is not None or xp.__name__ != "cupy":
        xp = array_module_for(device, "tensor")      # None: the default device (set_default_device)
    if xp.__name__ == "numpy" and is_cupy_array(data):
        data = data.get()                               # a CuPy array asked onto the CPU
    dtype = dtypes.to_dtype(dtype)
    if dtype is not None:
        array = xp.array(data, dtype=dtype)
    else:
        array = xp.array(data)
        came_as_array = hasattr(data, "dtype")      # an array keeps its dtype, as torch.tensor(ndarray) does
        if array.dtype.kind == "f" and not came_as_array:
            array = array.astype(dtypes.get_default_dtype())  # Python floats → float32, as in PyTorch
        elif array.dtype.kind in "iu" and not came_as_array:
            array = array.astype(numpy.int64)                  # Python ints → int64
        elif array.dtype.kind not in "fiubc":
            raise TypeError(f"tensor: could not turn the data into a numeric array (got {type(data).__name__})")
    return Tensor(array, requires_grad=requires_grad)

