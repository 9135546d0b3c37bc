"""The nn layers added for porting, against their torch.nn twins: outputs, input gradients, parameter names.

The functions under them (F.interpolate, F.pixel_shuffle, F.glu, F.rms_norm, ...) carry cards that
tests/test_ops_registry.py sweeps (float64 gradcheck, gradgradcheck, PyTorch on hypothesis inputs);
here each layer is built in both libraries with the same parameters and run on the same input.
"""
import warnings

import numpy
import pytest
import torch
import torch.nn.functional as TF

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F
from chainrule.func import gradcheck, gradgradcheck

RNG = numpy.random.default_rng(0)

# (name, constructor arguments, input shape): each is nn.<name>(*arguments) in both libraries
LAYERS = [
    ("Softmin", {"dim": 1}, (3, 4)), ("Softmax2d", {}, (2, 3, 2, 2)), ("Softsign", {}, (3, 4)),
    ("Tanhshrink", {}, (3, 4)), ("Threshold", {"threshold": 0.1, "value": -3.0}, (3, 4)),
    ("Hardshrink", {"lambd": 0.3}, (3, 4)), ("Softshrink", {"lambd": 0.3}, (3, 4)), ("Hardsigmoid", {}, (3, 4)),
    ("Hardswish", {}, (3, 4)), ("LogSigmoid", {}, (3, 4)), ("GLU", {"dim": 1}, (3, 4)), ("CELU", {"alpha": 0.5}, (3, 4)),
    ("PixelShuffle", {"upscale_factor": 2}, (2, 8, 3, 3)), ("PixelUnshuffle", {"downscale_factor": 2}, (2, 2, 4, 6)),
    ("ChannelShuffle", {"groups": 3}, (2, 6, 2, 2)),
    ("Upsample", {"scale_factor": 2}, (1, 2, 3, 3)), ("Upsample", {"size": (5, 4), "mode": "bilinear"}, (1, 2, 3, 3)),
    ("Upsample", {"scale_factor": 1.7, "mode": "bilinear", "align_corners": True}, (2, 1, 3, 4)),
    ("Upsample", {"scale_factor": 3, "mode": "linear"}, (2, 2, 5)), ("UpsamplingNearest2d", {"scale_factor": 2}, (1, 1, 2, 3)),
    ("UpsamplingBilinear2d", {"size": (4, 5)}, (1, 1, 2, 3)),
    ("ZeroPad1d", {"padding": (1, 2)}, (2, 3, 4)), ("ZeroPad2d", {"padding": (1, 0, 2, 1)}, (1, 2, 3, 3)),
    ("ConstantPad1d", {"padding": 2, "value": 3.5}, (2, 4)), ("ConstantPad2d", {"padding": 1, "value": -1.0}, (1, 2, 3)),
    ("ConstantPad3d", {"padding": (1, 0, 0, 1, 1, 1), "value": 2.0}, (1, 1, 2, 2, 2)),
    ("ReflectionPad1d", {"padding": (2, 1)}, (2, 3, 4)), ("ReflectionPad2d", {"padding": (1, 2, 2, 1)}, (1, 2, 3, 4)),
    ("ReplicationPad1d", {"padding": 2}, (2, 3, 4)), ("ReplicationPad2d", {"padding": (1, 2, 0, 3)}, (1, 2, 3, 4)),
    ("ReplicationPad3d", {"padding": 1}, (1, 1, 2, 2, 2)), ("CircularPad1d", {"padding": (1, 2)}, (2, 3, 4)),
    ("CircularPad2d", {"padding": 1}, (1, 2, 3, 3)),
    ("CosineSimilarity", {"dim": 1}, None), ("PairwiseDistance", {"p": 3.0}, None),
    ("AdaptiveAvgPool1d", {"output_size": 3}, (2, 3, 7)), ("AdaptiveMaxPool1d", {"output_size": 3}, (2, 3, 7)),
    ("LPPool1d", {"norm_type": 2, "kernel_size": 2}, (2, 3, 6)), ("LPPool2d", {"norm_type": 3, "kernel_size": 2, "stride": 1}, (1, 2, 4, 4)),
    ("Unfold", {"kernel_size": 2, "stride": 1}, (2, 3, 4, 4)), ("Fold", {"output_size": (3, 4), "kernel_size": 2}, (2, 8, 6)),
    ("RMSNorm", {"normalized_shape": 4}, (3, 4)), ("RMSNorm", {"normalized_shape": (3, 4), "eps": 1e-3}, (2, 3, 4)),
    ("InstanceNorm1d", {"num_features": 3}, (2, 3, 6)), ("InstanceNorm2d", {"num_features": 3, "affine": True}, (2, 3, 4, 4)),
    ("LocalResponseNorm", {"size": 3, "alpha": 0.1}, (2, 5, 3, 3)), ("Bilinear", {"in1_features": 4, "in2_features": 4,
                                                                                   "out_features": 3}, None),
]


def _inputs(shape, name):
    if name == "Bilinear":
        return [RNG.normal(size=(3, 4)), RNG.normal(size=(3, 4))]
    if shape is None:                              # two inputs, broadcasting
        return [RNG.normal(size=(3, 4)), RNG.normal(size=(4,))]
    values = RNG.normal(size=shape) * (4.0 if name in ("Hardsigmoid", "Hardswish") else 1.0)
    return [numpy.abs(values) + 0.1 if name.startswith("LPPool") else values]


@pytest.mark.parametrize("name, arguments, shape", LAYERS, ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(LAYERS)])
def test_layer_matches_torch_with_gradients(name, arguments, shape):
    arrays = _inputs(shape, name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                # the deprecated Upsampling layers warn in both libraries
        ours, theirs = getattr(nn, name)(**arguments).double(), getattr(torch.nn, name)(**arguments).double()
        ours_params, their_params = dict(ours.named_parameters()), dict(theirs.named_parameters())
        assert sorted(ours_params) == sorted(their_params)
        with torch.no_grad():
            for key, parameter in their_params.items():
                parameter.copy_(torch.tensor(RNG.normal(size=tuple(parameter.shape))))
                ours_params[key].array[...] = parameter.numpy()
        mine = [cr.tensor(a, requires_grad=True) for a in arrays]
        reference = [torch.tensor(a, requires_grad=True) for a in arrays]
        out, expected = ours(*mine), theirs(*reference)
    assert out.shape == tuple(expected.shape)
    numpy.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-7, atol=1e-10)
    cotangent = RNG.normal(size=out.shape)
    out.backward(cr.tensor(cotangent))
    expected.backward(torch.tensor(cotangent))
    for a, b in zip(mine, reference):
        numpy.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-7, atol=1e-10)
    for key, parameter in their_params.items():
        numpy.testing.assert_allclose(ours_params[key].grad.numpy(), parameter.grad.numpy(), rtol=1e-7, atol=1e-10)


def test_hardsigmoid_gradients_check_and_match_torch():
    # Not on the registry's card: PyTorch's backward rounds 1/6 to float32 even in float64 (see activations.py).
    x = cr.tensor(RNG.normal(size=(3, 4)) * 4, requires_grad=True)
    assert gradcheck(F.hardsigmoid, (x,)) and gradgradcheck(F.hardsigmoid, (x,))
    reference = torch.tensor(x.detach().numpy(), requires_grad=True)
    F.hardsigmoid(x).sum().backward()
    TF.hardsigmoid(reference).sum().backward()
    numpy.testing.assert_allclose(x.grad.numpy(), reference.grad.numpy(), rtol=1e-7)


@pytest.mark.parametrize("name, arguments", [("relu_", ()), ("elu_", (0.5,)), ("leaky_relu_", (0.2,)),
                                             ("hardtanh_", (-0.5, 0.5)), ("selu_", ()), ("celu_", (0.5,)),
                                             ("threshold_", (0.1, 7.0))])
def test_in_place_functionals_write_over_their_input_as_torch_does(name, arguments):
    values = RNG.normal(size=(3, 4))
    mine, theirs = cr.tensor(values), torch.tensor(values)
    assert getattr(F, name)(mine, *arguments) is mine
    getattr(TF, name)(theirs, *arguments)
    numpy.testing.assert_allclose(mine.numpy(), theirs.numpy(), rtol=1e-12)
    with pytest.raises(RuntimeError, match="requires grad"):
        getattr(F, name)(cr.tensor(values, requires_grad=True), *arguments)


def test_parameter_containers_name_and_save_like_torch():
    ours = nn.ParameterList([nn.Parameter(cr.ones(2)), cr.zeros(3)])
    theirs = torch.nn.ParameterList([torch.nn.Parameter(torch.ones(2)), torch.zeros(3)])
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()] == ["0", "1"]
    assert isinstance(ours[1], nn.Parameter) and ours[1].requires_grad and len(ours) == 2
    ours_dict = nn.ParameterDict({"scale": cr.ones(2), "shift": nn.Parameter(cr.zeros(2))})
    theirs_dict = torch.nn.ParameterDict({"scale": torch.ones(2), "shift": torch.nn.Parameter(torch.zeros(2))})
    assert list(ours_dict.state_dict()) == list(theirs_dict.state_dict()) == ["scale", "shift"]

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.weights = nn.ParameterList([nn.Parameter(cr.ones(2)) for _ in range(2)])

    assert list(Model().state_dict()) == ["weights.0", "weights.1"]
    with pytest.raises(TypeError, match="ParameterList: item 0 is a list"):
        nn.ParameterList([[1.0]])


def test_instance_norm_tracks_running_statistics_like_torch():
    values = RNG.normal(size=(4, 3, 5)) * 2 + 1
    ours = nn.InstanceNorm1d(3, track_running_stats=True, momentum=0.3).double()
    theirs = torch.nn.InstanceNorm1d(3, track_running_stats=True, momentum=0.3).double()
    for _ in range(2):
        ours(cr.tensor(values))
        theirs(torch.tensor(values))
    numpy.testing.assert_allclose(ours.running_mean.numpy(), theirs.running_mean.numpy(), rtol=1e-12)
    numpy.testing.assert_allclose(ours.running_var.numpy(), theirs.running_var.numpy(), rtol=1e-12)
    ours.eval(), theirs.eval()
    numpy.testing.assert_allclose(ours(cr.tensor(values)).numpy(), theirs(torch.tensor(values)).numpy(), rtol=1e-10)
    numpy.testing.assert_allclose(ours(cr.tensor(values[0])).numpy(), theirs(torch.tensor(values[0])).numpy(),
                                  rtol=1e-10)


def test_interpolate_refuses_what_it_cannot_do_and_says_why():
    with pytest.raises(ValueError, match="mode 'bilinear' is for inputs with 2 spatial dims"):
        F.interpolate(cr.zeros(1, 1, 4), scale_factor=2, mode="bilinear")
    with pytest.raises(ValueError, match="exactly one of size and scale_factor"):
        F.interpolate(cr.zeros(1, 1, 4))
    with pytest.raises(ValueError, match="'bicubic' is not available"):
        F.interpolate(cr.zeros(1, 1, 4, 4), scale_factor=2, mode="bicubic")
    with pytest.raises(RuntimeError, match="divisible by upscale_factor"):
        F.pixel_shuffle(cr.zeros(1, 3, 2, 2), 2)
    with pytest.warns(UserWarning, match="upsample is deprecated"):
        F.upsample(cr.zeros(1, 1, 2), scale_factor=2)


SIGNS = numpy.array([[1.0, -1.0, 1.0, -1.0], [1.0, 1.0, -1.0, -1.0], [-1.0, 1.0, 1.0, 1.0]])
# (name, constructor arguments, the inputs after the prediction: arrays or integer labels)
LOSSES = [
    ("SoftMarginLoss", {}, [SIGNS]), ("HingeEmbeddingLoss", {"margin": 0.5, "reduction": "sum"}, [SIGNS]),
    ("TripletMarginLoss", {"margin": 2.0, "swap": True}, [RNG.normal(size=(3, 4)), RNG.normal(size=(3, 4))]),
    ("MultiLabelSoftMarginLoss", {"weight": None}, [(SIGNS + 1) / 2]),
    ("MultiMarginLoss", {"margin": 0.5, "reduction": "none"}, [numpy.array([0, 3, 2])]),
    ("PoissonNLLLoss", {"full": True}, [numpy.abs(RNG.normal(size=(3, 4))) * 3]),
    ("GaussianNLLLoss", {}, [RNG.normal(size=(3, 4)), numpy.abs(RNG.normal(size=(3, 1))) + 0.1]),
]


@pytest.mark.parametrize("name, arguments, others", LOSSES, ids=[case[0] for case in LOSSES])
def test_loss_layer_matches_torch_with_gradients(name, arguments, others):
    prediction = RNG.normal(size=(3, 4))
    mine, theirs = cr.tensor(prediction, requires_grad=True), torch.tensor(prediction, requires_grad=True)
    ours = getattr(nn, name)(**arguments)(mine, *(cr.tensor(o) for o in others))
    expected = getattr(torch.nn, name)(**arguments)(theirs, *(torch.tensor(o) for o in others))
    numpy.testing.assert_allclose(ours.detach().numpy(), expected.detach().numpy(), rtol=1e-10)
    ours.sum().backward()
    expected.sum().backward()
    numpy.testing.assert_allclose(mine.grad.numpy(), theirs.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_transformer_encoder_stacks_copies_with_torchs_names_and_outputs():
    cr.manual_seed(0)
    layer = nn.TransformerEncoderLayer(d_model=8, nhead=2, dim_feedforward=16, dropout=0.0, batch_first=True).double()
    ours = nn.TransformerEncoder(layer, num_layers=2, norm=nn.LayerNorm(8).double())
    torch_layer = torch.nn.TransformerEncoderLayer(d_model=8, nhead=2, dim_feedforward=16, dropout=0.0,
                                                   batch_first=True).double()
    theirs = torch.nn.TransformerEncoder(torch_layer, num_layers=2, norm=torch.nn.LayerNorm(8).double(),
                                         enable_nested_tensor=False)
    mine, reference = ours.state_dict(), theirs.state_dict()
    assert list(mine) == list(reference)
    assert not numpy.shares_memory(ours.layers[0].linear1.weight.array, ours.layers[1].linear1.weight.array)
    with torch.no_grad():
        for key, value in mine.items():
            reference[key].copy_(torch.tensor(RNG.normal(size=value.shape) * 0.3))
            value.array[...] = reference[key].numpy()
    x = RNG.normal(size=(2, 5, 8))
    padding = numpy.array([[False] * 5, [False, False, False, True, True]])
    ours.eval(), theirs.eval()
    out = ours(cr.tensor(x), src_key_padding_mask=cr.tensor(padding))
    expected = theirs(torch.tensor(x), src_key_padding_mask=torch.tensor(padding))
    numpy.testing.assert_allclose(out.detach().numpy()[~padding], expected.detach().numpy()[~padding], rtol=1e-9,
                                  atol=1e-12)


@pytest.mark.parametrize("name, shape", [("dropout1d", (50, 40, 3)), ("dropout1d", (400, 3)),
                                         ("dropout3d", (20, 40, 2, 2, 2)), ("feature_alpha_dropout", (50, 40, 3))])
def test_channel_dropouts_drop_whole_channels_like_torch(name, shape):
    cr.manual_seed(0)
    x = cr.ones(*shape, dtype=cr.float64, requires_grad=True)
    ours = getattr(F, name)(x, 0.3, training=True)
    theirs = getattr(TF, name)(torch.ones(*shape, dtype=torch.float64), 0.3, training=True)
    channel_axes = tuple(range(2 if len(shape) - (3 if "3d" in name else 1) == 2 else 1, len(shape)))
    for out in (ours.detach().numpy(), theirs.numpy()):
        assert numpy.array_equal(out.max(axis=channel_axes), out.min(axis=channel_axes))   # whole channels
    numpy.testing.assert_allclose(sorted(set(ours.detach().numpy().ravel())), sorted(set(theirs.numpy().ravel())),
                                  rtol=1e-12)                      # the same two values: dropped and kept, scaled
    dropped = ours.detach().numpy() == ours.detach().numpy().min()
    channels = numpy.prod(shape) // numpy.prod([shape[a] for a in channel_axes])
    assert abs(dropped.mean() - 0.3) < 4 * numpy.sqrt(0.21 / channels)      # 4 standard errors
    ours.sum().backward()
    if name != "feature_alpha_dropout":
        numpy.testing.assert_allclose(x.grad.numpy(), ours.detach().numpy())   # y = x·m/(1−p): ∂y/∂x = m/(1−p)
    assert getattr(F, name)(x, 0.3, training=False) is x


def test_alpha_dropout_keeps_selu_statistics_and_torchs_values():
    cr.manual_seed(0)
    ours = F.alpha_dropout(cr.ones(20000, dtype=cr.float64), 0.2, training=True).numpy()
    theirs = TF.alpha_dropout(torch.ones(20000, dtype=torch.float64), 0.2, training=True).numpy()
    numpy.testing.assert_allclose(sorted(set(ours)), sorted(set(theirs)), rtol=1e-12)
    normal = F.alpha_dropout(cr.randn(40000, dtype=cr.float64), 0.2, training=True).numpy()
    assert abs(normal.mean()) < 0.03 and abs(normal.std() - 1) < 0.03
    assert F.alpha_dropout(cr.ones(3), 0.5).tolist() == [1.0] * 3          # PyTorch's default: training=False
    for layer, twin in [(nn.Dropout1d(0.5), torch.nn.Dropout1d(0.5)), (nn.AlphaDropout(0.5), torch.nn.AlphaDropout(0.5)),
                        (nn.Dropout3d(0.5), torch.nn.Dropout3d(0.5)),
                        (nn.FeatureAlphaDropout(0.5), torch.nn.FeatureAlphaDropout(0.5))]:
        shape = (2, 3, 2, 2, 2) if isinstance(layer, nn.Dropout3d) else (2, 3, 4)
        assert layer.eval()(cr.ones(*shape)).tolist() == twin.eval()(torch.ones(*shape)).tolist()


def test_bilinear_starts_from_torchs_distribution():
    cr.manual_seed(0)
    layer = nn.Bilinear(16, 5, 200)
    bound = 1 / numpy.sqrt(16)
    weights = layer.weight.detach().numpy()
    assert weights.shape == (200, 16, 5) and numpy.abs(weights).max() <= bound and weights.std() > 0.9 * bound / numpy.sqrt(3)


def test_gumbel_softmax_samples_the_softmax_and_passes_gradients_straight_through():
    logits = numpy.log(numpy.array([0.2, 0.3, 0.5]))
    cr.manual_seed(0)
    x = cr.tensor(numpy.tile(logits, (20000, 1)), requires_grad=True)
    hard = F.gumbel_softmax(x, tau=0.5, hard=True)
    assert set(numpy.unique(hard.detach().numpy())) == {0.0, 1.0} and (hard.detach().numpy().sum(1) == 1).all()
    numpy.testing.assert_allclose(hard.detach().numpy().mean(0), [0.2, 0.3, 0.5], atol=0.015)   # argmax ~ softmax
    theirs = TF.gumbel_softmax(torch.tensor(numpy.tile(logits, (20000, 1))), tau=0.5, hard=True)
    numpy.testing.assert_allclose(theirs.numpy().mean(0), [0.2, 0.3, 0.5], atol=0.015)
    weights = cr.tensor(RNG.normal(size=(20000, 3)))
    (hard * weights).sum().backward()
    cr.manual_seed(0)
    soft_x = cr.tensor(numpy.tile(logits, (20000, 1)), requires_grad=True)
    soft = F.gumbel_softmax(soft_x, tau=0.5)                                 # the same draws, soft
    numpy.testing.assert_allclose(soft.detach().numpy().sum(1), 1.0, rtol=1e-12)
    (soft * weights).sum().backward()
    numpy.testing.assert_allclose(x.grad.numpy(), soft_x.grad.numpy(), rtol=1e-12)
