"""The functional forms of the layers (being split by topic: for now all of them sit in losses.py)."""
from chainrule.nn.functional.losses import *  # noqa: F401,F403
from chainrule.nn.functional.losses import _first_max_of_window, _tuple  # noqa: F401
