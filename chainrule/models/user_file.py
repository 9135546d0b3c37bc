"""A model defined in the user's own Python file: run only when the user names the file.

``load_model_file(path)`` executes the file as ordinary Python, so it is called only
with a path the user gave (``--model-file``, ``model_file=``), never with one read from
a checkpoint or a config. Whatever the file does wrong (a syntax error, an exception,
``sys.exit``) comes back as one ``ModelFileError`` naming the file.
"""
import hashlib
import importlib.util
import pathlib
import sys

from chainrule import nn


class ModelFileError(RuntimeError):
    """The user's model file could not be run or did not define a model; the message names the file."""


def _describe(error):
    if isinstance(error, SystemExit):
        return f"it called sys.exit({error.code!r})"
    return f"{type(error).__name__}: {' '.join(str(error).split())}"


def load_model_file(path):
    """Build the Module a Python file defines: ``build_model()``, a Module ``model``, or a Module subclass ``Model``.

    The file runs as ordinary Python: it is your code, run because you named it. Nothing
    is unpickled. An exception or ``SystemExit`` raised by the file becomes a
    ``ModelFileError`` naming the file.

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
        raise ModelFileError(f"model file {path} does not exist (or is not a file)")
    if path.suffix != ".py":
        raise ModelFileError(f"model file {path} must be a Python file (.py) that defines build_model(), model or "
                             "Model")
    digest = hashlib.sha256(str(path.resolve()).encode("utf-8")).hexdigest()[:16]
    module_name = f"chainrule_user_model_{digest}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
        if callable(getattr(module, "build_model", None)):
            model = module.build_model()
        elif isinstance(getattr(module, "model", None), nn.Module):
            model = module.model
        elif isinstance(getattr(module, "Model", None), type) and issubclass(module.Model, nn.Module):
            model = module.Model()
        else:
            raise ModelFileError(f"model file {path} defines none of build_model(), a Module named model, or a "
                                 "Module subclass named Model")
    except ModelFileError:
        sys.modules.pop(module_name, None)
        raise
    except (Exception, SystemExit) as error:  # SystemExit too: a file's sys.exit(3) must not end the program silently
        sys.modules.pop(module_name, None)
        raise ModelFileError(f"model file {path} failed to run: {_describe(error)}") from error
    if not isinstance(model, nn.Module):
        raise ModelFileError(f"model file {path}: build_model() returned a {type(model).__name__}, not a chainrule "
                             "Module")
    return model


__all__ = ["ModelFileError", "load_model_file"]
