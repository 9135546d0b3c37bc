"""Every chainrule.linalg primitive carries its math: formula, one derivative per input, and a description.

(Their docstring examples run in test_docs_examples.py, with every other module's.)"""
import chainrule.linalg


def test_every_primitive_carries_its_math():
    for primitive in chainrule.linalg.PRIMITIVES:
        assert primitive.name and primitive.formula and primitive.derivatives, primitive
        assert len(primitive.vjps) == len(primitive.derivatives)      # one rule (and its LaTeX) per input
        assert primitive.describe().startswith(primitive.name + ":")
