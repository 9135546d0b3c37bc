"""Checking a checkpoint's metadata against the run it is loaded into, before any state changes.

A checkpoint that passes its hashes may still lie: it was written by hand, by
another program, or by a bug. ``StateCheck`` holds it to what this run would have
written itself: the run's own state (``scheduler.state_dict()``, the generator's
state, the loader's, each callback's) is the template, and the saved value must
have the same fields, the same kinds of values (a whole number where a whole number
was, a tensor of the same shape and dtype where a tensor was), and finite numbers
where a number was (a scheduler's "best so far" may be ±inf, never NaN). The
optimizer is held to more: its groups must pass the optimizer's own hyperparameter
checks, and each parameter's buffers must be exactly those the optimizer creates for
that parameter (``init_state``), with the parameter's shape and dtype. Every refusal
is a ``CheckpointError`` naming the file and the field.
"""
import math
import numbers

import numpy

from chainrule.backends import array_module
from chainrule.core.tensor import Tensor
from chainrule.train.checkpoint import CheckpointError

MAX_COUNT = 10 ** 12  # steps, epochs: a run of a trillion steps is not a run, it is a lie


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_whole(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


class StateCheck:
    """The checks of one checkpoint's metadata; ``where`` (the file) starts every message.

    Example:
        >>> check = StateCheck("checkpoint run/step-3: meta.json")
        >>> check.like({"last_epoch": 3, "best": float("inf")}, {"last_epoch": 0, "best": 0.5}, "scheduler")
        >>> try:
        ...     check.like({"last_epoch": 3.5, "best": 0.5}, {"last_epoch": 0, "best": 0.5}, "scheduler")
        ... except CheckpointError as error:
        ...     print(error)
        checkpoint run/step-3: meta.json: field scheduler.last_epoch must be a whole number, got 3.5
    """

    def __init__(self, where):
        self.where = where

    def fail(self, field, message):
        raise CheckpointError(f"{self.where}: field {field} {message}")

    # ----- plain values -----------------------------------------------------------------------
    def count(self, value, field):
        """A whole number in 0..MAX_COUNT (a step, an epoch, a counter)."""
        if not _is_whole(value) or not 0 <= value <= MAX_COUNT:
            self.fail(field, f"must be a whole number in 0..{MAX_COUNT}, got {value!r}")
        return int(value)

    def finite(self, value, field, minimum=None):
        if not _is_number(value) or not math.isfinite(value) or (minimum is not None and value < minimum):
            bound = f" >= {minimum}" if minimum is not None else ""
            self.fail(field, f"must be a finite number{bound}, got {value!r}")

    def plain(self, value, field, allow_nan=False):
        """JSON-like data only: numbers (no NaN unless allowed), strings, booleans, None, lists, string-keyed dicts."""
        waiting = [(value, field)]
        while waiting:
            item, name = waiting.pop()
            if item is None or isinstance(item, (bool, str)):
                continue
            if _is_number(item):
                if isinstance(item, float) and math.isnan(item) and not allow_nan:
                    self.fail(name, "is NaN")
                continue
            if isinstance(item, (list, tuple)):
                waiting.extend((entry, f"{name}[{index}]") for index, entry in enumerate(item))
            elif isinstance(item, dict):
                if not all(isinstance(key, str) for key in item):
                    self.fail(name, "must have string keys")
                waiting.extend((entry, f"{name}.{key}") for key, entry in item.items())
            else:
                self.fail(name, f"holds a {type(item).__name__}, where plain data was expected")

    # ----- a value shaped like a template -----------------------------------------------------
    def like(self, saved, template, field, none_is_unset=False, same_strings=False):
        """``saved`` must have the fields and kinds of value of ``template`` (this run's own state).

        A template value of None (a field not set yet) accepts any plain value; a saved None
        where the template has a value is refused, unless ``none_is_unset`` (callback states,
        whose fields start as None and are checked again by their ``load_state_dict``). A
        list is checked item by item against the template's items where it has them. With
        ``same_strings`` a string must equal the template's (a scheduler's strings are its
        settings, such as ``anneal_strategy``, which this run built the same way).
        """
        if template is None or (saved is None and none_is_unset):
            self.plain(saved, field)
            return
        if saved is None:
            self.fail(field, f"is null, where this run has a {type(template).__name__}")
        if isinstance(template, (Tensor, numpy.ndarray)):
            self.tensor(saved, tuple(template.shape), numpy.dtype(str(template.dtype)), field)
        elif isinstance(template, bool):
            if not isinstance(saved, bool):
                self.fail(field, f"must be true or false, got {saved!r}")
        elif _is_whole(template):
            if not _is_whole(saved):
                self.fail(field, f"must be a whole number, got {saved!r}")
        elif _is_number(template):
            if not _is_number(saved) or math.isnan(saved):
                self.fail(field, f"must be a number (not NaN), got {saved!r}")
            if "lr" in field.rsplit(".", 1)[-1] and not (math.isfinite(saved) and saved >= 0):
                self.fail(field, f"is a learning rate and must be a finite number >= 0, got {saved!r}")
        elif isinstance(template, str):
            if not isinstance(saved, str):
                self.fail(field, f"must be a string, got {saved!r}")
            if same_strings and saved != template:
                self.fail(field, f"is {saved!r}, where this run has {template!r}")
        elif isinstance(template, (list, tuple)):
            if not isinstance(saved, (list, tuple)):
                self.fail(field, f"must be a list, got {type(saved).__name__}")
            for index, item in enumerate(saved):
                if index < len(template):
                    self.like(item, template[index], f"{field}[{index}]", none_is_unset, same_strings)
                else:
                    self.plain(item, f"{field}[{index}]")
        elif isinstance(template, dict):
            if not isinstance(saved, dict):
                self.fail(field, f"must be an object, got {type(saved).__name__}")
            if set(saved) != set(template):
                self.fail(field, f"has the fields {sorted(map(str, saved))}, where this run has "
                                 f"{sorted(map(str, template))}")
            for key, item in template.items():
                self.like(saved[key], item, f"{field}.{key}", none_is_unset, same_strings)
        else:
            self.plain(saved, field)

    def tensor(self, saved, shape, dtype, field):
        if not isinstance(saved, Tensor):
            self.fail(field, f"must be a tensor of shape {shape} and dtype {dtype}, got {type(saved).__name__}")
        if tuple(saved.shape) != tuple(shape) or numpy.dtype(str(saved.dtype)) != dtype:
            self.fail(field, f"has shape {tuple(saved.shape)} and dtype {saved.dtype}, where shape {tuple(shape)} "
                             f"and dtype {dtype} are expected")

    # ----- the records of a run ---------------------------------------------------------------
    def history(self, history, epochs, steps):
        """One record per finished epoch and per step, numbered in order, holding numbers only.

        A step record is ``{"step", "epoch", "loss", "lr"}`` (the k-th has step k, a finite
        loss and learning rate); an epoch record has ``epoch`` k and ``step``, then metrics
        (numbers, NaN allowed: a metric may be undefined); ``grad_norms`` lists its steps and,
        per layer, one norm (or null) for each.
        """
        if not isinstance(history, dict) or set(history) != {"epochs", "steps", "grad_norms"}:
            self.fail("history", "must be an object with epochs, steps and grad_norms")
        for name, count in (("epochs", epochs), ("steps", steps)):
            records = history[name]
            if not isinstance(records, list) or not all(isinstance(record, dict) for record in records):
                self.fail(f"history.{name}", "must be a list of objects")
            if len(records) != count:
                self.fail(f"history.{name}", f"holds {len(records)} records, but the checkpoint says {count} "
                                             f"{name} were done")
        for index, record in enumerate(history["steps"]):
            field = f"history.steps[{index}]"
            if not {"step", "epoch", "loss", "lr"} <= set(record) or record["step"] != index + 1:
                self.fail(field, f"must be {{'step': {index + 1}, 'epoch', 'loss', 'lr'}}, got {record!r}"[:200])
            self.count(record["epoch"], f"{field}.epoch")
            self.finite(record["loss"], f"{field}.loss")
            self.finite(record["lr"], f"{field}.lr", minimum=0)
            for name, value in record.items():  # fields a callback or a later version adds: numbers only
                if not isinstance(name, str) or not _is_number(value):
                    self.fail(f"{field}.{name}", f"must be a number, got {value!r}")
        for index, record in enumerate(history["epochs"]):
            field = f"history.epochs[{index}]"
            if record.get("epoch") != index + 1 or not _is_whole(record.get("step")):
                self.fail(field, f"must hold epoch {index + 1} and its step, got {record!r}"[:200])
            for name, value in record.items():
                if not isinstance(name, str) or not _is_number(value):
                    self.fail(f"{field}.{name}", f"must be a number, got {value!r}")
        norms = history["grad_norms"]
        if not (isinstance(norms, dict) and set(norms) == {"steps", "layers"} and isinstance(norms["steps"], list)
                and isinstance(norms["layers"], dict)):
            self.fail("history.grad_norms", "must be an object with steps and layers")
        previous = 0
        for index, step in enumerate(norms["steps"]):
            if self.count(step, f"history.grad_norms.steps[{index}]") <= previous or step > steps:
                self.fail(f"history.grad_norms.steps[{index}]", f"is {step}: the recorded steps rise from 1 to at most "
                                                                f"{steps}")
            previous = step
        for layer, values in norms["layers"].items():
            field = f"history.grad_norms.layers.{layer}"
            if not isinstance(values, list) or len(values) != len(norms["steps"]):
                self.fail(field, f"must list one norm for each of the {len(norms['steps'])} recorded steps")
            for index, value in enumerate(values):
                if value is not None:
                    self.finite(value, f"{field}[{index}]", minimum=0)

    def accumulator(self, saved, template):
        """The epoch's running metrics: counts that add up, labels in range, one entry per image seen."""
        self.like(saved, template, "train_accumulator", none_is_unset=True, same_strings=True)
        field = "train_accumulator"
        count, num_classes = saved["count"], saved["num_classes"]
        self.count(count, f"{field}.count")
        self.finite(saved["loss_sum"], f"{field}.loss_sum")
        if num_classes is not None and (not _is_whole(num_classes) or not 1 <= num_classes <= 1 << 16):
            self.fail(f"{field}.num_classes", f"must be a whole number of classes, got {num_classes!r}")
        classification = saved["task"] == "classification"
        parts = ("first", "second", "targets") if classification else ("first", "targets")
        batches = [saved[part] for part in parts]
        if not all(isinstance(part, list) and len(part) == len(batches[0]) for part in batches) or (
                not classification and saved["second"] != []):
            self.fail(field, f"must hold one entry per batch in each of {list(parts)}")
        seen = 0
        for index, batch in enumerate(zip(*batches)):
            if not all(isinstance(entry, list) and len(entry) == len(batch[0]) for entry in batch):
                self.fail(f"{field}[{index}]", "must hold as many values in each part as images in the batch")
            seen += len(batch[0])
            if classification:
                predicted, in_top5, targets = batch
                if not all(_is_whole(label) and 0 <= label < (num_classes or 1 << 16) for label in predicted + targets):
                    self.fail(f"{field}.first[{index}]", "must hold class labels in range")
                if not all(isinstance(hit, bool) for hit in in_top5):
                    self.fail(f"{field}.second[{index}]", "must hold true or false for each image")
            else:
                self.plain(batch, f"{field}[{index}]")
                if not all(isinstance(row, list) and all(_is_number(value) for value in row)
                           for entry in batch for row in entry):
                    self.fail(f"{field}[{index}]", "must hold rows of numbers")
        if seen != count:
            self.fail(f"{field}.count", f"is {count}, but the saved batches hold {seen} images")
        if classification:
            right = sum(p == t for first, targets in zip(saved["first"], saved["targets"])
                        for p, t in zip(first, targets))
            if saved["correct"] != right:
                self.fail(f"{field}.correct", f"is {saved['correct']!r}, but the saved predictions get {right} right")

    def optimizer(self, saved, optimizer, steps_done=MAX_COUNT):
        """Hyperparameters that pass the optimizer's own checks; each buffer exactly as ``init_state`` makes it.

        A parameter's step counter cannot exceed ``steps_done``, the optimizer steps of the run.
        """
        if not isinstance(saved, dict) or set(saved) != {"state", "param_groups"}:
            self.fail("optimizer", "must be an object with state and param_groups")
        groups = saved["param_groups"]
        if not isinstance(groups, list) or len(groups) != len(optimizer.param_groups):
            self.fail("optimizer.param_groups", f"must be a list of {len(optimizer.param_groups)} groups")
        params_by_index, group_of_index = {}, {}
        for group_index, (group, current) in enumerate(zip(groups, optimizer.param_groups)):
            field = f"optimizer.param_groups[{group_index}]"
            if not isinstance(group, dict) or set(group) != set(current):
                self.fail(field, f"must hold {sorted(current)}")
            indices = group["params"]
            if not isinstance(indices, list) or len(indices) != len(current["params"]) or not all(
                    _is_whole(index) for index in indices):
                self.fail(f"{field}.params", f"must list {len(current['params'])} parameter indices")
            trial = {}
            for name, value in group.items():
                if name == "params":
                    continue
                self.like(value, current[name], f"{field}.{name}")
                for index, number in enumerate(value if isinstance(value, (list, tuple)) else [value]):
                    if _is_number(number):
                        self.finite(number, f"{field}.{name}" + (f"[{index}]" if isinstance(value, list) else ""))
                trial[name] = tuple(value) if isinstance(current[name], tuple) else value
            trial["params"] = current["params"]
            try:
                optimizer.check_hyperparameters(trial)
            except (ValueError, TypeError, KeyError) as error:
                self.fail(field, f"is refused by {type(optimizer).__name__}: {error}")
            for index, parameter in zip(indices, current["params"]):
                if index in params_by_index:
                    self.fail(f"{field}.params", f"names parameter {index} twice")
                params_by_index[index], group_of_index[index] = parameter, trial
        if set(params_by_index) != set(range(len(params_by_index))):
            self.fail("optimizer.param_groups", f"must number the parameters 0..{len(params_by_index) - 1}")
        state = saved["state"]
        if not isinstance(state, dict):
            self.fail("optimizer.state", "must be an object")
        for index, buffers in state.items():
            field = f"optimizer.state[{index}]"
            if index not in params_by_index:
                self.fail(field, f"refers to parameter {index!r}, but the optimizer has {len(params_by_index)}")
            parameter = params_by_index[index]
            expected = optimizer.init_state(parameter.array, group_of_index[index], array_module(parameter.array))
            # An optimizer that declares its state (init_state) must find exactly that; one that creates
            # it lazily in its update (SGD's momentum buffer) may hold buffers of the parameter's shape.
            names_ok = isinstance(buffers, dict) and (set(buffers) == set(expected) if expected else all(
                isinstance(name, str) for name in buffers))
            if not names_ok:
                names = sorted(buffers) if isinstance(buffers, dict) else buffers
                self.fail(field, f"holds {names}, where {type(optimizer).__name__} keeps {sorted(expected)}")
            for name, value in buffers.items():
                template = expected.get(name, value)
                if hasattr(template, "shape") and hasattr(template, "dtype"):   # an array of NumPy or CuPy
                    self.tensor(value, tuple(parameter.shape), numpy.dtype(str(parameter.dtype)), f"{field}.{name}")
                elif _is_whole(template):
                    if self.count(value, f"{field}.{name}") > steps_done and name == "step":
                        self.fail(f"{field}.{name}", f"is {value}, more than the {steps_done} steps the run took")
                elif _is_number(template):
                    self.finite(value, f"{field}.{name}")
                else:
                    self.like(value, template, f"{field}.{name}")


__all__ = ["MAX_COUNT", "StateCheck"]
