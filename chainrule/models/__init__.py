"""The model zoo: the built-in architectures by name, their declarative specs, and models from a user's file.

- ``zoo``: the builders ``mlp``, ``cnn``, ``lenet`` (and the count of each one's parameters);
- ``specs``: the JSON spec a run records (``{"name": "cnn", "kwargs": {...}}``), checked field by
  field, and ``build_model``, which builds a built-in from it;
- ``user_file``: ``load_model_file``, which runs a Python file, and only ever one the user named.

Reading a spec never runs code. A spec can record that a model came from the user's
file (``{"user_file": path}``), but building it then needs the file named again by the
user (``--model-file``), never because a checkpoint says so.

Example:
    >>> import chainrule as cr
    >>> model = build_model({"name": "cnn"})
    >>> model(cr.zeros(2, 1, 28, 28)).shape
    (2, 10)
"""
from chainrule.models.specs import (
    MAX_PARAMETERS, ModelSpecError, build_model, count_parameters, model_spec, user_file_spec, validate_spec,
)
from chainrule.models.user_file import ModelFileError, load_model_file
from chainrule.models.zoo import MODELS, cnn, lenet, mlp

__all__ = ["MAX_PARAMETERS", "MODELS", "ModelFileError", "ModelSpecError", "build_model", "cnn", "count_parameters",
           "lenet", "load_model_file", "mlp", "model_spec", "user_file_spec", "validate_spec"]
