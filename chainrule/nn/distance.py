"""Distance layers: cosine similarity and pairwise p-norm distance (``F.cosine_similarity``, ``F.pairwise_distance``)."""
from chainrule.nn import functional as F
from chainrule.nn.module import Module


class CosineSimilarity(Module):
    r""":math:`\frac{x_1 \cdot x_2}{\max(\|x_1\| \|x_2\|, \epsilon)}` along ``dim``.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.CosineSimilarity()(cr.tensor([[1.0, 0.0]]), cr.tensor([[1.0, 1.0]]))
        tensor([0.7071])
    """

    def __init__(self, dim=1, eps=1e-8):
        super().__init__()
        self.dim, self.eps = dim, eps

    def forward(self, x1, x2):
        return F.cosine_similarity(x1, x2, self.dim, self.eps)


class PairwiseDistance(Module):
    r""":math:`\|x_1 - x_2 + \epsilon\|_p` along the last dim.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.PairwiseDistance(eps=0.0)(cr.tensor([[0.0, 0.0]]), cr.tensor([[3.0, 4.0]]))
        tensor([5.])
    """

    def __init__(self, p=2.0, eps=1e-6, keepdim=False):
        super().__init__()
        self.norm, self.eps, self.keepdim = p, eps, keepdim

    def forward(self, x1, x2):
        return F.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)
