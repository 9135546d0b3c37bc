r"""The chain rule, step by step, with the numbers filled in.

Backpropagation computes, for an output L and every tensor v on a path to the
tensor we differentiate with respect to,

    ∂L/∂v = Σ over the ops u = f(…, v, …) that used v of  vjp_{f,v}(∂L/∂u),

walking the graph from L back towards the inputs. ``explain`` does not walk the
graph itself: it runs the walk of ``backward()`` (``run_backward`` in
core/autograd.py) with an observer, which sees each op's vector–Jacobian
products (``Primitive.vjp``), un-broadcast, as they are added, and records every step:
the op's formula, its local derivative, the upstream gradient ∂L/∂u, the
product the chain rule forms, and the accumulated gradient ∂L/∂v. Because it is
the same walk, its final gradients equal the ones ``backward()`` writes into
``.grad`` bit for bit.

The graph is only read: nothing is freed, recorded or accumulated, so the user
can still call ``backward()`` afterwards.
"""
import re
from dataclasses import dataclass, field

import numpy

from chainrule.core.autograd import run_backward, topological_order
from chainrule.core.tensor import Tensor
from chainrule.explain.formatting import (
    FULL_VALUES_UP_TO, as_host_array, format_values, format_values_latex, latex_to_text,
)

MAX_PATHS_SHOWN = 12


@dataclass
class Node:
    """A tensor of the graph: its symbol, how it was made and its value.

    ``symbol = op(inputs…)`` for a result; ``op`` is 'leaf' or 'constant' for the tensors that were given.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.explain import explain
        >>> w, x = cr.tensor(2.0, requires_grad=True), cr.tensor(3.0)
        >>> e = explain((w * x).sigmoid(), wrt={"w": w}, names={"x": x})     # L = σ(w·x)
        >>> [(node.symbol, node.op, node.inputs) for node in e.nodes]
        [('w', 'leaf', []), ('x', 'constant', []), ('v1', 'mul', ['w', 'x']), ('L', 'sigmoid', ['v1'])]
    """

    symbol: str
    op: str                 # the primitive's name, or 'leaf' / 'constant'
    inputs: list            # the symbols of its inputs
    shape: tuple
    value: numpy.ndarray
    formula: str = ""       # the primitive's LaTeX formula ('' for leaves)
    params: dict = field(default_factory=dict)   # the op's non-tensor arguments (labels, reduction, …)
    letters: dict = field(default_factory=dict)  # the formula's letters → the symbols they stand for here


@dataclass
class Step:
    """One application of the chain rule: node ``node`` = op(…) passes gradient to its input ``input``.

    ``upstream`` is ∂L/∂node (complete when the step runs, because the walk is in
    reverse topological order), ``contribution`` the vector–Jacobian product
    vjp(upstream) summed back to the input's shape, and ``accumulated`` the
    running total of ∂L/∂input after adding it; ``complete`` says whether that
    total is final (no later op adds to it). With u = ``node``, v = ``input`` and ū = ∂L/∂u:

        contribution = ū · ∂u/∂v,   accumulated = Σ of the contributions into v so far (= ∂L/∂v once complete).

    Example:
        >>> import chainrule as cr
        >>> from chainrule.explain import explain
        >>> w, x = cr.tensor(2.0, requires_grad=True), cr.tensor(3.0)
        >>> e = explain((w * x).sigmoid(), wrt={"w": w}, names={"x": x})     # L = σ(w·x)
        >>> step = e.steps[1]                                              # v1 = w·x passes ∂L/∂v1 to w
        >>> step.node, step.op, step.input, round(float(step.upstream), 6), round(float(step.contribution), 6)
        ('v1', 'mul', 'w', 0.002466, 0.007399)
    """

    number: int
    node: str
    op: str
    input: str
    input_index: int
    formula: str
    derivative: str
    output_letter: str      # the letter the formula uses for the op's output (y, z, Z)
    input_letter: str       # the letter it uses for this input (x, y, X, …)
    upstream: numpy.ndarray
    contribution: numpy.ndarray
    accumulated: numpy.ndarray
    complete: bool = False


@dataclass
class Explanation:
    """The chain rule from an output back to some tensors: the forward values and every backward step.

    ``nodes`` (the forward pass, inputs first), ``steps`` (the backward pass, in
    the order ``backward()`` takes them), ``gradients`` (symbol → ∂L/∂tensor for
    each ``wrt`` tensor) and ``paths`` (symbol → the chains of symbols from the
    output to it). Render it with ``text()``, ``markdown()`` or ``latex()``;
    ``str()`` gives the text. Each gradient is the chain rule summed over the paths:

        ∂L/∂v = Σ over paths L → u₁ → … → v of  ∂L/∂u₁ · ∂u₁/∂u₂ · … · ∂uₖ/∂v.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.explain import explain
        >>> w, x = cr.tensor(2.0, requires_grad=True), cr.tensor(3.0)
        >>> e = explain((w * x).sigmoid(), wrt={"w": w}, names={"x": x})     # L = σ(w·x)
        >>> e.paths["w"], round(float(e.gradient("w")), 4)                 # ∂L/∂v1 · ∂v1/∂w = σ'(6)·3
        ([['L', 'v1', 'w']], 0.0074)
    """

    output: str
    nodes: list
    steps: list
    gradients: dict
    paths: dict
    wrt: list = field(default_factory=list)
    max_full: int = FULL_VALUES_UP_TO

    def gradient(self, symbol):
        """∂L/∂(the tensor named ``symbol``) as a NumPy array."""
        return self.gradients[symbol]

    def _path_text(self, target):
        """∂L/∂target as the sum over paths of the products of local derivatives, in plain text."""
        chains = self.paths.get(target, [])
        terms = []
        for chain in chains[:MAX_PATHS_SHOWN]:
            factors = [f"∂{chain[i]}/∂{chain[i + 1]}" for i in range(len(chain) - 1)]
            terms.append(" · ".join(factors))
        if len(chains) > MAX_PATHS_SHOWN:
            terms.append(f"… ({len(chains) - MAX_PATHS_SHOWN} more paths)")
        return " + ".join(terms)

    # ----- plain text ------------------------------------------------------------------
    def _letters(self):
        """node symbol → {formula letter: symbol}: the node's own letters (every input, on the path or not),
        completed by the steps through it."""
        letters = {node.symbol: dict(node.letters) for node in self.nodes if node.letters}
        for step in self.steps:
            mapping = letters.setdefault(step.node, {step.output_letter: step.node})
            mapping.setdefault(step.input_letter, step.input)
        return letters

    def _loss_lines(self, node, indent):
        """For a fused loss: what y_n is, and how L comes from the per-row ℓ_n (so that ∂L/∂ℓ_n is known)."""
        lines = []
        if "target" in node.params:
            lines.append(f"{indent}y_n = the label of row n = {format_values(as_host_array(node.params['target']), self.max_full)}")
        reduction = _reduction_of(node)
        if reduction is not None:
            kind, rows = reduction
            if kind == "mean":
                lines.append(f"{indent}{node.symbol} = (1/N) Σ_n ℓ_n, the mean over the N = {rows} rows, "
                             f"so ∂{self.output}/∂ℓ_n = 1/N = {format_values(numpy.asarray(1.0 / rows))}")
            else:
                lines.append(f"{indent}{node.symbol} = Σ_n ℓ_n, the sum over the rows, so ∂{self.output}/∂ℓ_n = 1")
        return lines

    def text(self):
        """The derivation as plain text (Unicode math).

        Each step prints the op's formula and derivative rule twice: with the op's own letters,
        and with those letters replaced by the explanation's symbols (x̄ becomes ∂L/∂v2), so that
        the printed numbers can be recomputed by hand from the printed formulas.
        """
        L = self.output
        letters = self._letters()
        by_symbol = {node.symbol: node for node in self.nodes}
        lines = [f"Forward pass: how {L} was computed"]
        for node in self.nodes:
            values = format_values(node.value, self.max_full)
            if node.op in ("leaf", "constant"):
                kind = "parameter" if node.op == "leaf" else "constant"
                lines.append(f"  {node.symbol} = {values}   ({kind}, shape {node.shape})")
            else:
                formula = latex_to_text(node.formula)
                lines.append(f"  {node.symbol} = {node.op}({', '.join(node.inputs)})   [{formula}]")
                if node.symbol in letters:
                    lines.append(f"      that is: {_in_symbols(formula, letters[node.symbol], L)}")
                lines += self._loss_lines(node, "      ")
                lines.append(f"      = {values}   (shape {node.shape})")
        targets = ", ".join(self.wrt)
        lines += ["", f"Backward pass: the chain rule from {L} back to {targets}",
                  f"  start: ∂{L}/∂{L} = 1", ""]
        for step in self.steps:
            mapping = letters.get(step.node, {})
            named = ", ".join(f"{letter} = {symbol}" if letter != "ℓ" else "ℓ_n = the loss of row n"
                              for letter, symbol in mapping.items())
            derivative = latex_to_text(step.derivative)
            lines.append(f"  Step {step.number}. {step.node} = {step.op}(…), input {step.input_index} is {step.input}")
            lines.append(f"    formula:          {latex_to_text(step.formula)}   ({named})")
            lines.append(f"    local derivative: {derivative}   (a bar is ∂{L}/∂ of that quantity)")
            lines.append(f"      in these symbols: {_in_symbols(derivative, mapping, L)}")
            node = by_symbol.get(step.node)
            if node is not None and _reduction_of(node) is not None:
                lines += self._loss_lines(node, "      ")
            lines.append(f"    upstream:         ∂{L}/∂{step.node} = {format_values(step.upstream, self.max_full)}")
            lines.append(f"    chain rule:       ∂{L}/∂{step.node} · ∂{step.node}/∂{step.input} = "
                         f"{format_values(step.contribution, self.max_full)}")
            state = "final" if step.complete else "so far"
            lines.append(f"    accumulated:      ∂{L}/∂{step.input} ({state}) = "
                         f"{format_values(step.accumulated, self.max_full)}")
            lines.append("")
        lines.append("Result")
        for symbol, gradient in self.gradients.items():
            lines.append(f"  ∂{L}/∂{symbol} = {self._path_text(symbol)}")
            lines.append(f"        = {format_values(gradient, self.max_full)}")
        return "\n".join(lines)

    def __str__(self):
        return self.text()

    # ----- Markdown --------------------------------------------------------------------
    def markdown(self):
        """The derivation as Markdown, with the formulas in $…$ (KaTeX/MathJax)."""
        L = self.output
        out = [f"### Forward pass: how ${L}$ was computed", "",
               "| tensor | made by | formula | shape | value |", "|---|---|---|---|---|"]
        for node in self.nodes:
            made_by = node.op if node.op in ("leaf", "constant") else f"{node.op}({', '.join(node.inputs)})"
            formula = f"${node.formula}$".replace("|", r"\|") if node.formula else ""   # | would end the cell
            value = format_values(node.value, self.max_full).replace("\n", " ")
            out.append(f"| ${_latex_symbol(node.symbol)}$ | {made_by} | {formula} | {node.shape} | `{value}` |")
        out += ["", f"### Backward pass: the chain rule from ${L}$ back to "
                    + ", ".join(f"${_latex_symbol(s)}$" for s in self.wrt), "",
                f"Start with $\\partial {L}/\\partial {L} = 1$. A bar means the gradient of ${L}$: "
                f"$\\bar{{v}} = \\partial {L}/\\partial v$.", ""]
        for step in self.steps:
            node, inp = _latex_symbol(step.node), _latex_symbol(step.input)
            out.append(f"**Step {step.number}.** ${node} = \\operatorname{{{_latex_escape(step.op)}}}(\\dots)$, "
                       f"input {step.input_index} is ${inp}$")
            out.append("")
            out.append(f"- formula: ${step.formula}$ with ${_latex_letter(step.output_letter)} = {node}$, "
                       f"${_latex_letter(step.input_letter)} = {inp}$")
            out.append(f"- local derivative: ${step.derivative}$")
            out.append(f"- upstream: $\\partial {L}/\\partial {node}$ = `{format_values(step.upstream, self.max_full)}`")
            out.append(f"- chain rule: $\\frac{{\\partial {L}}}{{\\partial {node}}}\\frac{{\\partial {node}}}"
                       f"{{\\partial {inp}}}$ = `{format_values(step.contribution, self.max_full)}`")
            state = "final" if step.complete else "so far"
            out.append(f"- accumulated ({state}): $\\partial {L}/\\partial {inp}$ = "
                       f"`{format_values(step.accumulated, self.max_full)}`")
            out.append("")
        out.append("### Result")
        out.append("")
        for symbol, gradient in self.gradients.items():
            out.append(f"$${self._latex_chain(symbol)}$$")
            out.append("")
            out.append(f"`∂{L}/∂{symbol} = {format_values(gradient, self.max_full)}`")
            out.append("")
        return "\n".join(out)

    # ----- LaTeX ------------------------------------------------------------------------
    def _latex_chain(self, symbol):
        L = self.output
        chains = self.paths.get(symbol, [])
        terms = []
        for chain in chains[:MAX_PATHS_SHOWN]:
            factors = [rf"\frac{{\partial {_latex_symbol(chain[i])}}}{{\partial {_latex_symbol(chain[i + 1])}}}"
                       for i in range(len(chain) - 1)]
            terms.append(" ".join(factors))
        if len(chains) > MAX_PATHS_SHOWN:
            terms.append(rf"\dots\ ({len(chains) - MAX_PATHS_SHOWN}\text{{ more paths}})")
        return rf"\frac{{\partial {L}}}{{\partial {_latex_symbol(symbol)}}} = " + " + ".join(terms)

    def latex(self):
        """The derivation as a LaTeX fragment (needs amsmath): one align* block per pass."""
        L = self.output
        lines = [r"\paragraph{Forward pass.}", r"\begin{align*}"]
        for node in self.nodes:
            symbol = _latex_symbol(node.symbol)
            value = format_values_latex(node.value, self.max_full)
            if node.op in ("leaf", "constant"):
                lines.append(rf"{symbol} &= {value} && \text{{({node.op})}} \\")
            else:
                inputs = ", ".join(_latex_symbol(s) for s in node.inputs)
                lines.append(rf"{symbol} &= \operatorname{{{_latex_escape(node.op)}}}({inputs}) = {value} "
                             rf"&& {node.formula} \\")
        lines += [r"\end{align*}", r"\paragraph{Backward pass.}",
                  rf"With $\bar v = \partial {L} / \partial v$ and $\bar {L} = 1$:", r"\begin{align*}"]
        for step in self.steps:
            node, inp = _latex_symbol(step.node), _latex_symbol(step.input)
            lines.append(rf"&\text{{Step {step.number}: }} {step.derivative}"
                         rf"\quad ({_latex_letter(step.output_letter)} = {node},\ {_latex_letter(step.input_letter)} = {inp}) \\")
            lines.append(rf"\bar{{{node}}} &= {format_values_latex(step.upstream, self.max_full)} \\")
            lines.append(rf"\bar{{{node}}}\,\frac{{\partial {node}}}{{\partial {inp}}} &= "
                         rf"{format_values_latex(step.contribution, self.max_full)} \\")
            lines.append(rf"\bar{{{inp}}} &\mathrel{{+}}= \dots = "
                         rf"{format_values_latex(step.accumulated, self.max_full)} \\")
        lines += [r"\end{align*}", r"\paragraph{Result.}", r"\begin{align*}"]
        for symbol, gradient in self.gradients.items():
            chain = self._latex_chain(symbol).replace(" = ", " &= ", 1)
            lines.append(rf"{chain} \\ &= {format_values_latex(gradient, self.max_full)} \\")
        lines.append(r"\end{align*}")
        return "\n".join(lines)


def _latex_symbol(symbol):
    """'v12' → 'v_{12}', 'W1' → 'W_{1}', 'h' stays."""
    match = re.fullmatch(r"([A-Za-z]+)_?(\d+)", symbol)
    if match:
        return f"{match.group(1)}_{{{match.group(2)}}}"
    return symbol.replace("_", r"\_")


def _latex_letter(letter):
    """A formula letter back in LaTeX: ℓ → \\ell, x̂ → \\hat{x}, plain letters as they are."""
    if letter == "ℓ":
        return r"\ell"
    if letter.endswith("\u0302"):
        return rf"\hat{{{letter[0]}}}"
    return letter


def _latex_escape(name):
    return name.replace("_", r"\_")


def _output_letter(formula):
    """The letter a formula names its result with: 'y = …' → y, '\\ell_n = …' → ℓ, '\\hat x = …' → x̂."""
    match = re.match(r"\s*(\\ell|\\hat\s*\{?[A-Za-z]\}?|[A-Za-z])(?:_\{?\w+\}?)?\s*=", formula)
    if not match:
        return "y"
    return latex_to_text(match.group(1))


def _input_letter(derivative):
    """The letter a derivative rule gives its input: '\\bar{x} = …' and '\\bar W = …' alike."""
    match = re.match(r"\s*\\bar\s*\{?\s*(\\ell|[A-Za-z])", derivative)
    return latex_to_text(match.group(1)) if match else "x"


def _formula_letters(op, symbol, inputs):
    """The letters of an op's formula → symbols: its output letter → ``symbol``, and the letter each
    derivative rule gives its input (x̄ = …, W̄ = …) → that input's symbol."""
    letters = {_output_letter(op.formula): symbol}
    for derivative, input_symbol in zip(op.derivatives, inputs):
        letters.setdefault(_input_letter(derivative), input_symbol)
    return letters


def _reduction_of(node):
    """(reduction, N) of a fused loss node that averages or sums per-row losses ℓ_n, else None."""
    reduction = node.params.get("reduction")
    if reduction not in ("mean", "sum"):
        return None
    kept = node.params.get("kept")
    rows = int(numpy.asarray(kept).sum()) if kept is not None else None
    return reduction, rows


def _in_symbols(text, letters, L):
    """Write a formula's letters as the explanation's symbols, in one pass: x̄ → ∂L/∂v2, ȳᵀ → (∂L/∂v3)ᵀ,
    x → v2, W → (0.weight). The per-row loss ℓ keeps its letter (L is their mean or sum)."""
    letters = {letter: symbol for letter, symbol in letters.items() if letter != "ℓ"}
    if not letters:
        return text
    barred = {letter + "\u0304": f"∂{L}/∂{symbol}" for letter, symbol in letters.items()}
    barred["ℓ\u0304"] = f"∂{L}/∂ℓ"
    plain = {letter: f"({symbol})" if "." in symbol else symbol for letter, symbol in letters.items()}
    keys = sorted(list(barred) + list(plain), key=len, reverse=True)
    pattern = "|".join(rf"(?<![A-Za-z0-9_\u0304]){re.escape(key)}(?![A-Za-z0-9\u0304])(ᵀ?)" for key in keys)

    def replace(match):
        key = match.group(0)[:-1] if match.group(0).endswith("ᵀ") else match.group(0)
        transposed = key != match.group(0)
        if key in barred:
            return f"({barred[key]})ᵀ" if transposed else barred[key]
        return plain[key] + ("ᵀ" if transposed else "")

    return re.sub(pattern, replace, text)


def _as_symbol_map(names):
    """Accept {name: tensor}, {tensor: name} or a list of (name, tensor) pairs; return id → name."""
    if names is None:
        return {}
    items = names.items() if isinstance(names, dict) else names
    mapping = {}
    for key, value in items:
        if isinstance(key, Tensor) and isinstance(value, str):
            key, value = value, key
        if not isinstance(value, Tensor) or not isinstance(key, str):
            raise TypeError("explain: names must map names (str) to tensors, e.g. names={'W1': W1, 'b1': b1}")
        mapping[id(value)] = key
    return mapping


def _check_graph(output, caller):
    if not isinstance(output, Tensor):
        raise TypeError(f"{caller}: expected a Tensor, got {type(output).__name__}")
    if not output.requires_grad:
        raise ValueError(
            f"{caller}: the output (shape {output.shape}) has no graph: no input requires grad. Create the "
            "inputs with requires_grad=True (model parameters already do) and do not compute under no_grad()"
        )
    for tensor in topological_order([output]):
        if tensor._op is not None and tensor._inputs is None:
            raise RuntimeError(
                f"{caller}: the graph was freed by an earlier backward() (at '{tensor._op.name}'). Call {caller} "
                "before backward(), or call backward(retain_graph=True)"
            )


def graph_symbols(output, names=None, output_name="L"):
    """Symbols for every tensor of the graph: the given names, ``output_name`` for the output,
    x1, x2, … for other leaves, c1, c2, … for constants and v1, v2, … for intermediate results,
    numbered in forward order. Returns (order, constants, id → symbol)."""
    order = topological_order([output])
    symbols = _as_symbol_map(names)
    constants = []
    seen_constants = set()
    for tensor in order:
        for parent in tensor._inputs or ():
            if not parent.requires_grad and id(parent) not in seen_constants:
                seen_constants.add(id(parent))
                constants.append(parent)
    counters = {"x": 0, "v": 0, "c": 0}
    symbols.setdefault(id(output), output_name)
    for tensor in constants:
        if id(tensor) not in symbols:
            counters["c"] += 1
            symbols[id(tensor)] = tensor.name or f"c{counters['c']}"
    for tensor in order:
        if id(tensor) in symbols:
            continue
        kind = "x" if tensor._op is None else "v"
        counters[kind] += 1
        symbols[id(tensor)] = tensor.name if tensor.name else f"{kind}{counters[kind]}"
    return order, constants, symbols


def reverse_walk(output, seed, targets, observer=None):
    """id → ∂L/∂t for each tensor t of ``targets``, by the walk ``backward()`` takes.

    This is ``chainrule.core.autograd.run_backward`` itself, keeping the graph and
    touching no ``.grad``, so the results agree with ``backward()`` bit for bit.
    ``observer(tensor, grad, shares)`` sees every step (see ``run_backward``).
    """
    targets = list(targets)
    found = run_backward([output], [seed], retain_graph=True, inputs=targets, observer=observer)
    return {id(t): grad for t, grad in zip(targets, found) if grad is not None}


def _leads_to(order, target_ids):
    leads = {}
    for tensor in order:
        reaches = id(tensor) in target_ids
        for parent in tensor._inputs or ():
            reaches = reaches or leads.get(id(parent), False)
        leads[id(tensor)] = reaches
    return leads


def _initial_gradient(output, gradient):
    if gradient is None:
        if output.numel() != 1:
            raise ValueError(
                f"explain: the output has shape {output.shape}; pass gradient= (∂L/∂output, same shape) "
                "or reduce it to a scalar first, e.g. output.sum()"
            )
        return Tensor._wrap(output.xp.ones(output.shape, dtype=output.dtype))
    if not isinstance(gradient, Tensor):
        gradient = Tensor(numpy.asarray(gradient, dtype=output.dtype))
    if tuple(gradient.shape) != tuple(output.shape):
        raise ValueError(f"explain: gradient has shape {gradient.shape} but the output has shape {output.shape}")
    return gradient


def _paths(output, target, parents_on_path, limit=1000):
    """Every chain of tensors output → … → target through the path nodes (capped at ``limit``)."""
    chains, stack = [], [(output, [output])]
    while stack and len(chains) < limit:
        tensor, chain = stack.pop()
        if tensor is target:
            chains.append(chain)
            continue
        for parent in reversed(parents_on_path.get(id(tensor), [])):
            stack.append((parent, chain + [parent]))
    return chains


def explain(output, wrt, names=None, gradient=None, output_name="L", max_full=FULL_VALUES_UP_TO):
    r"""Explain how backpropagation computes ∂output/∂wrt: every chain-rule step, with its numbers.

    For every tensor v on a path from ``output`` (L) back to ``wrt``, the walk
    records the op u = f(…, v, …) that used v, f's formula, its local derivative
    (the vjp rule v̄ = ū ∂u/∂v), the upstream gradient ū = ∂L/∂u, the product
    the chain rule forms, and the running total ∂L/∂v. Values are written in full
    for tensors of at most ``max_full`` entries, else summarized (shape, norm,
    min, max). The final gradients equal what ``backward()`` puts in ``.grad``,
    exactly. The graph is left as it was.

    Args:
        output: the tensor to differentiate (a scalar, or pass ``gradient``).
        wrt: a tensor, a list of tensors, or a dict name → tensor.
        names: optional names for tensors in the explanation, {name: tensor}
            (e.g. ``dict(model.named_parameters())``); otherwise leaves are x1, x2, …
            and intermediate results v1, v2, … (a tensor's ``.name`` is used if set).
        gradient: ∂L/∂output when the output is not a scalar.
        output_name: the output's symbol (default L).

    Returns:
        An ``Explanation``: ``.text()``, ``.markdown()``, ``.latex()``, ``.steps``, ``.gradients``.

    Example:
        >>> import chainrule as cr
        >>> w = cr.tensor(2.0, requires_grad=True)
        >>> x = cr.tensor(3.0)
        >>> L = (w * x).sigmoid()
        >>> e = explain(L, wrt={"w": w}, names={"x": x})
        >>> [(s.node, s.op, s.input) for s in e.steps]
        [('L', 'sigmoid', 'v1'), ('v1', 'mul', 'w')]
        >>> round(float(e.gradients["w"]), 4)      # σ'(6)·3
        0.0074
    """
    _check_graph(output, "explain")
    if isinstance(wrt, dict):
        names = list(names.items() if isinstance(names, dict) else names or []) + list(wrt.items())
        wrt = list(wrt.values())
    elif isinstance(wrt, Tensor):
        wrt = [wrt]
    wrt = list(wrt)
    order, constants, symbols = graph_symbols(output, names, output_name)
    in_graph = {id(t) for t in order}
    for tensor in wrt:
        if not isinstance(tensor, Tensor):
            raise TypeError(f"explain: wrt must hold tensors, got {type(tensor).__name__}")
        if id(tensor) not in in_graph:
            why = ("it does not require grad; create it with requires_grad=True" if not tensor.requires_grad
                   else "it was not used to compute the output")
            raise ValueError(f"explain: a wrt tensor of shape {tensor.shape} is not on any path from the output: {why}")
    leads = _leads_to(order, {id(t) for t in wrt})

    steps, last_step_into, running_total = [], {}, {}

    def record(tensor, upstream, shares):
        # Called by the walk at each op; the running totals add the same shares in the same
        # order as the walk does, so they are its own sums, bit for bit.
        op = tensor._op
        for index, parent, contribution in shares:
            previous = running_total.get(id(parent))
            running_total[id(parent)] = contribution if previous is None else previous + contribution
            derivative = op.derivatives[index] if index < len(op.derivatives) else ""
            steps.append(Step(
                number=len(steps) + 1, node=symbols[id(tensor)], op=op.name, input=symbols[id(parent)],
                input_index=index, formula=op.formula, derivative=derivative,
                output_letter=_output_letter(op.formula), input_letter=_input_letter(derivative),
                upstream=as_host_array(upstream).copy(), contribution=as_host_array(contribution).copy(),
                accumulated=as_host_array(running_total[id(parent)]).copy(),
            ))
            last_step_into[id(parent)] = steps[-1]

    finished = reverse_walk(output, _initial_gradient(output, gradient), wrt, record)
    for step in last_step_into.values():
        step.complete = True

    on_path = [t for t in order if leads[id(t)]]
    path_ids = {id(t) for t in on_path}
    shown = set(path_ids)
    for tensor in on_path:
        for parent in tensor._inputs or ():
            shown.add(id(parent))  # constants and side inputs feeding the path, for the forward table
    # The forward table reads like the computation: each input appears just before the first op that uses it.
    forward_order, listed = [], set()
    for tensor in order:
        inputs = [t for t in tensor._inputs or () if t._op is None]       # leaves and constants
        itself = [tensor] if tensor._op is not None or tensor is output else []
        for candidate in inputs + itself:
            if id(candidate) in shown and id(candidate) not in listed:
                listed.add(id(candidate))
                forward_order.append(candidate)
    nodes = []
    for tensor in forward_order:
        op = "constant" if not tensor.requires_grad else ("leaf" if tensor._op is None else tensor._op.name)
        nodes.append(Node(
            symbol=symbols[id(tensor)], op=op,
            inputs=[symbols[id(p)] for p in tensor._inputs] if tensor._op is not None else [],
            shape=tensor.shape, value=as_host_array(tensor).copy(),
            formula=tensor._op.formula if tensor._op is not None else "",
            params=dict(tensor._params) if tensor._op is not None else {},
            letters=_formula_letters(tensor._op, symbols[id(tensor)], [symbols[id(p)] for p in tensor._inputs])
            if tensor._op is not None else {},
        ))
    parents_on_path = {id(t): [p for p in (t._inputs or ()) if id(p) in path_ids] for t in on_path}
    gradients, paths = {}, {}
    for tensor in wrt:
        symbol = symbols[id(tensor)]
        gradients[symbol] = as_host_array(finished[id(tensor)]).copy()
        paths[symbol] = [[symbols[id(t)] for t in chain] for chain in _paths(output, tensor, parents_on_path)]
    return Explanation(output=symbols[id(output)], nodes=nodes, steps=steps, gradients=gradients, paths=paths,
                       wrt=[symbols[id(t)] for t in wrt], max_full=max_full)
