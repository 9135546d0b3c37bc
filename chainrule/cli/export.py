"""``chainrule export RUN --onnx model.onnx``: a trained run's model as an ONNX file (and/or safetensors weights).

    chainrule export runs/lenet --onnx lenet.onnx                 # latest checkpoint, dynamic batch axis
    chainrule export runs/lenet --checkpoint best --onnx best.onnx --safetensors best.safetensors

The run is loaded through ``chainrule.train.job.load_trained`` (the checkpoint's SHA-256 is
checked, nothing is unpickled); the example input that the export runs on is one sample of
the shape the model was built for, which ``--input-shape`` overrides (needed for a model
defined in a Python file).
"""


def _input_shape(text):
    import argparse

    try:
        shape = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated sizes of one sample, e.g. 1,28,28; got {text!r}") from None
    if not shape or min(shape) < 1:
        raise argparse.ArgumentTypeError(f"every size must be a positive whole number, got {text!r}")
    return shape


def add_export(subcommands):
    """Register ``chainrule export`` on the command line's subcommands (an argparse subparsers object).

    Example:
        >>> import argparse
        >>> parser = argparse.ArgumentParser(prog="chainrule")
        >>> add_export(parser.add_subparsers(dest="command"))
        >>> parser.parse_args(["export", "runs/cnn", "--onnx", "cnn.onnx"]).onnx
        'cnn.onnx'
    """
    parser = subcommands.add_parser(
        "export", help="write a trained run's model as ONNX (and/or its weights as safetensors)",
        description="Export a trained model: --onnx writes an ONNX graph that onnxruntime (or any ONNX runtime) runs "
                    "at any batch size; --safetensors writes the weights under PyTorch's names and layouts.")
    parser.add_argument("run", metavar="RUN", help="a run folder (from chainrule train) or a checkpoint folder")
    parser.add_argument("--onnx", metavar="FILE", help="where to write the ONNX model")
    parser.add_argument("--safetensors", metavar="FILE", help="where to write the weights (safetensors)")
    parser.add_argument("--checkpoint", choices=("latest", "best"), default="latest", help="default latest")
    parser.add_argument("--opset", type=int, default=None, help="ONNX opset version (default 17)")
    parser.add_argument("--input-shape", type=_input_shape, default=None, metavar="C,H,W",
                        help="the shape of one input sample (default: the one the run's model was built for)")
    parser.set_defaults(handler=run_export)


def sample_shape(model_spec):
    """The shape of one input sample of a zoo model spec, or None where the spec does not say (a .py model).

    Example:
        >>> sample_shape({"name": "cnn", "kwargs": {"in_channels": 3, "image_size": 32}})
        (3, 32, 32)
        >>> sample_shape({"name": "mlp", "kwargs": {"in_features": 784}})
        (1, 28, 28)
    """
    kwargs = model_spec.get("kwargs", {}) if isinstance(model_spec, dict) else {}
    name = model_spec.get("name") if isinstance(model_spec, dict) else None
    if name == "cnn":
        size = int(kwargs.get("image_size", 28))
        return (int(kwargs.get("in_channels", 1)), size, size)
    if name == "lenet":
        return (int(kwargs.get("in_channels", 1)), 28, 28)
    if name == "mlp":
        features = int(kwargs.get("in_features", 784))
        side = int(round(features ** 0.5))
        return (1, side, side) if side * side == features else (features,)   # the images the run fed it
    return None


def run_export(arguments):
    import numpy

    from chainrule.core.tensor import Tensor
    from chainrule.train.job import load_trained

    if not arguments.onnx and not arguments.safetensors:
        raise ValueError("nothing to write: give --onnx FILE and/or --safetensors FILE")
    model, extra, checkpoint = load_trained(arguments.run, arguments.checkpoint)
    shape = arguments.input_shape or sample_shape(extra.get("model_spec"))
    if shape is None:
        raise ValueError(f"the run's model ({extra.get('model_spec')}) does not say its input shape; "
                         "pass --input-shape, e.g. --input-shape 1,28,28")
    if arguments.onnx:
        from chainrule.io import export_onnx

        example = Tensor(numpy.zeros((2,) + tuple(shape), dtype=numpy.float32))
        export_onnx(model, example, arguments.onnx, opset_version=arguments.opset)
        print(f"wrote {arguments.onnx}: ONNX model of {checkpoint}, input 'input' (batch, {', '.join(map(str, shape))}), "
              "output 'output' (logits)")
    if arguments.safetensors:
        from chainrule.io import save_state_dict

        save_state_dict(model, arguments.safetensors)
        print(f"wrote {arguments.safetensors}: {len(model.state_dict())} tensors under PyTorch's names")
    return 0
