"""The Tensor: an array, and (when it requires grad) its place in the graph.

A tensor holds ``array``, an array of the array module ``xp`` (NumPy, or CuPy on
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

    __slots__ = ("array", "requires_grad", "_grad", "_op", "_inputs", "_params", "_retains_grad", "name", "_trace", "_hooks", "__weakref__")
    __array_priority__ = 1000  # so that ndarray + Tensor defers to Tensor.__radd__

    def __init__(self, data, dtype=None, requires_grad=False):
        """Wrap ``data`` (an array, used without a copy, or anything ``tensor()`` accepts)."""
        if isinstance(data, Tensor):
            data = data.array
        if not hasattr(data, "dtype") or dtype is not None:
            data = tensor(data, dtype=dtype).array
        self.array = data
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
        t.array = array
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
    # ``array`` (a slot) is the raw NumPy or CuPy array: the library's ops read it.
    # ``data`` is PyTorch's: a Tensor sharing that array, outside the graph, so that a
    # ported script's ``p.data.add_(...)`` or ``p.data -= lr * p.grad`` updates ``p``.
    @property
    def data(self):
        """This tensor's values as a new tensor sharing the same array, detached from the graph.

        As in PyTorch, ``x.data`` never requires grad and changing it in place changes ``x``
        without the autograd walk seeing it (prefer ``with cr.no_grad():``, which does).
        ``x.array`` is the raw NumPy/CuPy array itself.

        Example:
            >>> import chainrule as cr
            >>> w = cr.tensor([1.0, 2.0], requires_grad=True)
            >>> w.data.mul_(10)                # in place on w's values
            tensor([10., 20.])
            >>> w
            tensor([10., 20.], requires_grad=True)
        """
        return Tensor._wrap(self.array)

    @data.setter
    def data(self, value):
        if isinstance(value, Tensor):
            value = value.array
        elif not (isinstance(value, numpy.ndarray) or is_cupy_array(value)):
            raise TypeError(f"Tensor.data: assigned data must be a Tensor (or an array of the tensor's "
                            f"array module), got {type(value).__name__}; wrap it with chainrule.tensor(...)")
        self.array = value

    @property
    def xp(self):
        """The array module of ``array``: numpy, or cupy for a tensor on a GPU."""
        return array_module(self.array)

    @property
    def shape(self):
        return self.array.shape   # already a tuple, for NumPy and CuPy alike

    @property
    def dtype(self):
        return self.array.dtype

    @property
    def ndim(self):
        return self.array.ndim

    @property
    def device(self):
        """Where the data lives: ``device(type='cpu')`` for NumPy data, ``device(type='cuda', index=N)`` for CuPy's."""
        return device_of(self.array)

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
        return int(self.array.size)

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def element_size(self):
        return self.array.itemsize

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
        return Tensor._wrap(self.array)

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
        return self.array if self.device == "cpu" else self.array.get()

    def __array__(self, dtype=None, copy=None):
        array = numpy.asarray(self.array if self.device == "cpu" else self.array.get())
        return array if dtype is None else array.astype(dtype)

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self.numel() != 1:
            raise ValueError(f"item(): only one-element tensors can be converted to a Python scalar, got shape {self.shape}")
        return self.array.reshape(()).item()

    def tolist(self):
        return self.array.tolist()

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

    # Identity, as for any object (== is elementwise, so it cannot be equality), and read from C
    # without a Python call: the backward walk keys its dicts and sets by tensor.
    __hash__ = object.__hash__

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
        other = other.array if isinstance(other, Tensor) else other
        getattr(self.array, method)(other)
        return self

    def __setitem__(self, index, value):
        """In-place assignment, allowed only where no gradient is being tracked."""
        if self.requires_grad and is_grad_enabled():
            raise RuntimeError(
                "setitem: in-place assignment into a tensor that requires grad would corrupt its gradient; "
                "wrap it in `with chainrule.no_grad():`, or build a new tensor with chainrule.where / index_put"
            )
        self.array[ops.normalize_index(index)] = value.array if isinstance(value, Tensor) else value

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
        self.array[...] = 0
        return self

    def fill_(self, value):
        self._check_inplace("fill_")
        self.array[...] = value
        return self

    def copy_(self, source):
        self._check_inplace("copy_")
        self.array[...] = source.array if isinstance(source, Tensor) else source
        return self

    def add_(self, other, alpha=1):
        self._check_inplace("add_")
        other = other.array if isinstance(other, Tensor) else other
        self.array += other if alpha == 1 else alpha * other
        return self

    def mul_(self, other):
        self._check_inplace("mul_")
        self.array *= other.array if isinstance(other, Tensor) else other
        return self

    def sub_(self, other, alpha=1):
        return self.add_(other, alpha=-alpha)

    def div_(self, other):
        self._check_inplace("div_")
        self.array /= other.array if isinstance(other, Tensor) else other
        return self

    def clamp_(self, min=None, max=None):
        self._check_inplace("clamp_")
        self.xp.clip(self.array, min, max, out=self.array)
        return self

    def uniform_(self, a=0.0, b=1.0, generator=None):
        from chainrule.core.random import default_generator
        self._check_inplace("uniform_")
        self.array[...] = (generator or default_generator()).uniform(self.shape, a, b, self.dtype, self.xp)
        return self

    def normal_(self, mean=0.0, std=1.0, generator=None):
        from chainrule.core.random import default_generator
        self._check_inplace("normal_")
        self.array[...] = (generator or default_generator()).normal(self.shape, mean, std, self.dtype, self.xp)
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
    @numpy_keywords
    def squeeze(self, dim=None): return ops.squeeze(self, dim)
    @numpy_keywords
    def unsqueeze(self, dim): return ops.unsqueeze(self, dim)
    def expand(self, *shape): return ops.expand(self, _shape_args(shape))
    def expand_as(self, other): return ops.expand(self, other.shape)
    def broadcast_to(self, shape): return ops.expand(self, shape)
    def repeat(self, *repeats): return ops.repeat(self, _shape_args(repeats))
    def flip(self, dims): return ops.flip(self, dims)
    def roll(self, shifts, dims=None): return ops.roll(self, shifts, dims)
    def split(self, split_size_or_sections, dim=0): return ops.split(self, split_size_or_sections, dim)
    @numpy_keywords
    def chunk(self, chunks, dim=0): return ops.chunk(self, chunks, dim)
    @numpy_keywords
    def unbind(self, dim=0): return ops.unbind(self, dim)
    @numpy_keywords
    def gather(self, dim, index): return ops.gather(self, dim, index)
    @numpy_keywords
    def scatter_add(self, dim, index, src): return ops.scatter_add(self, dim, index, src)
    @numpy_keywords
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
    def mean(self, dim=None, keepdim=False, dtype=None): return ops.mean(self, dim, keepdim, dtype=dtype)
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
    @numpy_keywords
    def sort(self, dim=-1, descending=False, stable=False): return ops.sort(self, dim, descending, stable)
    @numpy_keywords
    def argsort(self, dim=-1, descending=False, stable=False): return ops.argsort(self, dim, descending, stable)
    @numpy_keywords
    def topk(self, k, dim=-1, largest=True, sorted=True): return ops.topk(self, k, dim, largest, sorted)
    def trace(self): return ops.trace(self)
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

    # ----- more of PyTorch's methods: other names, fused forms, and in-place twins (ops/combined.py) -----
    def absolute(self): return ops.abs(self)
    def arcsin(self): return ops.asin(self)
    def arccos(self): return ops.acos(self)
    def arctan(self): return ops.atan(self)
    def atan2(self, other): return ops.atan2(self, other)
    def arctan2(self, other): return ops.atan2(self, other)
    def trunc(self): return ops.trunc(self)
    def fix(self): return ops.trunc(self)
    def frac(self): return ops.frac(self)
    def sgn(self): return ops.sign(self)
    def negative(self): return ops.neg(self)
    def positive(self): return self
    def exp2(self): return ops.exp2(self)
    def lgamma(self): return ops.lgamma(self)
    def digamma(self): return ops.digamma(self)
    def polygamma(self, n): return ops.polygamma(n, self)
    def erfinv(self): return ops.erfinv(self)
    def logit(self, eps=None): return ops.logit(self, eps)
    def deg2rad(self): return ops.deg2rad(self)
    def rad2deg(self): return ops.rad2deg(self)
    def multiply(self, other): return ops.mul(self, other)
    def subtract(self, other, alpha=1): return ops.subtract(self, other, alpha=alpha)
    def divide(self, other, *, rounding_mode=None): return ops.div(self, other, rounding_mode=rounding_mode)
    def true_divide(self, other): return ops.div(self, other)
    def floor_divide(self, other): return ops.floor_divide(self, other)
    def remainder(self, other): return ops.remainder(self, other)
    def logaddexp(self, other): return ops.logaddexp(self, other)
    def xlogy(self, other): return ops.xlogy(self, other)
    def hypot(self, other): return ops.hypot(self, other)
    def dist(self, other, p=2): return ops.dist(self, other, p)
    def lerp(self, end, weight): return ops.lerp(self, end, weight)
    def addmm(self, mat1, mat2, *, beta=1, alpha=1): return ops.addmm(self, mat1, mat2, beta=beta, alpha=alpha)
    def addbmm(self, batch1, batch2, *, beta=1, alpha=1): return ops.addbmm(self, batch1, batch2, beta=beta, alpha=alpha)
    def baddbmm(self, batch1, batch2, *, beta=1, alpha=1): return ops.baddbmm(self, batch1, batch2, beta=beta, alpha=alpha)
    def addmv(self, mat, vec, *, beta=1, alpha=1): return ops.addmv(self, mat, vec, beta=beta, alpha=alpha)
    def addr(self, vec1, vec2, *, beta=1, alpha=1): return ops.addr(self, vec1, vec2, beta=beta, alpha=alpha)
    def addcmul(self, tensor1, tensor2, *, value=1): return ops.addcmul(self, tensor1, tensor2, value=value)
    def addcdiv(self, tensor1, tensor2, *, value=1): return ops.addcdiv(self, tensor1, tensor2, value=value)
    def mv(self, vec): return ops.mv(self, vec)
    def outer(self, vec2): return ops.outer(self, vec2)
    def ger(self, vec2): return ops.outer(self, vec2)
    def clamp_min(self, min): return ops.clamp(self, min=min)
    def clamp_max(self, max): return ops.clamp(self, max=max)
    def greater(self, other): return ops.gt(self, other)
    def greater_equal(self, other): return ops.ge(self, other)
    def less(self, other): return ops.lt(self, other)
    def less_equal(self, other): return ops.le(self, other)
    def not_equal(self, other): return ops.ne(self, other)
    def logical_and(self, other): return ops.logical_and(self, other)
    def logical_or(self, other): return ops.logical_or(self, other)
    def logical_xor(self, other): return ops.logical_xor(self, other)
    def logical_not(self): return ops.logical_not(self)
    def isclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False): return ops.isclose(self, other, rtol, atol, equal_nan)
    def allclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False): return ops.allclose(self, other, rtol, atol, equal_nan)
    def equal(self, other): return ops.equal(self, other)
    def count_nonzero(self, dim=None): return ops.count_nonzero(self, dim)
    def nonzero(self, *, as_tuple=False): return ops.nonzero(self, as_tuple=as_tuple)
    def argwhere(self): return ops.argwhere(self)
    def masked_select(self, mask): return ops.masked_select(self, mask)
    def take_along_dim(self, indices, dim=None): return ops.take_along_dim(self, indices, dim)
    def repeat_interleave(self, repeats, dim=None, *, output_size=None): return ops.repeat_interleave(self, repeats, dim)
    def narrow(self, dim, start, length): return ops.narrow(self, dim, start, length)
    def select(self, dim, index): return ops.select(self, dim, index)
    def tile(self, *dims): return ops.tile(self, _shape_args(dims))
    def rot90(self, k=1, dims=(0, 1)): return ops.rot90(self, k, dims)
    def fliplr(self): return ops.fliplr(self)
    def flipud(self): return ops.flipud(self)
    def diff(self, n=1, dim=-1, prepend=None, append=None): return ops.diff(self, n, dim, prepend, append)
    def unfold(self, dimension, size, step): return ops.windows(self, dimension, size, step)
    def swapdims(self, dim0, dim1): return ops.transpose(self, dim0, dim1)
    def movedim(self, source, destination): return ops.movedim(self, source, destination)
    def moveaxis(self, source, destination): return ops.movedim(self, source, destination)
    def ravel(self): return ops.flatten(self)
    def type_as(self, other): return self.to(other.dtype)
    def ndimension(self): return self.ndim
    def nelement(self): return self.numel()
    def is_contiguous(self, memory_format=None): return True   # chainrule has no strided views to report on
    def is_complex(self): return self.dtype.kind == "c"
    def is_signed(self): return self.dtype.kind in "fic"
    def is_same_size(self, other): return self.shape == other.shape
    def get_device(self): return -1 if self.device.type == "cpu" else self.device.index
    @property
    def is_cpu(self): return self.device.type == "cpu"
    @property
    def is_cuda(self): return self.device.type == "cuda"
    @property
    def nbytes(self): return int(self.array.nbytes)
    @property
    def itemsize(self): return int(self.array.itemsize)
    @property
    def retains_grad(self): return self._retains_grad

    def index_add(self, dim, index, source, *, alpha=1): return ops.index_add(self, dim, index, source, alpha=alpha)
    def index_copy(self, dim, index, source): return ops.index_copy(self, dim, index, source)
    def index_fill(self, dim, index, value): return ops.index_fill(self, dim, index, value)
    def byte(self): return self.to(dtypes.uint8)
    def char(self): return self.to(dtypes.int8)
    def short(self): return self.to(dtypes.int16)

    def _assign(self, name, result):
        """Write ``result`` into this tensor: ``x.exp_()`` is ``x.exp()`` written over x, with PyTorch's checks.

        chainrule records no in-place op in the graph: where grad mode is on and this tensor or an
        operand requires grad, the in-place form refuses (the out-of-place one records).
        """
        self._check_inplace(name)
        if result.requires_grad and is_grad_enabled():
            raise RuntimeError(f"{name}: an operand requires grad, and chainrule records no in-place op; write "
                               f"y = x.{name[:-1]}(...) instead, or wrap it in `with chainrule.no_grad():`")
        if result.shape != self.shape:
            raise RuntimeError(f"{name}: the result has shape {result.shape}, which does not fit in place into this "
                               f"tensor of shape {self.shape}; use the out-of-place x.{name[:-1]}(...)")
        if _KIND_ORDER[result.dtype.kind] > _KIND_ORDER[self.dtype.kind]:
            raise RuntimeError(f"{name}: result type {result.dtype} can't be cast to this tensor's dtype "
                               f"{self.dtype}; convert first, e.g. x = x.to({result.dtype})")
        self.array[...] = result.array
        return self

    def abs_(self): return self._assign("abs_", ops.abs(self))
    def absolute_(self): return self._assign("absolute_", ops.abs(self))
    def neg_(self): return self._assign("neg_", ops.neg(self))
    def negative_(self): return self._assign("negative_", ops.neg(self))
    def exp_(self): return self._assign("exp_", ops.exp(self))
    def exp2_(self): return self._assign("exp2_", ops.exp2(self))
    def expm1_(self): return self._assign("expm1_", ops.expm1(self))
    def log_(self): return self._assign("log_", ops.log(self))
    def log2_(self): return self._assign("log2_", ops.log2(self))
    def log10_(self): return self._assign("log10_", ops.log10(self))
    def log1p_(self): return self._assign("log1p_", ops.log1p(self))
    def sqrt_(self): return self._assign("sqrt_", ops.sqrt(self))
    def rsqrt_(self): return self._assign("rsqrt_", ops.rsqrt(self))
    def square_(self): return self._assign("square_", ops.square(self))
    def reciprocal_(self): return self._assign("reciprocal_", ops.reciprocal(self))
    def sin_(self): return self._assign("sin_", ops.sin(self))
    def cos_(self): return self._assign("cos_", ops.cos(self))
    def tan_(self): return self._assign("tan_", ops.tan(self))
    def asin_(self): return self._assign("asin_", ops.asin(self))
    def acos_(self): return self._assign("acos_", ops.acos(self))
    def atan_(self): return self._assign("atan_", ops.atan(self))
    def arcsin_(self): return self._assign("arcsin_", ops.asin(self))
    def arccos_(self): return self._assign("arccos_", ops.acos(self))
    def arctan_(self): return self._assign("arctan_", ops.atan(self))
    def sinh_(self): return self._assign("sinh_", ops.sinh(self))
    def cosh_(self): return self._assign("cosh_", ops.cosh(self))
    def tanh_(self): return self._assign("tanh_", ops.tanh(self))
    def sigmoid_(self): return self._assign("sigmoid_", ops.sigmoid(self))
    def relu_(self): return self._assign("relu_", ops.relu(self))
    def erf_(self): return self._assign("erf_", ops.erf(self))
    def erfinv_(self): return self._assign("erfinv_", ops.erfinv(self))
    def lgamma_(self): return self._assign("lgamma_", ops.lgamma(self))
    def digamma_(self): return self._assign("digamma_", ops.digamma(self))
    def logit_(self, eps=None): return self._assign("logit_", ops.logit(self, eps))
    def floor_(self): return self._assign("floor_", ops.floor(self))
    def ceil_(self): return self._assign("ceil_", ops.ceil(self))
    def round_(self): return self._assign("round_", ops.round(self))
    def trunc_(self): return self._assign("trunc_", ops.trunc(self))
    def fix_(self): return self._assign("fix_", ops.trunc(self))
    def frac_(self): return self._assign("frac_", ops.frac(self))
    def sign_(self): return self._assign("sign_", ops.sign(self))
    def sgn_(self): return self._assign("sgn_", ops.sign(self))
    def deg2rad_(self): return self._assign("deg2rad_", ops.deg2rad(self))
    def rad2deg_(self): return self._assign("rad2deg_", ops.rad2deg(self))
    def pow_(self, exponent): return self._assign("pow_", ops.pow(self, exponent))
    def multiply_(self, other): return self._assign("multiply_", ops.mul(self, other))
    def subtract_(self, other, alpha=1): return self._assign("subtract_", ops.subtract(self, other, alpha=alpha))
    def divide_(self, other, *, rounding_mode=None): return self._assign("divide_", ops.div(self, other, rounding_mode=rounding_mode))
    def true_divide_(self, other): return self._assign("true_divide_", ops.div(self, other))
    def floor_divide_(self, other): return self._assign("floor_divide_", ops.floor_divide(self, other))
    def remainder_(self, other): return self._assign("remainder_", ops.remainder(self, other))
    def atan2_(self, other): return self._assign("atan2_", ops.atan2(self, other))
    def arctan2_(self, other): return self._assign("arctan2_", ops.atan2(self, other))
    def xlogy_(self, other): return self._assign("xlogy_", ops.xlogy(self, other))
    def hypot_(self, other): return self._assign("hypot_", ops.hypot(self, other))
    def lerp_(self, end, weight): return self._assign("lerp_", ops.lerp(self, end, weight))
    def addcmul_(self, tensor1, tensor2, *, value=1): return self._assign("addcmul_", ops.addcmul(self, tensor1, tensor2, value=value))
    def addcdiv_(self, tensor1, tensor2, *, value=1): return self._assign("addcdiv_", ops.addcdiv(self, tensor1, tensor2, value=value))
    def addmm_(self, mat1, mat2, *, beta=1, alpha=1): return self._assign("addmm_", ops.addmm(self, mat1, mat2, beta=beta, alpha=alpha))
    def addbmm_(self, batch1, batch2, *, beta=1, alpha=1): return self._assign("addbmm_", ops.addbmm(self, batch1, batch2, beta=beta, alpha=alpha))
    def baddbmm_(self, batch1, batch2, *, beta=1, alpha=1): return self._assign("baddbmm_", ops.baddbmm(self, batch1, batch2, beta=beta, alpha=alpha))
    def addmv_(self, mat, vec, *, beta=1, alpha=1): return self._assign("addmv_", ops.addmv(self, mat, vec, beta=beta, alpha=alpha))
    def addr_(self, vec1, vec2, *, beta=1, alpha=1): return self._assign("addr_", ops.addr(self, vec1, vec2, beta=beta, alpha=alpha))
    def clamp_min_(self, min): return self._assign("clamp_min_", ops.clamp(self, min=min))
    def clamp_max_(self, max): return self._assign("clamp_max_", ops.clamp(self, max=max))
    def clip_(self, min=None, max=None): return self._assign("clip_", ops.clamp(self, min, max))
    def masked_fill_(self, mask, value): return self._assign("masked_fill_", ops.masked_fill(self, mask, value))
    def tril_(self, diagonal=0): return self._assign("tril_", ops.tril(self, diagonal))
    def triu_(self, diagonal=0): return self._assign("triu_", ops.triu(self, diagonal))
    def eq_(self, other): return self._assign("eq_", ops.eq(self, other))
    def ne_(self, other): return self._assign("ne_", ops.ne(self, other))
    def lt_(self, other): return self._assign("lt_", ops.lt(self, other))
    def le_(self, other): return self._assign("le_", ops.le(self, other))
    def gt_(self, other): return self._assign("gt_", ops.gt(self, other))
    def ge_(self, other): return self._assign("ge_", ops.ge(self, other))
    def logical_and_(self, other): return self._assign("logical_and_", ops.logical_and(self, other))
    def logical_or_(self, other): return self._assign("logical_or_", ops.logical_or(self, other))
    def logical_xor_(self, other): return self._assign("logical_xor_", ops.logical_xor(self, other))
    def logical_not_(self): return self._assign("logical_not_", ops.logical_not(self))
    def scatter_add_(self, dim, index, src): return self._assign("scatter_add_", ops.scatter_add(self, dim, index, src))
    def index_add_(self, dim, index, source, *, alpha=1): return self._assign("index_add_", ops.index_add(self, dim, index, source, alpha=alpha))
    def index_copy_(self, dim, index, source): return self._assign("index_copy_", ops.index_copy(self, dim, index, source))
    def index_fill_(self, dim, index, value): return self._assign("index_fill_", ops.index_fill(self, dim, index, value))

    # Random fills, in place, from chainrule's seeded generator (each by its inverse CDF from a uniform draw).
    def _uniform_draws(self, name, generator):
        from chainrule.core.random import default_generator
        self._check_inplace(name)
        if not dtypes.is_floating(self.dtype) and name not in ("bernoulli_", "random_", "geometric_"):
            raise RuntimeError(f"{name}: needs a floating-point tensor, this one is {self.dtype}")
        return (generator or default_generator()).uniform(self.shape, 0.0, 1.0, numpy.float64, self.xp)

    def bernoulli_(self, p=0.5, *, generator=None):
        """1 with probability ``p`` (a number or a tensor of probabilities), else 0, in place.

        Example:
            >>> import chainrule as cr
            >>> _ = cr.manual_seed(0)
            >>> sorted(set(cr.empty(100).bernoulli_(0.3).tolist()))
            [0.0, 1.0]
        """
        p = p.array if isinstance(p, Tensor) else p
        self.array[...] = self._uniform_draws("bernoulli_", generator) < p
        return self

    def bernoulli(self, p=None, *, generator=None):
        """A new tensor of 0/1 draws, 1 with probability given by this tensor's values (or ``p``).

        Example:
            >>> import chainrule as cr
            >>> cr.tensor([0.0, 1.0]).bernoulli().tolist()
            [0.0, 1.0]
        """
        return Tensor._wrap(self.xp.zeros_like(self.array)).bernoulli_(self if p is None else p, generator=generator)

    def exponential_(self, lambd=1.0, *, generator=None):
        """Exponential draws of rate λ, in place: x = −log(1 − u)/λ.

        Example:
            >>> import chainrule as cr
            >>> bool((cr.empty(50).exponential_(2.0) >= 0).all())
            True
        """
        self.array[...] = -self.xp.log1p(-self._uniform_draws("exponential_", generator)) / lambd
        return self

    def geometric_(self, p, *, generator=None):
        """Geometric draws (trials up to the first success, from 1), in place: x = ⌈log(1 − u)/log(1 − p)⌉.

        Example:
            >>> import chainrule as cr
            >>> bool((cr.empty(50).geometric_(0.5) >= 1).all())
            True
        """
        u = self._uniform_draws("geometric_", generator)
        self.array[...] = self.xp.maximum(self.xp.ceil(self.xp.log1p(-u) / numpy.log1p(-p)), 1)
        return self

    def log_normal_(self, mean=1.0, std=2.0, *, generator=None):
        """Log-normal draws, in place: x = exp(μ + σ z), z standard normal.

        Example:
            >>> import chainrule as cr
            >>> bool((cr.empty(50).log_normal_() > 0).all())
            True
        """
        self.normal_(mean, std, generator=generator)
        self.array[...] = self.xp.exp(self.array)
        return self

    def cauchy_(self, median=0.0, sigma=1.0, *, generator=None):
        """Cauchy draws, in place: x = median + σ tan(π(u − ½)).

        Example:
            >>> import chainrule as cr
            >>> cr.empty(3).cauchy_().shape
            (3,)
        """
        u = self._uniform_draws("cauchy_", generator)
        self.array[...] = median + sigma * self.xp.tan(numpy.pi * (u - 0.5))
        return self

    def random_(self, from_=0, to=None, *, generator=None):
        """Integers drawn uniformly from [from, to), in place (``random_(to)`` draws from [0, to)).

        Example:
            >>> import chainrule as cr
            >>> values = cr.empty(100).random_(3, 6).tolist()
            >>> min(values) >= 3 and max(values) <= 5
            True
        """
        from chainrule.core.random import default_generator
        self._check_inplace("random_")
        low, high = (0, from_) if to is None else (from_, to)
        if to is None and from_ == 0:
            raise ValueError("random_: give the upper bound, random_(to) or random_(from, to); chainrule has no "
                             "default range (PyTorch's is the whole range of the dtype)")
        self.array[...] = (generator or default_generator()).integers(low, high, self.shape, numpy.int64, self.xp)
        return self

    def scatter_(self, dim, index, src=None, value=None):
        """``self[index[i][j]][j] = src[i][j]`` (for dim 0; likewise along any ``dim``), in place; ``value=`` a number for all.

        Where ``index`` repeats a position, one of the writes wins (which one is unspecified, as in PyTorch).

        Example:
            >>> import chainrule as cr
            >>> cr.zeros(2, 3).scatter_(0, cr.tensor([[1, 0, 1]]), cr.tensor([[5.0, 6.0, 7.0]]))
            tensor([[0., 6., 0.],
                    [5., 0., 7.]])
        """
        self._check_inplace("scatter_")
        if (src is None) == (value is None):
            raise TypeError("scatter_: give the values to write as src= (a tensor) or value= (a number), one of them")
        index = index if isinstance(index, Tensor) else tensor(index)
        if index.dtype.kind not in "iu" or index.ndim != self.ndim:
            raise RuntimeError(f"scatter_: index must be an integer tensor with {self.ndim} dims like this tensor "
                               f"(shape {self.shape}), got {index.dtype} of shape {index.shape}")
        if isinstance(src, Tensor):
            if src.requires_grad and is_grad_enabled():
                raise RuntimeError("scatter_: src requires grad, and chainrule records no in-place op; wrap it in "
                                   "`with chainrule.no_grad():`")
            values = src.array[tuple(slice(0, n) for n in index.shape)]
        else:
            values = value if src is None else src
        # PyTorch reads index's extent in the other dims as the region to write: NumPy's put_along_axis
        # needs index to span the whole array there, so it is given that region (a view) instead.
        dim %= self.ndim
        region = tuple(slice(None) if d == dim else slice(0, n) for d, n in enumerate(index.shape))
        self.xp.put_along_axis(self.array[region], index.array, values, axis=dim)
        return self

    def fill_diagonal_(self, fill_value, wrap=False):
        """Write ``fill_value`` on the main diagonal (all dims the same length, or a tall matrix with ``wrap``), in place.

        Example:
            >>> import chainrule as cr
            >>> cr.zeros(2, 2).fill_diagonal_(3.0)
            tensor([[3., 0.],
                    [0., 3.]])
        """
        self._check_inplace("fill_diagonal_")
        if self.ndim < 2 or (self.ndim > 2 and len(set(self.shape)) != 1):
            raise RuntimeError(f"fill_diagonal_: needs at least 2 dims, all of the same length beyond 2, got {self.shape}")
        self.xp.fill_diagonal(self.array, fill_value, wrap=wrap)
        return self

    # ----- DLPack: share memory with NumPy, PyTorch, CuPy (chainrule.from_dlpack is the other way) ---------
    def __dlpack__(self, **kwargs):
        """A DLPack capsule of ``data`` (zero-copy): ``torch.from_dlpack(x)`` and ``numpy.from_dlpack(x)`` call it."""
        if self.requires_grad:
            raise RuntimeError("__dlpack__: can't export a tensor that requires grad (its graph would not "
                               "follow it); use tensor.detach()")
        return self.array.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        """(device type, device id) of ``data`` as DLPack numbers them: (1, 0) for the CPU, (2, n) for CUDA device n."""
        return self.array.__dlpack_device__()


# Kinds of dtype in PyTorch's order of promotion: an in-place result may be written into a tensor of its kind or a later one.
_KIND_ORDER = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}


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
        data = data.array
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

