"""Layer and model cases shared by the interop tests: each built twice, in chainrule and in PyTorch.

chainrule.nn and torch.nn share class names, arguments and parameter layouts, so a case is a
function of the ``nn`` namespace; the bundled models (chainrule.models) get their torch twin
by translating their Sequential layer by layer.
"""
import numpy
import torch

import chainrule as cr
import chainrule.models


def _first(output):
    return output[0] if isinstance(output, tuple) else output


def _mha(nn):
    class SelfAttention(nn.Module):
        def __init__(self):
            super().__init__()
            self.attention = nn.MultiheadAttention(8, 2, batch_first=True)

        def forward(self, x):
            return self.attention(x, x, x)[0]
    return SelfAttention()


def _lstm_last_step(nn, kind):
    class Recurrent(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = getattr(nn, kind)(4, 5, num_layers=2, batch_first=True, bidirectional=kind != "GRU")
            self.head = nn.Linear(5 if kind == "GRU" else 10, 3)

        def forward(self, x):
            return self.head(self.rnn(x)[0])
    return Recurrent()


def _reshaping(nn):
    """flatten, reshape, permute, cat and slicing around a Linear, written once for both frameworks."""
    cat = torch.cat if nn is torch.nn else cr.cat

    class Reshaping(nn.Module):
        def __init__(self):
            super().__init__()
            self.unflatten = nn.Unflatten(1, (4, 6))
            self.fc = nn.Linear(6, 6)
            self.flatten = nn.Flatten()
            self.identity = nn.Identity()

        def forward(self, x):                                # x: (N, 24)
            y = self.fc(self.unflatten(x))                   # (N, 4, 6)
            y = y.permute(0, 2, 1)                           # (N, 6, 4)
            y = cat([y[:, :, 1:], y[:, :, ::2] * 2.0, y[:, :, -1:]], dim=2)              # (N, 6, 3 + 2 + 1)
            y = y.reshape(-1, 3, 12).transpose(1, 2)                                    # (N, 12, 3)
            return self.identity(self.flatten(y))
    return Reshaping()


def _image(batch, channels=3, size=8):
    return numpy.random.default_rng(batch).standard_normal((batch, channels, size, size)).astype(numpy.float32)


def _signal(batch, channels=3, length=10):
    return numpy.random.default_rng(batch).standard_normal((batch, channels, length)).astype(numpy.float32)


def _features(batch, *shape):
    return numpy.random.default_rng(batch).standard_normal((batch,) + shape).astype(numpy.float32)


def _tokens(batch):
    return numpy.random.default_rng(batch).integers(0, 7, (batch, 5)).astype(numpy.int64)


# name -> (build(nn), input(batch))
LAYER_CASES = {
    "linear": (lambda nn: nn.Sequential(nn.Linear(6, 5), nn.Linear(5, 3, bias=False)), lambda b: _features(b, 6)),
    "conv2d": (lambda nn: nn.Sequential(nn.Conv2d(3, 4, 3, stride=2, padding=1), nn.Conv2d(4, 4, 3, padding=2, dilation=2, groups=2)), _image),
    "conv_options": (lambda nn: nn.Sequential(nn.Conv2d(3, 4, 4, padding="same"), nn.Conv2d(4, 4, 3, padding=1, padding_mode="reflect"),
                                              nn.Conv2d(4, 2, 3, padding=2, padding_mode="replicate"),
                                              nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True),
                                              nn.AvgPool2d(2, stride=2, padding=1, ceil_mode=True)), _image),
    "conv1d": (lambda nn: nn.Conv1d(3, 4, 3, stride=2, padding=1, dilation=2), _signal),
    "conv_transpose2d": (lambda nn: nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1, output_padding=1), _image),
    "conv_transpose1d": (lambda nn: nn.ConvTranspose1d(3, 2, 4, stride=2, padding=1), _signal),
    "max_pool": (lambda nn: nn.Sequential(nn.MaxPool2d(3, stride=2, padding=1), nn.MaxPool2d(2)), _image),
    "max_pool1d": (lambda nn: nn.MaxPool1d(2), _signal),
    "avg_pool": (lambda nn: nn.Sequential(nn.AvgPool2d(3, stride=1, padding=1), nn.AvgPool2d(2)), _image),
    "avg_pool1d": (lambda nn: nn.AvgPool1d(2), _signal),
    "adaptive_pool": (lambda nn: nn.Sequential(nn.AdaptiveAvgPool2d(4), nn.AdaptiveMaxPool2d(2), nn.AdaptiveAvgPool2d(1)), _image),
    "batch_norm": (lambda nn: nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4), nn.Flatten(), nn.Linear(256, 6),
                                            nn.BatchNorm1d(6), nn.Dropout(0.5)), _image),
    "layer_norm": (lambda nn: nn.LayerNorm(6), lambda b: _features(b, 4, 6)),
    "group_norm": (lambda nn: nn.GroupNorm(3, 3), _image),
    "activations": (lambda nn: nn.Sequential(nn.ReLU(), nn.Linear(6, 6), nn.LeakyReLU(0.1), nn.ELU(0.7), nn.SELU(),
                                             nn.GELU(), nn.GELU(approximate="tanh"), nn.SiLU(), nn.Mish(),
                                             nn.Softplus(), nn.Sigmoid(), nn.Tanh(), nn.Hardtanh(-0.5, 0.5),
                                             nn.Linear(6, 6), nn.ReLU6(), nn.PReLU(), nn.Softplus(beta=2.0)), lambda b: _features(b, 6) * 3),
    "softmax": (lambda nn: nn.Sequential(nn.Linear(6, 4), nn.Softmax(dim=1)), lambda b: _features(b, 6)),
    "log_softmax": (lambda nn: nn.Sequential(nn.Linear(6, 4), nn.LogSoftmax(dim=-1)), lambda b: _features(b, 6)),
    "embedding": (lambda nn: nn.Sequential(nn.Embedding(7, 4), nn.Flatten(), nn.Linear(20, 3)), _tokens),
    "reshaping": (_reshaping, lambda b: _features(b, 24)),
    "lstm": (lambda nn: _lstm_last_step(nn, "LSTM"), lambda b: _features(b, 6, 4)),
    "gru": (lambda nn: _lstm_last_step(nn, "GRU"), lambda b: _features(b, 6, 4)),
    "rnn": (lambda nn: _lstm_last_step(nn, "RNN"), lambda b: _features(b, 6, 4)),
    "attention": (_mha, lambda b: _features(b, 5, 8)),
    "transformer": (lambda nn: nn.TransformerEncoderLayer(8, 2, 16, dropout=0.1, batch_first=True),
                    lambda b: _features(b, 5, 8)),
}


def build_pair(name, seed=0):
    """(chainrule module, torch module with the same weights, input maker), both in eval mode."""
    build, make_input = LAYER_CASES[name]
    cr.manual_seed(seed)
    ours = build(cr.nn)
    torch.manual_seed(seed)
    theirs = build(torch.nn)
    if name == "batch_norm":   # make the running statistics matter
        for module in ours.modules():
            if hasattr(module, "running_mean") and module.running_mean is not None:
                n = module.running_mean.shape[0]
                module.running_mean.array[...] = numpy.linspace(-0.5, 0.5, n)
                module.running_var.array[...] = numpy.linspace(0.5, 2.0, n)
                module.weight.array[...] = numpy.linspace(0.8, 1.2, n)
                module.bias.array[...] = numpy.linspace(-0.1, 0.1, n)
    copy_into_torch(ours, theirs)
    return ours.eval(), theirs.eval(), make_input


def copy_into_torch(ours, theirs):
    state = {key: torch.from_numpy(numpy.array(value.array)) for key, value in ours.state_dict().items()}
    theirs.load_state_dict(state, strict=True)


MODEL_NAMES = sorted(chainrule.models.MODELS)


def torch_twin(model):
    """A torch.nn.Sequential with the layers of a chainrule Sequential (the bundled models' layers)."""
    layers = []
    for layer in model:
        kind = type(layer).__name__
        if kind == "Linear":
            layers.append(torch.nn.Linear(layer.in_features, layer.out_features, bias=layer.bias is not None))
        elif kind == "Conv2d":
            layers.append(torch.nn.Conv2d(layer.in_channels, layer.out_channels, layer.kernel_size, layer.stride,
                                          layer.padding, layer.dilation, layer.groups, bias=layer.bias is not None))
        elif kind == "MaxPool2d":
            layers.append(torch.nn.MaxPool2d(layer.kernel_size, layer.stride, layer.padding))
        elif kind == "Flatten":
            layers.append(torch.nn.Flatten(layer.start_dim, layer.end_dim))
        elif kind in ("ReLU", "Dropout"):
            layers.append(getattr(torch.nn, kind)())
        else:
            raise AssertionError(f"torch_twin: add a translation for {kind}")
    twin = torch.nn.Sequential(*layers)
    copy_into_torch(model, twin)
    return twin.eval()


def model_pair(name, seed=0):
    cr.manual_seed(seed)
    ours = chainrule.models.build_model(name).eval()
    return ours, torch_twin(ours), lambda batch: _image(batch, 1, 28)


def run_ours(module, array):
    with cr.no_grad():
        return _first(module(cr.tensor(array))).numpy()


def run_theirs(module, array):
    with torch.no_grad():
        return _first(module(torch.from_numpy(array))).numpy()
