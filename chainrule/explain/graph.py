"""Drawing the computation graph: Graphviz (SVG, PNG, DOT text) and a Matplotlib fallback.

A node is a tensor of the graph: a leaf (a parameter or input that requires
grad), a constant (a tensor that does not), or the result of a primitive, labelled
with the op, its shape and its formula, and optionally its value and ∂L/∂tensor.
Edges point from inputs to the op that used them, the direction data flows in
the forward pass; backpropagation walks them backwards.

SVG and PNG need the Graphviz ``dot`` program, which is not a Python package:
install it with your system's package manager (Debian/Ubuntu:
``sudo apt-get install graphviz``; macOS: ``brew install graphviz``). Without it,
``draw_graph`` warns and writes the DOT text instead, which any Graphviz viewer
(or https://dreampuf.github.io/GraphvizOnline) can render. ``plot_graph`` draws
the same graph with Matplotlib alone.
"""
import os
import shutil
import warnings
from dataclasses import dataclass

from chainrule.core.files import atomic_write
from chainrule.explain.chain_rule import _check_graph, _initial_gradient, graph_symbols, reverse_walk
from chainrule.explain.formatting import as_host_array, format_values, latex_to_text

GRAPHVIZ_HINT = ("install the Graphviz `dot` program with your system's package manager "
                 "(Debian/Ubuntu: sudo apt-get install graphviz; macOS: brew install graphviz)")


class GraphvizMissingWarning(UserWarning):
    """SVG or PNG was asked for but the Graphviz ``dot`` program is not installed: DOT text was written."""


@dataclass
class GraphDrawing:
    """A drawn graph: the DOT ``source``, the ``format`` produced ('svg', 'png' or 'dot'), its bytes
    (``data``) and the file it was written to (``path``, or None).

    Example:
        >>> import os, tempfile, chainrule as cr
        >>> from chainrule.explain import draw_graph
        >>> w = cr.tensor([1.0, 2.0], requires_grad=True)
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     drawing = draw_graph((w * w).sum(), format="dot", path=os.path.join(folder, "graph.dot"))
        ...     open(drawing.path, "rb").read() == drawing.data
        True
        >>> drawing.format, drawing.source.splitlines()[0], os.path.basename(drawing.path)
        ('dot', 'digraph chainrule {', 'graph.dot')
    """

    source: str
    format: str
    data: bytes
    path: str = None

    def _repr_svg_(self):
        return self.data.decode() if self.format == "svg" else None


@dataclass
class GraphNode:
    """What the drawing shows about one tensor."""

    key: int                 # position in forward order
    symbol: str
    kind: str                # 'leaf', 'constant' or 'op'
    op: str
    shape: tuple
    formula: str
    inputs: list             # keys of the input nodes
    value: object = None     # NumPy array
    grad: object = None      # NumPy array (∂L/∂tensor), when computed


def graph_nodes(tensor, show_grads=False, names=None, output_name="L"):
    """The nodes of the graph that made ``tensor``, in forward order, with ∂tensor/∂node if ``show_grads``.

    The gradients come from the same walk ``backward()`` takes, done on the side
    (no ``.grad`` is touched and the graph is kept).
    """
    _check_graph(tensor, "draw_graph")
    order, constants, symbols = graph_symbols(tensor, names, output_name)
    grads = {}
    if show_grads:
        grads = reverse_walk(tensor, _initial_gradient(tensor, None), order)
    keys = {}
    nodes = []
    for t in constants + order:
        keys[id(t)] = len(nodes)
        kind = "constant" if not t.requires_grad else ("leaf" if t._op is None else "op")
        nodes.append(GraphNode(
            key=len(nodes), symbol=symbols[id(t)], kind=kind, op=t._op.name if t._op is not None else kind,
            shape=t.shape, formula=t._op.formula if t._op is not None else "",
            inputs=[keys[id(p)] for p in t._inputs] if t._op is not None else [],
            value=as_host_array(t).copy(),
            grad=as_host_array(grads[id(t)]).copy() if id(t) in grads else None,
        ))
    return nodes


def _short(array, max_full=6):
    return format_values(array, max_full=max_full, precision=3)


def _label_lines(node, show_values, show_grads):
    lines = [f"{node.symbol} = {node.op}" if node.kind == "op" else f"{node.symbol} ({node.kind})",
             f"shape {node.shape}"]
    if node.formula:
        lines.append(latex_to_text(node.formula))
    if show_values:
        lines.append(f"value {_short(node.value)}")
    if show_grads and node.grad is not None:
        lines.append(f"grad {_short(node.grad)}")
    return lines


def _dot_escape(text):
    return text.replace("\\", "\\\\").replace('"', '\\"')


def to_dot(nodes, show_values=False, show_grads=False):
    """The DOT text of the graph (Graphviz's language), inputs at the top, the output at the bottom.

    ``nodes`` come from ``graph_nodes``; one ``nK -> nM`` edge per input of each op (twice for w·w).
    Needs no Graphviz: the text is built here.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.explain.graph import graph_nodes, to_dot
        >>> w = cr.tensor([1.0, 2.0], requires_grad=True)
        >>> dot = to_dot(graph_nodes((w * w).sum(), names={"w": w}))
        >>> [line.strip() for line in dot.splitlines() if "->" in line]          # w → v1 = w·w → L = sum
        ['n0 -> n1;', 'n0 -> n1;', 'n1 -> n2;']
    """
    colors = {"leaf": "#cfe2ff", "constant": "#e9ecef", "op": "#fff3cd"}
    lines = ["digraph chainrule {", '  rankdir=TB;', '  node [shape=box, style="rounded,filled", fontname="Helvetica"];']
    for node in nodes:
        label = "\\n".join(_dot_escape(line) for line in _label_lines(node, show_values, show_grads))
        lines.append(f'  n{node.key} [label="{label}", fillcolor="{colors[node.kind]}"];')
    for node in nodes:
        for parent in node.inputs:
            lines.append(f"  n{parent} -> n{node.key};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def draw_graph(tensor, show_values=False, show_grads=False, format="svg", path=None, names=None, output_name="L"):
    """Draw the computation graph that made ``tensor``: nodes labelled with op, shape and formula.

    ``show_values`` adds each tensor's value, ``show_grads`` its gradient ∂tensor/∂node
    (computed on the side, exactly as ``backward()`` would; ``tensor`` must be a
    scalar). ``format`` is 'svg', 'png' (both need the Graphviz ``dot`` program) or
    'dot' (the text, always available). Without ``dot``, SVG/PNG fall back to DOT
    text with a ``GraphvizMissingWarning``. With ``path`` the result is written
    there (a '.dot' suffix when it fell back). Returns a ``GraphDrawing``.

    Example:
        >>> import chainrule as cr
        >>> w = cr.tensor([1.0, 2.0], requires_grad=True)
        >>> drawing = draw_graph((w * w).sum(), format="dot", names={"w": w})
        >>> drawing.format, drawing.source.count("->")
        ('dot', 3)
    """
    if format not in ("svg", "png", "dot"):
        raise ValueError(f"draw_graph: format must be 'svg', 'png' or 'dot', got {format!r}")
    nodes = graph_nodes(tensor, show_grads=show_grads, names=names, output_name=output_name)
    source = to_dot(nodes, show_values, show_grads)
    data = source.encode()
    if format != "dot":
        if shutil.which("dot") is None:
            if path is not None:
                path = os.path.splitext(os.fspath(path))[0] + ".dot"
            warnings.warn(
                f"draw_graph: {format.upper()} needs the Graphviz `dot` program, which was not found; "
                f"{GRAPHVIZ_HINT}. Writing the DOT text instead" + (f" to {path}" if path else ""),
                GraphvizMissingWarning, stacklevel=2,
            )
            format = "dot"
        else:
            import graphviz
            data = graphviz.Source(source).pipe(format=format)
    if path is not None:
        path = os.fspath(path)
        with atomic_write(path) as file:
            file.write(data)
    return GraphDrawing(source=source, format=format, data=data, path=path)


def layer_positions(nodes):
    """(x, y) per node key for a layered drawing, inputs on top.

    An op's layer is the longest path to it from an input; an input (leaf or
    constant) sits one layer above the first op that uses it, so that it is
    drawn next to where it enters rather than all at the top.
    """
    depth = {}
    for node in nodes:
        if node.inputs:
            depth[node.key] = 1 + max(depth.get(p, 0) for p in node.inputs)
    consumers = {}
    for node in nodes:
        for parent in node.inputs:
            consumers.setdefault(parent, []).append(depth[node.key])
    for node in nodes:
        if not node.inputs:
            depth[node.key] = min(consumers.get(node.key, [1])) - 1
    by_depth = {}
    for node in nodes:
        by_depth.setdefault(depth[node.key], []).append(node.key)
    positions = {}
    for level, keys in by_depth.items():
        for i, key in enumerate(keys):
            positions[key] = (i - (len(keys) - 1) / 2, -level)
    return positions


def plot_graph(tensor, ax=None, show_values=False, show_grads=False, names=None, output_name="L"):
    """Draw the graph with Matplotlib (no Graphviz needed): boxes in layers, arrows along the data flow.

    Returns the axes. Labels are those of ``draw_graph``. Without ``ax`` a new ``pyplot`` figure is made
    (in the current Matplotlib backend); pass the axes of a ``matplotlib.figure.Figure`` to stay off pyplot.

    Example:
        >>> import chainrule as cr, matplotlib.figure
        >>> from chainrule.explain import plot_graph
        >>> w, ax = cr.tensor([1.0, 2.0], requires_grad=True), matplotlib.figure.Figure().subplots()
        >>> plot_graph((w * w).sum(), ax=ax, names={"w": w}) is ax, len(ax.texts)     # 3 boxes and 3 arrows
        (True, 6)
    """
    import matplotlib.pyplot as plt

    nodes = graph_nodes(tensor, show_grads=show_grads, names=names, output_name=output_name)
    positions = layer_positions(nodes)
    if ax is None:
        width = max(6.0, 3.2 * max(sum(1 for p in positions.values() if p[1] == y) for y in {p[1] for p in positions.values()}))
        _, ax = plt.subplots(figsize=(width, 1.5 * (1 - min(p[1] for p in positions.values())) + 1))
    colors = {"leaf": "#cfe2ff", "constant": "#e9ecef", "op": "#fff3cd"}
    boxes = {}
    for node in nodes:
        x, y = positions[node.key]
        boxes[node.key] = ax.text(x, y, "\n".join(_label_lines(node, show_values, show_grads)), ha="center",
                                  va="center", fontsize=7, zorder=2,
                                  bbox=dict(boxstyle="round,pad=0.3", facecolor=colors[node.kind], edgecolor="#333333",
                                            lw=0.6))
    # Each arrow runs from its input's box to its op's box and stops at the box edges (patchA/patchB),
    # so the arrowhead shows where the data flows.
    for node in nodes:
        for parent in node.inputs:
            ax.annotate("", xy=positions[node.key], xytext=positions[parent], zorder=1,
                        arrowprops=dict(arrowstyle="-|>", color="#555555", lw=0.8, mutation_scale=10,
                                        patchA=boxes[parent].get_bbox_patch(), patchB=boxes[node.key].get_bbox_patch(),
                                        shrinkA=1, shrinkB=1))
    xs = [p[0] for p in positions.values()]
    ys = [p[1] for p in positions.values()]
    ax.set_xlim(min(xs) - 0.8, max(xs) + 0.8)
    ax.set_ylim(min(ys) - 0.6, max(ys) + 0.6)
    ax.axis("off")
    return ax
