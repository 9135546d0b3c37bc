"""The old address of information theory, kept so that ``chainrule.information`` and
``from chainrule.information import entropy`` still work: the code lives in
``chainrule/probability/information.py``, beside the distributions and their KL divergences.

    >>> import chainrule as cr
    >>> cr.information.entropy(cr.tensor([0.5, 0.5]), base=2)   # one bit
    tensor(1.)
"""
from chainrule.probability.information import (
    cross_entropy, entropy, js_divergence, kl_divergence, model_perplexity, mutual_information,
    mutual_information_from_labels, perplexity,
)

__all__ = [
    "entropy", "cross_entropy", "kl_divergence", "js_divergence", "mutual_information",
    "mutual_information_from_labels", "perplexity", "model_perplexity",
]
