"""Margin and likelihood loss layers (``functional/margin_losses.py``): each holds its options and calls its function."""
from chainrule.nn import functional as F
from chainrule.nn.loss import _Loss, _WeightedLoss


class SoftMarginLoss(_Loss):
    """Two-class logistic loss on ±1 targets: ℓ = log(1 + exp(−y·x)), then reduced.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.SoftMarginLoss()(cr.tensor([0.0]), cr.tensor([1.0]))
        tensor(0.6931)
    """

    formula = r"\ell = \log(1 + e^{-y x})"

    def forward(self, input, target):
        return F.soft_margin_loss(input, target, self.reduction)


class HingeEmbeddingLoss(_Loss):
    """ℓ = x where y = 1, max(0, margin − x) where y = −1 (x a distance), then reduced.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.HingeEmbeddingLoss(reduction="sum")(cr.tensor([0.3, 0.2]), cr.tensor([1.0, -1.0]))
        tensor(1.1)
    """

    formula = r"\ell = \begin{cases} x & y = 1 \\ \max(0, m - x) & y = -1 \end{cases}"

    def __init__(self, margin=1.0, reduction="mean"):
        super().__init__(reduction)
        self.margin = margin

    def forward(self, input, target):
        return F.hinge_embedding_loss(input, target, self.margin, self.reduction)


class TripletMarginLoss(_Loss):
    """ℓ = max(d(a, p) − d(a, n) + margin, 0) with the p-norm distance, then reduced.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.TripletMarginLoss(margin=3.0, eps=0.0)(cr.zeros(1, 2), cr.tensor([[0.0, 1.0]]), cr.tensor([[0.0, 2.0]]))
        tensor(2.)
    """

    formula = r"\ell = \max(d(a, p) - d(a, n) + m, 0)"

    def __init__(self, margin=1.0, p=2.0, eps=1e-6, swap=False, reduction="mean"):
        super().__init__(reduction)
        self.margin, self.p, self.eps, self.swap = margin, p, eps, swap

    def forward(self, anchor, positive, negative):
        return F.triplet_margin_loss(anchor, positive, negative, self.margin, self.p, self.eps, self.swap,
                                     self.reduction)


class TripletMarginWithDistanceLoss(_Loss):
    """ℓ = max(d(a, p) − d(a, n) + margin, 0) for a given ``distance_function`` (default: pairwise distance).

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> loss = nn.TripletMarginWithDistanceLoss(distance_function=lambda u, v: (u - v).abs().sum(-1))
        >>> loss(cr.tensor([[0.0]]), cr.tensor([[1.0]]), cr.tensor([[1.5]]))
        tensor(0.5)
    """

    formula = r"\ell = \max(d(a, p) - d(a, n) + m, 0)"

    def __init__(self, *, distance_function=None, margin=1.0, swap=False, reduction="mean"):
        super().__init__(reduction)
        self.distance_function, self.margin, self.swap = distance_function, margin, swap

    def forward(self, anchor, positive, negative):
        return F.triplet_margin_with_distance_loss(anchor, positive, negative, distance_function=self.distance_function,
                                                   margin=self.margin, swap=self.swap, reduction=self.reduction)


class MultiLabelSoftMarginLoss(_WeightedLoss):
    """Per sample, the class-mean of the binary logistic losses of independent labels, then reduced.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.MultiLabelSoftMarginLoss()(cr.zeros(1, 2), cr.tensor([[1.0, 0.0]]))
        tensor(0.6931)
    """

    formula = r"\ell = -\frac{1}{C}\sum_c w_c[y_c \log\sigma(x_c) + (1 - y_c)\log\sigma(-x_c)]"

    def forward(self, input, target):
        return F.multilabel_soft_margin_loss(input, target, self.weight, self.reduction)


class MultiMarginLoss(_WeightedLoss):
    """Multi-class hinge loss: (1/C) Σ_{j≠y} w_y max(0, margin − x_y + x_j)^p per sample, then reduced.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.MultiMarginLoss()(cr.tensor([[0.1, 0.2, 0.4, 0.8]]), cr.tensor([3]))
        tensor(0.325)
    """

    formula = r"\ell = \frac{1}{C}\sum_{j \ne y} w_y \max(0, m - x_y + x_j)^p"

    def __init__(self, p=1, margin=1.0, weight=None, reduction="mean"):
        super().__init__(weight, reduction)
        self.p, self.margin = p, margin

    def forward(self, input, target):
        return F.multi_margin_loss(input, target, self.p, self.margin, self.weight, self.reduction)


class PoissonNLLLoss(_Loss):
    """Poisson negative log-likelihood: e^x − y·x for log-rates x (``log_input``), else λ − y log(λ + ε), then reduced.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.PoissonNLLLoss()(cr.tensor([0.0]), cr.tensor([2.0]))
        tensor(1.)
    """

    formula = r"\ell = e^{x} - y x"

    def __init__(self, log_input=True, full=False, eps=1e-8, reduction="mean"):
        super().__init__(reduction)
        self.log_input, self.full, self.eps = log_input, full, eps

    def forward(self, log_input, target):
        return F.poisson_nll_loss(log_input, target, self.log_input, self.full, self.eps, self.reduction)


class GaussianNLLLoss(_Loss):
    """Gaussian negative log-likelihood with predicted variance: ½(log σ² + (x − y)²/σ²), then reduced.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.GaussianNLLLoss()(cr.tensor([1.0]), cr.tensor([1.0]), cr.tensor([1.0]))
        tensor(0.)
    """

    formula = r"\ell = \tfrac12(\log\sigma^2 + (x - y)^2/\sigma^2)"

    def __init__(self, *, full=False, eps=1e-6, reduction="mean"):
        super().__init__(reduction)
        self.full, self.eps = full, eps

    def forward(self, input, target, var):
        return F.gaussian_nll_loss(input, target, var, self.full, self.eps, self.reduction)
