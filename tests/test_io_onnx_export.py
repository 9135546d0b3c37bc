"""chainrule → ONNX → onnxruntime: every layer kind and bundled model, at two batch sizes, within 1e-5."""
import io

import numpy
import onnx
import onnxruntime
import pytest

import chainrule as cr
import chainrule.io
import chainrule.nn as nn
import chainrule.nn.functional as F
from chainrule.core.tensor import Tensor
from io_cases import LAYER_CASES, MODEL_NAMES, build_pair, model_pair, run_ours

CASES = [("layer", name) for name in LAYER_CASES] + [("model", name) for name in MODEL_NAMES]


def _run_onnx(path, array, name="input"):
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {name: array})[0]


@pytest.mark.parametrize("kind, name", CASES)
def test_onnxruntime_gives_chainrules_outputs_at_two_batch_sizes(kind, name, tmp_path):
    model, _, make_input = build_pair(name) if kind == "layer" else model_pair(name)
    path = tmp_path / f"{name}.onnx"
    proto = chainrule.io.export_onnx(model, make_input(2), path)
    onnx.checker.check_model(onnx.load(path), full_check=True)
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    for batch in (3, 7):                               # neither is the example's batch size
        x = make_input(batch)
        numpy.testing.assert_allclose(_run_onnx(path, x), run_ours(model, x), rtol=1e-5, atol=1e-5)


def test_parameters_are_initializers_named_by_their_state_dict_keys(tmp_path):
    model, _, make_input = model_pair("cnn")
    proto = chainrule.io.export_onnx(model, make_input(2), tmp_path / "cnn.onnx")
    initializers = {init.name: onnx.numpy_helper.to_array(init) for init in proto.graph.initializer}
    for key, value in model.state_dict().items():
        assert numpy.array_equal(initializers[key], value.array), key
    assert [node.op_type for node in proto.graph.node if node.op_type in ("Conv", "MaxPool", "Gemm")] == \
        ["Conv", "MaxPool", "Conv", "MaxPool", "Gemm", "Gemm"]


def test_torch_style_arguments_names_axes_and_opset(tmp_path):
    model = nn.Sequential(nn.Linear(3, 2))
    path = tmp_path / "m.onnx"
    proto = chainrule.io.export_onnx(model, (cr.randn(4, 3),), path, input_names=["features"], output_names=["scores"],
                                     dynamic_axes={"features": {0: "n"}, "scores": [0]}, opset_version=18)
    assert proto.opset_import[0].version == 18
    assert proto.graph.input[0].name == "features" and proto.graph.output[0].name == "scores"
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "n"
    x = numpy.ones((6, 3), numpy.float32)
    numpy.testing.assert_allclose(_run_onnx(path, x, "features"), run_ours(model, x), atol=1e-6)
    buffer = io.BytesIO()
    chainrule.io.export_onnx(model, cr.randn(4, 3), buffer)           # a file object, as torch takes
    assert onnx.load_model_from_string(buffer.getvalue()).graph.node
    static = tmp_path / "static.onnx"
    proto = chainrule.io.export_onnx(model, cr.randn(4, 3), static, dynamic_axes={})
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_value == 4
    with pytest.raises(chainrule.io.OnnxExportError, match="opset_version 13 is too old"):
        chainrule.io.export_onnx(model, cr.randn(4, 3), path, opset_version=13)
    with pytest.raises(chainrule.io.OnnxExportError, match="'typo'.*neither an input name"):
        chainrule.io.export_onnx(model, cr.randn(4, 3), path, dynamic_axes={"typo": [0]})


class _FunctionalPool(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)

    def forward(self, x):
        return F.max_pool2d(self.conv(x), 2)      # the functional form: its im2col primitive has no ONNX node


class _FunctionalLeaky(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 3)

    def forward(self, x):
        return F.leaky_relu(self.fc(x))           # where(x > 0, ...): the mask is not recorded


class _MergesBatch(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 3)

    def forward(self, x):
        return self.fc(x).reshape(-1)


class _Wrap(nn.Module):
    def __init__(self, inner):
        super().__init__()
        self.block = inner

    def forward(self, x):
        return self.block(x)


def test_an_op_without_onnx_form_names_the_op_and_the_module(tmp_path):
    path = tmp_path / "bad.onnx"
    with pytest.raises(chainrule.io.OnnxExportError, match=r"'window_max'.*in module 'block', _FunctionalPool"):
        chainrule.io.export_onnx(_Wrap(_FunctionalPool()),
                                 cr.randn(2, 1, 6, 6), path)
    with pytest.raises(chainrule.io.OnnxExportError, match=r"where: .*comparison.*in module 'block', _FunctionalLeaky"):
        chainrule.io.export_onnx(_Wrap(_FunctionalLeaky()), cr.randn(2, 3), path)
    with pytest.raises(chainrule.io.OnnxExportError, match=r"reshape: from \(2, 3\) to \(6,\) merges"):
        chainrule.io.export_onnx(_MergesBatch(), cr.randn(2, 3), path)
    assert not path.exists()                      # nothing half-written


def test_export_puts_the_model_and_tensor_back_as_they_were(tmp_path):
    model = nn.Sequential(nn.Linear(3, 3), nn.Dropout(0.5))
    original_detach = Tensor.detach
    chainrule.io.export_onnx(model, cr.randn(2, 3), tmp_path / "m.onnx")
    assert model.training and Tensor.detach is original_detach
    assert all("forward" not in vars(module) for module in model.modules())
    with pytest.raises(chainrule.io.OnnxExportError):
        chainrule.io.export_onnx(_MergesBatch(), cr.randn(2, 3), tmp_path / "bad.onnx")
    assert Tensor.detach is original_detach


def test_chainrule_imports_without_onnx_and_export_says_how_to_install_it(tmp_path):
    import subprocess
    import sys
    script = ("import sys; sys.modules['onnx'] = None\n"          # as if onnx were not installed
              "import chainrule as cr, chainrule.io, chainrule.nn as nn\n"
              "try:\n    chainrule.io.export_onnx(nn.Linear(2, 2), cr.randn(1, 2), sys.argv[1])\n"
              "except ImportError as error:\n    print(error)\n")
    result = subprocess.run([sys.executable, "-c", script, str(tmp_path / "m.onnx")], capture_output=True, text=True,
                            check=True)
    assert "pip install 'chainrule[onnx]'" in result.stdout


def test_a_bare_lstm_exports_all_three_outputs_with_the_batch_on_axis_1(tmp_path):
    cr.manual_seed(0)
    lstm = nn.LSTM(4, 3, num_layers=2)
    path = tmp_path / "lstm.onnx"
    proto = chainrule.io.export_onnx(lstm, cr.randn(6, 2, 4), path, output_names=["output", "h_n", "c_n"],
                                     dynamic_axes={"input": {1: "batch"}})
    assert [o.type.tensor_type.shape.dim[1].dim_param for o in proto.graph.output] == ["batch"] * 3
    session = onnxruntime.InferenceSession(str(path))
    for batch in (1, 5):
        x = numpy.random.default_rng(batch).standard_normal((6, batch, 4)).astype(numpy.float32)
        with cr.no_grad():
            output, (h_n, c_n) = lstm(cr.tensor(x))
        for got, want in zip(session.run(None, {"input": x}), (output, h_n, c_n)):
            numpy.testing.assert_allclose(got, want.numpy(), rtol=1e-5, atol=1e-6)
    with pytest.raises(chainrule.io.OnnxExportError, match=r"batch is on axis 1.*dynamic_axes=\{'input': \{1: 'batch'\}\}"):
        chainrule.io.export_onnx(lstm, cr.randn(6, 2, 4), path)


@pytest.mark.parametrize("opset", [18, 20])
def test_newer_opsets_write_reduce_axes_as_inputs(opset, tmp_path):
    model, _, make_input = build_pair("attention")      # its softmax reduces with ReduceMax and ReduceSum
    path = tmp_path / "attention.onnx"
    proto = chainrule.io.export_onnx(model, make_input(2), path, opset_version=opset)
    reduce_max = next(node for node in proto.graph.node if node.op_type == "ReduceMax")
    assert len(reduce_max.input) == 2 and not reduce_max.attribute[1:]
    x = make_input(4)
    numpy.testing.assert_allclose(_run_onnx(path, x), run_ours(model, x), rtol=1e-5, atol=1e-5)


class _Products(nn.Module):
    """The batch as a stacking dim of x, a row of x, and a column of the right operand."""

    def __init__(self):
        super().__init__()
        self.matrix, self.vector, self.left = (nn.Parameter(cr.randn(4, 3)), nn.Parameter(cr.randn(4)),
                                               nn.Parameter(cr.randn(5, 2)))

    def forward(self, x):                          # x: (N, 2, 4)
        stacked = x @ self.matrix                  # (N, 2, 3)
        rows = x @ self.vector                     # (N, 2)
        columns = self.left @ rows.mT              # (5, N): the batch is a column
        return stacked.sum(-1) + rows + columns.mT.sum(-1, keepdim=True)


def test_matmul_follows_the_batch_through_either_operand(tmp_path):
    model = _Products()
    path = tmp_path / "products.onnx"
    chainrule.io.export_onnx(model, cr.randn(3, 2, 4), path)
    x = numpy.random.default_rng(0).standard_normal((6, 2, 4)).astype(numpy.float32)
    numpy.testing.assert_allclose(_run_onnx(path, x), run_ours(model, x), rtol=1e-5, atol=1e-5)
    with pytest.raises(chainrule.io.OnnxExportError, match="matmul: the batch axis 0 of the right operand"):
        chainrule.io.export_onnx(_Wrap(_SumsOverBatch()), cr.randn(3, 4), path)


class _SumsOverBatch(nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(cr.randn(2, 3))

    def forward(self, x):                          # (2, N) @ (N, 4): the batch is summed over
        return cr.ones(2, x.shape[0]) @ (x * self.weight.sum())


class _FrozenScale(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 3)

    def forward(self, x):
        return self.fc(x) / float(x.detach().abs().max().item())     # a number read out of the graph


def test_a_value_frozen_outside_the_graph_is_caught_before_the_file_is_written(tmp_path):
    path = tmp_path / "frozen.onnx"
    with pytest.raises(chainrule.io.OnnxExportError, match="disagree on a second input.*frozen"):
        chainrule.io.export_onnx(_FrozenScale(), cr.randn(2, 3), path)
    assert not path.exists()
    chainrule.io.export_onnx(_FrozenScale(), cr.randn(2, 3), path, check=False)     # written as asked, unchecked
    assert path.exists()


def test_every_converter_is_for_a_primitive_that_exists():
    from chainrule.core.primitive import Primitive
    from chainrule.io.onnx_export import PRIMITIVE_CONVERTERS

    def every_subclass(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from every_subclass(sub)
    names = {primitive.name for primitive in every_subclass(Primitive)}
    assert set(PRIMITIVE_CONVERTERS) <= names, sorted(set(PRIMITIVE_CONVERTERS) - names)


class _TwoInputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 2)

    def forward(self, features, offsets):
        return self.fc(features) + offsets, features.sum(-1)


def test_several_inputs_and_outputs_take_torchs_default_names(tmp_path):
    model = _TwoInputs()
    path = tmp_path / "two.onnx"
    proto = chainrule.io.export_onnx(model, (cr.randn(2, 3), cr.randn(2, 2)), path)
    assert [v.name for v in proto.graph.input] == ["input_0", "input_1"]
    assert [v.name for v in proto.graph.output] == ["output_0", "output_1"]
    features, offsets = (numpy.random.default_rng(0).standard_normal(shape).astype(numpy.float32) for shape in [(5, 3), (5, 2)])
    got = onnxruntime.InferenceSession(str(path)).run(None, {"input_0": features, "input_1": offsets})
    with cr.no_grad():
        want = model(cr.tensor(features), cr.tensor(offsets))
    for g, w in zip(got, want):
        numpy.testing.assert_allclose(g, w.numpy(), rtol=1e-5, atol=1e-6)


class _Elementwise(nn.Module):
    """The primitives no layer wraps, each once: they export as plain ONNX ops."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        y = self.fc(x)
        parts = [y.exp(), y.abs().log1p(), y.expm1(), y.abs().sqrt(), y.sin(), y.cos(), y.tanh().atan(), y.sinh(),
                 y.cosh(), y.sigmoid(), cr.softplus(y), y.erf(), y.clamp(-0.5, 0.5), y.maximum(-y), y.minimum(-y),
                 y.abs() ** 1.5, y / (y.abs() + 1), (y * 3).floor(), (y * 3).ceil(), (y * 3).round(), cr.trunc(y * 3),
                 y.sign(), y.roll(1, 1), y.flip(1), y.cumsum(1), cr.pad(y, (1, 2)), y.logsumexp(1, keepdim=True),
                 y.amax(1, keepdim=True), y.amin(1, keepdim=True), y.norm(2, 1, keepdim=True), y.clone(),
                 y.double().float(), y[:, 1:3], y[:, [0, 2, 2]], y[:, None, 0], y.unsqueeze(1).expand(-1, 2, -1)[:, 1],
                 cr.einsum("ni,ij->nj", y, self.fc.weight)]
        return cr.cat(parts, dim=1)


def test_primitives_without_a_layer_export_as_onnx_ops(tmp_path):
    model = _Elementwise()
    path = tmp_path / "elementwise.onnx"
    chainrule.io.export_onnx(model, cr.randn(2, 4), path)
    x = numpy.random.default_rng(0).standard_normal((5, 4)).astype(numpy.float32)
    numpy.testing.assert_allclose(_run_onnx(path, x), run_ours(model, x), rtol=1e-5, atol=1e-5)
    numpy.testing.assert_allclose(run_ours(chainrule.io.load_onnx(path), x), run_ours(model, x), rtol=1e-5, atol=1e-6)
