"""The model zoo: small networks for 28×28 digit images, by name, plus models defined in a user's Python file.

| name    | layers                                                                                   |
|---------|------------------------------------------------------------------------------------------|
| `mlp`   | Flatten → Linear(784, 256) → ReLU → Linear(256, 128) → ReLU → Linear(128, 10)            |
| `cnn`   | [Conv 3×3 (pad 1) → ReLU → MaxPool 2] × 2 (16, 32 channels) → Linear(1568, 64) → ReLU → Linear(64, 10) |
| `lenet` | LeNet-5 with ReLU and max pooling: Conv 5×5 (6) → pool → Conv 5×5 (16) → pool → 120 → 84 → 10 |

``build_model(spec)`` turns a JSON-able spec into a Module: ``{"name": "cnn"}`` (with
optional ``"kwargs"``), or ``{"file": "path/to/model.py"}`` for a file that defines
``build_model()`` (returning a Module), or a Module instance called ``model``, or a
Module subclass called ``Model`` (built without arguments).

Example:
    >>> import chainrule as cr
    >>> model = build_model({"name": "cnn"})
    >>> model(cr.zeros(2, 1, 28, 28)).shape
    (2, 10)
"""
import importlib.util
import pathlib
import sys

from chainrule import nn


def mlp(in_features=784, hidden=(256, 128), num_classes=10, dropout=0.0):
    """A multilayer perceptron: Flatten, then Linear → ReLU (→ Dropout) per hidden width, then Linear to the classes.

    Example:
        >>> mlp(hidden=(32,)).num_parameters()
        25450
    """
    layers = [nn.Flatten()]
    width = int(in_features)
    for size in hidden:
        layers += [nn.Linear(width, int(size)), nn.ReLU()]
        if dropout:
            layers.append(nn.Dropout(dropout))
        width = int(size)
    layers.append(nn.Linear(width, int(num_classes)))
    return nn.Sequential(*layers)


def cnn(in_channels=1, channels=(16, 32), hidden=64, num_classes=10, image_size=28):
    """Two blocks of 3×3 convolution (padding 1, so the size is kept) → ReLU → 2×2 max pooling, then two linear layers.

    Each block halves the image: 28 → 14 → 7, so the flattened features number
    ``channels[1]·7·7``. The default (16 and 32 channels, 64 hidden units) has 105,866
    parameters and is the model ``chainrule train`` trains by default (98.4 % on the
    bundled test digits after 8 epochs).

    Example:
        >>> cnn().num_parameters()
        105866
    """
    first, second = (int(count) for count in channels)
    side = int(image_size) // 4
    return nn.Sequential(
        nn.Conv2d(int(in_channels), first, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(first, second, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(second * side * side, int(hidden)), nn.ReLU(), nn.Linear(int(hidden), int(num_classes)),
    )


def lenet(in_channels=1, num_classes=10):
    """LeNet-5 (LeCun et al., 1998) in its modern form: ReLU instead of tanh, max instead of average pooling.

    Conv 5×5 with padding 2 keeps 28×28, pooling gives 14×14; conv 5×5 gives 10×10,
    pooling 5×5; then 16·5·5 = 400 → 120 → 84 → classes.

    Example:
        >>> lenet().num_parameters()
        61706
    """
    return nn.Sequential(
        nn.Conv2d(int(in_channels), 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, int(num_classes)),
    )


MODELS = {"mlp": mlp, "cnn": cnn, "lenet": lenet}


def load_model_file(path):
    """Build the Module a Python file defines: ``build_model()``, a Module ``model``, or a Module subclass ``Model``.

    The file runs as ordinary Python (it is your own code); nothing is unpickled.

    Example:
        >>> import pathlib, tempfile
        >>> from chainrule.models import load_model_file
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     path = pathlib.Path(folder, "tiny.py")
        ...     _ = path.write_text("from chainrule import nn; build_model = lambda: nn.Linear(4, 2)")
        ...     model = load_model_file(path)
        >>> type(model).__name__, model.num_parameters()          # 4·2 weights + 2 biases
        ('Linear', 10)
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"model file {path} does not exist")
    if path.suffix != ".py":
        raise ValueError(f"model file {path} must be a Python file (.py) that defines build_model(), model or Model")
    module_name = f"chainrule_user_model_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        sys.modules.pop(module_name, None)
        raise RuntimeError(f"model file {path} failed to run: {type(error).__name__}: {error}") from error
    if hasattr(module, "build_model") and callable(module.build_model):
        model = module.build_model()
    elif isinstance(getattr(module, "model", None), nn.Module):
        model = module.model
    elif isinstance(getattr(module, "Model", None), type) and issubclass(module.Model, nn.Module):
        model = module.Model()
    else:
        raise ValueError(f"model file {path} defines none of build_model(), a Module named model, or a Module "
                         "subclass named Model")
    if not isinstance(model, nn.Module):
        raise TypeError(f"model file {path}: build_model() returned a {type(model).__name__}, not a chainrule Module")
    return model


def model_spec(name_or_path, **kwargs):
    """The JSON-able spec of a zoo name (with keyword arguments) or of a .py file path.

    Example:
        >>> from chainrule.models import model_spec
        >>> model_spec("mlp", hidden=[32])
        {'name': 'mlp', 'kwargs': {'hidden': [32]}}
    """
    if name_or_path in MODELS:
        return {"name": name_or_path, "kwargs": dict(kwargs)}
    if str(name_or_path).endswith(".py"):
        return {"file": str(pathlib.Path(name_or_path).resolve())}
    raise ValueError(f"unknown model {name_or_path!r}; choose one of {sorted(MODELS)} or give a .py file that "
                     "defines build_model()")


def build_model(spec):
    """A Module from a spec made by ``model_spec`` (or a zoo name, or a .py path).

    Example:
        >>> from chainrule.models import build_model, model_spec
        >>> build_model(model_spec("mlp", hidden=[32])).num_parameters()     # 784·32 + 32 + 32·10 + 10
        25450
        >>> build_model("lenet").num_parameters()
        61706
    """
    if isinstance(spec, str):
        spec = model_spec(spec)
    if "name" in spec:
        if spec["name"] not in MODELS:
            raise ValueError(f"unknown model {spec['name']!r}; choose one of {sorted(MODELS)}")
        return MODELS[spec["name"]](**spec.get("kwargs", {}))
    if "file" in spec:
        return load_model_file(spec["file"])
    raise ValueError(f"a model spec needs 'name' or 'file', got {spec!r}")


__all__ = ["MODELS", "build_model", "cnn", "lenet", "load_model_file", "mlp", "model_spec"]
