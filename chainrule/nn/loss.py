"""Loss layers: each holds its options and calls the function of the same name in ``nn.functional``.

Losses on probabilities are computed from logits where possible (CrossEntropyLoss
via log-softmax, BCEWithLogitsLoss via softplus), which stays exact for extreme inputs.
"""
from chainrule.nn import functional as F
from chainrule.nn.module import Module


class _Loss(Module):
    formula = ""

    def __init__(self, reduction="mean"):
        super().__init__()
        if reduction not in ("mean", "sum", "none") and not (reduction == "batchmean" and type(self).__name__ == "KLDivLoss"):
            raise ValueError(f"{type(self).__name__}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
        self.reduction = reduction

    def extra_repr(self):
        return f"reduction={self.reduction!r}"


class _WeightedLoss(_Loss):
    def __init__(self, weight=None, reduction="mean"):
        super().__init__(reduction)
        # A fixed class weighting is state, not a learned parameter: keep it as a buffer.
        self.register_buffer("weight", weight)


class MSELoss(_Loss):
    """Mean squared error: ℓ = (x − y)² per element, then the mean (default), the sum, or none (``reduction``).

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.MSELoss()(cr.tensor([1.0, 2.0]), cr.tensor([0.0, 0.0]))   # (1 + 4)/2
        tensor(2.5)
    """

    formula = r"\ell = (x - y)^2"

    def forward(self, input, target):
        return F.mse_loss(input, target, self.reduction)


class L1Loss(_Loss):
    """Mean absolute error: ℓ = |x − y| per element, then the mean (default), the sum, or none (``reduction``).

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.L1Loss()(cr.tensor([1.0, -3.0]), cr.tensor([0.0, 0.0]))
        tensor(2.)
    """

    formula = r"\ell = |x - y|"

    def forward(self, input, target):
        return F.l1_loss(input, target, self.reduction)


class SmoothL1Loss(_Loss):
    """Quadratic for |x − y| < β, linear beyond (scaled by 1/β).

    ℓ = 0.5d²/β for |d| < β, |d| − 0.5β otherwise (d = x − y), then reduced (mean by default).

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.SmoothL1Loss()(cr.tensor([0.5, 3.0]), cr.tensor([0.0, 0.0]))   # (0.125 + 2.5)/2
        tensor(1.3125)
    """

    formula = r"\ell = \begin{cases} 0.5 d^2/\beta & |d| < \beta \\ |d| - 0.5\beta & \text{otherwise} \end{cases}"

    def __init__(self, reduction="mean", beta=1.0):
        super().__init__(reduction)
        self.beta = beta

    def forward(self, input, target):
        return F.smooth_l1_loss(input, target, self.reduction, self.beta)


class HuberLoss(_Loss):
    """Quadratic for |x − y| < δ, linear (slope δ) beyond.

    ℓ = 0.5d² for |d| < δ, δ(|d| − 0.5δ) otherwise (d = x − y), then reduced (mean by default).

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.HuberLoss(reduction="none", delta=2.0)(cr.tensor([0.5, 3.0]), cr.tensor([0.0, 0.0]))
        tensor([0.125, 4.   ])
    """

    formula = r"\ell = \begin{cases} 0.5 d^2 & |d| < \delta \\ \delta(|d| - 0.5\delta) & \text{otherwise} \end{cases}"

    def __init__(self, reduction="mean", delta=1.0):
        super().__init__(reduction)
        self.delta = delta

    def forward(self, input, target):
        return F.huber_loss(input, target, self.reduction, self.delta)


class BCELoss(_WeightedLoss):
    """Binary cross-entropy of probabilities in [0, 1] (prefer BCEWithLogitsLoss).

    ℓ = −w[y ln p + (1 − y) ln(1 − p)] per element (logs clamped at −100, as PyTorch), then reduced.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.BCELoss()(cr.tensor([0.5, 0.5]), cr.tensor([1.0, 0.0]))   # ln 2
        tensor(0.6931)
    """

    formula = r"\ell = -w[y \ln p + (1 - y)\ln(1 - p)]"

    def forward(self, input, target):
        return F.binary_cross_entropy(input, target, self.weight, self.reduction)


class BCEWithLogitsLoss(_WeightedLoss):
    """Binary cross-entropy from logits (stable): sigmoid and BCE in one, via softplus.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.BCEWithLogitsLoss(pos_weight=cr.tensor([2.0]))(cr.tensor([0.0]), cr.tensor([1.0]))
        tensor(1.3863)
    """

    formula = r"\ell = w[(1 - y)x + (1 + (p_w - 1)y)\operatorname{softplus}(-x)]"

    def __init__(self, weight=None, reduction="mean", pos_weight=None):
        super().__init__(weight, reduction)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input, target):
        return F.binary_cross_entropy_with_logits(input, target, self.weight, self.reduction, self.pos_weight)


class CrossEntropyLoss(_WeightedLoss):
    """Cross-entropy from logits (N, C) against class indices (N,) or class probabilities (N, C).

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.CrossEntropyLoss()(cr.zeros(2, 4), cr.tensor([0, 3]))   # ln 4
        tensor(1.3863)
    """

    formula = r"\ell_n = -w_{y_n}\Big(x_{n,y_n} - \ln\sum_c e^{x_{n,c}}\Big)"

    def __init__(self, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
        super().__init__(weight, reduction)
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing

    def forward(self, input, target):
        return F.cross_entropy(input, target, self.weight, self.ignore_index, self.reduction, self.label_smoothing)


class NLLLoss(_WeightedLoss):
    """Negative log-likelihood of log-probabilities (N, C) against class indices (N,).

    ℓₙ = −w_{yₙ} x_{n,yₙ}; 'mean' divides the sum by Σₙ w_{yₙ} (over targets not equal to ignore_index).

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> log_p, target = cr.tensor([[-1.0, -2.0], [-3.0, -4.0]]), cr.tensor([0, 1])
        >>> nn.NLLLoss()(log_p, target)   # (1 + 4)/2
        tensor(2.5)
        >>> nn.NLLLoss(weight=cr.tensor([1.0, 3.0]))(log_p, target)   # (1·1 + 3·4)/(1 + 3)
        tensor(3.25)
    """

    formula = r"\ell_n = -w_{y_n} x_{n, y_n}"

    def __init__(self, weight=None, ignore_index=-100, reduction="mean"):
        super().__init__(weight, reduction)
        self.ignore_index = ignore_index

    def forward(self, input, target):
        return F.nll_loss(input, target, self.weight, self.ignore_index, self.reduction)


class KLDivLoss(_Loss):
    """KL divergence with input = log q and target p (or log p with log_target=True); use reduction='batchmean'.

    ℓ = p(ln p − x) per element (0 where p = 0); 'batchmean' sums and divides by the batch size, giving KL(p‖q).

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> q, p = cr.tensor([[0.25, 0.75]]), cr.tensor([[0.5, 0.5]])
        >>> nn.KLDivLoss(reduction="batchmean")(cr.log(q), p)
        tensor(0.1438)
    """

    formula = r"\ell = y(\ln y - x)"

    def __init__(self, reduction="mean", log_target=False):
        super().__init__(reduction)
        self.log_target = log_target

    def forward(self, input, target):
        return F.kl_div(input, target, self.reduction, self.log_target)


class MarginRankingLoss(_Loss):
    """max(0, −y(x₁ − x₂) + margin) for y ∈ {1, −1}, then reduced (mean by default).

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> x1, x2, y = cr.tensor([1.0, 2.0]), cr.tensor([2.0, 1.0]), cr.tensor([1.0, 1.0])
        >>> nn.MarginRankingLoss(margin=1.0, reduction="none")(x1, x2, y)
        tensor([2., 0.])
    """

    formula = r"\ell = \max(0, -y(x_1 - x_2) + m)"

    def __init__(self, margin=0.0, reduction="mean"):
        super().__init__(reduction)
        self.margin = margin

    def forward(self, input1, input2, target):
        return F.margin_ranking_loss(input1, input2, target, self.margin, self.reduction)


class CosineEmbeddingLoss(_Loss):
    """1 − cos(x₁, x₂) for y = 1; max(0, cos(x₁, x₂) − margin) for y = −1.

    Inputs (N, D), targets (N,); the per-row losses are then reduced (mean by default).

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> x1, x2 = cr.tensor([[1.0, 0.0], [1.0, 0.0]]), cr.tensor([[0.0, 1.0], [2.0, 0.0]])
        >>> nn.CosineEmbeddingLoss(margin=0.5, reduction="none")(x1, x2, cr.tensor([1, -1]))   # 1 − 0, 1 − 0.5
        tensor([1. , 0.5])
    """

    formula = r"\ell = \begin{cases} 1 - \cos(x_1, x_2) & y = 1 \\ \max(0, \cos(x_1, x_2) - m) & y = -1 \end{cases}"

    def __init__(self, margin=0.0, reduction="mean"):
        super().__init__(reduction)
        self.margin = margin

    def forward(self, input1, input2, target):
        return F.cosine_embedding_loss(input1, input2, target, self.margin, self.reduction)
