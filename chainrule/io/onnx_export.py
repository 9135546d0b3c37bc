"""ONNX export: run the model once, walk the graph chainrule recorded, write one ONNX node (or a short
fixed pattern) per primitive.

Every tensor a primitive makes already remembers its op, its inputs and the op's params
(docs/design.md, "the tensors are the graph"), so export is a walk from the outputs back to
the inputs, parents first, with a small converter per primitive (``PRIMITIVE_CONVERTERS``).

Three things the recorded graph cannot say on its own, and how export learns them:

* **Layers whose primitives have no ONNX form** (convolution and pooling run on im2col,
  the recurrent layers on fused sequence primitives) and activations whose masks are
  computed from the data (``where(x > 0, ...)``: the comparison is not recorded). Their
  calls are watched during the run, and each becomes its ONNX op (Conv, MaxPool, LSTM,
  LeakyRelu, ...) from the layer's own settings (``MODULE_CONVERTERS``).
* **detach()**: softmax shifts by a detached max; the detached leaf is the same value, so
  export follows it back to the tensor it came from.
* **The batch axis**: the example input's axis 0 (or the one ``dynamic_axes`` names) is
  followed through every node, so reshapes keep it symbolic and the file runs at any batch size.

Parameters and buffers become initializers named by their ``state_dict`` keys; other leaves
are constants. A primitive with no ONNX form is an error naming it and the module it ran in.
"""
import math

import numpy

from chainrule.core.files import atomic_write
from chainrule.core.grad_mode import enable_grad
from chainrule.core.tensor import Tensor
from chainrule.io.onnx_common import DEFAULT_OPSET, MIN_OPSET, onnx_elem_type, require_onnx
from chainrule.nn import activation, conv, linear, normalization, pooling, rnn
from chainrule.nn.module import Module


class OnnxExportError(ValueError):
    """The model holds something ONNX export cannot write (the message names the op and the module)."""


# ==============================================================================================
# the graph being built
# ==============================================================================================


class _Graph:
    """ONNX nodes, initializers and names, and the batch axis of every value written so far."""

    def __init__(self, opset):
        self.onnx = require_onnx()
        self.opset = opset
        self.nodes = []
        self.initializers = []
        self.names = {}          # id(tensor) -> ONNX value name
        self.batch_axes = {}     # id(tensor) -> axis of the batch in that value, or None
        self.state_names = {}    # id(parameter or buffer) -> its state_dict key
        self._used = set()
        self._counter = 0

    def fresh(self, hint):
        self._counter += 1
        name = f"{hint}_{self._counter}"
        self._used.add(name)
        return name

    def unique(self, name):
        """``name`` itself if no value has it yet (a layer called twice gets a numbered second copy)."""
        return name if name not in self._used else self.fresh(name)

    def node(self, op_type, inputs, outputs=1, **attributes):
        """Append a node; returns its output name (or the list of names when ``outputs`` > 1)."""
        names = [self.fresh(op_type) for _ in range(outputs)] if isinstance(outputs, int) else list(outputs)
        attributes = {key: value for key, value in attributes.items() if value is not None}
        self.nodes.append(self.onnx.helper.make_node(op_type, list(inputs), names, **attributes))
        return names[0] if len(names) == 1 else names

    def constant(self, array, hint="constant", name=None):
        """An initializer holding ``array`` (copied to the host if it is a CuPy array); returns its name."""
        if hasattr(array, "get"):
            array = array.get()
        name = name or self.fresh(hint)
        self._used.add(name)
        # asarray, not ascontiguousarray: that one turns a 0-d array (a scalar index) into shape (1,).
        self.initializers.append(self.onnx.numpy_helper.from_array(numpy.asarray(array, order="C"), name))
        return name

    def ints(self, values, hint="shape"):
        return self.constant(numpy.asarray(values, dtype=numpy.int64), hint)

    def reduce(self, op_type, x, axes, keepdims):
        """A Reduce* node: its axes are an input from opset 18 on (13 for ReduceSum), an attribute before."""
        axes_as_input = self.opset >= 18 or op_type == "ReduceSum"
        if axes is None:
            return self.node(op_type, [x], keepdims=int(keepdims))
        if axes_as_input:
            return self.node(op_type, [x, self.ints(list(axes), "axes")], keepdims=int(keepdims))
        return self.node(op_type, [x], axes=list(axes), keepdims=int(keepdims))


def _broadcast_axis(out, inputs, axes):
    """Where the batch axis lands in ``out`` when ``inputs`` broadcast together (None if none holds it)."""
    for tensor, axis in zip(inputs, axes):
        if axis is not None:
            return axis + out.ndim - tensor.ndim
    return None


# ==============================================================================================
# primitive converters: (graph, out, inputs, input names, input batch axes, params) -> (name, batch axis)
# ==============================================================================================


def _elementwise(op_type):
    def convert(g, out, inputs, names, axes, params):
        return g.node(op_type, names), _broadcast_axis(out, inputs, axes)
    convert.__name__ = f"convert_{op_type}"
    return convert


def _log1p(g, out, inputs, names, axes, params):
    one = g.constant(numpy.ones((), dtype=out.dtype), "one")
    return g.node("Log", [g.node("Add", [names[0], one])]), axes[0]


def _expm1(g, out, inputs, names, axes, params):
    one = g.constant(numpy.ones((), dtype=out.dtype), "one")
    return g.node("Sub", [g.node("Exp", names), one]), axes[0]


def _where(g, out, inputs, names, axes, params):
    condition = numpy.asarray(params["condition"])
    axis = _broadcast_axis(out, inputs, axes)
    aligned = None if axis is None else axis - (out.ndim - condition.ndim)    # the condition's dim at the batch axis
    if aligned is not None and aligned >= 0 and condition.shape[aligned] == out.shape[axis] > 1:
        raise OnnxExportError(
            f"where: its condition (shape {condition.shape}) holds one value per sample, computed from the data "
            "by a comparison that chainrule does not record; ONNX would freeze it at the example's values"
        )
    return g.node("Where", [g.constant(condition, "condition"), names[0], names[1]]), axis


def _clamp(g, out, inputs, names, axes, params):
    low = "" if params["low"] is None else g.constant(numpy.asarray(params["low"], dtype=out.dtype), "min")
    high = "" if params["high"] is None else g.constant(numpy.asarray(params["high"], dtype=out.dtype), "max")
    return g.node("Clip", [names[0], low, high]), axes[0]


def _affine(g, out, inputs, names, axes, params):
    x = inputs[0]
    if x.ndim == 2:
        return g.node("Gemm", names, transB=1), axes[0]
    product = g.node("MatMul", [names[0], g.node("Transpose", [names[1]], perm=[1, 0])])
    if len(names) == 3:
        product = g.node("Add", [product, names[2]])
    return product, axes[0]


def _matmul(g, out, inputs, names, axes, params):
    """x @ y keeps the batch where it is a stacking dim, a row of x or a column of y; it may not be contracted."""
    axis = None
    for side, (tensor, batch) in enumerate(zip(inputs, axes)):
        if batch is None:
            continue
        contracted = tensor.ndim - 1 if side == 0 else max(tensor.ndim - 2, 0)
        if batch == contracted:
            raise OnnxExportError(f"matmul: the batch axis {batch} of the {'left' if side == 0 else 'right'} operand "
                                  f"(shape {tensor.shape}) is summed over")
        if tensor.ndim >= 2 and batch == tensor.ndim - 2 + side:          # x's rows or y's columns
            axis = out.ndim - 2 + side if inputs[1 - side].ndim >= 2 else out.ndim - 1
        else:                                                             # a leading (stacking) dim
            axis = batch + out.ndim - tensor.ndim
    return g.node("MatMul", names), axis


def _reshape(g, out, inputs, names, axes, params):
    source, axis = inputs[0], axes[0]
    target = list(out.shape)
    if axis is None:
        return g.node("Reshape", [names[0], g.ints(target)]), None
    # The batch dim must survive whole: the same number of elements before it and after it.
    before = math.prod(source.shape[:axis])
    after = math.prod(source.shape[axis + 1:])
    for position, size in enumerate(target):
        if size == source.shape[axis] and math.prod(target[:position]) == before \
                and math.prod(target[position + 1:]) == after:
            target[position] = -1        # every other dim is fixed, so -1 is the batch
            return g.node("Reshape", [names[0], g.ints(target)]), position
    raise OnnxExportError(
        f"reshape: from {source.shape} to {out.shape} merges or splits the batch axis {axis}; ONNX export keeps "
        "the batch size symbolic and needs it as a dim of its own"
    )


def _permute(g, out, inputs, names, axes, params):
    order = [int(a) % out.ndim for a in params["axes"]]
    return g.node("Transpose", names, perm=order), None if axes[0] is None else order.index(axes[0])


def _expand(g, out, inputs, names, axes, params):
    target = list(out.shape)
    axis = _broadcast_axis(out, inputs, axes)
    if axis is not None:
        target[axis] = 1          # Expand broadcasts both ways: 1 keeps the input's batch size
    return g.node("Expand", [names[0], g.ints(target)]), axis


def _cat(g, out, inputs, names, axes, params):
    return g.node("Concat", names, axis=int(params["dim"]) % out.ndim), _broadcast_axis(out, inputs, axes)


def _sum_like(op_type):
    def convert(g, out, inputs, names, axes, params):
        x = inputs[0]
        dims = params.get("dims")
        dims = list(range(x.ndim)) if dims is None else sorted(int(d) % x.ndim for d in _as_tuple(dims))
        keepdim = bool(params.get("keepdim", False))
        return g.reduce(op_type, names[0], dims, keepdim), _reduced_axis(axes[0], dims, keepdim)
    convert.__name__ = f"convert_{op_type}"
    return convert


def _as_tuple(dims):
    return tuple(dims) if isinstance(dims, (tuple, list)) else (dims,)


def _reduced_axis(axis, dims, keepdim):
    if axis is None or axis in dims:
        return None
    return axis if keepdim else axis - sum(1 for d in dims if d < axis)


def _norm(g, out, inputs, names, axes, params):
    if params["p"] != 2:
        raise OnnxExportError(f"norm: only p = 2 has an ONNX form (ReduceL2), got p = {params['p']}")
    return _sum_like("ReduceL2")(g, out, inputs, names, axes, params)


def _astype(g, out, inputs, names, axes, params):
    return g.node("Cast", names, to=onnx_elem_type(out.dtype)), axes[0]


def _identity(g, out, inputs, names, axes, params):
    return g.node("Identity", names), axes[0]


def _pad(g, out, inputs, names, axes, params):
    widths = [tuple(int(v) for v in pair) for pair in params["widths"]]
    pads = [before for before, _ in widths] + [after for _, after in widths]
    value = g.constant(numpy.asarray(params["value"], dtype=out.dtype), "pad_value")
    return g.node("Pad", [names[0], g.ints(pads, "pads"), value], mode="constant"), axes[0]


def _standardize(g, out, inputs, names, axes, params):
    x = inputs[0]
    dims = sorted(int(d) % x.ndim for d in _as_tuple(params["axes"]))
    if axes[0] in dims:
        raise OnnxExportError(f"standardize: over axes {dims} of shape {x.shape}, the batch axis among them "
                              "(training-mode batch norm), ties the graph to the batch; export in eval mode")
    if dims != list(range(dims[0], x.ndim)):
        raise OnnxExportError(f"standardize: over non-trailing axes {dims} of shape {x.shape} has no ONNX form")
    normalized = x.shape[dims[0]:]
    scale = g.constant(numpy.ones(normalized, dtype=x.dtype), "ones")
    shift = g.constant(numpy.zeros(normalized, dtype=x.dtype), "zeros")
    return g.node("LayerNormalization", [names[0], scale, shift], axis=dims[0], epsilon=float(params["eps"])), axes[0]


def _getitem(g, out, inputs, names, axes, params):
    """Basic indexing (ints, slices, None, ...) and one integer array: Slice, Gather and Unsqueeze nodes."""
    x, axis = inputs[0], axes[0]
    index = params["index"]
    parts = list(index) if isinstance(index, tuple) else [index]
    if any(getattr(part, "dtype", None) == bool for part in parts):
        raise OnnxExportError("getitem: boolean-mask indexing gives a data-dependent shape, which ONNX export "
                              "cannot write")
    used = sum(1 for part in parts if part is not None and part is not Ellipsis)
    ellipses = [i for i, part in enumerate(parts) if part is Ellipsis]     # `is`: parts may be arrays
    if ellipses:
        parts[ellipses[0]:ellipses[0] + 1] = [slice(None)] * (x.ndim - used)
    parts += [slice(None)] * (x.ndim - sum(1 for part in parts if part is not None))
    arrays = [part for part in parts if hasattr(part, "shape")]
    if len(arrays) > 1:
        raise OnnxExportError("getitem: more than one integer-array index has no short ONNX form")
    starts, ends, dims, steps, gathers, new_axes = [], [], [], [], [], []
    dim, out_position, out_axis = 0, 0, None
    for part in parts:
        if part is None:
            new_axes.append(out_position)
            out_position += 1
            continue
        size = x.shape[dim]
        if isinstance(part, slice):
            start, stop, step = part.indices(size)
            if (start, stop, step) != (0, size, 1):
                if dim == axis:
                    raise OnnxExportError(f"getitem: slicing the batch axis ({part}) ties the graph to the example's "
                                          "batch size")
                if step < 0 and stop < 0:
                    stop = -(2 ** 63)                     # "through the first element", going backwards
                starts.append(start), ends.append(stop), dims.append(dim), steps.append(step)
            if dim == axis:
                out_axis = out_position
            out_position += 1
        else:
            if dim == axis:
                raise OnnxExportError("getitem: indexing into the batch axis ties the graph to the example's batch")
            gathers.append((dim, numpy.asarray(part, dtype=numpy.int64) % size))
            if hasattr(part, "shape") and part.ndim == 1:
                out_position += 1
            elif hasattr(part, "shape") and part.ndim > 1:
                raise OnnxExportError("getitem: a multi-dimensional integer-array index has no short ONNX form")
        dim += 1
    value = names[0]
    if dims:
        value = g.node("Slice", [value, g.ints(starts, "starts"), g.ints(ends, "ends"), g.ints(dims, "axes"),
                                 g.ints(steps, "steps")])
    for gather_dim, indices in sorted(gathers, key=lambda item: -item[0]):   # later dims first: earlier ones stay put
        value = g.node("Gather", [value, g.constant(indices, "indices")], axis=gather_dim)
    if new_axes:
        value = g.node("Unsqueeze", [value, g.ints(new_axes, "axes")])
    if not (dims or gathers or new_axes):
        value = g.node("Identity", [value])
    return value, out_axis


def _flip(g, out, inputs, names, axes, params):
    dims = [int(d) % out.ndim for d in _as_tuple(params["dims"])]
    if axes[0] in dims:
        raise OnnxExportError("flip: flipping the batch axis has no batch-size-free ONNX form")
    count = len(dims)
    return g.node("Slice", [names[0], g.ints([-1] * count), g.ints([-(2 ** 63)] * count), g.ints(dims),
                            g.ints([-1] * count)]), axes[0]


def _piecewise_constant(g, out, inputs, names, axes, params):
    function = params["function"]
    if function == "trunc":          # no ONNX Trunc: sign(x)·floor(|x|)
        return g.node("Mul", [g.node("Sign", names), g.node("Floor", [g.node("Abs", names)])]), axes[0]
    return g.node({"sign": "Sign", "floor": "Floor", "ceil": "Ceil", "round": "Round"}[function], names), axes[0]


def _roll(g, out, inputs, names, axes, params):
    shifts, dims = _as_tuple(params["shifts"]), params["dims"]
    if dims is None:
        raise OnnxExportError("roll: rolling the flattened tensor (dims=None) has no batch-size-free ONNX form")
    value = names[0]
    for shift, dim in zip(shifts, _as_tuple(dims)):
        dim = int(dim) % out.ndim
        if dim == axes[0]:
            raise OnnxExportError("roll: rolling along the batch axis ties the graph to the example's batch")
        size = out.shape[dim]
        cut = size - int(shift) % size               # y = [x[cut:], x[:cut]] along dim
        tail = g.node("Slice", [value, g.ints([cut]), g.ints([size]), g.ints([dim])])
        head = g.node("Slice", [value, g.ints([0]), g.ints([cut]), g.ints([dim])])
        value = g.node("Concat", [tail, head], axis=dim)
    return value, axes[0]


def _cumsum(g, out, inputs, names, axes, params):
    return g.node("CumSum", [names[0], g.ints(int(params["dim"]) % out.ndim, "axis")]), axes[0]


def _gather(g, out, inputs, names, axes, params):
    index = g.constant(numpy.asarray(params["index"], dtype=numpy.int64), "indices")
    if axes[0] is not None and params["index"].shape[axes[0]] == out.shape[axes[0]] > 1:
        raise OnnxExportError("gather: its index holds one row per sample, computed from the data")
    return g.node("GatherElements", [names[0], index], axis=int(params["dim"]) % out.ndim), axes[0]


def _einsum(g, out, inputs, names, axes, params):
    equation = ",".join(params["inputs_spec"]) + "->" + params["output_spec"]
    axis = None
    for spec, axis_in in zip(params["inputs_spec"], axes):
        if axis_in is not None:
            letter = spec[axis_in]
            axis = params["output_spec"].index(letter) if letter in params["output_spec"] else None
    return g.node("Einsum", names, equation=equation), axis


# Keyed by the primitive's name (its ``name`` attribute), so the table does not depend on which file defines it.
PRIMITIVE_CONVERTERS = {
    "add": _elementwise("Add"), "sub": _elementwise("Sub"), "mul": _elementwise("Mul"),
    "div": _elementwise("Div"), "pow": _elementwise("Pow"), "maximum": _elementwise("Max"),
    "minimum": _elementwise("Min"), "where": _where,
    "neg": _elementwise("Neg"), "exp": _elementwise("Exp"), "log": _elementwise("Log"),
    "log1p": _log1p, "expm1": _expm1, "sqrt": _elementwise("Sqrt"),
    "abs": _elementwise("Abs"), "sin": _elementwise("Sin"), "cos": _elementwise("Cos"),
    "tan": _elementwise("Tan"), "asin": _elementwise("Asin"),
    "acos": _elementwise("Acos"), "atan": _elementwise("Atan"),
    "sinh": _elementwise("Sinh"), "cosh": _elementwise("Cosh"),
    "tanh": _elementwise("Tanh"), "sigmoid": _elementwise("Sigmoid"),
    "softplus": _elementwise("Softplus"), "relu": _elementwise("Relu"),
    "erf": _elementwise("Erf"),
    "getitem": _getitem, "gather": _gather, "clamp": _clamp,
    "matmul": _matmul, "einsum": _einsum,
    "sum": _sum_like("ReduceSum"), "amax": _sum_like("ReduceMax"), "amin": _sum_like("ReduceMin"),
    "prod": _sum_like("ReduceProd"), "logsumexp": _sum_like("ReduceLogSumExp"), "norm": _norm,
    "cumsum": _cumsum,
    "reshape": _reshape, "permute": _permute, "expand": _expand, "flip": _flip, "cat": _cat,
    "pad": _pad, "astype": _astype, "clone": _identity, "to_device": _identity, "roll": _roll,
    "piecewise_constant": _piecewise_constant,
    "affine": _affine, "standardize": _standardize,
}


# ==============================================================================================
# module converters: (graph, module, input names, input batch axes, call) -> [(name, batch axis)] per output
# ==============================================================================================


def _spatial_pads(padding, kernel_size, dilation, stride, name):
    from chainrule.nn.functional.convolution import _conv_padding
    pairs = _conv_padding(padding, tuple(kernel_size), tuple(dilation), tuple(stride), name)
    return [before for before, _ in pairs] + [after for _, after in pairs]


def _weight_name(g, tensor):
    """The initializer of a layer's parameter or buffer, named by its state_dict key (written on first use)."""
    if id(tensor) not in g.names:
        key = g.state_names.get(id(tensor))
        g.names[id(tensor)] = g.constant(tensor.array, name=key) if key else g.constant(tensor.array, "constant")
    return g.names[id(tensor)]


_ONNX_PAD_MODES = {"reflect": "reflect", "replicate": "edge"}


def _conv(g, module, names, axes, call):
    pads = _spatial_pads(module.padding, module.kernel_size, module.dilation, module.stride, type(module).__name__)
    x = names[0]
    if module.padding_mode != "zeros":
        if module.padding_mode not in _ONNX_PAD_MODES:
            raise OnnxExportError(f"{type(module).__name__}: padding_mode={module.padding_mode!r} has no ONNX form "
                                  f"here (zeros, reflect and replicate do)")
        spatial = len(module.kernel_size)      # Pad lists all axes: none for batch and channels
        full = [0, 0] + pads[:spatial] + [0, 0] + pads[spatial:]
        x = g.node("Pad", [x, g.ints(full, "pads")], mode=_ONNX_PAD_MODES[module.padding_mode])
        pads = [0] * len(pads)
    inputs = [x, _weight_name(g, module.weight)] + ([_weight_name(g, module.bias)] if module.bias is not None else [])
    return [(g.node("Conv", inputs, kernel_shape=list(module.kernel_size), strides=list(module.stride),
                    dilations=list(module.dilation), pads=pads, group=module.groups), axes[0])]


def _conv_transpose(g, module, names, axes, call):
    inputs = [names[0], _weight_name(g, module.weight)] + ([_weight_name(g, module.bias)] if module.bias is not None else [])
    padding = list(module.padding) * 2
    return [(g.node("ConvTranspose", inputs, kernel_shape=list(module.kernel_size), strides=list(module.stride),
                    dilations=list(module.dilation), pads=padding, output_padding=list(module.output_padding),
                    group=module.groups), axes[0])]


def _pool_settings(module, spatial):
    def expand(value):
        return [int(value)] * spatial if isinstance(value, int) else [int(v) for v in value]
    kernel = expand(module.kernel_size)
    stride = expand(module.stride if module.stride not in (None, ()) else module.kernel_size)
    padding = expand(module.padding)
    return kernel, stride, padding * 2


def _max_pool(g, module, names, axes, call):
    if module.return_indices:
        raise OnnxExportError(f"{type(module).__name__}: return_indices=True has no ONNX export here")
    from chainrule.nn.functional.pooling import _pool_geometry

    x = call.inputs[0]
    spatial = x.ndim - 2
    kernel, stride, pads = _pool_settings(module, spatial)
    dilation = [int(module.dilation)] * spatial if isinstance(module.dilation, int) else list(module.dilation)
    if module.ceil_mode:
        # PyTorch drops a last window that would start in the padding; ONNX's ceil_mode keeps it. The extra
        # right padding that PyTorch's rule needs (padding counts as −∞) gives its size with ceil_mode off.
        for i in range(spatial):
            pads[spatial + i] += _pool_geometry(x.shape[2 + i], kernel[i], stride[i], pads[i], dilation[i], True)[1]
    return [(g.node("MaxPool", names[:1], kernel_shape=kernel, strides=stride, pads=pads, dilations=dilation),
             axes[0])]


def _avg_pool(g, module, names, axes, call):
    if getattr(module, "divisor_override", None) is not None:
        raise OnnxExportError(f"{type(module).__name__}: divisor_override has no ONNX AveragePool form")
    kernel, stride, pads = _pool_settings(module, call.inputs[0].ndim - 2)
    return [(g.node("AveragePool", names[:1], kernel_shape=kernel, strides=stride, pads=pads,
                    ceil_mode=int(module.ceil_mode), count_include_pad=int(module.count_include_pad)), axes[0])]


def _adaptive_pool(g, module, names, axes, call):
    is_max = isinstance(module, pooling.AdaptiveMaxPool2d)
    sizes = call.inputs[0].shape[2:]
    wanted = module.output_size if isinstance(module.output_size, (tuple, list)) else (module.output_size,) * 2
    wanted = [size if want is None else int(want) for size, want in zip(sizes, wanted)]
    if wanted == [1, 1]:
        return [(g.node("GlobalMaxPool" if is_max else "GlobalAveragePool", names[:1]), axes[0])]
    if any(size % want for size, want in zip(sizes, wanted)):
        raise OnnxExportError(f"{type(module).__name__}: output size {tuple(wanted)} does not divide the input's "
                              f"{tuple(sizes)}; only even windows have an ONNX pooling form")
    kernel = [size // want for size, want in zip(sizes, wanted)]
    return [(g.node("MaxPool" if is_max else "AveragePool", names[:1], kernel_shape=kernel, strides=kernel), axes[0])]


def _ones_or(g, tensor, count, dtype, fill):
    if tensor is not None:
        return _weight_name(g, tensor)
    return g.constant(numpy.full(count, fill, dtype=dtype), "ones" if fill else "zeros")


def _batch_norm(g, module, names, axes, call):
    if module.training or module.running_mean is None:
        raise OnnxExportError(f"{type(module).__name__}: only eval mode with running statistics exports "
                              "(call model.eval() first)")
    dtype, count = call.inputs[0].dtype, module.num_features
    inputs = [names[0], _ones_or(g, module.weight, count, dtype, 1.0), _ones_or(g, module.bias, count, dtype, 0.0),
              _weight_name(g, module.running_mean), _weight_name(g, module.running_var)]
    return [(g.node("BatchNormalization", inputs, epsilon=float(module.eps)), axes[0])]


def _layer_norm(g, module, names, axes, call):
    shape_, dtype = module.normalized_shape, call.inputs[0].dtype
    if axes[0] is not None and axes[0] >= call.inputs[0].ndim - len(shape_):
        raise OnnxExportError("LayerNorm: normalizing over the batch axis ties the graph to the example's batch")
    inputs = [names[0], _ones_or(g, module.weight, shape_, dtype, 1.0), _ones_or(g, module.bias, shape_, dtype, 0.0)]
    return [(g.node("LayerNormalization", inputs, axis=-len(shape_), epsilon=float(module.eps)), axes[0])]


def _group_norm(g, module, names, axes, call):
    x = call.inputs[0]
    if axes[0] != 0:
        raise OnnxExportError("GroupNorm: export needs the batch on axis 0")
    groups, per_group = module.num_groups, x.numel() // x.shape[0] // module.num_groups
    grouped = g.node("Reshape", [names[0], g.ints([0, groups, -1])])
    ones = g.constant(numpy.ones(per_group, dtype=x.dtype), "ones")
    zeros = g.constant(numpy.zeros(per_group, dtype=x.dtype), "zeros")
    normalized = g.node("LayerNormalization", [grouped, ones, zeros], axis=2, epsilon=float(module.eps))
    out = g.node("Reshape", [normalized, g.node("Shape", [names[0]])])
    if module.affine:
        per_channel = g.ints([x.shape[1]] + [1] * (x.ndim - 2))
        out = g.node("Mul", [out, g.node("Reshape", [_weight_name(g, module.weight), per_channel])])
        out = g.node("Add", [out, g.node("Reshape", [_weight_name(g, module.bias), per_channel])])
    return [(out, 0)]


def _activation(op_type, **fixed):
    def convert(g, module, names, axes, call):
        return [(g.node(op_type, names[:1], **fixed), axes[0])]
    return convert


def _leaky_relu(g, module, names, axes, call):
    return [(g.node("LeakyRelu", names[:1], alpha=float(module.negative_slope)), axes[0])]


def _elu(g, module, names, axes, call):
    return [(g.node("Elu", names[:1], alpha=float(module.alpha)), axes[0])]


def _gelu(g, module, names, axes, call):
    x, dtype = names[0], call.inputs[0].dtype

    def scalar(value):
        return g.constant(numpy.asarray(value, dtype=dtype), "c")
    if module.approximate == "tanh":   # x/2 (1 + tanh(√(2/π)(x + 0.044715 x³)))
        cube = g.node("Mul", [g.node("Mul", [x, x]), x])
        inner = g.node("Mul", [g.node("Add", [x, g.node("Mul", [cube, scalar(0.044715)])]), scalar(math.sqrt(2 / math.pi))])
        bracket = g.node("Add", [g.node("Tanh", [inner]), scalar(1.0)])
    else:                              # x/2 (1 + erf(x/√2))
        bracket = g.node("Add", [g.node("Erf", [g.node("Mul", [x, scalar(1 / math.sqrt(2))])]), scalar(1.0)])
    return [(g.node("Mul", [g.node("Mul", [x, scalar(0.5)]), bracket]), axes[0])]


def _softplus(g, module, names, axes, call):
    # ONNX Softplus is ln(1 + eˣ) everywhere; past PyTorch's threshold the two agree to float precision.
    if module.beta == 1:
        return [(g.node("Softplus", names[:1]), axes[0])]
    beta = g.constant(numpy.asarray(module.beta, dtype=call.inputs[0].dtype), "beta")
    return [(g.node("Div", [g.node("Softplus", [g.node("Mul", [names[0], beta])]), beta]), axes[0])]


def _clip(g, names, axes, dtype, low, high):
    low = g.constant(numpy.asarray(low, dtype=dtype), "min")
    high = g.constant(numpy.asarray(high, dtype=dtype), "max")
    return [(g.node("Clip", [names[0], low, high]), axes[0])]


def _hardtanh(g, module, names, axes, call):
    return _clip(g, names, axes, call.inputs[0].dtype, module.min_val, module.max_val)


def _relu6(g, module, names, axes, call):
    return _clip(g, names, axes, call.inputs[0].dtype, 0.0, 6.0)


def _prelu(g, module, names, axes, call):
    x, slope = call.inputs[0], _weight_name(g, module.weight)
    if module.weight.numel() > 1 and x.ndim > 2:
        slope = g.node("Reshape", [slope, g.ints([module.weight.numel()] + [1] * (x.ndim - 2))])
    return [(g.node("PRelu", [names[0], slope]), axes[0])]


def _softmax(op_type):
    def convert(g, module, names, axes, call):
        dim = module.dim % call.inputs[0].ndim
        if dim == axes[0]:
            raise OnnxExportError(f"{type(module).__name__}: a softmax over the batch axis ties the graph to the batch")
        return [(g.node(op_type, names[:1], axis=dim), axes[0])]
    return convert


def _embedding(g, module, names, axes, call):
    # Gather's output is the indices' shape plus the row: the batch axis of the indices stays where it is.
    return [(g.node("Gather", [_weight_name(g, module.weight), names[0]], axis=0), axes[0])]


# ONNX stacks the gates in another order than PyTorch: these are the PyTorch blocks in ONNX's order.
_ONNX_GATE_ORDER = {"LSTM": (0, 3, 1, 2),   # PyTorch i, f, g, o  ->  ONNX i, o, f, c
                    "GRU": (1, 0, 2),        # PyTorch r, z, n     ->  ONNX z, r, h
                    "RNN_TANH": (0,), "RNN_RELU": (0,)}


def _reorder_gates(array, order):
    blocks = numpy.split(array, len(order), axis=0)
    return numpy.concatenate([blocks[i] for i in order], axis=0)


def _recurrent(g, module, names, axes, call):
    """One ONNX LSTM/GRU/RNN node per layer (both directions in one node), outputs as PyTorch lays them out."""
    if len(call.inputs) > 1:
        raise OnnxExportError(f"{type(module).__name__}: export runs it from a zero initial state; pass no hx")
    x = call.inputs[0]
    if x.ndim != 3:
        raise OnnxExportError(f"{type(module).__name__}: export needs a batched (3-D) input, got {x.shape}")
    batch_axis = 0 if module.batch_first else 1
    if axes[0] is not None and axes[0] != batch_axis:
        raise OnnxExportError(f"{type(module).__name__}: its input's batch is on axis {batch_axis} "
                              f"(batch_first={module.batch_first}), but the dynamic axis reaching it is {axes[0]}; "
                              f"pass dynamic_axes={{'input': {{{batch_axis}: 'batch'}}}}")
    mode, hidden, directions = module.mode, module.hidden_size, module.num_directions
    order = _ONNX_GATE_ORDER[mode]
    sequence = g.node("Transpose", names[:1], perm=[1, 0, 2]) if module.batch_first else names[0]
    finals_h, finals_c = [], []
    op_type = {"LSTM": "LSTM", "GRU": "GRU"}.get(mode, "RNN")
    extra = {"linear_before_reset": 1} if mode == "GRU" else {}
    if op_type == "RNN":
        extra["activations"] = ["Tanh" if mode == "RNN_TANH" else "Relu"] * directions
    for layer in range(module.num_layers):
        weights, recurrences, biases = [], [], []
        for direction in range(directions):
            weight_ih, weight_hh, bias_ih, bias_hh = module._weights(layer, direction)
            weights.append(_reorder_gates(weight_ih.array, order))
            recurrences.append(_reorder_gates(weight_hh.array, order))
            if bias_ih is not None:
                biases.append(numpy.concatenate([_reorder_gates(bias_ih.array, order), _reorder_gates(bias_hh.array, order)]))
        # ONNX stacks directions and both biases: new tensors, named after the PyTorch ones they hold.
        prefix = f"{call.path}." if call.path else ""
        inputs = [sequence, g.constant(numpy.stack(weights), name=g.unique(f"{prefix}onnx_W_l{layer}")),
                  g.constant(numpy.stack(recurrences), name=g.unique(f"{prefix}onnx_R_l{layer}"))]
        if biases:
            inputs.append(g.constant(numpy.stack(biases), name=g.unique(f"{prefix}onnx_B_l{layer}")))
        count = 3 if op_type == "LSTM" else 2
        outputs = g.node(op_type, inputs, outputs=count, hidden_size=hidden,
                         direction="bidirectional" if directions == 2 else "forward", **extra)
        # Y is (seq, directions, batch, hidden): put the directions beside the features, as PyTorch does.
        sequence = g.node("Reshape", [g.node("Transpose", [outputs[0]], perm=[0, 2, 1, 3]), g.ints([0, 0, -1])])
        finals_h.append(outputs[1])
        if op_type == "LSTM":
            finals_c.append(outputs[2])
    output = g.node("Transpose", [sequence], perm=[1, 0, 2]) if module.batch_first else sequence
    h_n = finals_h[0] if len(finals_h) == 1 else g.node("Concat", finals_h, axis=0)
    results = [(output, 0 if module.batch_first else 1), (h_n, 1)]
    if op_type == "LSTM":
        c_n = finals_c[0] if len(finals_c) == 1 else g.node("Concat", finals_c, axis=0)
        results.append((c_n, 1))
    return results


MODULE_CONVERTERS = {
    conv.Conv1d: _conv, conv.Conv2d: _conv, conv.ConvTranspose1d: _conv_transpose, conv.ConvTranspose2d: _conv_transpose,
    pooling.MaxPool1d: _max_pool, pooling.MaxPool2d: _max_pool, pooling.AvgPool1d: _avg_pool,
    pooling.AvgPool2d: _avg_pool, pooling.AdaptiveAvgPool2d: _adaptive_pool, pooling.AdaptiveMaxPool2d: _adaptive_pool,
    normalization.BatchNorm1d: _batch_norm, normalization.BatchNorm2d: _batch_norm,
    normalization.LayerNorm: _layer_norm, normalization.GroupNorm: _group_norm,
    activation.LeakyReLU: _leaky_relu, activation.ELU: _elu, activation.SELU: _activation("Selu"),
    activation.GELU: _gelu, activation.Softplus: _softplus, activation.Hardtanh: _hardtanh,
    activation.ReLU6: _relu6, activation.PReLU: _prelu,
    activation.Softmax: _softmax("Softmax"), activation.LogSoftmax: _softmax("LogSoftmax"),
    linear.Embedding: _embedding,
    rnn.LSTM: _recurrent, rnn.GRU: _recurrent, rnn.RNN: _recurrent,
}


# ==============================================================================================
# the export run: watch module calls and detach(), then walk
# ==============================================================================================


class _Call:
    """One call of a module during the export run: its path, tensor inputs and tensor outputs."""

    def __init__(self, module, path, inputs, outputs):
        self.module, self.path, self.inputs, self.outputs = module, path, inputs, outputs


def _tensors_in(value):
    if isinstance(value, Tensor):
        return [value]
    if isinstance(value, (tuple, list)):
        return [t for item in value for t in _tensors_in(item)]
    if isinstance(value, dict):
        return [t for item in value.values() for t in _tensors_in(item)]
    return []


class _Recorder:
    """Wraps every module's forward and Tensor.detach for one run, and puts them back after."""

    def __init__(self, model):
        self.model = model
        self.calls = []
        self.detached = {}       # id(detached leaf) -> (leaf, the tensor it was detached from)

    def __enter__(self):
        for path, module in self.model.named_modules():
            original = module.forward

            def watched(*args, _original=original, _module=module, _path=path, **kwargs):
                result = _original(*args, **kwargs)
                inputs = _tensors_in(args) + _tensors_in(kwargs)
                outputs = _tensors_in(result)
                if not any(any(out is inp for inp in inputs) for out in outputs):   # Identity, eval Dropout: nothing new
                    self.calls.append(_Call(_module, _path, inputs, outputs))
                return result
            module.__dict__["forward"] = watched
        recorder, original_detach = self, Tensor.detach

        def detach(tensor):
            leaf = original_detach(tensor)
            recorder.detached[id(leaf)] = (leaf, tensor)
            return leaf
        self._original_detach = original_detach
        Tensor.detach = detach
        return self

    def __exit__(self, *exc):
        Tensor.detach = self._original_detach
        for _, module in self.model.named_modules():
            module.__dict__.pop("forward", None)
        return False


def _normalize_dynamic_axes(dynamic_axes, input_names, output_names):
    """{name: {axis: label}} from torch's forms ({name: [axes]} or {name: {axis: label}})."""
    result = {}
    for name, axes in (dynamic_axes or {}).items():
        if name not in input_names + output_names:
            raise OnnxExportError(f"export: dynamic_axes names {name!r}, which is neither an input name "
                                  f"{input_names} nor an output name {output_names}")
        if isinstance(axes, dict):
            result[name] = {int(axis): str(label) for axis, label in axes.items()}
        else:
            result[name] = {int(axis): f"{name}_dynamic_axes_{i + 1}" for i, axis in enumerate(axes)}
    return result


def export(model, args, f, input_names=None, output_names=None, dynamic_axes=None, opset_version=None,
           check=True):
    """Write ``model`` as an ONNX file at ``f`` (a path, or a file object), the way ``torch.onnx.export(model, args, f, ...)`` does.

    ``args`` is the example input (a tensor or NumPy array, or a tuple of them). The model runs once on
    it in eval mode; every primitive it records becomes ONNX nodes, every parameter and buffer an
    initializer named by its ``state_dict`` key. ``dynamic_axes`` ({input or output name: {axis: label}})
    marks the axes left symbolic; by default axis 0 of every input, the batch, is dynamic (and the
    outputs' batch axis, wherever export follows it to), so the file computes onnx(x) = model(x) at any
    batch size. With ``check=True`` (the default) ``onnx.checker.check_model`` must pass, and the graph,
    run by ``load_onnx``'s interpreter, must agree with the model on a second input (other values,
    twice the batch) before the file is written (atomically). Returns the ``onnx.ModelProto``.

    Example:
        >>> import os, tempfile, numpy, onnxruntime, chainrule as cr, chainrule.nn as nn, chainrule.io
        >>> model = nn.Sequential(nn.Linear(4, 3), nn.ReLU())
        >>> path = os.path.join(tempfile.mkdtemp(), "model.onnx")
        >>> _ = chainrule.io.export_onnx(model, cr.randn(2, 4), path)
        >>> x = numpy.ones((5, 4), numpy.float32)                         # another batch size
        >>> (ort_out,) = onnxruntime.InferenceSession(path).run(None, {"input": x})
        >>> bool(numpy.allclose(ort_out, model(cr.tensor(x)).detach().numpy(), atol=1e-6))
        True
    """
    onnx = require_onnx()
    opset = DEFAULT_OPSET if opset_version is None else int(opset_version)
    if opset < MIN_OPSET:
        raise OnnxExportError(f"export: opset_version {opset} is too old; chainrule writes opset {MIN_OPSET} or newer")
    if not isinstance(model, Module):
        raise TypeError(f"export: model must be a chainrule Module, got {type(model).__name__}")
    examples = list(args) if isinstance(args, (tuple, list)) else [args]
    examples = [value if isinstance(value, Tensor) else Tensor(numpy.asarray(value)) for value in examples]
    input_names = list(input_names or (["input"] if len(examples) == 1 else [f"input_{i}" for i in range(len(examples))]))
    if len(input_names) != len(examples):
        raise OnnxExportError(f"export: {len(input_names)} input_names for {len(examples)} example inputs")

    was_training = model.training
    model.eval()
    try:
        run_inputs = [Tensor._wrap(x.array).requires_grad_() if x.is_floating_point() else Tensor._wrap(x.array)
                      for x in examples]
        with enable_grad(), _Recorder(model) as recorder:
            result = model(*run_inputs)
        outputs = _tensors_in(result)
        output_names = list(output_names or (["output"] if len(outputs) == 1 else [f"output_{i}" for i in range(len(outputs))]))
        if len(output_names) != len(outputs):
            raise OnnxExportError(f"export: {len(output_names)} output_names for the model's {len(outputs)} outputs")
        # By default axis 0 of every input is the batch; outputs are labelled where export finds it.
        axes = _normalize_dynamic_axes(dynamic_axes, input_names, output_names) if dynamic_axes is not None else \
            {name: {0: "batch"} for name in input_names}
        proto = _build(onnx, model, opset, recorder, run_inputs, input_names, outputs, output_names, axes)
        if check:
            onnx.checker.check_model(proto, full_check=True)
            _check_on_another_input(onnx, proto, opset, model, examples, [axes.get(name, {}) for name in input_names])
    finally:
        model.train(was_training)
    if hasattr(f, "write"):          # a file object (io.BytesIO, an open file), as torch.onnx.export takes
        f.write(proto.SerializeToString())
        return proto
    with atomic_write(f) as handle:
        handle.write(proto.SerializeToString())
    return proto


def _another_input(example, labels):
    """The example with other values (floats) and, along its dynamic axis, twice the batch."""
    from chainrule import ops

    x = example.detach()
    if x.is_floating_point():
        x = x * 0.75 + 0.25
    if labels:
        axis = next(iter(labels))
        x = ops.cat([x, ops.flip(x, (axis,))], dim=axis)
    return x


def _check_on_another_input(onnx, proto, opset, model, examples, labels):
    """Run the graph (with chainrule's importer) and the model on a second input: they must agree.

    The walk sees only what was recorded. A value computed from the data outside the graph (a mask
    from an unrecorded comparison, a number read with ``.item()``) would be frozen in the file at the
    example's value, and a shape tied to the example's batch would break at another one; both show
    here as a disagreement, before any file is written.
    """
    from chainrule.core.grad_mode import no_grad
    from chainrule.io.onnx_import import OnnxModule

    inputs = [_another_input(x, axis_labels) for x, axis_labels in zip(examples, labels)]
    with no_grad():
        expected = _tensors_in(model(*inputs))
        got = OnnxModule(onnx, proto, opset)(*inputs)
    got = list(got) if isinstance(got, tuple) else [got]
    for index, (ours, theirs) in enumerate(zip(got, expected)):
        want = numpy.asarray(theirs.array, dtype=numpy.float64)
        have = numpy.asarray(ours.array, dtype=numpy.float64)
        tolerance = 1e-4 * (1.0 + (numpy.abs(want).max() if want.size else 0.0))
        if have.shape != want.shape or not numpy.allclose(have, want, rtol=1e-4, atol=tolerance, equal_nan=True):
            difference = "shape " + str(have.shape) if have.shape != want.shape else \
                f"max difference {numpy.abs(have - want).max():.3g}"
            raise OnnxExportError(
                f"export: the exported graph and the model disagree on a second input (output {index}: {difference}); "
                "something computed from the data outside chainrule's graph (.item(), .numpy(), a comparison used "
                "as a number) was frozen at the example's value, or a shape was tied to the example's batch")


def _build(onnx, model, opset, recorder, inputs, input_names, outputs, output_names, dynamic_axes):
    g = _Graph(opset)
    graph_inputs = []
    for tensor, name in zip(inputs, input_names):
        labels = dynamic_axes.get(name, {})
        if len(labels) > 1:
            raise OnnxExportError(f"export: input {name!r} has {len(labels)} dynamic axes; chainrule follows one "
                                  "(the batch) through the graph")
        g.names[id(tensor)] = name
        g.batch_axes[id(tensor)] = next(iter(labels), None)
        dims = [labels.get(axis, size) for axis, size in enumerate(tensor.shape)]
        graph_inputs.append(onnx.helper.make_tensor_value_info(name, onnx_elem_type(tensor.dtype), dims))

    for key, value in list(model.named_parameters()) + list(model.named_buffers()):
        g.state_names.setdefault(id(value), key)
    claimed = {}          # id(tensor) -> (call, index of that tensor among the call's outputs)
    for call in recorder.calls:          # inner calls finish first, so the outermost convertible call wins
        if type(call.module) in MODULE_CONVERTERS:
            for index, out in enumerate(call.outputs):
                claimed[id(out)] = (call, index)

    def sources(tensor):
        if id(tensor) in g.names:
            return []
        if id(tensor) in claimed:
            call = claimed[id(tensor)][0]
            return call.inputs
        if id(tensor) in recorder.detached:
            return [recorder.detached[id(tensor)][1]]
        return list(tensor._inputs or ()) if tensor._op is not None else []

    for tensor in _parents_first(outputs, sources):
        if id(tensor) in g.names:
            continue
        if id(tensor) in claimed:
            call, _ = claimed[id(tensor)]
            converted = MODULE_CONVERTERS[type(call.module)](
                g, call.module, [g.names[id(t)] for t in call.inputs], [g.batch_axes[id(t)] for t in call.inputs], call)
            for out, (name, axis) in zip(call.outputs, converted):
                g.names[id(out)], g.batch_axes[id(out)] = name, axis
        elif id(tensor) in recorder.detached:
            source = recorder.detached[id(tensor)][1]
            g.names[id(tensor)], g.batch_axes[id(tensor)] = g.names[id(source)], g.batch_axes[id(source)]
        elif tensor._op is not None:
            converter = PRIMITIVE_CONVERTERS.get(tensor._op.name)
            where = _module_of(tensor, recorder)
            if converter is None:
                raise OnnxExportError(
                    f"export: the primitive '{tensor._op.name}' ({tensor._op.__name__}){where} has no ONNX form; "
                    "use the layer that wraps it (nn.Conv2d, nn.MaxPool2d, nn.LSTM, ...), whose ONNX op export knows")
            parents = tensor._inputs
            try:
                name, axis = converter(g, tensor, parents, [g.names[id(p)] for p in parents],
                                       [g.batch_axes[id(p)] for p in parents], tensor._params)
            except OnnxExportError as error:
                raise OnnxExportError(f"export: {error}{where}") from None
            g.names[id(tensor)], g.batch_axes[id(tensor)] = name, axis
        else:       # a leaf: a parameter or buffer (named by its state_dict key), or a constant
            _weight_name(g, tensor)
            g.batch_axes[id(tensor)] = None

    graph_outputs = []
    for tensor, name in zip(outputs, output_names):
        g.node("Identity", [g.names[id(tensor)]], outputs=[name])
        axis = g.batch_axes[id(tensor)]
        label = next((label for labels in dynamic_axes.values() for label in labels.values()), None)
        labels = dynamic_axes.get(name, {axis: label} if axis is not None and label is not None else {})
        dims = [labels.get(i, size) for i, size in enumerate(tensor.shape)]
        graph_outputs.append(onnx.helper.make_tensor_value_info(name, onnx_elem_type(tensor.dtype), dims))
    graph = onnx.helper.make_graph(g.nodes, type(model).__name__, graph_inputs, graph_outputs, g.initializers)
    opsets = [onnx.helper.make_opsetid("", opset)]
    # The oldest IR version the opset allows, so that runtimes older than this onnx package can read the file.
    return onnx.helper.make_model(graph, producer_name="chainrule", opset_imports=opsets,
                                  ir_version=onnx.helper.find_min_ir_version_for(opsets))


def _parents_first(roots, sources):
    """Every tensor the roots depend on (through ``sources``), each after the ones it is made from.

    Unlike the backward walk (core/autograd.py), the edges here are export's own: a watched layer's
    output leads to the layer's inputs, a detached leaf to its source. Depth-first with a stack of
    iterators, so deep graphs never hit the recursion limit.
    """
    order, entered = [], set()
    for root in roots:
        if id(root) in entered:
            continue
        entered.add(id(root))
        pending = [(root, iter(sources(root)))]
        while pending:
            tensor, parents = pending[-1]
            parent = next(parents, None)
            if parent is None:
                pending.pop()
                order.append(tensor)
            elif id(parent) not in entered:
                entered.add(id(parent))
                pending.append((parent, iter(sources(parent))))
    return order


def _module_of(tensor, recorder):
    """' (in module 'path', Kind)' for the innermost module call whose graph holds ``tensor``."""
    for call in recorder.calls:
        stops = {id(t) for t in call.inputs}
        seen, stack = set(), list(call.outputs)
        while stack:
            current = stack.pop()
            if current is tensor:
                return f" (in module '{call.path or '<root>'}', {type(call.module).__name__})"
            if id(current) in seen or id(current) in stops:
                continue
            seen.add(id(current))
            stack.extend(current._inputs or ())
    return ""


__all__ = ["MODULE_CONVERTERS", "OnnxExportError", "PRIMITIVE_CONVERTERS", "export"]
