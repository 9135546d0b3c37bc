r"""Metrics for classification and regression, on plain NumPy arrays.

Every function takes arrays (or chainrule tensors, or lists) and returns Python
floats or NumPy arrays; none of them records a graph. Classification metrics
take integer ``targets`` and either integer predictions or scores (logits or
probabilities, shape (N, C)), of which the arg-max is the prediction.

From the confusion matrix :math:`M_{ij}` = the number of samples of true class
:math:`i` predicted as class :math:`j`:

.. math::
    \text{precision}_k = \frac{M_{kk}}{\sum_i M_{ik}}, \quad
    \text{recall}_k = \frac{M_{kk}}{\sum_j M_{kj}}, \quad
    F_{1,k} = \frac{2\,\text{precision}_k\,\text{recall}_k}{\text{precision}_k + \text{recall}_k}

A ratio whose denominator is 0 (a class never predicted, or absent) is 0, as in
scikit-learn's ``zero_division=0``. The macro average is the plain mean over the
classes.

``MetricAccumulator`` gathers the outputs of a whole epoch batch by batch and
computes every metric at the end, which is what the ``Trainer`` uses.
"""
import math

import numpy

from chainrule.core.tensor import Tensor

CLASSIFICATION_METRICS = ("accuracy", "top5_accuracy", "precision", "recall", "f1")
REGRESSION_METRICS = ("mse", "mae", "r2")


def _as_numpy(values, name):
    if isinstance(values, Tensor):
        return values.detach().numpy()
    array = numpy.asarray(values)
    if array.dtype == object:
        raise TypeError(f"{name}: expected numbers (an array, a tensor or a list), got {type(values).__name__}")
    return array


def _labels(targets, where):
    targets = _as_numpy(targets, where)
    if targets.ndim != 1 or targets.dtype.kind not in "iub":
        raise ValueError(f"{where}: targets must be a 1-d array of integer class labels, got {targets.dtype} "
                         f"of shape {targets.shape}")
    return targets.astype(numpy.int64)


def _predictions(predictions, count, where):
    """Integer predictions from labels (N,) or from scores (N, C) by arg-max."""
    predictions = _as_numpy(predictions, where)
    if predictions.ndim == 2:
        predictions = predictions.argmax(axis=1)
    elif predictions.ndim != 1 or predictions.dtype.kind not in "iub":
        raise ValueError(f"{where}: predictions must be integer labels (N,) or scores (N, C), got "
                         f"{predictions.dtype} of shape {predictions.shape}")
    if predictions.shape[0] != count:
        raise ValueError(f"{where}: {predictions.shape[0]} predictions for {count} targets; they must pair up")
    return predictions.astype(numpy.int64)


def accuracy(predictions, targets):
    r"""The fraction of samples predicted right: :math:`\frac{1}{N}\sum_n [\hat y_n = y_n]`.

    ``predictions`` are labels (N,) or scores (N, C) (arg-max taken).

    Example:
        >>> accuracy([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]], [1, 0, 0])
        0.6666666666666666
    """
    targets = _labels(targets, "accuracy")
    predictions = _predictions(predictions, targets.shape[0], "accuracy")
    if targets.size == 0:
        raise ValueError("accuracy: got no samples")
    return float(numpy.mean(predictions == targets))


def top_k_correct(scores, targets, k):
    """A boolean per sample: is the true class among the k highest scores? (Ties count as hits.)"""
    targets = _labels(targets, "top_k_accuracy")
    scores = _as_numpy(scores, "top_k_accuracy")
    if scores.ndim != 2 or scores.shape[0] != targets.shape[0]:
        raise ValueError(f"top_k_accuracy: scores must be (N, C) with N = {targets.shape[0]} targets, got shape "
                         f"{scores.shape}")
    if not 1 <= k:
        raise ValueError(f"top_k_accuracy: k must be at least 1, got {k}")
    if k >= scores.shape[1]:
        return numpy.ones(targets.shape[0], dtype=bool)
    true_scores = scores[numpy.arange(targets.shape[0]), targets]
    # The true class is in the top k when fewer than k classes score strictly higher.
    return (scores > true_scores[:, None]).sum(axis=1) < k


def top_k_accuracy(scores, targets, k=5):
    r"""The fraction of samples whose true class is among the ``k`` highest scores.

    :math:`\frac{1}{N}\sum_n [\#\{c : s_{nc} > s_{n y_n}\} < k]`; ``k = 1`` is the accuracy.

    Example:
        >>> top_k_accuracy([[0.5, 0.3, 0.2], [0.1, 0.2, 0.7]], [1, 0], k=2)
        0.5
    """
    hits = top_k_correct(scores, targets, k)
    if hits.size == 0:
        raise ValueError("top_k_accuracy: got no samples")
    return float(hits.mean())


def confusion_matrix(targets, predictions, num_classes=None):
    """The (C, C) count matrix M with M[i, j] = #samples of true class i predicted as j.

    ``num_classes`` defaults to 1 + the largest label seen.

    Example:
        >>> confusion_matrix([0, 0, 1, 2], [0, 1, 1, 2]).tolist()
        [[1, 1, 0], [0, 1, 0], [0, 0, 1]]
    """
    targets = _labels(targets, "confusion_matrix")
    predictions = _predictions(predictions, targets.shape[0], "confusion_matrix")
    largest = int(max(targets.max(initial=-1), predictions.max(initial=-1)))
    if num_classes is None:
        num_classes = largest + 1
    if largest >= num_classes or min(targets.min(initial=0), predictions.min(initial=0)) < 0:
        raise ValueError(f"confusion_matrix: labels must lie in 0..{num_classes - 1}, found "
                         f"{int(min(targets.min(initial=0), predictions.min(initial=0)))}..{largest}")
    flat = numpy.bincount(targets * num_classes + predictions, minlength=num_classes * num_classes)
    return flat.reshape(num_classes, num_classes).astype(numpy.int64)


def _safe_divide(numerator, denominator):
    numerator = numpy.asarray(numerator, dtype=numpy.float64)
    denominator = numpy.asarray(denominator, dtype=numpy.float64)
    out = numpy.zeros_like(numerator)
    numpy.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


def precision_recall_f1(targets, predictions, num_classes=None, average="macro"):
    """Precision, recall and F1 from the confusion matrix (formulas in the module docstring).

    ``average='macro'`` returns three floats (the means over classes); ``average=None``
    returns three arrays of shape (C,), one value per class.

    Example:
        >>> p, r, f = precision_recall_f1([0, 0, 1, 1], [0, 1, 1, 1], average=None)
        >>> p.tolist(), r.tolist(), [round(v, 4) for v in f.tolist()]
        ([1.0, 0.6666666666666666], [0.5, 1.0], [0.6667, 0.8])
    """
    if average not in ("macro", None):
        raise ValueError(f"precision_recall_f1: average must be 'macro' or None (per class), got {average!r}")
    matrix = confusion_matrix(targets, predictions, num_classes)
    true_positives = numpy.diag(matrix)
    precision = _safe_divide(true_positives, matrix.sum(axis=0))
    recall = _safe_divide(true_positives, matrix.sum(axis=1))
    f1 = _safe_divide(2 * precision * recall, precision + recall)
    if average == "macro":
        return float(precision.mean()), float(recall.mean()), float(f1.mean())
    return precision, recall, f1


def precision(targets, predictions, num_classes=None, average="macro"):
    """Precision per class (``average=None``) or its macro mean. See ``precision_recall_f1``.

    Example:
        >>> precision([0, 0, 1, 1], [0, 1, 1, 1])
        0.8333333333333333
    """
    return precision_recall_f1(targets, predictions, num_classes, average)[0]


def recall(targets, predictions, num_classes=None, average="macro"):
    """Recall per class (``average=None``) or its macro mean. See ``precision_recall_f1``.

    Example:
        >>> recall([0, 0, 1, 1], [0, 1, 1, 1])
        0.75
    """
    return precision_recall_f1(targets, predictions, num_classes, average)[1]


def f1_score(targets, predictions, num_classes=None, average="macro"):
    """F1 per class (``average=None``) or its macro mean. See ``precision_recall_f1``.

    Example:
        >>> round(f1_score([0, 0, 1, 1], [0, 1, 1, 1]), 4)
        0.7333
    """
    return precision_recall_f1(targets, predictions, num_classes, average)[2]


def _regression_pair(predictions, targets, where):
    predictions = _as_numpy(predictions, where).astype(numpy.float64)
    targets = _as_numpy(targets, where).astype(numpy.float64)
    if predictions.shape != targets.shape:
        if predictions.size == targets.size:  # (N, 1) against (N,) is a common, harmless mismatch
            predictions = predictions.reshape(targets.shape)
        else:
            raise ValueError(f"{where}: predictions of shape {predictions.shape} and targets of shape "
                             f"{targets.shape} must have the same shape")
    if targets.size == 0:
        raise ValueError(f"{where}: got no samples")
    return predictions, targets


def mean_squared_error(predictions, targets):
    r""":math:`\frac{1}{N}\sum_n (\hat y_n - y_n)^2`, over every element.

    Example:
        >>> mean_squared_error([1.0, 2.0, 4.0], [1.0, 3.0, 2.0])
        1.6666666666666667
    """
    predictions, targets = _regression_pair(predictions, targets, "mean_squared_error")
    return float(numpy.mean((predictions - targets) ** 2))


def mean_absolute_error(predictions, targets):
    r""":math:`\frac{1}{N}\sum_n |\hat y_n - y_n|`, over every element.

    Example:
        >>> mean_absolute_error([1.0, 2.0, 4.0], [1.0, 3.0, 2.0])
        1.0
    """
    predictions, targets = _regression_pair(predictions, targets, "mean_absolute_error")
    return float(numpy.mean(numpy.abs(predictions - targets)))


def r2_score(predictions, targets):
    r"""The coefficient of determination :math:`R^2 = 1 - \frac{\sum (y - \hat y)^2}{\sum (y - \bar y)^2}`.

    1 is a perfect fit, 0 is no better than predicting the mean; it can be negative.
    For several outputs (N, D) the elements are pooled around each column's mean and
    the D scores averaged (scikit-learn's 'uniform_average'). Constant targets give
    1.0 for a perfect fit and 0.0 otherwise (scikit-learn's convention).

    Example:
        >>> r2_score([2.5, 0.0, 2.0, 8.0], [3.0, -0.5, 2.0, 7.0])
        0.9486081370449679
    """
    predictions, targets = _regression_pair(predictions, targets, "r2_score")
    if targets.ndim == 1:
        predictions, targets = predictions[:, None], targets[:, None]
    predictions = predictions.reshape(predictions.shape[0], -1)
    targets = targets.reshape(targets.shape[0], -1)
    residual = ((targets - predictions) ** 2).sum(axis=0)
    total = ((targets - targets.mean(axis=0)) ** 2).sum(axis=0)
    scores = numpy.where(total > 0, 1.0 - residual / numpy.where(total > 0, total, 1.0),
                         numpy.where(residual == 0, 1.0, 0.0))
    return float(scores.mean())


class MetricAccumulator:
    """Collects a whole epoch's outputs batch by batch; ``compute()`` returns every metric as floats.

    ``task`` is 'classification' (outputs are scores (N, C), targets labels) or
    'regression' (outputs and targets are numbers of equal size). The loss is averaged
    weighted by the batch sizes: :math:`\\bar\\ell = \\sum_b n_b \\ell_b / \\sum_b n_b`.

    For classification it keeps the predicted labels and whether the true class was
    in the top 5 (not the whole score matrix); for regression the outputs themselves.
    ``state_dict()`` makes it part of a checkpoint so a run resumed mid-epoch reports
    the same epoch metrics.

    Example:
        >>> import numpy as np
        >>> acc = MetricAccumulator("classification")
        >>> acc.update(np.array([[2.0, 1.0], [0.0, 3.0]]), np.array([0, 0]), loss=0.5)
        >>> acc.compute()["accuracy"], acc.compute()["loss"]
        (0.5, 0.5)
    """

    def __init__(self, task="classification", num_classes=None):
        if task not in ("classification", "regression"):
            raise ValueError(f"MetricAccumulator: task must be 'classification' or 'regression', got {task!r}")
        self.task = task
        self.num_classes = num_classes
        self.reset()

    def reset(self):
        self.loss_sum = 0.0
        self.has_loss = False
        self.count = 0
        self.correct = 0    # classification: running count of right predictions (for progress bars)
        self._first = []    # predicted labels (classification) or outputs (regression), one array per batch
        self._second = []   # top-5 hits (classification) or targets (regression)
        self._targets = []

    def update(self, outputs, targets, loss=None):
        outputs = _as_numpy(outputs, "MetricAccumulator.update")
        targets = _as_numpy(targets, "MetricAccumulator.update")
        batch = int(targets.shape[0])
        if loss is not None:
            self.loss_sum += float(loss) * batch
            self.has_loss = True
        self.count += batch
        if self.task == "classification":
            if outputs.ndim != 2:
                raise ValueError(f"MetricAccumulator: a classifier's outputs must be scores (N, C), got shape "
                                 f"{outputs.shape}; use task='regression' for other outputs")
            self.num_classes = self.num_classes or outputs.shape[1]
            predicted = outputs.argmax(axis=1).astype(numpy.int64)
            self.correct += int((predicted == targets).sum())
            self._first.append(predicted)
            self._second.append(top_k_correct(outputs, targets, 5))
            self._targets.append(targets.astype(numpy.int64))
        else:
            self._first.append(outputs.astype(numpy.float64).reshape(batch, -1))
            self._targets.append(targets.astype(numpy.float64).reshape(batch, -1))

    @property
    def predictions(self):
        """All predicted labels (classification) or outputs (regression) so far, concatenated."""
        return numpy.concatenate(self._first) if self._first else numpy.zeros(0)

    @property
    def targets(self):
        return numpy.concatenate(self._targets) if self._targets else numpy.zeros(0)

    def running_loss(self):
        """The mean loss so far (0 before any batch)."""
        return self.loss_sum / self.count if self.count else 0.0

    def running_accuracy(self):
        """The accuracy so far (classification; 0 before any batch)."""
        return self.correct / self.count if self.count else 0.0

    def compute(self):
        """A dict of floats: 'loss' (if losses were given) and the task's metrics."""
        if self.count == 0:
            return {}
        results = {}
        if self.has_loss:
            results["loss"] = self.loss_sum / self.count
        predictions, targets = self.predictions, self.targets
        if self.task == "classification":
            results["accuracy"] = float(numpy.mean(predictions == targets))
            results["top5_accuracy"] = float(numpy.concatenate(self._second).mean())
            macro = precision_recall_f1(targets, predictions, self.num_classes, average="macro")
            results["precision"], results["recall"], results["f1"] = macro
        else:
            results["mse"] = mean_squared_error(predictions, targets)
            results["mae"] = mean_absolute_error(predictions, targets)
            results["r2"] = r2_score(predictions, targets)
        return results

    def state_dict(self):
        """The collected values as JSON-able lists (floats round-trip exactly through JSON)."""
        return {"task": self.task, "num_classes": self.num_classes, "loss_sum": self.loss_sum, "has_loss": self.has_loss,
                "count": self.count, "correct": self.correct,
                "first": [part.tolist() for part in self._first], "second": [part.tolist() for part in self._second],
                "targets": [part.tolist() for part in self._targets]}

    def load_state_dict(self, state):
        self.task, self.num_classes = state["task"], state["num_classes"]
        self.loss_sum, self.count = float(state["loss_sum"]), int(state["count"])
        self.has_loss = bool(state["has_loss"])
        self.correct = int(state["correct"])
        if self.task == "classification":
            self._first = [numpy.asarray(part, dtype=numpy.int64) for part in state["first"]]
            self._second = [numpy.asarray(part, dtype=bool) for part in state["second"]]
            self._targets = [numpy.asarray(part, dtype=numpy.int64) for part in state["targets"]]
        else:
            self._first = [numpy.asarray(part, dtype=numpy.float64) for part in state["first"]]
            self._second = []
            self._targets = [numpy.asarray(part, dtype=numpy.float64) for part in state["targets"]]


def is_better(value, best, mode):
    """Whether ``value`` improves on ``best`` ('min': smaller, 'max': larger; ``best`` None or nan loses)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return False
    if best is None or (isinstance(best, float) and math.isnan(best)):
        return True
    return value < best if mode == "min" else value > best
