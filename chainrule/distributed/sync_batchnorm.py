r"""SyncBatchNorm: batch normalization whose statistics are taken over the whole batch, across all ranks.

Plain BatchNorm on N ranks normalizes each rank's B/N samples by their own mean and
variance, which differ from the whole batch's. SyncBatchNorm sums over ranks:

.. math:: \mu = \frac{1}{M} \sum_{r} \sum_{i \in r} x_i, \qquad
          \sigma^2 = \frac{1}{M} \sum_{r} \sum_{i \in r} (x_i - \mu)^2, \qquad M = \sum_r m_r

(two passes, so the variance is not the cancellation-prone E[x²] − μ²). The sums pass
through ``all_reduce_sum``, a primitive whose derivative is again a sum over ranks,
:math:`\bar x_r = \sum_s \bar y_s` (each rank's loss depends on every rank's inputs
through μ and σ²), so the backward pass needs no rule of its own.
"""
from chainrule.core.primitive import Primitive, apply
from chainrule.core.tensor import Tensor
from chainrule.distributed.collectives import all_reduce
from chainrule.distributed.process_group import group as current_group
from chainrule.nn.module import Module
from chainrule.nn.normalization import _BatchNorm


class AllReduceSum(Primitive):
    r"""The sum over ranks, :math:`y_r = \sum_s x_s`, as a differentiable op (its vjp is the same sum)."""

    name = "all_reduce_sum"
    formula = r"y_r = \sum_{s=0}^{N-1} x_s"
    derivatives = (r"\bar x_r = \sum_{s=0}^{N-1} \bar y_s",)

    @staticmethod
    def forward(xp, x, process_group):
        total = Tensor._wrap(xp.array(x, copy=True, order="C"))
        all_reduce(total, group=process_group, ordered=True)
        return total.array

    @staticmethod
    def grad_x(g, out, x, process_group):
        return apply(AllReduceSum, g, process_group=process_group)

    vjps = (grad_x,)


def all_reduce_sum(tensor, process_group=None):
    r"""The differentiable sum of ``tensor`` over ranks: :math:`y = \sum_s x_s` (in rank order, so reproducible).

    Example:
        >>> import chainrule as cr, chainrule.distributed as dist
        >>> _ = dist.init_process_group()
        >>> all_reduce_sum(cr.tensor([1.0, 2.0]))
        tensor([1., 2.])
    """
    return apply(AllReduceSum, tensor, process_group=process_group or current_group())


class SyncBatchNorm(_BatchNorm):
    r"""BatchNorm over (N, C, ...) whose batch statistics span every rank's batch:
    :math:`y = \gamma \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}} + \beta`, μ and σ² over all ranks' samples.

    In eval mode, or with one rank, it is exactly BatchNorm. Make one from an existing
    model with ``convert_sync_batchnorm``.

    Example:
        >>> import chainrule as cr, chainrule.distributed as dist
        >>> _ = dist.init_process_group()
        >>> bn = dist.SyncBatchNorm(3)
        >>> y = bn(cr.randn(8, 3, 4, 4))
        >>> bool(y.mean((0, 2, 3)).abs().max() < 1e-5)
        True
    """

    expected_dims = (2, 3, 4, 5)

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 process_group=None, dtype=None):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, dtype=dtype)
        self.process_group = process_group

    def forward(self, input):
        process_group = self.process_group or current_group()
        if not self.training or process_group.size == 1:
            return super().forward(input)
        if input.ndim not in self.expected_dims or input.shape[1] != self.num_features:
            return super().forward(input)  # the same error messages as BatchNorm
        channels = self.num_features
        axes = (0,) + tuple(range(2, input.ndim))
        shape = (1, channels) + (1,) * (input.ndim - 2)
        count = Tensor._wrap(input.xp.array([input.numel() // channels], dtype=input.dtype))
        all_reduce(count, group=process_group)
        total = float(count.item())
        if total <= 1:
            raise ValueError(f"SyncBatchNorm: expected more than 1 value per channel over all ranks when training, "
                             f"got input shape {input.shape} and {int(total)} values in all")
        mean = all_reduce_sum(input.sum(dim=axes), process_group) / total
        centered = input - mean.reshape(shape)
        var = all_reduce_sum((centered * centered).sum(dim=axes), process_group) / total
        output = centered * (var + self.eps).rsqrt().reshape(shape)
        if self.affine:
            output = output * self.weight.reshape(shape) + self.bias.reshape(shape)
        if self.track_running_stats:
            self._update_running_stats(mean.detach(), var.detach(), total)
        return output

    def _update_running_stats(self, mean, var, total):
        self.num_batches_tracked.array[...] += 1
        momentum = self.momentum
        if momentum is None:  # a cumulative moving average, as in BatchNorm
            momentum = 1.0 / int(self.num_batches_tracked.item())
        unbiased = var.array * (total / (total - 1))
        self.running_mean.array[...] = (1 - momentum) * self.running_mean.array + momentum * mean.array
        self.running_var.array[...] = (1 - momentum) * self.running_var.array + momentum * unbiased

    @classmethod
    def convert_sync_batchnorm(cls, module, process_group=None):
        """``module`` with every BatchNorm1d/2d replaced by a SyncBatchNorm holding the same weights and statistics.

        Example:
            >>> import chainrule.nn as nn, chainrule.distributed as dist
            >>> model = dist.SyncBatchNorm.convert_sync_batchnorm(nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3)))
            >>> type(model[1]).__name__
            'SyncBatchNorm'
        """
        return convert_sync_batchnorm(module, process_group)


def convert_sync_batchnorm(module, process_group=None):
    """Replace every BatchNorm layer in ``module`` (in place, and return it) by an equal SyncBatchNorm.

    Example:
        >>> import chainrule.nn as nn, chainrule.distributed as dist
        >>> type(dist.convert_sync_batchnorm(nn.BatchNorm2d(4))).__name__
        'SyncBatchNorm'
    """
    if isinstance(module, _BatchNorm) and not isinstance(module, SyncBatchNorm):
        return _sync_copy(module, process_group)
    for parent in list(module.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, _BatchNorm) and not isinstance(child, SyncBatchNorm):
                _replace_child(parent, name, _sync_copy(child, process_group))
    return module


def _sync_copy(layer, process_group):
    dtype = layer.weight.dtype if layer.affine else (layer.running_mean.dtype if layer.track_running_stats else None)
    sync = SyncBatchNorm(layer.num_features, layer.eps, layer.momentum, layer.affine, layer.track_running_stats,
                         process_group, dtype=dtype)
    for name in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked"):
        source, target = getattr(layer, name, None), getattr(sync, name, None)
        if source is not None and target is not None:
            target.array[...] = source.array
    sync.train(layer.training)
    return sync


def _replace_child(parent, name, new):
    """Put ``new`` where ``parent.named_children()`` found ``name`` (an attribute, or an item of a container)."""
    items = parent.__dict__.get("_items")
    if isinstance(items, dict) and name in items:
        items[name] = new
    elif isinstance(items, list):
        items[int(name)] = new
    elif "." in name:
        attribute, key = name.split(".", 1)
        collection = getattr(parent, attribute)
        collection[int(key) if isinstance(collection, (list, tuple)) else key] = new
    elif isinstance(parent, Module):
        setattr(parent, name, new)
