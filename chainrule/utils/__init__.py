"""``chainrule.utils``: where PyTorch scripts look for ``torch.utils.data``.

``chainrule.utils.data`` is ``chainrule.data`` under PyTorch's name (the same classes, not copies).
"""
from chainrule.utils import data

__all__ = ["data"]
