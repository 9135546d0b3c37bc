"""ONNX import: a graph from another framework becomes a chainrule Module whose forward is differentiable.

``load_onnx(path)`` checks the file completely before it builds anything: the protobuf
parses, ``onnx.checker`` accepts it, every node's op is one chainrule can run
(``OP_IMPORTERS``), and every initializer's claimed size matches the bytes it carries.
Then each floating-point initializer becomes a ``Parameter`` under its own name (so
``state_dict()`` keys are the exporter's, e.g. PyTorch's ``0.weight``), and ``forward`` runs
the nodes in order with chainrule ops. Gradients, ``gradcheck``, the explainer and the
optimizers then work on the imported model as on any other.

Each entry of ``OP_IMPORTERS`` is ``run(inputs, attributes, context) -> output(s)``, written
with chainrule ops so that the chain rule reaches every parameter.
"""
import math
import pathlib
import re

import numpy

from chainrule import ops
from chainrule.core import creation, dtypes
from chainrule.core.tensor import Tensor, tensor as make_tensor
from chainrule.io.onnx_common import numpy_dtype, require_onnx
from chainrule.nn import functional as F
from chainrule.nn.module import Module, Parameter
from chainrule.nn.rnn import gru_sequence, lstm_sequence, rnn_relu_cell, rnn_tanh_cell

MIN_IMPORT_OPSET = 13
MAX_FILE_BYTES = 2 ** 31 - 1      # protobuf's own ceiling on one message


class OnnxImportError(ValueError):
    """An ONNX file chainrule will not load: damaged, inconsistent, or using an op it cannot run."""


class _Context:
    """What a node may need beyond its inputs: the opset, and the float dtype the model runs in."""

    def __init__(self, opset, float_dtype):
        self.opset = opset
        self.float_dtype = float_dtype


def _ints(tensor):
    """A small integer tensor (a shape, axes, pads) as a list of Python ints."""
    return [int(v) for v in numpy.asarray(tensor.array).reshape(-1)]


def _axes(inputs, attributes, position, context, since):
    """Axes given as an attribute (before opset ``since``) or as input ``position`` (from ``since`` on)."""
    if context.opset >= since:
        return _ints(inputs[position]) if len(inputs) > position and inputs[position] is not None else None
    return attributes.get("axes")


# ----- elementwise --------------------------------------------------------------------------------

def _unary(function):
    def run(inputs, attributes, context):
        return function(inputs[0])
    return run


def _binary(function):
    def run(inputs, attributes, context):
        return function(inputs[0], inputs[1])
    return run


def _variadic(function):
    def run(inputs, attributes, context):
        result = inputs[0]
        for other in inputs[1:]:
            result = function(result, other)
        return result
    return run


def _leaky_relu(inputs, attributes, context):
    return F.leaky_relu(inputs[0], attributes.get("alpha", 0.01))


def _elu(inputs, attributes, context):
    return F.elu(inputs[0], attributes.get("alpha", 1.0))


def _selu(inputs, attributes, context):
    alpha, gamma = attributes.get("alpha", 1.67326319217681884765625), attributes.get("gamma", 1.05070102214813232421875)
    return gamma * F.elu(inputs[0], alpha)


def _prelu(inputs, attributes, context):
    x, slope = inputs
    return ops.where(x > 0, x, x * slope)


def _clip(inputs, attributes, context):
    x = inputs[0]
    if context.opset >= 11:
        low = None if len(inputs) < 2 or inputs[1] is None else float(inputs[1].item())
        high = None if len(inputs) < 3 or inputs[2] is None else float(inputs[2].item())
    else:
        low, high = attributes.get("min"), attributes.get("max")
    return ops.clamp(x, low, high)


def _gelu(inputs, attributes, context):
    return F.gelu(inputs[0], approximate=attributes.get("approximate", "none"))


def _softmax(function):
    def run(inputs, attributes, context):
        return function(inputs[0], attributes.get("axis", -1))
    return run


def _cast(inputs, attributes, context):
    target = numpy_dtype(attributes["to"])
    if target.kind == "f":
        target = context.float_dtype        # a model moved to float64 (for gradcheck) stays float64
    return inputs[0].to(target)


# ----- linear maps, convolution, pooling, normalization ---------------------------------------------

def _gemm(inputs, attributes, context):
    a, b = inputs[0], inputs[1]
    c = inputs[2] if len(inputs) > 2 else None
    alpha, beta = attributes.get("alpha", 1.0), attributes.get("beta", 1.0)
    if attributes.get("transA", 0):
        a = a.mT
    if attributes.get("transB", 0) and alpha == 1.0 and beta == 1.0 and (c is None or c.ndim == 1):
        return F.linear(a, b, c)       # y = a bᵀ + c, the fused Affine primitive
    if attributes.get("transB", 0):
        b = b.mT
    out = a @ b
    if alpha != 1.0:
        out = out * alpha
    if c is not None:
        out = out + (c * beta if beta != 1.0 else c)
    return out


def _begin_end_pads(attributes, x, op):
    """(begins, ends) of the spatial padding, from ``pads`` or from ``auto_pad`` (SAME_UPPER puts the odd one last)."""
    spatial = x.ndim - 2
    auto_pad = attributes.get("auto_pad", "NOTSET")
    if auto_pad == "VALID":
        return [0] * spatial, [0] * spatial
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        kernel = attributes.get("kernel_shape")
        strides = attributes.get("strides", [1] * spatial)
        dilations = attributes.get("dilations", [1] * spatial)
        begins, ends = [], []
        for size, k, s, d in zip(x.shape[2:], kernel, strides, dilations):
            total = max((-(-size // s) - 1) * s + d * (k - 1) + 1 - size, 0)
            small, large = total // 2, total - total // 2
            begins.append(small if auto_pad == "SAME_UPPER" else large)
            ends.append(large if auto_pad == "SAME_UPPER" else small)
        return begins, ends
    if auto_pad != "NOTSET":
        raise OnnxImportError(f"{op}: auto_pad={auto_pad!r} is not an ONNX padding mode")
    pads = attributes.get("pads", [0] * (2 * spatial))
    return pads[:spatial], pads[spatial:]


def _pad_if_asymmetric(x, begins, ends, value=0.0):
    """Pads a conv/pool can't take as one number per axis are applied first, explicitly."""
    if begins == ends:
        return x, tuple(begins)
    widths = []
    for before, after in reversed(list(zip(begins, ends))):
        widths += [before, after]
    return ops.pad(x, widths, mode="constant", value=value), (0,) * len(begins)


def _conv(inputs, attributes, context):
    x, weight = inputs[0], inputs[1]
    bias = inputs[2] if len(inputs) > 2 else None
    spatial = x.ndim - 2
    if "kernel_shape" not in attributes:
        attributes = dict(attributes, kernel_shape=list(weight.shape[2:]))
    begins, ends = _begin_end_pads(attributes, x, "Conv")
    x, padding = _pad_if_asymmetric(x, begins, ends)
    strides = tuple(attributes.get("strides", [1] * spatial))
    dilations = tuple(attributes.get("dilations", [1] * spatial))
    group = attributes.get("group", 1)
    if spatial == 1:
        return F.conv1d(x, weight, bias, strides, padding, dilations, group)
    if spatial == 2:
        return F.conv2d(x, weight, bias, strides, padding, dilations, group)
    raise OnnxImportError(f"Conv: {spatial}-D convolution is not supported (1-D and 2-D are)")


def _conv_transpose(inputs, attributes, context):
    x, weight = inputs[0], inputs[1]
    bias = inputs[2] if len(inputs) > 2 else None
    spatial = x.ndim - 2
    if "output_shape" in attributes:
        raise OnnxImportError("ConvTranspose: output_shape is not supported; re-export with pads and output_padding")
    if attributes.get("auto_pad", "NOTSET") not in ("NOTSET", "VALID"):
        raise OnnxImportError(f"ConvTranspose: auto_pad={attributes['auto_pad']!r} is not supported")
    begins, ends = _begin_end_pads(attributes, x, "ConvTranspose")
    if begins != ends:
        raise OnnxImportError(f"ConvTranspose: asymmetric pads {begins + ends} are not supported")
    settings = dict(stride=tuple(attributes.get("strides", [1] * spatial)), padding=tuple(begins),
                    output_padding=tuple(attributes.get("output_padding", [0] * spatial)),
                    groups=attributes.get("group", 1), dilation=tuple(attributes.get("dilations", [1] * spatial)))
    if spatial == 1:
        return F.conv_transpose1d(x, weight, bias, **settings)
    if spatial == 2:
        return F.conv_transpose2d(x, weight, bias, **settings)
    raise OnnxImportError(f"ConvTranspose: {spatial}-D is not supported (1-D and 2-D are)")


def _pool(kind):
    def run(inputs, attributes, context):
        x = inputs[0]
        spatial = x.ndim - 2
        kernel = tuple(attributes["kernel_shape"])
        strides = tuple(attributes.get("strides", [1] * spatial))       # ONNX's default stride is 1, not the kernel
        begins, ends = _begin_end_pads(attributes, x, kind)
        fill = -math.inf if kind == "MaxPool" else 0.0
        if begins != ends and kind == "AveragePool":
            raise OnnxImportError(f"AveragePool: asymmetric pads {begins + ends} are not supported")
        x, padding = _pad_if_asymmetric(x, begins, ends, fill)
        ceil_mode = bool(attributes.get("ceil_mode", 0))
        if kind == "MaxPool":
            dilations = tuple(attributes.get("dilations", [1] * spatial))
            function = F.max_pool1d if spatial == 1 else F.max_pool2d
            return function(x, kernel, strides, padding, dilations, ceil_mode)
        function = F.avg_pool1d if spatial == 1 else F.avg_pool2d
        return function(x, kernel, strides, padding, ceil_mode, bool(attributes.get("count_include_pad", 0)))
    return run


def _global_pool(reduce_name):
    def run(inputs, attributes, context):
        x = inputs[0]
        dims = tuple(range(2, x.ndim))
        return x.mean(dims, keepdim=True) if reduce_name == "mean" else x.amax(dims, keepdim=True)
    return run


def _batch_norm(inputs, attributes, context):
    if attributes.get("training_mode", 0):
        raise OnnxImportError("BatchNormalization: training_mode=1 is not supported; export the model in eval mode")
    x, scale, bias, mean, var = inputs[:5]
    shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    eps = attributes.get("epsilon", 1e-5)
    return (x - mean.reshape(shape)) * (var.reshape(shape) + eps).rsqrt() * scale.reshape(shape) + bias.reshape(shape)


def _layer_norm(inputs, attributes, context):
    x, scale = inputs[0], inputs[1]
    bias = inputs[2] if len(inputs) > 2 else None
    axis = attributes.get("axis", -1) % x.ndim
    normalized = x.shape[axis:]
    eps = attributes.get("epsilon", 1e-5)
    if scale.shape == normalized and (bias is None or bias.shape == normalized):
        return F.layer_norm(x, normalized, scale, bias, eps)
    out = F.layer_norm(x, normalized, None, None, eps) * scale
    return out if bias is None else out + bias


def _instance_norm(inputs, attributes, context):
    x, scale, bias = inputs
    # Instance norm is group norm with one channel per group.
    return F.group_norm(x, x.shape[1], scale, bias, attributes.get("epsilon", 1e-5))


# ----- shapes and indexing ------------------------------------------------------------------------

def _reshape(inputs, attributes, context):
    x, target = inputs[0], _ints(inputs[1])
    if not attributes.get("allowzero", 0):
        target = [x.shape[i] if size == 0 else size for i, size in enumerate(target)]
    return x.reshape(tuple(target))


def _flatten(inputs, attributes, context):
    x = inputs[0]
    axis = attributes.get("axis", 1) % (x.ndim + 1) if x.ndim else 0
    return x.reshape(math.prod(x.shape[:axis]), -1)


def _transpose(inputs, attributes, context):
    x = inputs[0]
    return x.permute(tuple(attributes.get("perm", list(reversed(range(x.ndim))))))


def _concat(inputs, attributes, context):
    return ops.cat([t for t in inputs if t is not None], dim=attributes["axis"])


def _slice(inputs, attributes, context):
    x = inputs[0]
    starts, ends = _ints(inputs[1]), _ints(inputs[2])
    axes = _ints(inputs[3]) if len(inputs) > 3 and inputs[3] is not None else list(range(len(starts)))
    steps = _ints(inputs[4]) if len(inputs) > 4 and inputs[4] is not None else [1] * len(starts)
    index = [slice(None)] * x.ndim
    for start, end, axis, step in zip(starts, ends, axes, steps):
        size = x.shape[axis]
        # ONNX clamps out-of-range bounds; INT64_MIN ends a backward slice before the first element.
        end = None if step < 0 and end < -size else max(min(end, size), -size - 1)
        index[axis % x.ndim] = slice(max(min(start, size), -size), end, step)
    return x[tuple(index)]


def _gather(inputs, attributes, context):
    data, indices = inputs
    axis = attributes.get("axis", 0) % data.ndim
    positions = numpy.asarray(indices.array).astype(numpy.int64) % data.shape[axis]
    index = (slice(None),) * axis + ((int(positions) if positions.ndim == 0 else positions),)
    return data[index]


def _gather_elements(inputs, attributes, context):
    data, indices = inputs
    axis = attributes.get("axis", 0) % data.ndim
    return data.gather(axis, Tensor._wrap(numpy.asarray(indices.array).astype(numpy.int64) % data.shape[axis]))


def _squeeze(inputs, attributes, context):
    x, axes = inputs[0], _axes(inputs, attributes, 1, context, 13)
    if axes is None:
        return x.reshape(tuple(size for size in x.shape if size != 1))
    axes = {a % x.ndim for a in axes}
    return x.reshape(tuple(size for i, size in enumerate(x.shape) if i not in axes))


def _unsqueeze(inputs, attributes, context):
    x, axes = inputs[0], _axes(inputs, attributes, 1, context, 13)
    rank = x.ndim + len(axes)
    shape = list(x.shape)
    for axis in sorted(a % rank for a in axes):
        shape.insert(axis, 1)
    return x.reshape(tuple(shape))


def _shape(inputs, attributes, context):
    dims = inputs[0].shape[attributes.get("start", 0):attributes.get("end", None)]
    return Tensor._wrap(numpy.asarray(dims, dtype=numpy.int64))


def _expand(inputs, attributes, context):
    x, target = inputs[0], _ints(inputs[1])
    return x.expand(_bounded_shape(numpy.broadcast_shapes(x.shape, tuple(target)), "Expand"))


def _where(inputs, attributes, context):
    return ops.where(inputs[0], inputs[1], inputs[2])


def _pad(inputs, attributes, context):
    x = inputs[0]
    mode = {"constant": "constant", "reflect": "reflect", "edge": "replicate"}.get(attributes.get("mode", "constant"))
    if mode is None:
        raise OnnxImportError(f"Pad: mode {attributes.get('mode')!r} is not supported (constant, reflect, edge are)")
    pads = _ints(inputs[1])
    value = float(inputs[2].item()) if len(inputs) > 2 and inputs[2] is not None else 0.0
    axes = _ints(inputs[3]) if len(inputs) > 3 and inputs[3] is not None else list(range(x.ndim))
    count = len(axes)
    per_axis = {axis % x.ndim: (pads[i], pads[i + count]) for i, axis in enumerate(axes)}
    widths = []
    for axis in reversed(range(min(per_axis), x.ndim)):
        widths += list(per_axis.get(axis, (0, 0)))
    if mode == "constant":
        return ops.pad(x, widths, mode="constant", value=value)
    return ops.pad(x, widths, mode=mode)


def _reduce(kind):
    since = 13 if kind == "sum" else 18

    def run(inputs, attributes, context):
        x = inputs[0]
        axes = _axes(inputs, attributes, 1, context, since)
        keepdim = bool(attributes.get("keepdims", 1))
        if not axes:
            if attributes.get("noop_with_empty_axes", 0):
                return x
            axes = list(range(x.ndim))
        dims = tuple(a % x.ndim for a in axes)
        if kind == "sum":
            return x.sum(dims, keepdim=keepdim)
        if kind == "mean":
            return x.mean(dims, keepdim=keepdim)
        if kind == "max":
            return x.amax(dims, keepdim=keepdim)
        if kind == "min":
            return x.amin(dims, keepdim=keepdim)
        if kind == "prod":
            return x.prod(dims, keepdim=keepdim)
        if kind == "l2":
            return x.norm(2, dims, keepdim=keepdim)
        return ops.logsumexp(x, dims, keepdim=keepdim)
    return run


def _einsum(inputs, attributes, context):
    return ops.einsum(attributes["equation"], *inputs)


def _cumsum(inputs, attributes, context):
    if attributes.get("exclusive", 0) or attributes.get("reverse", 0):
        raise OnnxImportError("CumSum: exclusive and reverse are not supported")
    return ops.cumsum(inputs[0], int(inputs[1].item()))


# The most elements a node may create from a shape the graph computes (a bound on what a hostile file can ask for).
MAX_CREATED_ELEMENTS = 2 ** 31


def _bounded_shape(shape, op):
    if any(size < 0 for size in shape) or math.prod(shape) > MAX_CREATED_ELEMENTS:
        raise OnnxImportError(f"{op}: the graph asks for a tensor of shape {tuple(shape)}, beyond the "
                              f"{MAX_CREATED_ELEMENTS} elements chainrule allows a node to create")
    return tuple(shape)


def _constant_of_shape(inputs, attributes, context):
    value = attributes.get("value", Tensor._wrap(numpy.zeros(1, numpy.float32)))
    dtype = context.float_dtype if value.is_floating_point() else value.dtype
    return creation.full(_bounded_shape(_ints(inputs[0]), "ConstantOfShape"), value.array.reshape(-1)[0].item(), dtype=dtype)


def _mod(inputs, attributes, context):
    x, y = inputs
    if attributes.get("fmod", 0):      # C's fmod: the sign of x
        return x - ops.trunc(x / y) * y if x.is_floating_point() else Tensor._wrap(numpy.fmod(x.array, y.array))
    return ops.remainder(x, y)


def _compare(function):
    def run(inputs, attributes, context):
        return function(*inputs)
    return run


def _constant(inputs, attributes, context):
    return attributes["value"]


def _identity(inputs, attributes, context):
    return inputs[0]


# ----- recurrent layers ---------------------------------------------------------------------------

# Where PyTorch's gate blocks sit in ONNX's order (ONNX LSTM: i, o, f, c; GRU: z, r, h).
_TORCH_FROM_ONNX = {"LSTM": (0, 2, 3, 1), "GRU": (1, 0, 2), "RNN": (0,)}


def _rnn_sequence(x, h, weight_ih, weight_hh, bias_ih, bias_hh, reverse, activation):
    """The plain RNN, h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh), stepped with nn.rnn's cells."""
    cell = rnn_tanh_cell if activation == "Tanh" else rnn_relu_cell
    steps = range(x.shape[0] - 1, -1, -1) if reverse else range(x.shape[0])
    outputs = [None] * x.shape[0]
    for t in steps:
        h = cell(x[t], h, weight_ih, weight_hh, bias_ih, bias_hh)
        outputs[t] = h
    return ops.stack(outputs, dim=0), h


def _torch_gates(tensor, kind):
    blocks = ops.chunk(tensor, len(_TORCH_FROM_ONNX[kind]), dim=0)
    return ops.cat([blocks[i] for i in _TORCH_FROM_ONNX[kind]], dim=0)


def _recurrent(kind):
    def run(inputs, attributes, context):
        x, weight, recurrence = inputs[0], inputs[1], inputs[2]
        bias = inputs[3] if len(inputs) > 3 else None
        if len(inputs) > 4 and inputs[4] is not None:
            raise OnnxImportError(f"{kind}: sequence_lens (variable-length batches) is not supported")
        if kind == "LSTM" and len(inputs) > 7 and inputs[7] is not None:
            raise OnnxImportError("LSTM: peephole weights (input P) are not supported")
        for unsupported in ("clip", "input_forget") + (() if kind == "RNN" else ("activations",)):
            if attributes.get(unsupported):
                raise OnnxImportError(f"{kind}: the attribute {unsupported!r} is not supported")
        activations = set(attributes.get("activations") or ["Tanh"])
        if kind == "RNN" and not (activations <= {"Tanh"} or activations <= {"Relu"}):
            raise OnnxImportError(f"RNN: activations {sorted(activations)} are not supported (Tanh or Relu)")
        if kind == "GRU" and not attributes.get("linear_before_reset", 0):
            raise OnnxImportError("GRU: only linear_before_reset=1 (PyTorch's GRU) is supported")
        if attributes.get("layout", 0):
            x = x.transpose(0, 1)
        hidden, directions = attributes["hidden_size"], weight.shape[0]
        batch = x.shape[1]
        initial_h = inputs[5] if len(inputs) > 5 else None
        initial_c = inputs[6] if len(inputs) > 6 else None
        outputs, finals_h, finals_c = [], [], []
        zeros = creation.zeros(batch, hidden, dtype=x.dtype)
        for d in range(directions):
            weight_ih, weight_hh = _torch_gates(weight[d], kind), _torch_gates(recurrence[d], kind)
            gates = weight_ih.shape[0]
            bias_ih = _torch_gates(bias[d, :gates], kind) if bias is not None else None
            bias_hh = _torch_gates(bias[d, gates:], kind) if bias is not None else None
            h0 = initial_h[d] if initial_h is not None else zeros
            reverse = d == 1 or attributes.get("direction", "forward") == "reverse"
            if kind == "LSTM":
                projected = x @ weight_ih.mT + (0.0 if bias is None else bias_ih + bias_hh)
                c0 = initial_c[d] if initial_c is not None else zeros
                out, (h_n, c_n) = lstm_sequence(projected, h0, c0, weight_hh, reverse=reverse)
                finals_c.append(c_n)
            elif kind == "GRU":
                projected = x @ weight_ih.mT + (0.0 if bias is None else bias_ih)
                out, h_n = gru_sequence(projected, h0, weight_hh, bias_hh, reverse=reverse)
            else:
                out, h_n = _rnn_sequence(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, reverse, next(iter(activations)))
            outputs.append(out)
            finals_h.append(h_n)
        y = ops.stack(outputs, dim=1)                      # (seq, directions, batch, hidden)
        y_h = ops.stack(finals_h, dim=0)
        results = [y, y_h] + ([ops.stack(finals_c, dim=0)] if kind == "LSTM" else [])
        if attributes.get("layout", 0):
            results = [results[0].permute(2, 0, 1, 3)] + [r.transpose(0, 1) for r in results[1:]]
        return results
    return run


OP_IMPORTERS = {
    "Add": _binary(ops.add), "Sub": _binary(ops.sub), "Mul": _binary(ops.mul), "Div": _binary(ops.div),
    "Pow": _binary(ops.pow), "Max": _variadic(ops.maximum), "Min": _variadic(ops.minimum), "Sum": _variadic(ops.add),
    "Neg": _unary(ops.neg), "Abs": _unary(ops.abs), "Exp": _unary(ops.exp), "Log": _unary(ops.log),
    "Sqrt": _unary(ops.sqrt), "Reciprocal": _unary(ops.reciprocal), "Sin": _unary(ops.sin), "Cos": _unary(ops.cos),
    "Tan": _unary(ops.tan), "Asin": _unary(ops.asin), "Acos": _unary(ops.acos), "Atan": _unary(ops.atan),
    "Sinh": _unary(ops.sinh), "Cosh": _unary(ops.cosh), "Tanh": _unary(ops.tanh), "Sigmoid": _unary(ops.sigmoid),
    "Sign": _unary(ops.sign), "Floor": _unary(ops.floor), "Ceil": _unary(ops.ceil), "Round": _unary(ops.round),
    "Relu": _unary(ops.relu), "Erf": _unary(ops.erf), "Softplus": _unary(ops.softplus), "Mish": _unary(F.mish),
    "LeakyRelu": _leaky_relu, "Elu": _elu, "Selu": _selu, "PRelu": _prelu, "Clip": _clip, "Gelu": _gelu,
    "Softmax": _softmax(ops.softmax), "LogSoftmax": _softmax(ops.log_softmax),
    "Identity": _identity, "Dropout": _identity, "Cast": _cast, "Constant": _constant,
    "Gemm": _gemm, "MatMul": _binary(ops.matmul), "Einsum": _einsum,
    "Conv": _conv, "ConvTranspose": _conv_transpose, "MaxPool": _pool("MaxPool"), "AveragePool": _pool("AveragePool"),
    "GlobalAveragePool": _global_pool("mean"), "GlobalMaxPool": _global_pool("max"),
    "BatchNormalization": _batch_norm, "LayerNormalization": _layer_norm,
    "Reshape": _reshape, "Flatten": _flatten, "Transpose": _transpose, "Concat": _concat, "Slice": _slice,
    "Gather": _gather, "GatherElements": _gather_elements, "Squeeze": _squeeze, "Unsqueeze": _unsqueeze,
    "Shape": _shape, "Expand": _expand, "Where": _where, "Pad": _pad, "CumSum": _cumsum,
    "ReduceSum": _reduce("sum"), "ReduceMean": _reduce("mean"), "ReduceMax": _reduce("max"),
    "ReduceMin": _reduce("min"), "ReduceProd": _reduce("prod"), "ReduceL2": _reduce("l2"),
    "ReduceLogSumExp": _reduce("logsumexp"),
    "LSTM": _recurrent("LSTM"), "GRU": _recurrent("GRU"), "RNN": _recurrent("RNN"),
    "InstanceNormalization": _instance_norm, "ConstantOfShape": _constant_of_shape, "Mod": _mod,
    "Equal": _compare(ops.eq), "Less": _compare(ops.lt), "Greater": _compare(ops.gt), "LessOrEqual": _compare(ops.le),
    "GreaterOrEqual": _compare(ops.ge), "Not": _compare(ops.logical_not), "And": _compare(ops.logical_and),
    "Or": _compare(ops.logical_or),
}

# How many outputs chainrule computes for a node (1 unless listed): a further declared output (Dropout's
# mask, MaxPool's indices, BatchNormalization's training statistics) may exist but nothing may use it.
_COMPUTED_OUTPUTS = {"LSTM": 3, "GRU": 2, "RNN": 2}


# ==============================================================================================
# checking the file
# ==============================================================================================

_TYPED_FIELDS = {1: "float_data", 11: "double_data", 7: "int64_data", 13: "uint64_data", 12: "uint64_data"}


def _check_tensor_proto(onnx, tensor, file_bytes, where):
    """Every claimed size against the bytes actually present, before any array is made from it."""
    if tensor.data_location == onnx.TensorProto.EXTERNAL or tensor.external_data:
        raise OnnxImportError(f"{where}: its data lives in an external file, which chainrule does not read; "
                              "save the model with its weights inside the .onnx file")
    dims = list(tensor.dims)
    if any(d < 0 for d in dims):
        raise OnnxImportError(f"{where}: negative dims {dims}")
    try:
        dtype = numpy_dtype(tensor.data_type)
    except ValueError as error:
        raise OnnxImportError(f"{where}: {error}") from None
    if dtype.kind not in "fiub":
        raise OnnxImportError(f"{where}: element type {dtype} is not a number chainrule can hold")
    count = math.prod(dims)
    claimed = count * dtype.itemsize
    if claimed > file_bytes:
        raise OnnxImportError(f"{where}: dims {dims} claim {claimed} bytes, more than the whole file ({file_bytes})")
    if tensor.raw_data:
        if len(tensor.raw_data) != claimed:
            raise OnnxImportError(f"{where}: dims {dims} of {dtype} need {claimed} bytes but it holds "
                                  f"{len(tensor.raw_data)}; the file is damaged")
        return
    field = _TYPED_FIELDS.get(tensor.data_type, "int32_data")
    present = len(getattr(tensor, field))
    if present != count:
        raise OnnxImportError(f"{where}: dims {dims} need {count} values but {field} holds {present}; "
                              "the file is damaged")


def _read_and_check(path):
    onnx = require_onnx()
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"load_onnx: {path} does not exist")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise OnnxImportError(f"load_onnx: {path} is {size} bytes; a protobuf holds at most {MAX_FILE_BYTES} "
                              "(weights in external data files are not read)")
    data = path.read_bytes()
    try:
        proto = onnx.load_model_from_string(data)
    except Exception as error:      # protobuf's DecodeError, or onnx's own
        raise OnnxImportError(f"load_onnx: {path} is not a readable ONNX file ({type(error).__name__}: {error}); "
                              "it may be truncated or damaged") from None
    if not proto.HasField("graph") or not proto.graph.node:
        raise OnnxImportError(f"load_onnx: {path} holds no graph (an empty or truncated file?)")
    opsets = {entry.domain or "ai.onnx": entry.version for entry in proto.opset_import}
    opset = opsets.get("ai.onnx")
    if opset is None or opset < MIN_IMPORT_OPSET:
        raise OnnxImportError(f"load_onnx: {path} uses opset {opset}; chainrule reads opset {MIN_IMPORT_OPSET} or "
                              "newer (re-export with opset_version=17)")
    unsupported = sorted({f"{node.domain + '.' if node.domain else ''}{node.op_type}" for node in proto.graph.node
                          if node.domain not in ("", "ai.onnx") or node.op_type not in OP_IMPORTERS})
    if unsupported:
        first = next(node for node in proto.graph.node
                     if node.op_type not in OP_IMPORTERS or node.domain not in ("", "ai.onnx"))
        raise OnnxImportError(
            f"load_onnx: {path} uses ops chainrule cannot run: {', '.join(unsupported)} (first at node "
            f"{first.name or first.output[0]!r}); supported: {', '.join(sorted(OP_IMPORTERS))}")
    if proto.graph.sparse_initializer:
        raise OnnxImportError(f"load_onnx: {path} holds sparse initializers, which chainrule does not read")
    for tensor in proto.graph.initializer:
        _check_tensor_proto(onnx, tensor, len(data), f"load_onnx: {path}: initializer {tensor.name!r}")
    used = {name for node in proto.graph.node for name in node.input} | {value.name for value in proto.graph.output}
    for node in proto.graph.node:
        for position, name in enumerate(node.output[_COMPUTED_OUTPUTS.get(node.op_type, 1):], 1):
            if name and name in used:
                raise OnnxImportError(f"load_onnx: {path}: output {_COMPUTED_OUTPUTS.get(node.op_type, 1) + position - 1} "
                                      f"({name!r}) of node {node.name or node.output[0]!r} ({node.op_type}) is used, "
                                      "but chainrule does not compute it")
    for node in proto.graph.node:
        for attribute in node.attribute:
            if attribute.type == onnx.AttributeProto.TENSOR:
                _check_tensor_proto(onnx, attribute.t, len(data), f"load_onnx: {path}: node {node.name!r} attribute "
                                    f"{attribute.name!r}")
            if attribute.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS):
                raise OnnxImportError(f"load_onnx: {path}: node {node.name!r} holds a subgraph, not supported")
    # After chainrule's own size checks, so that no claimed size is trusted before it is compared with the bytes.
    try:
        onnx.checker.check_model(proto)
    except onnx.checker.ValidationError as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise OnnxImportError(f"load_onnx: {path} fails onnx.checker: {first}") from None
    return onnx, proto, opset


# ==============================================================================================
# the module
# ==============================================================================================


class _Namespace(Module):
    """A plain container, so that an initializer named ``a.b.weight`` lives at ``module.a.b.weight``."""


def _attribute_path(name):
    parts = [re.sub(r"\W", "_", part) or "_" for part in name.split(".")]
    return parts


class OnnxModule(Module):
    """A chainrule Module running an ONNX graph: each node with chainrule ops, so ``forward`` is differentiable.

    Floating-point initializers are ``Parameter`` s under their ONNX names (``state_dict()`` keys),
    except the running statistics of BatchNormalization, which are buffers. Build one with ``load_onnx``.

    Example:
        >>> import os, tempfile, chainrule as cr, chainrule.nn as nn, chainrule.io
        >>> path = os.path.join(tempfile.mkdtemp(), "m.onnx")
        >>> _ = chainrule.io.export_onnx(nn.Sequential(nn.Linear(3, 2)), cr.randn(1, 3), path)
        >>> model = chainrule.io.load_onnx(path)
        >>> sorted(model.state_dict()), model(cr.ones(4, 3)).shape
        (['0.bias', '0.weight'], (4, 2))
    """

    def __init__(self, onnx, proto, opset, source=""):
        super().__init__()
        graph = proto.graph
        object.__setattr__(self, "_source", str(source))
        object.__setattr__(self, "_opset", opset)
        statistics = {name for node in graph.node if node.op_type == "BatchNormalization" for name in node.input[3:5]}
        places, constants = {}, {}
        for tensor in graph.initializer:
            array = onnx.numpy_helper.to_array(tensor).copy()
            if array.dtype.kind != "f":
                constants[tensor.name] = Tensor._wrap(array)
                continue
            places[tensor.name] = self._place(tensor.name, array, as_buffer=tensor.name in statistics)
        initializer_names = set(places) | set(constants)
        nodes = []
        for node in graph.node:
            attributes = {}
            for attribute in node.attribute:
                value = onnx.helper.get_attribute_value(attribute)
                if isinstance(value, bytes):
                    value = value.decode("utf-8")
                elif isinstance(value, onnx.TensorProto):
                    value = Tensor._wrap(onnx.numpy_helper.to_array(value).copy())
                elif isinstance(value, list) and value and isinstance(value[0], bytes):
                    value = [v.decode("utf-8") for v in value]
                attributes[attribute.name] = value
            if node.op_type == "Constant":
                attributes = {"value": _constant_value(attributes, node)}
            nodes.append((node.op_type, list(node.input), list(node.output), attributes, node.name or node.output[0]))
        object.__setattr__(self, "_nodes", nodes)
        object.__setattr__(self, "_places", places)
        object.__setattr__(self, "_constants", constants)
        object.__setattr__(self, "_graph_inputs", [(value.name, _declared_shape(value)) for value in graph.input
                                             if value.name not in initializer_names])
        object.__setattr__(self, "_outputs", [value.name for value in graph.output])

    def _place(self, name, array, as_buffer):
        """Put an initializer at the attribute path its dotted name spells; returns (owner, attribute)."""
        *folders, leaf = _attribute_path(name)
        owner = self
        for folder in folders:
            child = owner.__dict__.get(folder)
            if child is None:
                child = _Namespace()
                setattr(owner, folder, child)
            elif not isinstance(child, Module):
                raise OnnxImportError(f"load_onnx: initializer {name!r} clashes with another one named like its folder")
            owner = child
        if leaf in owner.__dict__:
            raise OnnxImportError(f"load_onnx: two initializers map to the same name {name!r} once sanitized")
        if as_buffer:
            owner.register_buffer(leaf, Tensor._wrap(array))
        else:
            setattr(owner, leaf, Parameter(array))
        return owner, leaf

    def forward(self, *inputs):
        """Run the graph on ``inputs`` (tensors or arrays, in the graph's input order); one output or a tuple."""
        if len(inputs) != len(self._graph_inputs):
            raise TypeError(f"OnnxModule: the graph takes {len(self._graph_inputs)} inputs "
                            f"{[name for name, _ in self._graph_inputs]}, got {len(inputs)}")
        values = {}
        float_dtype = None
        for (name, declared), value in zip(self._graph_inputs, inputs):
            value = value if isinstance(value, Tensor) else make_tensor(numpy.asarray(value))
            if declared is not None and (len(declared) != value.ndim or any(
                    d is not None and d != size for d, size in zip(declared, value.shape))):
                expected = ", ".join("?" if d is None else str(d) for d in declared)
                raise ValueError(f"OnnxModule: input {name!r} must have shape ({expected}), got {value.shape}")
            values[name] = value
        for name, (owner, attribute) in self._places.items():
            values[name] = getattr(owner, attribute)
            if float_dtype is None:
                float_dtype = values[name].dtype
        values.update(self._constants)
        if float_dtype is None:
            float_dtype = next((v.dtype for v in values.values() if v.is_floating_point()), dtypes.get_default_dtype())
        context = _Context(self._opset, float_dtype)
        for op_type, input_names, output_names, attributes, node_name in self._nodes:
            arguments = [values[name] if name else None for name in input_names]
            if op_type == "Constant" and attributes["value"].is_floating_point():
                arguments, result = [], attributes["value"].to(float_dtype)
            else:
                try:
                    result = OP_IMPORTERS[op_type](arguments, attributes, context)
                except OnnxImportError:
                    raise
                except (ValueError, TypeError, IndexError, RuntimeError) as error:
                    raise RuntimeError(f"OnnxModule: node {node_name!r} ({op_type}) failed: {error}") from error
            results = list(result) if isinstance(result, (list, tuple)) else [result]
            for name, value in zip(output_names, results):     # outputs past these are unused (checked at load)
                if name:
                    values[name] = value
        outputs = tuple(values[name] for name in self._outputs)
        return outputs[0] if len(outputs) == 1 else outputs

    def extra_repr(self):
        return f"{len(self._nodes)} nodes from {self._source!r}" if self._source else f"{len(self._nodes)} nodes"


def _constant_value(attributes, node):
    if "value" in attributes:
        return attributes["value"]
    for key, dtype in (("value_float", numpy.float32), ("value_floats", numpy.float32), ("value_int", numpy.int64),
                       ("value_ints", numpy.int64)):
        if key in attributes:
            return Tensor._wrap(numpy.asarray(attributes[key], dtype=dtype))
    raise OnnxImportError(f"Constant node {node.name!r}: only value, value_float(s) and value_int(s) are supported")


def _declared_shape(value):
    tensor_type = value.type.tensor_type
    if not tensor_type.HasField("shape"):
        return None
    return [dim.dim_value if dim.HasField("dim_value") else None for dim in tensor_type.shape.dim]


def load_onnx(path):
    """An ``OnnxModule`` running the ONNX graph at ``path``; its forward is differentiable.

    The file is checked whole before anything is built: it must parse, pass ``onnx.checker``, use
    opset 13 or newer and only ops in ``OP_IMPORTERS``, and every initializer's dims must match the
    bytes it holds (so a tampered size cannot make chainrule allocate more than the file). Any
    failure raises ``OnnxImportError`` naming the file and the problem.

    .. math:: \\frac{\\partial L}{\\partial \\theta} \\text{ for every initializer } \\theta \\text{, by the chain rule through each node}

    Example:
        >>> import os, tempfile, chainrule as cr, chainrule.nn as nn, chainrule.io
        >>> path = os.path.join(tempfile.mkdtemp(), "m.onnx")
        >>> _ = chainrule.io.export_onnx(nn.Sequential(nn.Linear(3, 2), nn.Tanh()), cr.randn(1, 3), path)
        >>> model = chainrule.io.load_onnx(path)
        >>> model(cr.ones(2, 3)).sum().backward()         # gradients reach the imported weights
        >>> [(name, p.grad.shape) for name, p in model.named_parameters()]
        [('0.weight', (2, 3)), ('0.bias', (2,))]
    """
    onnx, proto, opset = _read_and_check(path)
    return OnnxModule(onnx, proto, opset, source=path)


__all__ = ["MAX_CREATED_ELEMENTS", "OP_IMPORTERS", "OnnxImportError", "OnnxModule", "load_onnx"]
