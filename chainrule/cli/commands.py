"""The subcommands of ``chainrule``: each has an ``add_*`` (its options) and a ``run_*`` (what it does)."""
import argparse
import dataclasses
import json
import math
import pathlib
import sys

DEFAULTS = None  # filled lazily with TrainConfig() so that `chainrule --help` stays fast


def _defaults():
    global DEFAULTS
    if DEFAULTS is None:
        from chainrule.train.job import TrainConfig

        DEFAULTS = TrainConfig()
    return DEFAULTS


# ----- argument types: each gives a one-line error naming the bad value ----------------------------
def positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def non_negative_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (value >= 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"must be a non-negative number, got {text}")
    return value


def positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, got {text}")
    return value


def non_negative_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative whole number, got {text}")
    return value


def fraction(text):
    value = positive_float(text)
    if value >= 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


MODEL_HELP = "a built-in model: mlp, cnn (default) or lenet (for your own model, see --model-file)"
MODEL_FILE_HELP = ("your Python file defining build_model(), a Module `model` or a Module subclass `Model`; it runs "
                   "as ordinary Python because you name it here (a run folder that records a model file never "
                   "runs it on its own)")


def _add_model_file(parser, help_text=MODEL_FILE_HELP):
    parser.add_argument("--model-file", dest="model_file", metavar="PATH.py", help=help_text)


def _announce_model_file(path):
    """Say which file will run before it runs (on stderr, so that --json output stays one object a line)."""
    if path is not None:
        print(f"model file: running {pathlib.Path(path).resolve()} (your Python code)", file=sys.stderr, flush=True)
DATA_HELP = ("'digits' (the bundled 5,000 MNIST digits, default), a folder of MNIST IDX files "
             "(train-images-idx3-ubyte ... t10k-labels-idx1-ubyte, optionally .gz), or a .csv file "
             "(label, then pixels, per row)")


def _add_threads(parser):
    parser.add_argument("--threads", type=positive_int, default=1,
                        help="BLAS threads (default 1: fastest for the small matrix products of small models)")


def _limit_threads(arguments):
    from chainrule.backends import keep_freed_memory
    from chainrule.train.job import limit_blas_threads

    limit_blas_threads(arguments.threads)
    keep_freed_memory()  # reuse freed array pages: ~40% of a small-CNN step was page faults


# ----- train -------------------------------------------------------------------------------------------
TRAIN_OPTIONS = ("model", "model_file", "data", "test_data", "val_fraction", "optimizer", "lr", "weight_decay", "momentum",
                 "schedule", "batch_size", "epochs", "seed", "augment_shift", "clip_grad_norm",
                 "checkpoint_every_steps", "keep_last", "monitor", "early_stopping_patience", "tensorboard", "out")


def add_train(subcommands):
    from chainrule.train.job import MONITORS, OPTIMIZERS, SCHEDULES

    parser = subcommands.add_parser(
        "train", help="train a model and write a run folder with logs, checkpoints and report.html",
        description="Train a digit classifier. Defaults: the small CNN (two conv-ReLU-pool blocks, 16 and 32 "
                    "channels, then 64 hidden units) on the bundled MNIST digits, Adam with the one-cycle "
                    "schedule peaking at lr 0.005, batch 64, 8 epochs, random 1-pixel shifts. Writes config.json, "
                    "log.csv, log.jsonl, checkpoints/, summary.json and report.html into the output folder.")
    parser.add_argument("--model", help=MODEL_HELP)
    _add_model_file(parser, MODEL_FILE_HELP + "; with --resume, the file of a run trained with one")
    parser.add_argument("--data", help=DATA_HELP)
    parser.add_argument("--test-data", dest="test_data", help="a separate test .csv (with a .csv --data)")
    parser.add_argument("--val-fraction", dest="val_fraction", type=fraction,
                        help="share of the training images held out for validation with IDX/CSV data (default 0.1)")
    parser.add_argument("--optimizer", choices=OPTIMIZERS, help="default adam")
    parser.add_argument("--lr", type=positive_float, help="learning rate (the peak for onecycle; default 0.005)")
    parser.add_argument("--weight-decay", dest="weight_decay", type=non_negative_float, help="default 0")
    parser.add_argument("--momentum", type=non_negative_float, help="for sgd (default 0.9)")
    parser.add_argument("--schedule", choices=SCHEDULES, help="learning-rate schedule (default onecycle)")
    parser.add_argument("--batch-size", dest="batch_size", type=positive_int, help="default 64")
    parser.add_argument("--epochs", type=positive_int, help="default 8")
    parser.add_argument("--seed", type=non_negative_int, help="the same seed gives bitwise the same run (default 0)")
    parser.add_argument("--augment-shift", dest="augment_shift", type=non_negative_int,
                        help="random shifts of up to this many pixels (default 1; 0 turns augmentation off)")
    parser.add_argument("--clip-grad-norm", dest="clip_grad_norm", type=positive_float,
                        help="clip the gradients' joint L2 norm to this value (default off)")
    parser.add_argument("--checkpoint-every", dest="checkpoint_every_steps", type=positive_int,
                        help="also checkpoint every this many steps within an epoch (default: at epoch ends only)")
    parser.add_argument("--keep-last", dest="keep_last", type=positive_int,
                        help="checkpoints kept besides the best (default 2)")
    parser.add_argument("--monitor", choices=MONITORS, help="metric that picks the best checkpoint (default "
                        "val_accuracy; ties on it are broken by the lower val_loss)")
    parser.add_argument("--patience", dest="early_stopping_patience", type=positive_int,
                        help="stop early after this many epochs without progress in --monitor (default off)")
    parser.add_argument("--tensorboard", action="store_true", default=None,
                        help="also write TensorBoard event files (needs tensorboardX)")
    parser.add_argument("--out", help="the run folder (default runs/train-<date>-<time>)")
    parser.add_argument("--resume", metavar="RUN", help="continue the run in this folder (or from this checkpoint) "
                        "with its saved settings")
    parser.add_argument("--no-progress", dest="progress", action="store_false", default=None,
                        help="no progress bar (it is off anyway when the output is not a terminal)")
    _add_threads(parser)
    parser.set_defaults(handler=run_train)


def run_train(arguments):
    from chainrule.distributed import training
    from chainrule.train.job import resume_training, run_training

    _limit_threads(arguments)
    rank = 0
    # Started by mpiexec -n N (or srun), or resuming a run that was: the same job on every rank, data-parallel.
    if training.launched_world_size() > 1 or (arguments.resume and training.was_sharded(arguments.resume)):
        import functools

        rank = training.init_process_group().rank
        # A failure on one rank must end them all, or the others would wait for it forever.
        run_training = functools.partial(training.abort_on_failure, training.run_training)
        resume_training = functools.partial(training.abort_on_failure, training.resume_training)
    given = {name: getattr(arguments, name) for name in TRAIN_OPTIONS if getattr(arguments, name) is not None}
    if arguments.resume:
        given.pop("model_file", None)
        if given:
            options = ", ".join("--" + name.replace("_", "-") for name in given)
            raise ValueError(f"--resume continues a run with its saved settings; drop {options} (start a new run "
                             "with --out to change them)")
        if rank == 0:
            print(f"resuming {arguments.resume}", flush=True)
            _announce_model_file(arguments.model_file)
        summary = resume_training(arguments.resume, progress=arguments.progress, model_file=arguments.model_file)
    else:
        if arguments.model_file is not None:
            if arguments.model is not None:
                raise ValueError(f"give --model {arguments.model} or --model-file {arguments.model_file}, not both")
            given["model"] = "file"
        config = dataclasses.replace(_defaults(), **given)  # TrainConfig.validate (in the job) checks every setting
        _announce_model_file(arguments.model_file)
        summary = run_training(config, progress=arguments.progress)
    if rank != 0:
        return 0  # rank 0 speaks for the job
    test = summary["test"]
    print(f"test accuracy {test['accuracy']:.4f}  loss {test['loss']:.4f}  macro F1 {test['f1']:.4f}")
    print(f"report: {summary['report']}")
    return 0


# ----- evaluate ----------------------------------------------------------------------------------------
def add_evaluate(subcommands):
    parser = subcommands.add_parser("evaluate", help="metrics of a trained model on a data split",
                                    description="Evaluate a trained model: loss, accuracy, top-5 accuracy, macro "
                                                "precision / recall / F1, and per-class F1.")
    parser.add_argument("run", metavar="RUN", help="a run folder (from chainrule train) or a checkpoint folder")
    parser.add_argument("--checkpoint", choices=("latest", "best"), default="latest",
                        help="which checkpoint of a run folder (default latest: the finished model)")
    parser.add_argument("--data", help="data to evaluate on (default: the run's own); " + DATA_HELP)
    parser.add_argument("--split", choices=("test", "val", "train"), default="test", help="default test")
    _add_model_file(parser, "the Python file of a run whose model came from one (it runs because you name it)")
    parser.add_argument("--batch-size", dest="batch_size", type=positive_int, default=500, help="default 500")
    parser.add_argument("--json", action="store_true", help="print the metrics as one JSON object")
    _add_threads(parser)
    parser.set_defaults(handler=run_evaluate)


def run_evaluate(arguments):
    import numpy

    from chainrule import nn
    from chainrule.core.grad_mode import no_grad
    from chainrule.core.tensor import Tensor
    from chainrule.train.data_sources import load_split
    from chainrule.train.job import load_trained, to_model_input
    from chainrule.train.metrics import MetricAccumulator, confusion_matrix, precision_recall_f1

    _limit_threads(arguments)
    _announce_model_file(arguments.model_file)
    model, extra, checkpoint = load_trained(arguments.run, arguments.checkpoint, model_file=arguments.model_file)
    config = extra["config"]
    data = arguments.data or config["data"]
    test_data = config.get("test_data") if data == config["data"] else None
    images, labels = load_split(data, arguments.split, val_fraction=config.get("val_fraction", 0.1), test_csv=test_data,
                                whole_csv=data != config["data"], num_classes=extra.get("num_classes"))
    loss_fn = nn.CrossEntropyLoss()
    accumulator = MetricAccumulator("classification", extra.get("num_classes"))
    with no_grad():
        for start in range(0, len(labels), arguments.batch_size):
            outputs = model(to_model_input(images[start:start + arguments.batch_size], config))
            targets = labels[start:start + arguments.batch_size]
            loss = loss_fn(outputs, Tensor(targets))
            accumulator.update(outputs.numpy(), targets, float(loss.item()))
    metrics = accumulator.compute()
    _, _, per_class_f1 = precision_recall_f1(accumulator.targets, accumulator.predictions,
                                             accumulator.num_classes, average=None)
    matrix = confusion_matrix(accumulator.targets, accumulator.predictions, accumulator.num_classes)
    if arguments.json:
        print(json.dumps({"checkpoint": str(checkpoint), "split": arguments.split, "images": int(len(labels)),
                          **metrics, "per_class_f1": numpy.round(per_class_f1, 6).tolist(),
                          "confusion_matrix": matrix.tolist()}))
        return 0
    print(f"checkpoint {checkpoint}  ({arguments.split} split, {len(labels)} images)")
    for name in ("loss", "accuracy", "top5_accuracy", "precision", "recall", "f1"):
        print(f"  {name:<14} {metrics[name]:.4f}")
    print("  per-class F1   " + "  ".join(f"{index}:{value:.3f}" for index, value in enumerate(per_class_f1)))
    print(format_confusion_matrix(matrix))
    return 0


def format_confusion_matrix(matrix):
    """The confusion matrix as text: row i = true class i, column j = predicted j, the diagonal is right.

    Example:
        >>> import numpy
        >>> print(format_confusion_matrix(numpy.array([[5, 1], [0, 4]])))
          confusion matrix (rows: true class, columns: predicted)
                0   1
            0   5   1
            1   0   4
    """
    width = max(4, len(str(int(matrix.max(initial=0)))) + 1)
    lines = ["  confusion matrix (rows: true class, columns: predicted)",
             "     " + "".join(f"{column:>{width}}" for column in range(matrix.shape[1]))]
    for row, counts in enumerate(matrix):
        lines.append(f"    {row}" + "".join(f"{int(count):>{width}}" for count in counts))
    return "\n".join(lines)


# ----- predict -----------------------------------------------------------------------------------------
def add_predict(subcommands):
    parser = subcommands.add_parser("predict", help="which digit is in an image (.png) or array (.npy)",
                                    description="Predict the digit in each image. PNGs are read with Pillow, "
                                                "turned gray, inverted if drawn dark on light, and resized to 28x28; "
                                                ".npy files hold one or many 28x28 images (0-255 or 0-1).")
    parser.add_argument("run", metavar="RUN", help="a run folder (from chainrule train) or a checkpoint folder")
    parser.add_argument("files", metavar="FILE", nargs="+", help=".png or .npy files")
    parser.add_argument("--checkpoint", choices=("latest", "best"), default="latest", help="default latest")
    parser.add_argument("--top", type=positive_int, default=3, help="show this many classes (default 3)")
    parser.add_argument("--json", action="store_true", help="print one JSON object per image")
    _add_model_file(parser, "the Python file of a run whose model came from one (it runs because you name it)")
    _add_threads(parser)
    parser.set_defaults(handler=run_predict)


def run_predict(arguments):
    import numpy

    from chainrule.cli.images import read_images
    from chainrule.train.job import load_run

    _limit_threads(arguments)
    batches = [(path, read_images(path)) for path in arguments.files]  # read all first: a bad file fails early
    _announce_model_file(arguments.model_file)
    run = load_run(arguments.run, arguments.checkpoint, model_file=arguments.model_file)
    for path, images in batches:
        probabilities = run.probabilities(images)
        for index, row in enumerate(probabilities):
            name = path if len(images) == 1 else f"{path}[{index}]"
            ranked = numpy.argsort(-row, kind="stable")[:arguments.top]
            if arguments.json:
                print(json.dumps({"file": name, "prediction": int(ranked[0]),
                                  "probabilities": {str(int(k)): float(row[k]) for k in ranked}}))
            else:
                others = ", ".join(f"{int(k)} ({row[k]:.1%})" for k in ranked[1:])
                print(f"{name}: {int(ranked[0])} ({row[ranked[0]]:.1%})" + (f"  then {others}" if others else ""))
    return 0


# ----- lr-find -----------------------------------------------------------------------------------------
def add_lr_find(subcommands):
    from chainrule.train.job import OPTIMIZERS

    parser = subcommands.add_parser(
        "lr-find", help="the learning-rate range test: loss against an exponentially rising learning rate",
        description="Train for a few batches while raising the learning rate from --start-lr to --end-lr, plot "
                    "the smoothed loss against it, and suggest a learning rate (steepest descent and valley). "
                    "The model is left untrained.")
    parser.add_argument("--model", help=MODEL_HELP)
    _add_model_file(parser)
    parser.add_argument("--data", default="digits", help=DATA_HELP)
    parser.add_argument("--optimizer", choices=OPTIMIZERS, default="adam", help="default adam")
    parser.add_argument("--batch-size", dest="batch_size", type=positive_int, default=64, help="default 64")
    parser.add_argument("--start-lr", dest="start_lr", type=positive_float, default=1e-6, help="default 1e-6")
    parser.add_argument("--end-lr", dest="end_lr", type=positive_float, default=1.0, help="default 1")
    parser.add_argument("--num-iter", dest="num_iter", type=positive_int, default=100, help="batches (default 100)")
    parser.add_argument("--seed", type=non_negative_int, default=0, help="default 0")
    parser.add_argument("--out", default="lr_find.png", help="where to save the plot (default lr_find.png)")
    _add_threads(parser)
    parser.set_defaults(handler=run_lr_find)


def run_lr_find(arguments):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from chainrule import nn
    from chainrule.optim.lr_finder import lr_find
    from chainrule.train.job import Job

    _limit_threads(arguments)
    if arguments.start_lr >= arguments.end_lr:
        raise ValueError(f"--start-lr ({arguments.start_lr}) must be below --end-lr ({arguments.end_lr})")
    out = pathlib.Path(arguments.out)
    if out.suffix.lower() != ".png":
        raise ValueError(f"--out must name a .png file, got {out}")
    if arguments.model_file is not None and arguments.model is not None:
        raise ValueError(f"give --model {arguments.model} or --model-file {arguments.model_file}, not both")
    model = "file" if arguments.model_file is not None else (arguments.model or "cnn")
    _announce_model_file(arguments.model_file)
    config = dataclasses.replace(_defaults(), model=model, model_file=arguments.model_file, data=arguments.data,
                                 seed=arguments.seed,
                                 optimizer=arguments.optimizer, batch_size=arguments.batch_size,
                                 lr=arguments.start_lr, schedule="none", augment_shift=0)
    job = Job(config, folder=pathlib.Path("."), progress=False, echo=False, callbacks=False)
    result = lr_find(job.model, job.optimizer, nn.CrossEntropyLoss(), job.train_loader, start_lr=arguments.start_lr,
                     end_lr=arguments.end_lr, num_iter=arguments.num_iter)
    figure = Figure(figsize=(6.4, 4.0), dpi=100)
    FigureCanvasAgg(figure)
    result.plot(figure.add_subplot())
    out.parent.mkdir(parents=True, exist_ok=True)
    from chainrule.core.files import atomic_write

    with atomic_write(out) as handle:  # a crash mid-save leaves the previous plot whole
        figure.savefig(handle, format="png", bbox_inches="tight")
    print(f"tried {len(result.lrs)} learning rates from {result.lrs[0]:.2e} to {result.lrs[-1]:.2e}"
          + (" (stopped: the loss diverged)" if result.diverged else ""))
    for name, value in (("steepest descent", result.suggestion_steepest), ("valley", result.suggestion_valley)):
        print(f"  {name:<17} {value:.2e}" if value is not None else f"  {name:<17} none (the curve is too short)")
    print(f"plot: {out}")
    return 0
