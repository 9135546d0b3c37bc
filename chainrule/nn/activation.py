"""Activation layers. Each class carries its formula and its derivative as LaTeX
(``formula``, ``derivative``) so the explainer and the lab can show both.

    import chainrule as cr, chainrule.nn as nn
    nn.GELU.formula        # 'x \\Phi(x) = ...'
    nn.GELU()(cr.tensor([1.0]))
"""
from chainrule.core.creation import full
from chainrule.core.dtypes import get_default_dtype
from chainrule.nn import functional as F
from chainrule.nn import init
from chainrule.nn.module import Module, Parameter


class _Activation(Module):
    """An elementwise nonlinearity with no parameters (subclasses set formula, derivative and forward)."""

    formula = ""
    derivative = ""

    @classmethod
    def describe(cls):
        """The formula and the derivative, one LaTeX line each."""
        return f"{cls.__name__}: {cls.formula}\n  derivative: {cls.derivative}"


class ReLU(_Activation):
    """Rectified linear unit: ReLU(x) = max(0, x), derivative [x > 0] (0 at x = 0, as PyTorch).

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.ReLU()(cr.tensor([-1.0, 2.0]))
        tensor([0., 2.])
    """

    formula = r"\operatorname{ReLU}(x) = \max(0, x)"
    derivative = r"\frac{d}{dx}\operatorname{ReLU}(x) = [x > 0]"

    def __init__(self, inplace=False):
        super().__init__()

    def forward(self, input):
        return F.relu(input)


class ReLU6(_Activation):
    """ReLU capped at 6: min(max(0, x), 6); derivative [0 < x < 6] (0 at both bounds, as in PyTorch).

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.ReLU6()(cr.tensor([-1.0, 3.0, 8.0]))
        tensor([0., 3., 6.])
    """

    formula = r"\operatorname{ReLU6}(x) = \min(\max(0, x), 6)"
    derivative = r"[0 < x < 6]"

    def __init__(self, inplace=False):
        super().__init__()

    def forward(self, input):
        return F.relu6(input)


class LeakyReLU(_Activation):
    """x for x > 0, negative_slope·x otherwise; derivative 1 for x > 0, negative_slope otherwise.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.LeakyReLU(0.1)(cr.tensor([-1.0, 2.0]))
        tensor([-0.1,  2. ])
    """

    formula = r"\operatorname{LeakyReLU}(x) = \begin{cases} x & x > 0 \\ a x & x \le 0 \end{cases}"
    derivative = r"\begin{cases} 1 & x > 0 \\ a & x \le 0 \end{cases}"

    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, input):
        return F.leaky_relu(input, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class PReLU(Module):
    """Leaky ReLU with a learned slope a (one shared, or one per channel), initialized to ``init``.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.PReLU()(cr.tensor([-2.0, 3.0]))
        tensor([-0.5,  3. ], grad_fn=<where>)
    """

    formula = r"\operatorname{PReLU}(x) = \begin{cases} x & x > 0 \\ a x & x \le 0 \end{cases}"
    derivative = (r"\frac{\partial}{\partial x} = \begin{cases} 1 & x > 0 \\ a & x \le 0 \end{cases},\quad "
                  r"\frac{\partial}{\partial a} = \begin{cases} 0 & x > 0 \\ x & x \le 0 \end{cases}")

    def __init__(self, num_parameters=1, init=0.25, dtype=None):
        super().__init__()
        self.num_parameters, self.init = num_parameters, init
        self.weight = Parameter(full((num_parameters,), init, dtype=dtype or get_default_dtype()))

    def reset_parameters(self):
        init.constant_(self.weight, self.init)

    def forward(self, input):
        return F.prelu(input, self.weight)

    def extra_repr(self):
        return f"num_parameters={self.num_parameters}"


class ELU(_Activation):
    """x for x > 0, α(eˣ − 1) otherwise; derivative 1 for x > 0, αeˣ otherwise.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.ELU()(cr.tensor([-1.0, 0.0, 2.0]))   # e⁻¹ − 1 = −0.6321
        tensor([-0.6321,  0.    ,  2.    ])
    """

    formula = r"\operatorname{ELU}(x) = \begin{cases} x & x > 0 \\ \alpha (e^x - 1) & x \le 0 \end{cases}"
    derivative = r"\begin{cases} 1 & x > 0 \\ \alpha e^x & x \le 0 \end{cases}"

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        self.alpha = alpha

    def forward(self, input):
        return F.elu(input, self.alpha)

    def extra_repr(self):
        return f"alpha={self.alpha}"


class SELU(_Activation):
    """Scaled ELU with the self-normalizing constants λ ≈ 1.0507, α ≈ 1.6733.

    SELU(x) = λx for x > 0, λα(eˣ − 1) otherwise; derivative λ for x > 0, λαeˣ otherwise.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.SELU()(cr.tensor([0.0, 1.0]))   # λ·1
        tensor([0.    , 1.0507])
    """

    formula = r"\operatorname{SELU}(x) = \lambda \begin{cases} x & x > 0 \\ \alpha (e^x - 1) & x \le 0 \end{cases}"
    derivative = r"\lambda \begin{cases} 1 & x > 0 \\ \alpha e^x & x \le 0 \end{cases}"

    def __init__(self, inplace=False):
        super().__init__()

    def forward(self, input):
        return F.selu(input)


class GELU(_Activation):
    """Gaussian error linear unit x·Φ(x) (approximate='tanh' for the tanh approximation).

    GELU(x) = x·Φ(x) = (x/2)(1 + erf(x/√2)); derivative Φ(x) + x·φ(x), φ the standard normal density.
    'tanh': (x/2)(1 + tanh(√(2/π)(x + 0.044715x³))).

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.GELU()(cr.tensor([0.0, 1.0]))   # Φ(1) = 0.8413
        tensor([0.    , 0.8413])
        >>> nn.GELU(approximate="tanh")(cr.tensor([0.0, 1.0]))
        tensor([0.    , 0.8412])
    """

    formula = r"\operatorname{GELU}(x) = x\,\Phi(x) = \frac{x}{2}\left(1 + \operatorname{erf}\frac{x}{\sqrt 2}\right)"
    derivative = r"\Phi(x) + x\,\varphi(x) = \Phi(x) + \frac{x}{\sqrt{2\pi}} e^{-x^2/2}"
    formula_tanh = r"\frac{x}{2}\left(1 + \tanh\left(\sqrt{2/\pi}\,(x + 0.044715 x^3)\right)\right)"

    def __init__(self, approximate="none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, input):
        return F.gelu(input, self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class SiLU(_Activation):
    """x·σ(x) (also called swish); derivative σ(x)(1 + x(1 − σ(x))).

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.SiLU()(cr.tensor([0.0, 1.0]))   # σ(1) = 0.7311
        tensor([0.    , 0.7311])
    """

    formula = r"\operatorname{SiLU}(x) = x\,\sigma(x)"
    derivative = r"\sigma(x)\,(1 + x(1 - \sigma(x)))"

    def __init__(self, inplace=False):
        super().__init__()

    def forward(self, input):
        return F.silu(input)


class Mish(_Activation):
    """x·tanh(softplus(x)), softplus(x) = ln(1 + eˣ); derivative tanh(sp(x)) + x·σ(x)(1 − tanh²(sp(x))).

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.Mish()(cr.tensor([0.0, 1.0]))   # tanh(ln(1 + e))
        tensor([0.    , 0.8651])
    """

    formula = r"\operatorname{Mish}(x) = x \tanh(\ln(1 + e^x))"
    derivative = r"\tanh(\operatorname{sp}(x)) + x\,\sigma(x)\,(1 - \tanh^2(\operatorname{sp}(x)))"

    def __init__(self, inplace=False):
        super().__init__()

    def forward(self, input):
        return F.mish(input)


class Softplus(_Activation):
    """(1/β)·ln(1 + e^{βx}), and x where βx > threshold; derivative σ(βx) (1 where βx > threshold).

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.Softplus()(cr.tensor([0.0, 30.0]))   # ln 2, and x past the threshold
        tensor([ 0.6931, 30.    ])
        >>> nn.Softplus(beta=2.0)(cr.tensor([0.0]))   # ln(2)/2
        tensor([0.3466])
    """

    formula = r"\operatorname{Softplus}(x) = \frac{1}{\beta}\ln(1 + e^{\beta x})"
    derivative = r"\sigma(\beta x)"

    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, input):
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"


class Sigmoid(_Activation):
    """The logistic function σ(x) = 1/(1 + e^{−x}); derivative σ(x)(1 − σ(x)).

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.Sigmoid()(cr.tensor([0.0]))
        tensor([0.5])
    """

    formula = r"\sigma(x) = \frac{1}{1 + e^{-x}}"
    derivative = r"\sigma(x)(1 - \sigma(x))"

    def forward(self, input):
        return F.sigmoid(input)


class Tanh(_Activation):
    """The hyperbolic tangent tanh(x) = (eˣ − e⁻ˣ)/(eˣ + e⁻ˣ); derivative 1 − tanh²(x).

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.Tanh()(cr.tensor([0.0, 1.0]))
        tensor([0.    , 0.7616])
    """

    formula = r"\tanh(x) = \frac{e^x - e^{-x}}{e^x + e^{-x}}"
    derivative = r"1 - \tanh^2(x)"

    def forward(self, input):
        return F.tanh(input)


class Hardtanh(_Activation):
    """x clipped to [min_val, max_val]: min(max(x, a), b); derivative [a < x < b] (0 at both bounds, as in PyTorch).

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.Hardtanh()(cr.tensor([-2.0, 0.5, 2.0]))
        tensor([-1. ,  0.5,  1. ])
    """

    formula = r"\operatorname{Hardtanh}(x) = \min(\max(x, a), b)"
    derivative = r"[a < x < b]"

    def __init__(self, min_val=-1.0, max_val=1.0, inplace=False):
        super().__init__()
        if min_val > max_val:
            raise ValueError(f"Hardtanh: min_val ({min_val}) must not exceed max_val ({max_val})")
        self.min_val, self.max_val = min_val, max_val

    def forward(self, input):
        return F.hardtanh(input, self.min_val, self.max_val)

    def extra_repr(self):
        return f"min_val={self.min_val}, max_val={self.max_val}"


class Softmax(_Activation):
    """exp(xᵢ)/Σⱼexp(xⱼ) along ``dim``, computed as exp(x − logsumexp(x)).

    Derivative (Jacobian along ``dim``): ∂sᵢ/∂xⱼ = sᵢ(δᵢⱼ − sⱼ). ``dim`` must be given.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.Softmax(dim=-1)(cr.log(cr.tensor([1.0, 3.0])))
        tensor([0.25, 0.75])
    """

    formula = r"\operatorname{softmax}(x)_i = \frac{e^{x_i}}{\sum_j e^{x_j}}"
    derivative = r"\frac{\partial s_i}{\partial x_j} = s_i(\delta_{ij} - s_j)"

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        return F.softmax(input, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    """xᵢ − logsumexp(x) along ``dim``; derivative ∂yᵢ/∂xⱼ = δᵢⱼ − softmax(x)ⱼ.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.LogSoftmax(dim=1)(cr.zeros(1, 4))   # ln(1/4)
        tensor([[-1.3863, -1.3863, -1.3863, -1.3863]])
    """

    formula = r"\operatorname{logsoftmax}(x)_i = x_i - \ln\sum_j e^{x_j}"
    derivative = r"\frac{\partial y_i}{\partial x_j} = \delta_{ij} - \operatorname{softmax}(x)_j"

    def forward(self, input):
        return F.log_softmax(input, self.dim)


class Softmin(Softmax):
    """exp(−xᵢ)/Σⱼexp(−xⱼ) along ``dim``: the softmax of −x.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.Softmin(dim=0)(cr.log(cr.tensor([1.0, 3.0])))
        tensor([0.75, 0.25])
    """

    formula = r"\operatorname{softmin}(x)_i = \frac{e^{-x_i}}{\sum_j e^{-x_j}}"
    derivative = r"\frac{\partial s_i}{\partial x_j} = -s_i(\delta_{ij} - s_j)"

    def forward(self, input):
        return F.softmin(input, self.dim)


class Softmax2d(_Activation):
    """Softmax over the channels of each position of a (N, C, H, W) or (C, H, W) input.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.Softmax2d()(cr.zeros(1, 4, 2, 2))[0, :, 0, 0]
        tensor([0.25, 0.25, 0.25, 0.25])
    """

    formula = r"\operatorname{softmax}(x_{:, h, w})_c"
    derivative = r"\frac{\partial s_c}{\partial x_d} = s_c(\delta_{cd} - s_d)"

    def forward(self, input):
        if input.ndim not in (3, 4):
            raise ValueError(f"Softmax2d: expected a 3-D or 4-D input (channels at dim -3), got shape {input.shape}")
        return F.softmax(input, -3)


class Softsign(_Activation):
    """x / (1 + |x|); derivative 1 / (1 + |x|)².

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.Softsign()(cr.tensor([1.0]))
        tensor([0.5])
    """

    formula = r"\frac{x}{1 + |x|}"
    derivative = r"\frac{1}{(1 + |x|)^2}"

    def forward(self, input):
        return F.softsign(input)


class Tanhshrink(_Activation):
    """x − tanh x; derivative tanh² x.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.Tanhshrink()(cr.tensor([0.0]))
        tensor([0.])
    """

    formula = r"x - \tanh x"
    derivative = r"\tanh^2 x"

    def forward(self, input):
        return F.tanhshrink(input)


class Threshold(_Activation):
    """x where x > threshold, else ``value``; derivative [x > threshold].

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.Threshold(0.5, -1.0)(cr.tensor([0.2, 0.9]))
        tensor([-1. ,  0.9])
    """

    formula = r"\begin{cases} x & x > \theta \\ v & \text{otherwise} \end{cases}"
    derivative = r"[x > \theta]"

    def __init__(self, threshold, value, inplace=False):
        super().__init__()
        self.threshold, self.value = threshold, value

    def forward(self, input):
        return F.threshold(input, self.threshold, self.value)

    def extra_repr(self):
        return f"threshold={self.threshold}, value={self.value}"


class Hardshrink(_Activation):
    """x where |x| > λ, else 0; derivative [|x| > λ].

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.Hardshrink()(cr.tensor([0.2, -0.9]))
        tensor([ 0. , -0.9])
    """

    formula = r"x\,[|x| > \lambda]"
    derivative = r"[|x| > \lambda]"

    def __init__(self, lambd=0.5):
        super().__init__()
        self.lambd = lambd

    def forward(self, input):
        return F.hardshrink(input, self.lambd)

    def extra_repr(self):
        return f"{self.lambd}"


class Softshrink(Hardshrink):
    """x − λ above λ, x + λ below −λ, 0 between; derivative [|x| > λ].

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.Softshrink()(cr.tensor([0.2, -0.75]))
        tensor([ 0.  , -0.25])
    """

    formula = r"\operatorname{sign}(x)\max(|x| - \lambda, 0)"
    derivative = r"[|x| > \lambda]"

    def forward(self, input):
        return F.softshrink(input, self.lambd)


class Hardsigmoid(_Activation):
    """ReLU6(x + 3)/6: 0 below −3, 1 above 3, linear between; derivative [−3 < x < 3]/6.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.Hardsigmoid()(cr.tensor([0.0, 4.0]))
        tensor([0.5, 1. ])
    """

    formula = r"\operatorname{ReLU6}(x + 3)/6"
    derivative = r"[-3 < x < 3]/6"

    def __init__(self, inplace=False):
        super().__init__()

    def forward(self, input):
        return F.hardsigmoid(input)


class Hardswish(_Activation):
    """x·ReLU6(x + 3)/6 (MobileNetV3); derivative 0 below −3, (2x + 3)/6 between, 1 above 3.

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.Hardswish()(cr.tensor([-4.0, 4.0]))
        tensor([-0.,  4.])
    """

    formula = r"x \operatorname{ReLU6}(x + 3)/6"
    derivative = r"\begin{cases} 0 & x < -3 \\ (2x + 3)/6 & -3 \le x \le 3 \\ 1 & x > 3 \end{cases}"

    def __init__(self, inplace=False):
        super().__init__()

    def forward(self, input):
        return F.hardswish(input)


class LogSigmoid(_Activation):
    """log σ(x) = −softplus(−x), finite for any x; derivative 1 − σ(x).

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.LogSigmoid()(cr.tensor([0.0]))
        tensor([-0.6931])
    """

    formula = r"\log \sigma(x) = -\log(1 + e^{-x})"
    derivative = r"1 - \sigma(x)"

    def forward(self, input):
        return F.logsigmoid(input)


class GLU(_Activation):
    """Gated linear unit: halves a, b of ``dim``, a ⊗ σ(b).

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.GLU()(cr.zeros(2, 6)).shape
        (2, 3)
    """

    formula = r"a \otimes \sigma(b)"
    derivative = r"\partial/\partial a = \sigma(b),\ \partial/\partial b = a\,\sigma(b)(1 - \sigma(b))"

    def __init__(self, dim=-1):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        return F.glu(input, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class CELU(_Activation):
    """x for x > 0, α(exp(x/α) − 1) otherwise (continuously differentiable ELU); derivative 1 or exp(x/α).

    Example:
        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.CELU()(cr.tensor([1.0]))
        tensor([1.])
    """

    formula = r"\max(0, x) + \min(0, \alpha(e^{x/\alpha} - 1))"
    derivative = r"\begin{cases} 1 & x > 0 \\ e^{x/\alpha} & x \le 0 \end{cases}"

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        self.alpha = alpha

    def forward(self, input):
        return F.celu(input, self.alpha)

    def extra_repr(self):
        return f"alpha={self.alpha}"
