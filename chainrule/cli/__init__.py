"""The ``chainrule`` command: train, evaluate, predict, lr-find, lab.

    chainrule train                          # the default CNN on the bundled digits; prints where the report is
    chainrule train --model lenet --epochs 5 --schedule cosine --out runs/lenet
    chainrule train --resume runs/lenet      # continue a stopped run from its newest checkpoint
    chainrule evaluate runs/lenet            # test-set metrics of the trained model
    chainrule predict runs/lenet digit.png   # the digit in an image (or a .npy array of images)
    chainrule lr-find --model cnn            # the learning-rate range test, with a plot
    chainrule export runs/lenet --onnx lenet.onnx   # the trained model as ONNX (--safetensors for the weights)
    chainrule lab --help                     # the visual labs (chainrule.lab)

Every command has ``--help``. Bad input (an unknown option value, a missing file, a
damaged checkpoint) gives one line on stderr and a non-zero exit status, never a
traceback; set CHAINRULE_DEBUG=1 to see the traceback of an unexpected error.
NumPy's floating-point warnings (overflow, invalid value) are not shown: what they
warn of surfaces as one of chainrule's own errors (a loss that became inf names the
step and what to do). Other warnings are held until the command ends and shown one
line each if it succeeds; a failing command shows only its error.
"""
import argparse
import contextlib
import os
import sys
import warnings

import numpy

from chainrule.cli import commands
from chainrule.cli.export import add_export

EXIT_USAGE = 2
EXIT_FAILURE = 1
EXIT_INTERRUPTED = 130


class CommandLineError(Exception):
    """A usage error found while parsing the command line (shown as one line, exit status 2)."""


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but a usage error raises instead of printing the usage block and exiting."""

    def error(self, message):
        raise CommandLineError(f"{message} (see {self.prog} --help)")


def build_parser():
    parser = ArgumentParser(prog="chainrule", description="chainrule: deep learning built from the math up. "
                            "Train and inspect digit classifiers, or open the visual labs.")
    subcommands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=ArgumentParser)
    commands.add_train(subcommands)
    commands.add_evaluate(subcommands)
    commands.add_predict(subcommands)
    commands.add_lr_find(subcommands)
    add_export(subcommands)
    subcommands.add_parser("lab", help="the visual labs, one per concept (chainrule lab --help)", add_help=False)
    return parser


def _one_line(error):
    text = error.args[0] if isinstance(error, KeyError) and error.args else str(error)
    text = " ".join(str(text).split())
    return text or type(error).__name__


@contextlib.contextmanager
def _quiet_numerics():
    """Silence NumPy's floating-point warnings (on every thread: the filter, not only errstate), record the rest."""
    with warnings.catch_warnings(record=True) as caught, numpy.errstate(all="ignore"):
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", category=RuntimeWarning,
                                message=r"(overflow|underflow|invalid value|divide by zero) encountered")
        yield caught


def main(argv=None):
    """Run the command line ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    program = "chainrule" + (f" {argv[0]}" if argv and not argv[0].startswith("-") else "")
    if os.environ.get("CHAINRULE_DEBUG"):
        return _main(argv, program)
    with _quiet_numerics() as caught:
        status = _main(argv, program)
    if status == 0:
        shown = set()
        for warning in caught:
            line = _one_line(warning.message)
            if line not in shown:
                shown.add(line)
                print(f"{program}: warning: {line}", file=sys.stderr)
    return status


def _main(argv, program):
    try:
        if argv and argv[0] == "lab":
            return _run_lab(argv[1:])
        parser = build_parser()
        arguments = parser.parse_args(argv)
        if arguments.command is None:
            parser.print_help()
            return EXIT_USAGE
        return arguments.handler(arguments) or 0
    except CommandLineError as error:
        print(f"{program}: error: {_one_line(error)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"{program}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_FAILURE
    except Exception as error:
        if os.environ.get("CHAINRULE_DEBUG"):
            raise
        expected = isinstance(error, (ValueError, TypeError, KeyError, OSError, RuntimeError, ImportError,
                                      FloatingPointError))
        prefix = "" if expected else f"unexpected {type(error).__name__}: "
        hint = "" if expected else " (set CHAINRULE_DEBUG=1 for the traceback)"
        print(f"{program}: error: {prefix}{_one_line(error)}{hint}", file=sys.stderr)
        return EXIT_FAILURE


def _run_lab(argv):
    try:
        import chainrule.lab as lab
    except ImportError as error:
        raise RuntimeError(f"the labs are not available in this install ({_one_line(error)})") from None
    if not hasattr(lab, "main"):
        raise RuntimeError("chainrule.lab has no main(argv); the labs are not available in this install")
    status = lab.main(argv)
    return 0 if status is None else int(status)


__all__ = ["main", "build_parser"]
