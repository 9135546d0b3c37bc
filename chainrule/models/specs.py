"""Model specs: the declarative description of a model that a run folder and its checkpoints record.

A spec is plain JSON data, and reading it never runs code:

    {"name": "cnn", "kwargs": {"channels": [16, 32], "num_classes": 10}}   a built-in architecture
    {"user_file": "/home/me/model.py"}                                   a record that the user's file was used

A built-in spec is checked field by field (known names only, whole numbers in sane
ranges, the parameter count bounded) before anything is built. A ``user_file`` spec
only *records* which file defined the model: ``build_model`` refuses it unless the
caller names the file again (``model_file=``, the command line's ``--model-file``), so
a checkpoint or a config.json can never make chainrule execute a file.
"""
import numbers
import pathlib

from chainrule.models.user_file import load_model_file
from chainrule.models.zoo import MODELS, PARAMETER_COUNTS

MAX_WIDTH = 1 << 16            # channels, hidden units, classes
MAX_IN_FEATURES = 1 << 24      # an MLP's flattened input (a 4096×4096 image)
MAX_IMAGE_SIZE = 1 << 14
MAX_HIDDEN_LAYERS = 64
MAX_PARAMETERS = 10 ** 9       # 4 GB of float32: beyond that a spec is a mistake or a lie


class ModelSpecError(ValueError):
    """A model spec that is not one chainrule can build: unknown name, unknown field, or a value out of range."""


def _whole(value, field, low, high):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not low <= value <= high:
        raise ModelSpecError(f"{field} must be a whole number in {low}..{high}, got {value!r}")
    return int(value)


def _width(value, field):
    return _whole(value, field, 1, MAX_WIDTH)


def _classes(value, field):
    return _whole(value, field, 2, MAX_WIDTH)


def _in_features(value, field):
    return _whole(value, field, 1, MAX_IN_FEATURES)


def _image_size(value, field):
    return _whole(value, field, 4, MAX_IMAGE_SIZE)


def _widths(value, field):
    if not isinstance(value, (list, tuple)) or len(value) > MAX_HIDDEN_LAYERS:
        raise ModelSpecError(f"{field} must be a list of at most {MAX_HIDDEN_LAYERS} layer widths, got {value!r}")
    return [_width(item, f"{field}[{index}]") for index, item in enumerate(value)]


def _channel_pair(value, field):
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise ModelSpecError(f"{field} must be a pair of channel counts, got {value!r}")
    return [_width(item, f"{field}[{index}]") for index, item in enumerate(value)]


def _probability(value, field):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value < 1:
        raise ModelSpecError(f"{field} must be a number in [0, 1), got {value!r}")
    return float(value)


# The keyword arguments each built-in accepts, and the check of each.
FIELDS = {
    "mlp": {"in_features": _in_features, "hidden": _widths, "num_classes": _classes, "dropout": _probability},
    "cnn": {"in_channels": _width, "channels": _channel_pair, "hidden": _width, "num_classes": _classes,
            "image_size": _image_size},
    "lenet": {"in_channels": _width, "num_classes": _classes},
}


def validate_spec(spec, where="model spec"):
    """Check a spec and return it in its normal form; raise ``ModelSpecError`` naming the bad field.

    Example:
        >>> validate_spec({"name": "mlp", "kwargs": {"hidden": [32]}})
        {'name': 'mlp', 'kwargs': {'hidden': [32]}}
        >>> try:
        ...     validate_spec({"name": "mlp", "kwargs": {"hidden": [10 ** 9]}})
        ... except ModelSpecError as error:
        ...     print(error)
        model spec: kwargs.hidden[0] must be a whole number in 1..65536, got 1000000000
    """
    if not isinstance(spec, dict):
        raise ModelSpecError(f"{where} must be a JSON object, got {type(spec).__name__}")
    if "user_file" in spec:
        if set(spec) != {"user_file"} or not isinstance(spec["user_file"], str) or not spec["user_file"]:
            raise ModelSpecError(f"{where}: a user-file spec is {{'user_file': '<path of a .py file>'}}, got {spec!r}")
        return {"user_file": spec["user_file"]}
    unknown = sorted(set(spec) - {"name", "kwargs"})
    if unknown or "name" not in spec:
        raise ModelSpecError(f"{where} must hold 'name' (one of {sorted(MODELS)}) and optional 'kwargs'"
                             + (f"; unknown fields {unknown}" if unknown else ""))
    name = spec["name"]
    if not isinstance(name, str) or name not in MODELS:
        raise ModelSpecError(f"{where}: unknown model {name!r}; the built-in models are {sorted(MODELS)}")
    kwargs = spec.get("kwargs", {})
    if not isinstance(kwargs, dict):
        raise ModelSpecError(f"{where}: kwargs must be a JSON object, got {type(kwargs).__name__}")
    fields = FIELDS[name]
    unknown = sorted(str(key) for key in kwargs if key not in fields)
    if unknown:
        raise ModelSpecError(f"{where}: {name} takes no argument {unknown}; its arguments are {sorted(fields)}")
    try:
        checked = {key: fields[key](value, f"kwargs.{key}") for key, value in kwargs.items()}
    except ModelSpecError as error:
        raise ModelSpecError(f"{where}: {error}") from None
    count = PARAMETER_COUNTS[name](**checked)
    if count > MAX_PARAMETERS:
        raise ModelSpecError(f"{where}: {name} with {checked} would have {count:,} parameters, more than the "
                             f"{MAX_PARAMETERS:,} chainrule builds from a spec")
    return {"name": name, "kwargs": checked}


def count_parameters(spec):
    """The number of parameters the built-in model of ``spec`` has, computed without building it.

    Example:
        >>> count_parameters({"name": "lenet"})
        61706
    """
    spec = validate_spec(spec)
    if "user_file" in spec:
        raise ModelSpecError("count_parameters: a user-file model can only be counted by running the file")
    return PARAMETER_COUNTS[spec["name"]](**spec["kwargs"])


def model_spec(name, **kwargs):
    """The spec of a built-in model with keyword arguments (validated).

    Example:
        >>> model_spec("mlp", hidden=[32])
        {'name': 'mlp', 'kwargs': {'hidden': [32]}}
    """
    if isinstance(name, str) and name.endswith(".py"):
        raise ModelSpecError(f"{name} is a Python file, not a built-in model: give it as a model file "
                             f"(--model-file {name} on the command line, model_file= in Python)")
    return validate_spec({"name": name, "kwargs": dict(kwargs)})


def user_file_spec(path):
    """The spec recording that the model came from the user's file ``path`` (made absolute); it runs nothing.

    Example:
        >>> user_file_spec("/tmp/model.py")
        {'user_file': '/tmp/model.py'}
    """
    return {"user_file": str(pathlib.Path(path).resolve())}


def build_model(spec, model_file=None):
    """A Module from a spec: a built-in is built from its validated numbers; a user file runs only if named here.

    ``model_file`` is the user's explicit consent to run a Python file. A spec that
    records a user file (``{"user_file": ...}``) is refused without it, with the message
    saying which file the run used and how to pass it; the spec alone never runs code.

    Example:
        >>> build_model(model_spec("mlp", hidden=[32])).num_parameters()     # 784·32 + 32 + 32·10 + 10
        25450
        >>> build_model("lenet").num_parameters()
        61706
        >>> try:
        ...     build_model({"user_file": "/somewhere/model.py"})
        ... except ModelSpecError as error:
        ...     print(str(error)[:66])
        this model was defined in the Python file /somewhere/model.py, and
    """
    if isinstance(spec, str):
        spec = model_spec(spec)
    spec = validate_spec(spec)
    if "user_file" in spec:
        if model_file is None:
            raise ModelSpecError(
                f"this model was defined in the Python file {spec['user_file']}, and chainrule never runs a file "
                "because a run folder or checkpoint names it; if you trust that file, pass it yourself: "
                f"--model-file {spec['user_file']} (model_file= in Python)")
        return load_model_file(model_file)
    if model_file is not None:
        raise ModelSpecError(f"the run used the built-in model {spec['name']!r}; --model-file {model_file} is not "
                             "needed (drop it)")
    return MODELS[spec["name"]](**spec["kwargs"])


__all__ = ["FIELDS", "MAX_PARAMETERS", "ModelSpecError", "build_model", "count_parameters", "model_spec",
           "user_file_spec", "validate_spec"]
