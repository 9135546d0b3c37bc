"""Dropout layers beyond ``Dropout``/``Dropout2d`` (linear.py): 1-D and 3-D channel dropout, alpha dropout."""
from chainrule.nn import functional as F
from chainrule.nn.linear import Dropout


class Dropout1d(Dropout):
    """Channel dropout of (N, C, L) or (C, L): whole channels zeroed with probability p, the rest scaled by 1/(1−p).

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.Dropout1d(0.5).eval()(cr.ones(2, 3, 4)).sum()
        tensor(24.)
    """

    def forward(self, input):
        return F.dropout1d(input, self.p, self.training, generator=self.generator)


class Dropout3d(Dropout):
    """Channel dropout of (N, C, D, H, W) or (C, D, H, W): whole channels zeroed with probability p.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.Dropout3d(0.5).eval()(cr.ones(1, 2, 2, 2, 2)).shape
        (1, 2, 2, 2, 2)
    """

    def forward(self, input):
        return F.dropout3d(input, self.p, self.training, generator=self.generator)


class AlphaDropout(Dropout):
    """Dropout for SELU networks: dropped units set to SELU's saturation −λα, then an affine map keeps mean 0, variance 1.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.AlphaDropout(0.2).eval()(cr.ones(3)).tolist()
        [1.0, 1.0, 1.0]
    """

    def forward(self, input):
        return F.alpha_dropout(input, self.p, self.training, generator=self.generator)


class FeatureAlphaDropout(Dropout):
    """Alpha dropout of whole channels (dim 1).

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.FeatureAlphaDropout(0.2).eval()(cr.ones(1, 2, 3)).shape
        (1, 2, 3)
    """

    def forward(self, input):
        return F.feature_alpha_dropout(input, self.p, self.training, generator=self.generator)
