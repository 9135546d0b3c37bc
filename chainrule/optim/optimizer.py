"""The thin base class every optimizer shares.

An optimizer is a per-parameter update rule. This class does the bookkeeping
around it, and nothing else:

* ``param_groups``: lists of parameters, each group with its own hyperparameters;
* ``state``: per-parameter buffers (running averages, step counts), made lazily
  on a parameter's first update by the subclass's ``init_state``;
* ``step(closure=None)``: for every parameter that has a gradient, call the
  subclass's ``update(param, grad, state, group, xp)`` on the raw arrays;
* ``state_dict()`` / ``load_state_dict()``: plain data (arrays as tensors, numbers,
  lists), no pickle, so a run saved mid-way resumes bit for bit.

The update works on ``p.array`` and ``p.grad.array`` in place (ufuncs with
``out=``, buffers made once), so it records no graph and allocates nothing per
step after the first. Updating the parameters on two threads is not done here:
an optimizer opts in by also deriving from ``ParallelUpdates`` (parallel.py).
"""
import numbers

import numpy

from chainrule.backends import array_module, is_cupy_array
from chainrule.core.grad_mode import enable_grad
from chainrule.core.tensor import Tensor


class Optimizer:
    """Base class: parameter groups, lazy per-parameter state, ``step``, state dicts.

    A subclass passes its default hyperparameters to ``__init__`` and writes

    * ``check_hyperparameters(group)``: raise a clear ``ValueError`` for bad values;
    * ``init_state(param, group, xp)``: the state dict of one parameter (zeros buffers);
    * ``update(param, grad, state, group, xp)``: the update rule, in place on arrays.
      It touches only its own ``param``, ``state`` and scratch (``_workspace``), so that
      ``ParallelUpdates`` may run it on a second thread beside other parameters' updates.

    ``params`` is an iterable of tensors, or of dicts ``{"params": [...], "lr": ...}``
    (parameter groups), whose keys override the defaults for that group.

    Example:
        >>> import chainrule as cr
        >>> w = cr.tensor([1.0, -2.0], requires_grad=True)
        >>> b = cr.tensor([0.5], requires_grad=True)
        >>> opt = cr.optim.SGD([{"params": [w]}, {"params": [b], "lr": 0.5}], lr=0.1)
        >>> ((w * w).sum() + (b * b).sum()).backward()
        >>> opt.step()
        >>> w.data.tolist(), b.data.tolist()     # w - 0.1·2w,  b - 0.5·2b
        ([0.800000011920929, -1.600000023841858], [0.0])
    """

    def __init__(self, params, defaults):
        if type(self).step is Optimizer.step and not callable(getattr(self, "update", None)):
            raise TypeError(
                f"{self._name}: an optimizer defines update(param, grad, state, group, xp), the rule that "
                "changes one parameter array in place (or overrides step() entirely, as LBFGS does)"
            )
        self.defaults = dict(defaults)
        self.check_hyperparameters(self.defaults)
        self.state = {}
        self.param_groups = []
        self._workspaces = {}

        if isinstance(params, Tensor):
            raise TypeError(
                f"{self._name}: params must be an iterable of tensors (e.g. model.parameters() or [w, b]), "
                "got a single tensor; wrap it in a list: [tensor]"
            )
        if isinstance(params, (set, frozenset)):
            raise TypeError(
                f"{self._name}: params must be an ordered iterable (a list), got a set; the order of a set "
                "changes between runs, so state dicts would not line up. Pass a list instead"
            )
        groups = list(params)
        if len(groups) == 0:
            raise ValueError(
                f"{self._name}: got an empty parameter list; pass the tensors to optimize, "
                "e.g. model.parameters() or [w, b] (tensors made with requires_grad=True)"
            )
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    @property
    def _name(self):
        return type(self).__name__

    # ----- parameter groups ------------------------------------------------------------
    def add_param_group(self, param_group):
        """Add a group of parameters, with hyperparameters that override the defaults.

        Example: fine-tune a new head faster than the body,
        ``opt.add_param_group({"params": head.parameters(), "lr": 1e-2})``.
        """
        if not isinstance(param_group, dict):
            raise TypeError(
                f"{self._name}.add_param_group: a parameter group is a dict like "
                f"{{'params': [w, b], 'lr': 0.01}}, got {type(param_group).__name__}"
            )
        if "params" not in param_group:
            raise ValueError(f"{self._name}.add_param_group: the group dict has no 'params' key")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(
                f"{self._name}: a group's params must be an ordered list, got a set (its order changes "
                "between runs); pass a list"
            )
        else:
            params = list(params)
        if len(params) == 0:
            raise ValueError(f"{self._name}: a parameter group has an empty 'params' list; give it at least one tensor")

        seen = set()
        for index, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(
                    f"{self._name}: parameter {index} of a group is a {type(p).__name__}, not a Tensor; "
                    "optimizers update tensors made with requires_grad=True"
                )
            if not p.is_leaf:
                raise ValueError(
                    f"{self._name}: parameter {index} (shape {p.shape}) is not a leaf (it was computed by "
                    f"'{p.grad_fn.name}'); optimize the leaf tensors it was made from, or use .detach().requires_grad_()"
                )
            if not p.is_floating_point():
                raise TypeError(
                    f"{self._name}: parameter {index} has dtype {p.dtype}; only floating-point tensors can be "
                    "optimized (convert with .float() or .double())"
                )
            if id(p) in seen:
                raise ValueError(
                    f"{self._name}: parameter {index} (shape {p.shape}) appears twice in the same group; "
                    "each tensor must be listed once (it would otherwise be updated twice per step)"
                )
            seen.add(id(p))
        for group_index, group in enumerate(self.param_groups):
            for p in group["params"]:
                if id(p) in seen:
                    raise ValueError(
                        f"{self._name}: a parameter (shape {p.shape}) is already in parameter group "
                        f"{group_index}; a tensor can belong to one group only"
                    )

        group = dict(param_group)
        group["params"] = params
        for name, default in self.defaults.items():
            group.setdefault(name, default)
        self.check_hyperparameters(group)
        self.param_groups.append(group)

    # ----- what a subclass writes ----------------------------------------------------------
    def check_hyperparameters(self, group):
        """Raise ``ValueError`` for a bad hyperparameter in ``group`` (the base checks ``lr``)."""
        self._check_non_negative(group, "lr", "it is the step size; use e.g. 1e-3")

    def init_state(self, param, group, xp):
        """The state of one parameter before its first update (a dict)."""
        return {}

    # ----- checks the subclasses share ---------------------------------------------------
    def _check_non_negative(self, group, name, hint):
        value = group[name]
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value >= 0:
            raise ValueError(f"{self._name}: {name} must be a non-negative number, got {value!r}; {hint}")

    def _check_fraction(self, group, name, hint, include_one=False):
        value = group[name]
        upper_ok = (value <= 1) if include_one else (value < 1)
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (value >= 0 and upper_ok):
            interval = "[0, 1]" if include_one else "[0, 1)"
            raise ValueError(f"{self._name}: {name} must be in {interval}, got {value!r}; {hint}")

    def _check_betas(self, group):
        betas = group["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"{self._name}: betas must be a pair (beta1, beta2), got {betas!r}; e.g. betas=(0.9, 0.999)")
        for index, beta in enumerate(betas):
            if isinstance(beta, bool) or not isinstance(beta, numbers.Real) or not 0 <= beta < 1:
                raise ValueError(
                    f"{self._name}: betas[{index}] must be in [0, 1), got {beta!r}; betas are the decay rates "
                    "of running averages (1 would never forget, and never learn), e.g. betas=(0.9, 0.999)"
                )

    # ----- the step ---------------------------------------------------------------------------
    def step(self, closure=None):
        """Update every parameter that has a gradient; return ``closure()``'s loss if given.

        ``closure`` (optional) re-evaluates the model and returns the loss; it runs
        with gradients enabled, before the update.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        updates = []
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                xp = array_module(p.array)
                state = self.state.get(p)
                if state is None:
                    state = self.state[p] = self.init_state(p.array, group, xp)
                updates.append((p.array, p.grad.array, state, group, xp))
        self._run_updates(updates)
        return loss

    def _run_updates(self, updates):
        """Call ``update`` on each ``(param, grad, state, group, xp)``, one after the other."""
        for update in updates:
            self.update(*update)

    def _lane_index(self):
        """Which set of scratch arrays the calling thread uses: always 0 here (ParallelUpdates has two)."""
        return 0

    def zero_grad(self, set_to_none=True):
        """Forget the gradients: ``p.grad = None`` (default), or fill them with zeros."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                elif p.grad.grad_fn is not None:
                    p.grad = Tensor._wrap(array_module(p.array).zeros_like(p.array))
                else:
                    p.grad.array[...] = 0

    # ----- helpers for update rules ---------------------------------------------------------
    def _workspace(self, array, slot):
        """A scratch array shaped like ``array``, made once and reused every step.

        Scratch is shared by all parameters of the same shape and dtype that are
        updated in the same lane (each lane, one thread, runs one update at a time;
        see ``ParallelUpdates``), and is not part of the state dict.
        """
        key = (slot, array.shape, array.dtype.str, type(array).__module__, self._lane_index())
        buffer = self._workspaces.get(key)
        if buffer is None:
            buffer = self._workspaces[key] = array_module(array).empty_like(array)
        return buffer

    def _effective_grad(self, param, grad, group, weight_decay, xp):
        """g = ±grad + weight_decay·param (the sign is − for ``maximize``); ``grad`` is never changed.

        Returns ``grad`` itself (no copy) when neither applies.
        """
        maximize = group.get("maximize", False)
        if not maximize and weight_decay == 0:
            return grad
        effective = self._workspace(param, "effective_grad")
        if maximize:
            xp.negative(grad, out=effective)
        else:
            effective[...] = grad
        if weight_decay != 0:
            scaled_param = self._workspace(param, "scaled_param")
            xp.multiply(param, weight_decay, out=scaled_param)
            effective += scaled_param
        return effective

    # ----- state dicts --------------------------------------------------------------------
    def state_dict(self):
        """A snapshot of the optimizer as plain data: ``{"state": ..., "param_groups": ...}``.

        ``state`` maps a parameter's index (its position across all groups, in order)
        to its buffers, copied into tensors, and its counters (ints, floats);
        ``param_groups`` holds each group's hyperparameters with ``params`` as lists of
        indices. Arrays are copied, so later steps do not change the snapshot.
        """
        index_of = {}
        groups = []
        for group in self.param_groups:
            saved = {name: _snapshot(value) for name, value in group.items() if name != "params"}
            saved["params"] = []
            for p in group["params"]:
                index_of[id(p)] = len(index_of)
                saved["params"].append(index_of[id(p)])
            groups.append(saved)
        state = {}
        for p, param_state in self.state.items():
            state[index_of[id(p)]] = {name: _snapshot(value) for name, value in param_state.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore hyperparameters and state saved by ``state_dict()`` (the arrays are copied).

        The optimizer must have been built over parameters of the same shapes, in the
        same groups and order.
        """
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"{self._name}.load_state_dict: the saved state has {len(saved_groups)} parameter groups, "
                f"this optimizer has {len(self.param_groups)}; build the optimizer over the same groups"
            )
        params_by_index = {}
        for group_index, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(
                    f"{self._name}.load_state_dict: parameter group {group_index} has {len(group['params'])} "
                    f"parameters but the saved group has {len(saved['params'])}"
                )
            for index, p in zip(saved["params"], group["params"]):
                params_by_index[int(index)] = p

        new_groups = []
        for saved, group in zip(saved_groups, self.param_groups):
            restored = {name: _restore_plain(name, value) for name, value in saved.items() if name != "params"}
            restored["params"] = group["params"]
            new_groups.append(restored)

        new_state = {}
        for index, saved_param_state in state_dict["state"].items():
            p = params_by_index.get(int(index))
            if p is None:
                raise ValueError(
                    f"{self._name}.load_state_dict: the saved state refers to parameter {index}, "
                    f"but this optimizer has only {len(params_by_index)} parameters"
                )
            new_state[p] = {name: _restore_value(value, p) for name, value in saved_param_state.items()}

        self.param_groups = new_groups
        self.state = new_state

    def __repr__(self):
        lines = [f"{self._name} ("]
        for index, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {index}")
            for name in sorted(group):
                if name != "params":
                    lines.append(f"    {name}: {group[name]}")
        lines.append(")")
        return "\n".join(lines)


def _is_array(value):
    return isinstance(value, numpy.ndarray) or is_cupy_array(value)


def _snapshot(value):
    """Copy a state value into plain data: arrays become tensors (copies), lists are walked."""
    if _is_array(value):
        return Tensor._wrap(value.copy())
    if isinstance(value, Tensor):
        return Tensor._wrap(value.array.copy())
    if isinstance(value, list):
        return [_snapshot(item) for item in value]
    if isinstance(value, tuple):
        return tuple(_snapshot(item) for item in value)
    return value


def _restore_plain(name, value):
    """Hyperparameters back from plain data (a JSON round trip turns tuples into lists)."""
    if name == "betas" and isinstance(value, list):
        return tuple(value)
    return value


def _restore_value(value, param):
    """A saved state value as an array on the parameter's device, floats in the parameter's dtype."""
    xp = array_module(param.array)
    if isinstance(value, Tensor):
        value = value.array
    if _is_array(value):
        dtype = param.dtype if value.dtype.kind == "f" else value.dtype
        return xp.array(value, dtype=dtype, copy=True)
    if isinstance(value, list):
        return [_restore_value(item, param) for item in value]
    return value
