"""``python -m chainrule.lab TOPIC --out DIR``: the same as ``chainrule lab``."""
import sys

from chainrule.lab import main

sys.exit(main())
