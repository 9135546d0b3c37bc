r"""The learning-rate range test (Smith, 2017; popularized by fastai's ``lr_find``).

Train for a few hundred mini-batches while raising the learning rate
exponentially from ``start_lr`` to ``end_lr``,

.. math::
    \eta_i = \eta_{start}\, (\eta_{end}/\eta_{start})^{i/(n-1)}, \qquad i = 0, \dots, n-1,

and record the loss, smoothed by an exponential moving average with bias
correction (weight ``smooth`` on the newest loss, :math:`\beta = 1 - \text{smooth}`):

.. math::
    a_i = \beta\, a_{i-1} + (1-\beta)\, \ell_i, \qquad \bar\ell_i = a_i / (1 - \beta^{\,i+1}).

Too small a rate changes nothing; a good one makes the loss fall fast; too large
a one makes it explode, and the test stops when :math:`\bar\ell_i` exceeds
``diverge_threshold`` times the best seen. The model and optimizer are then put
back exactly as they were. Two suggestions are read off the curve:

* **steepest**: where :math:`d\bar\ell/d\log\eta`, measured across a small window,
  is most negative (the first 10 and last 5 points left out);
* **valley**: fastai's rule: the longest stretch over which the loss keeps
  decreasing, and a point about half-way down it (more robust on noisy curves).

Example:
    >>> import chainrule as cr, chainrule.nn as nn
    >>> from chainrule.optim.lr_finder import lr_find
    >>> _ = cr.manual_seed(0)
    >>> X = cr.randn(256, 4); y = X @ cr.tensor([[1.0], [-2.0], [0.5], [3.0]])
    >>> batches = [(X[i:i + 32], y[i:i + 32]) for i in range(0, 256, 32)]
    >>> model = nn.Linear(4, 1)
    >>> optimizer = cr.optim.SGD(model.parameters(), lr=0.01)
    >>> result = lr_find(model, optimizer, nn.MSELoss(), batches, num_iter=100)
    >>> 1e-3 < result.suggestion_valley < 1.0
    True
"""
import math
from dataclasses import dataclass, field

import numpy


@dataclass
class LRFinderResult:
    r"""The range test's curve and suggestions. Plot ``losses`` against ``lrs`` on a log x-axis.

    ``lrs`` are :math:`\eta_i = \eta_{start} (\eta_{end}/\eta_{start})^{i/(n-1)}`, ``raw_losses`` the
    batch losses :math:`\ell_i`, ``losses`` their bias-corrected moving average
    :math:`\bar\ell_i = a_i / (1 - \beta^{i+1})`, :math:`a_i = \beta a_{i-1} + (1-\beta)\ell_i`;
    ``diverged`` says whether the test stopped early because :math:`\bar\ell_i` blew up.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> from chainrule.optim.lr_finder import lr_find
        >>> _ = cr.manual_seed(0); X = cr.randn(64, 2); model = nn.Linear(2, 1)
        >>> result = lr_find(model, cr.optim.SGD(model.parameters(), lr=0.01), nn.MSELoss(), [(X, X @ cr.ones(2, 1))],
        ...                  start_lr=1e-4, end_lr=1.0, num_iter=50)
        >>> len(result.lrs), result.lrs[0], result.lrs[-1], result.diverged
        (50, 0.0001, 1.0, False)
    """

    lrs: list = field(default_factory=list)
    losses: list = field(default_factory=list)           # smoothed, bias-corrected
    raw_losses: list = field(default_factory=list)
    suggestion_steepest: float = None
    suggestion_valley: float = None
    diverged: bool = False

    def y_range(self):
        """The informative loss range: from the lowest smoothed loss to the highest one before it, with a
        margin. The final blow-up is left off, so the fall the suggestions read stays visible (fastai clips alike)."""
        if not self.losses:
            return None
        lowest = min(range(len(self.losses)), key=self.losses.__getitem__)
        low, high = self.losses[lowest], max(self.losses[:lowest + 1])
        margin = 0.1 * (high - low) or 0.1 * abs(high) or 0.1
        return low - margin, high + margin

    def plot(self, ax=None):
        """Draw the curve with both suggestions (needs matplotlib), the y-axis clipped to ``y_range()``;
        returns the axes."""
        import matplotlib.pyplot as plt   # optional and heavy: only plotting needs it

        if ax is None:
            _, ax = plt.subplots()
        ax.plot(self.lrs, self.losses, label="smoothed loss")
        ax.set_xscale("log")
        ax.set_xlabel("learning rate")
        ax.set_ylabel("loss")
        if self.losses:
            ax.set_ylim(*self.y_range())
        for value, name, style in ((self.suggestion_steepest, "steepest", "--"), (self.suggestion_valley, "valley", ":")):
            if value is not None:
                ax.axvline(value, linestyle=style, color="gray", label=f"{name}: {value:.2e}")
        ax.legend()
        return ax


def lr_find(model, optimizer, loss_fn, batches, start_lr=1e-7, end_lr=10.0, num_iter=100, smooth=0.05,
            diverge_threshold=4.0):
    r"""Run the learning-rate range test and restore ``model`` and ``optimizer`` afterwards.

    Step i (of ``num_iter`` = n) trains one batch with :math:`\eta_i = \eta_{start} (\eta_{end}/\eta_{start})^{i/(n-1)}`
    and records the loss; see the module docstring for the smoothing and the suggestions.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> _ = cr.manual_seed(0); X = cr.randn(64, 2); model = nn.Linear(2, 1); before = model.weight.tolist()
        >>> optimizer = cr.optim.SGD(model.parameters(), lr=0.01)
        >>> result = cr.optim.lr_find(model, optimizer, nn.MSELoss(), [(X, X @ cr.ones(2, 1))], num_iter=50)
        >>> model.weight.tolist() == before, optimizer.param_groups[0]["lr"], result.lrs[0]   # both put back
        (True, 0.01, 1e-07)

    Args:
        model: a ``chainrule.nn.Module``: called as ``model(inputs)``.
        optimizer: the optimizer to test (any ``chainrule.optim`` optimizer over the model's parameters).
        loss_fn: called as ``loss_fn(model(inputs), targets)``, returns a scalar tensor.
        batches: an iterable of ``(inputs, targets)`` pairs, e.g. a DataLoader; it is
            iterated again from the start if it runs out before ``num_iter`` batches.
        start_lr, end_lr: the range of learning rates (``0 < start_lr < end_lr``).
        num_iter: the number of mini-batches (learning rates) to try.
        smooth: weight of the newest loss in the moving average (0 < smooth <= 1).
        diverge_threshold: stop once the smoothed loss exceeds this many times the best.
    Returns:
        An ``LRFinderResult`` with ``lrs``, ``losses`` (smoothed), ``raw_losses``,
        ``suggestion_steepest``, ``suggestion_valley`` and ``diverged``.
    """
    if not 0 < start_lr < end_lr:
        raise ValueError(f"lr_find: need 0 < start_lr < end_lr, got start_lr={start_lr}, end_lr={end_lr}")
    if isinstance(num_iter, bool) or not isinstance(num_iter, int) or num_iter < 2:
        raise ValueError(f"lr_find: num_iter must be an integer >= 2, got {num_iter!r}")
    if not 0 < smooth <= 1:
        raise ValueError(f"lr_find: smooth must be in (0, 1], got {smooth}; 0.05 is typical")
    if not diverge_threshold > 1:
        raise ValueError(f"lr_find: diverge_threshold must be > 1, got {diverge_threshold}")

    # Snapshots to restore afterwards: the module's state dict shares memory, so copy the arrays.
    saved_model = {name: value.array.copy() for name, value in model.state_dict().items()}
    saved_optimizer = optimizer.state_dict()
    was_training = getattr(model, "training", True)

    result = LRFinderResult()
    ratio = end_lr / start_lr
    beta = 1.0 - smooth
    average, best = 0.0, math.inf
    try:
        model.train()
        for i, (inputs, targets) in enumerate(_cycle(batches, num_iter)):
            lr = start_lr * ratio ** (i / (num_iter - 1))
            for group in optimizer.param_groups:
                group["lr"] = lr
            optimizer.zero_grad()
            loss = loss_fn(model(inputs), targets)
            loss.backward()
            optimizer.step()

            raw = float(loss.item())
            average = beta * average + (1 - beta) * raw
            smoothed = average / (1 - beta ** (i + 1))
            result.lrs.append(lr)
            result.raw_losses.append(raw)
            result.losses.append(smoothed)
            if not math.isfinite(smoothed) or (i > 0 and smoothed > diverge_threshold * best):
                result.diverged = True
                break
            best = min(best, smoothed)
    finally:
        model.load_state_dict(saved_model)
        optimizer.load_state_dict(saved_optimizer)
        optimizer.zero_grad()
        model.train(was_training)

    # Suggestions come from the curve before it blew up (the point that tripped the stop is left out).
    lrs, losses = result.lrs, result.losses
    if result.diverged:
        lrs, losses = lrs[:-1], losses[:-1]
    result.suggestion_steepest = _steepest(lrs, losses)
    result.suggestion_valley = _valley(lrs, losses)
    return result


def _cycle(batches, count):
    """``count`` items from ``batches``, starting over when it runs out."""
    produced = 0
    while produced < count:
        empty = True
        for batch in batches:
            empty = False
            yield batch
            produced += 1
            if produced == count:
                return
        if empty:
            raise ValueError("lr_find: batches is empty; pass a DataLoader or a list of (inputs, targets)")


def _usable_curve(lrs, losses):
    """The curve without a final diverged point (a nan/inf, or the point that tripped the stop)."""
    points = [(lr, loss) for lr, loss in zip(lrs, losses) if math.isfinite(loss)]
    return [p[0] for p in points], [p[1] for p in points]


def _steepest(lrs, losses, skip_start=10, skip_end=5):
    """The learning rate where the smoothed loss falls fastest per decade of learning rate.

    The slope at point i is measured across a window, (ℓ[i+k] - ℓ[i-k]) / (log η[i+k] - log η[i-k])
    with k = n/20, because point-to-point differences of a noisy curve are mostly
    noise. The first ``skip_start`` points (the moving average has seen only a few
    losses there) and the last ``skip_end`` (the climb to divergence) are left out
    when the curve is long enough to spare them.
    """
    lrs, losses = _usable_curve(lrs, losses)
    if len(lrs) > skip_start + skip_end + 3:
        lrs, losses = lrs[skip_start:len(lrs) - skip_end], losses[skip_start:len(losses) - skip_end]
    n = len(lrs)
    if n < 3:
        return None
    k = max(1, n // 20)
    log_lrs, losses = numpy.log10(numpy.asarray(lrs)), numpy.asarray(losses)
    ahead = numpy.minimum(numpy.arange(n) + k, n - 1)
    behind = numpy.maximum(numpy.arange(n) - k, 0)
    slopes = (losses[ahead] - losses[behind]) / (log_lrs[ahead] - log_lrs[behind])
    return float(lrs[int(numpy.argmin(slopes))])


def _valley(lrs, losses):
    """fastai's valley: the longest decreasing stretch of the curve, and a point half-way down it.

    ``run[i]`` is the length of the longest strictly decreasing subsequence ending at i.
    """
    lrs, losses = _usable_curve(lrs, losses)
    n = len(losses)
    if n < 3:
        return None
    run = [1] * n
    start, end = 0, 0
    for i in range(1, n):
        for j in range(i):
            if losses[i] < losses[j] and run[i] < run[j] + 1:
                run[i] = run[j] + 1
        if run[end] < run[i]:
            end = i
            start = end - run[end]
    sections = (end - start) / 3
    index = start + int(sections) + int(sections / 2)
    return float(lrs[min(max(index, 0), n - 1)])
