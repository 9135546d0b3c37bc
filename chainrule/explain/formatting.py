"""How the explainer writes numbers and formulas: plain text, Markdown and LaTeX.

Small tensors are written in full; large ones are summarized by their shape,
norm, minimum and maximum, so that an explanation of a real network stays
readable. The ops carry their formulas in LaTeX (``Primitive.formula``); for
plain text and graph labels ``latex_to_text`` turns the common commands into
Unicode (``\\sigma`` → σ, ``\\bar{x}`` → x̄, ``\\frac{a}{b}`` → (a)/(b)).
"""
import re

import numpy

FULL_VALUES_UP_TO = 12   # tensors with at most this many entries are written in full


def as_host_array(tensor_or_array):
    """The values as a NumPy array (a copy for GPU data)."""
    data = getattr(tensor_or_array, "array", tensor_or_array)
    if hasattr(data, "get"):  # CuPy
        data = data.get()
    return numpy.asarray(data)


def summary_numbers(array):
    """(shape, Frobenius norm, min, max) of an array, as plain Python numbers."""
    array = numpy.asarray(array, dtype=numpy.float64)
    if array.size == 0:
        return array.shape, 0.0, float("nan"), float("nan")
    return array.shape, float(numpy.linalg.norm(array.ravel())), float(array.min()), float(array.max())


def format_values(array, max_full=FULL_VALUES_UP_TO, precision=4):
    """Plain text: the values in full when small, else 'shape (a, b), ‖·‖ = n, min m, max M'.

    Example:
        >>> import numpy
        >>> format_values(numpy.array([0.5, -1.25]))
        '[ 0.5 , -1.25]'
        >>> format_values(numpy.ones((10, 10)))
        'shape (10, 10), ‖·‖ = 10, min 1, max 1'
    """
    array = numpy.asarray(array)
    if array.size <= max_full:
        if array.ndim == 0:
            return f"{array.item():.{precision}g}"
        text = numpy.array2string(array, precision=precision, separator=", ", max_line_width=10_000)
        return re.sub(r"\n\s*", " ", text)
    shape, norm, low, high = summary_numbers(array)
    return f"shape {shape}, ‖·‖ = {norm:.{precision}g}, min {low:.{precision}g}, max {high:.{precision}g}"


def format_values_latex(array, max_full=FULL_VALUES_UP_TO, precision=4):
    """LaTeX: a number, a bmatrix (vectors as rows), or a \\text{} summary for large tensors."""
    array = numpy.asarray(array)
    if array.size > max_full:
        shape, norm, low, high = summary_numbers(array)
        shape_text = r" \times ".join(str(s) for s in shape)
        return (rf"\underbrace{{[\cdots]}}_{{{shape_text}}},\ \|\cdot\| = {norm:.{precision}g},\ "
                rf"\min = {low:.{precision}g},\ \max = {high:.{precision}g}")
    if array.ndim == 0:
        return f"{array.item():.{precision}g}"
    rows = array.reshape(1, -1) if array.ndim == 1 else array.reshape(array.shape[0], -1)
    body = r" \\ ".join(" & ".join(f"{value:.{precision}g}" for value in row) for row in rows)
    return r"\begin{bmatrix} " + body + r" \end{bmatrix}"


_GREEK = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "eta": "η", "theta": "θ",
    "lambda": "λ", "mu": "μ", "nu": "ν", "pi": "π", "rho": "ρ", "sigma": "σ", "tau": "τ", "phi": "φ",
    "psi": "ψ", "omega": "ω", "Gamma": "Γ", "Sigma": "Σ", "Phi": "Φ", "Delta": "Δ",
}
_SYMBOLS = {
    r"\cdot": "·", r"\times": "×", r"\sum": "Σ", r"\prod": "Π", r"\int": "∫", r"\partial": "∂",
    r"\le": "≤", r"\ge": "≥", r"\ne": "≠", r"\neg": "¬", r"\top": "ᵀ", r"\infty": "∞", r"\to": "→",
    r"\ln": "ln", r"\log": "log", r"\exp": "exp", r"\sin": "sin", r"\cos": "cos", r"\tan": "tan",
    r"\sinh": "sinh", r"\cosh": "cosh", r"\tanh": "tanh", r"\max": "max", r"\min": "min",
    r"\arcsin": "arcsin", r"\arccos": "arccos", r"\arctan": "arctan", r"\dots": "…", r"\cdots": "…",
    r"\in": "∈", r"\mathrel": "", r"\Big": "", r"\big": "", r"\left": "", r"\right": "", r"\bmod": "mod",
    r"\lfloor": "⌊", r"\rfloor": "⌋", r"\lceil": "⌈", r"\rceil": "⌉", r"\#": "#", r"\{": "{", r"\}": "}",
}


def _cases_to_text(match):
    rows = [row.split("&") for row in match.group(1).split("\\\\")]
    return "{" + "; ".join(f"{row[0].strip()} if {row[1].strip()}" if len(row) == 2 else row[0].strip()
                           for row in rows) + "}"


def _accent(letters, mark):
    return "".join(ch + mark if ch.isalpha() else ch for ch in letters)


def _group(term):
    """A fraction's numerator or denominator: bare when it is one symbol (x, 2, σ), else in parentheses."""
    term = term.strip()
    return term if re.fullmatch(r"[\w.\u0300-\u036f]+|√?\([^()]*\)", term) else f"({term})"


def _fraction(match):
    """a/b, in parentheses when a factor follows at once: \\frac{x}{2}(1 + y) → (x/2)(1 + y)."""
    fraction = f"{_group(match.group(1))}/{_group(match.group(2))}"
    return f"({fraction})" if match.group(3) and (match.group(3).isalnum() or match.group(3) in "(\\") else fraction


def _subscript(match):
    """x_{nc} → x_nc, but x_{n y_n} → x_(n y_n) and x_{n,c} → x_(n,c): a subscript of several parts keeps its grouping."""
    inside = match.group(1).strip()
    if "," in inside:
        return "_(" + ",".join(part.strip() for part in inside.split(",")) + ")"
    parts = inside.split()
    return "_" + parts[0] if len(parts) == 1 else "_(" + " ".join(parts) + ")"


def latex_to_text(latex):
    """A readable Unicode rendering of the LaTeX the ops carry (best effort, for text and graph labels).

    Example:
        >>> latex_to_text(r"y = \\sigma(x) = \\frac{1}{1 + e^{-x}}")
        'y = σ(x) = 1/(1 + e^(-x))'
        >>> latex_to_text(r"\\bar{X} = \\bar{Z} Y^{\\top}")
        'X̄ = Z̄ Yᵀ'
        >>> latex_to_text(r"\\begin{cases} x & x > 0 \\\\ a x & x \\le 0 \\end{cases}")
        '{x if x > 0; a x if x ≤ 0}'
        >>> latex_to_text(r"\\ell_n = \\log\\textstyle\\sum_c e^{x_{nc}} - x_{n y_n}")
        'ℓ_n = log Σ_c e^(x_nc) - x_(n y_n)'
        >>> latex_to_text(r"\\bar x_{nc} = \\bar\\ell_n\\,(p_c - [c = y_n])")
        'x̄_nc = ℓ̄_n (p_c - [c = y_n])'
    """
    text = re.sub(r"\\begin\{cases\}(.*?)\\end\{cases\}", _cases_to_text, latex)
    text = re.sub(r"\\(?:textstyle|displaystyle|scriptstyle)(?![A-Za-z])\s*", " ", text)
    text = re.sub(r"\\ell(?![A-Za-z])", "ℓ", text)
    # Accents: \bar{x}, \bar x, \bar\ell, \hat x, \overline{…} put a combining mark on each letter.
    for command, mark in (("bar", "\u0304"), ("hat", "\u0302"), ("tilde", "\u0303"), ("overline", "\u0305")):
        for _ in range(2):   # \overline{\bar y} nests
            text = re.sub(rf"\\{command}\s*\{{([^{{}}]*)\}}", lambda m: _accent(m.group(1), mark), text)
        text = re.sub(rf"\\{command}\s*([A-Za-zℓ])", lambda m: m.group(1) + mark, text)
    for command in ("operatorname", "text", "mathrm", "mathbf"):
        text = re.sub(rf"\\{command}\{{([^{{}}]*)\}}", r"\1", text)
    text = text.replace(r"^{\top}", "ᵀ")
    for name, letter in _GREEK.items():
        text = re.sub(rf"\\{name}(?![A-Za-z])", letter, text)
    text = re.sub(r"\\sqrt\s*(\w)", r"√\1", text)
    for _ in range(3):  # innermost braces first: powers and indices, then roots and fractions
        text = re.sub(r"\^\{([^{}]*)\}", r"^(\1)", text)
        text = re.sub(r"_\{([^{}]*)\}", _subscript, text)
        text = re.sub(r"\\sqrt\{([^{}]*)\}", r"√(\1)", text)
        text = re.sub(r"\\t?frac\{([^{}]*)\}\{([^{}]*)\}(?=(.?))", _fraction, text)
    for command, symbol in sorted(_SYMBOLS.items(), key=lambda item: -len(item[0])):
        text = re.sub(re.escape(command) + r"(?![A-Za-z])", symbol, text)
    text = text.replace(r"\,", " ").replace(r"\ ", " ").replace(r"\;", " ").replace(r"\quad", "  ")
    text = text.replace("\\\\", "; ").replace("&", "")
    text = re.sub(r"  +", " ", text)
    return text.strip()
