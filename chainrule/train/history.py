"""History: every metric of a training run, per epoch and per step, as plain lists.

Example:
    >>> history = History()
    >>> history.add_epoch({"epoch": 1, "loss": 0.9, "val_loss": 1.0})
    >>> history.add_epoch({"epoch": 2, "loss": 0.5, "val_loss": 0.7})
    >>> history["loss"], history.last["val_loss"]
    ([0.9, 0.5], 0.7)
"""
import copy


class History:
    """The record of a run, Keras-style: ``history["val_loss"]`` is the list of per-epoch values.

    - ``epochs``: one dict per finished epoch (the logs given to ``on_epoch_end``);
    - ``steps``: one dict per optimizer step: ``step``, ``epoch``, ``loss``, ``lr``;
    - ``grad_norms``: filled by ``GradientNormRecorder``: ``{"steps": [...], "layers": {name: [...]}}``,
      the L2 norm of each layer's gradient at the recorded steps.

    It holds only numbers and strings, so it is saved in checkpoints as JSON and a
    resumed run's history continues the one it was saved with. ``Trainer.fit`` returns one.

    Example:
        >>> from chainrule.train.history import History
        >>> history = History()
        >>> history.add_epoch({"epoch": 1, "loss": 0.9}); history.add_epoch({"epoch": 2, "loss": 0.4})
        >>> history["loss"], len(history), history.last
        ([0.9, 0.4], 2, {'epoch': 2, 'loss': 0.4})
    """

    def __init__(self):
        self.epochs = []
        self.steps = []
        self.grad_norms = {"steps": [], "layers": {}}

    def add_epoch(self, logs):
        self.epochs.append(dict(logs))

    def add_step(self, record):
        self.steps.append(dict(record))

    @property
    def history(self):
        """A dict: metric name -> list of per-epoch values (Keras's ``History.history``)."""
        names = []
        for logs in self.epochs:
            names.extend(name for name in logs if name not in names)
        return {name: [logs.get(name) for logs in self.epochs] for name in names}

    def __getitem__(self, name):
        values = self.history
        if name not in values:
            raise KeyError(f"History: no metric {name!r}; recorded metrics are {sorted(values)}")
        return values[name]

    def __contains__(self, name):
        return any(name in logs for logs in self.epochs)

    def __len__(self):
        return len(self.epochs)

    @property
    def last(self):
        """The logs of the last finished epoch (an empty dict before the first)."""
        return dict(self.epochs[-1]) if self.epochs else {}

    def state_dict(self):
        return {"epochs": copy.deepcopy(self.epochs), "steps": copy.deepcopy(self.steps),
                "grad_norms": copy.deepcopy(self.grad_norms)}

    def load_state_dict(self, state):
        self.epochs = copy.deepcopy(list(state["epochs"]))
        self.steps = copy.deepcopy(list(state["steps"]))
        self.grad_norms = copy.deepcopy(dict(state["grad_norms"]))

    def __repr__(self):
        return f"History({len(self.epochs)} epochs, {len(self.steps)} steps, metrics {sorted(self.history)})"
