"""Labs on calculus: derivatives and their numerical error, Taylor polynomials, integrals, limits."""
import math

import numpy

import chainrule as cr
from chainrule import calculus
from chainrule.func import grad
from chainrule.lab.common import LabResult, finish, new_figure, save_figure

EPS = float(numpy.finfo(numpy.float64).eps)


def smoothed_log_errors(errors, window=5):
    """log₁₀ |error| averaged over ``window`` neighbours (inf at the ends, where the window does not fit)."""
    log_errors = numpy.log10(numpy.maximum(numpy.asarray(errors), 1e-300))
    smoothed = numpy.convolve(log_errors, numpy.ones(window) / window, mode="same")
    half = window // 2
    smoothed[:half] = numpy.inf
    smoothed[len(smoothed) - half:] = numpy.inf
    return smoothed


def smoothed_best_step(steps, errors, window=5):
    """The step at the bottom of the V after averaging log-errors over ``window`` neighbours.

    Near the bottom the rounding part of the error is random (it can cancel by
    luck at a single step), so the plain argmin jumps around; the running mean of
    log |error| finds the bottom of the curve rather than its luckiest point.
    """
    return float(numpy.asarray(steps)[int(numpy.argmin(smoothed_log_errors(errors, window)))])


def _f(x):
    """The lab's function f(x) = exp(sin x) (works on tensors)."""
    return x.sin().exp()


def derivatives(out_dir, x0=1.0):
    """f(x) = exp(sin x), f' by autodiff and by finite differences, and the V-shaped error curve.

    A forward difference errs by truncation h|f''|/2 and by rounding 2ε|f|/h, so
    its error is smallest at h* = 2√(ε|f|/|f''|); a central difference errs by
    h²|f'''|/6 + ε|f|/h, smallest at h* = (3ε|f|/|f'''|)^{1/3}. The higher
    derivatives are computed by autodiff (grad of grad), at x₀.
    """
    xs = numpy.linspace(-3, 3, 301)
    x = cr.tensor(xs, dtype=cr.float64, requires_grad=True)
    _f(x).sum().backward()            # Σ f(xᵢ): ∂/∂xᵢ is f'(xᵢ), all points in one backward pass
    autodiff = x.grad.numpy()
    exact = numpy.cos(xs) * numpy.exp(numpy.sin(xs))
    fd_step = 1e-5
    finite = calculus.central_difference(lambda v: numpy.exp(numpy.sin(v)), xs, fd_step)

    first = grad(_f)
    second = grad(first)
    third = grad(second)
    point = cr.tensor(x0, dtype=cr.float64)
    f0, f2, f3 = abs(_f(point).item()), abs(second(point).item()), abs(third(point).item())
    theory = {
        "forward": calculus.optimal_step("forward", x0, truncation_constant=f2 / 2, rounding_constant=2 * EPS * f0),
        "central": calculus.optimal_step("central", x0, truncation_constant=f3 / 6, rounding_constant=EPS * f0),
    }
    exact_at_x0 = math.cos(x0) * math.exp(math.sin(x0))
    searches = {method: calculus.find_best_step(lambda v: numpy.exp(numpy.sin(v)), x0, method, exact=exact_at_x0)
                for method in ("forward", "central")}
    measured = {method: smoothed_best_step(search.steps, search.errors) for method, search in searches.items()}

    figure, (values_ax, error_ax) = new_figure(2, 1)
    values_ax.plot(xs, numpy.exp(numpy.sin(xs)), label="f(x) = exp(sin x)")
    values_ax.plot(xs, autodiff, label="f'(x) by autodiff", lw=2.5, alpha=0.6)
    values_ax.plot(xs, finite, "--", label=f"f'(x) by central differences, h = {fd_step:g}")
    values_ax.set_xlabel("x")
    values_ax.set_ylabel("f(x), f'(x)")
    values_ax.legend(fontsize=7)
    values_ax.set_title("autodiff is exact; finite differences approximate", fontsize=9)
    for color, method in (("C0", "forward"), ("C1", "central")):
        search = searches[method]
        error_ax.loglog(search.steps, numpy.maximum(search.errors, 1e-17), ".-", color=color, label=f"{method} difference")
        error_ax.axvline(theory[method], color=color, ls=":", label=f"theoretical best h = {theory[method]:.1e}")
        smoothed = smoothed_log_errors(search.errors)
        inside = numpy.isfinite(smoothed)
        error_ax.loglog(search.steps[inside], 10 ** smoothed[inside], "-", color=color, lw=2.5, alpha=0.35,
                        label="its running mean (5 steps, in log)")
        bottom = int(numpy.argmin(smoothed))
        error_ax.plot(search.steps[bottom], 10 ** smoothed[bottom], "v", color=color, ms=10, mec="black", zorder=5,
                      label=f"bottom of the smoothed V: h = {measured[method]:.1e}")
    error_ax.set_xlabel("step h")
    error_ax.set_ylabel(f"|error| of f'({x0:g})")
    error_ax.set_title("truncation (right) vs rounding (left): the V", fontsize=9)
    error_ax.legend(fontsize=6.5, loc="upper center", ncols=2)
    error_ax.set_ylim(top=1e5)        # room above the V for the legend
    figures = save_figure(figure, out_dir, "derivatives")

    text = (
        f"f(x) = exp(sin x), f'(x) = cos x · exp(sin x). Autodiff matches f' to {numpy.abs(autodiff - exact).max():.1e}; "
        f"central differences with h = {fd_step:g} to {numpy.abs(finite - exact).max():.1e}.\n"
        f"At x₀ = {x0:g}: forward differences err by h|f''|/2 + 2ε|f|/h, best at h* = 2√(ε|f|/|f''|) = "
        f"{theory['forward']:.2e} (measured bottom of the V at {measured['forward']:.2e}); central differences by "
        f"h²|f'''|/6 + ε|f|/h, best at h* = (3ε|f|/|f'''|)^(1/3) = {theory['central']:.2e} "
        f"(measured {measured['central']:.2e}). The error model bounds the rounding error, which in practice often "
        f"partly cancels, so the measured bottom sits at or left of the theoretical step."
    )
    result = LabResult("derivatives", "Derivatives: autodiff against finite differences", figures, text,
                       numbers={"autodiff_max_error": float(numpy.abs(autodiff - exact).max()),
                                "theoretical_best_step": theory,
                                "measured_best_step": measured,
                                "higher_derivatives_at_x0": {"f": f0, "f2": f2, "f3": f3}},
                       data={"x": xs, "autodiff": autodiff, "finite": finite,
                             "steps": searches["central"].steps,
                             "errors": {m: searches[m].errors for m in searches}})
    return finish(result, out_dir)


def taylor(out_dir, x0=0.5, orders=(1, 2, 3, 5, 7)):
    """Taylor polynomials of sin around x₀ from autodiff, and their remainder shrinking like hⁿ⁺¹."""
    polynomials = {n: calculus.taylor(lambda x: x.sin(), x0, n) for n in orders}
    xs = numpy.linspace(x0 - 4, x0 + 4, 400)
    steps = numpy.logspace(-2, 0, 20)
    remainders, slopes = {}, {}
    for n, p in polynomials.items():
        values = numpy.abs(numpy.sin(x0 + steps) - p(x0 + steps))
        remainders[n] = values
        usable = values > 1e-13    # below that the remainder is rounding noise
        slopes[n] = float(numpy.polyfit(numpy.log(steps[usable]), numpy.log(values[usable]), 1)[0])

    figure, (curves_ax, remainder_ax) = new_figure(2, 1)
    curves_ax.plot(xs, numpy.sin(xs), color="black", lw=2, label="sin x")
    for n, p in polynomials.items():
        curves_ax.plot(xs, p(xs), label=f"order {n}")
    curves_ax.axvline(x0, color="gray", ls=":")
    curves_ax.set_ylim(-2, 2)
    curves_ax.set_xlabel("x")
    curves_ax.set_ylabel("sin x and pₙ(x)")
    curves_ax.legend(fontsize=7)
    curves_ax.set_title(f"Taylor polynomials of sin at x₀ = {x0:g}", fontsize=9)
    for n in orders:
        remainder_ax.loglog(steps, numpy.maximum(remainders[n], 1e-17), ".-",
                            label=f"order {n}: slope {slopes[n]:.2f} (theory {n + 1})")
    remainder_ax.set_xlabel("h = x − x₀")
    remainder_ax.set_ylabel("|sin(x₀ + h) − pₙ(x₀ + h)|")
    remainder_ax.set_title("the remainder Rₙ ~ hⁿ⁺¹", fontsize=9)
    remainder_ax.legend(fontsize=7)
    figures = save_figure(figure, out_dir, "taylor")

    top = polynomials[max(orders)]
    text = (
        f"pₙ(x) = Σₖ f⁽ᵏ⁾(x₀)/k! (x − x₀)ᵏ with every f⁽ᵏ⁾(x₀) computed by differentiating the previous one "
        f"(create_graph=True). For sin at x₀ = {x0:g}: coefficients {[round(c, 6) for c in top.coefficients]}.\n"
        f"Lagrange: Rₙ(x) = f⁽ⁿ⁺¹⁾(ξ)/(n+1)! hⁿ⁺¹, so on a log-log plot the remainder has slope n + 1; "
        f"measured: " + ", ".join(f"order {n}: {slopes[n]:.2f}" for n in orders) + "."
    )
    result = LabResult("taylor", "Taylor polynomials by autodiff", figures, text,
                       numbers={"coefficients": top.coefficients, "remainder_slopes": slopes},
                       data={"steps": steps, "remainders": remainders})
    return finish(result, out_dir)


def integrals(out_dir, repetitions=20):
    """Quadrature error shrinking with n (trapezoid h², Simpson h⁴, Gauss exponentially) and Monte
    Carlo error falling as 1/√n, for ∫₀^π sin x dx = 2."""
    exact = 2.0
    f = lambda x: x.sin()                                   # noqa: E731
    ns = numpy.array([2, 4, 8, 16, 32, 64, 128, 256])
    errors = {
        "trapezoid": [abs(calculus.trapezoid(f, 0.0, math.pi, int(n)).item() - exact) for n in ns],
        "Simpson": [abs(calculus.simpson(f, 0.0, math.pi, int(n)).item() - exact) for n in ns],
    }
    gauss_ns = numpy.arange(1, 11)
    errors_gauss = [abs(calculus.gauss_legendre(f, 0.0, math.pi, int(n)).item() - exact) for n in gauss_ns]
    slopes = {name: float(numpy.polyfit(numpy.log(ns), numpy.log(values), 1)[0]) for name, values in errors.items()
              if all(v > 0 for v in values)}
    simpson_usable = numpy.array(errors["Simpson"]) > 1e-13
    slopes["Simpson"] = float(numpy.polyfit(numpy.log(ns[simpson_usable]),
                                            numpy.log(numpy.array(errors["Simpson"])[simpson_usable]), 1)[0])

    mc_ns = numpy.array([100, 300, 1000, 3000, 10000, 30000])
    generator = cr.Generator().manual_seed(0)
    mc_rms, mc_predicted = [], []
    for n in mc_ns:
        runs = [calculus.monte_carlo(f, 0.0, math.pi, int(n), generator=generator) for _ in range(repetitions)]
        mc_rms.append(math.sqrt(numpy.mean([(r.value.item() - exact) ** 2 for r in runs])))
        mc_predicted.append(numpy.mean([r.standard_error.item() for r in runs]))
    mc_slope = float(numpy.polyfit(numpy.log(mc_ns), numpy.log(mc_rms), 1)[0])
    # The exact standard deviation of π sin(U), U ~ Uniform(0, π): √(π²/2 − 4).
    sigma = math.sqrt(math.pi ** 2 / 2 - 4)

    figure, (quad_ax, mc_ax) = new_figure(2, 1)
    quad_ax.loglog(ns, errors["trapezoid"], "o-", label=f"trapezoid: slope {slopes['trapezoid']:.2f} (theory −2)")
    quad_ax.loglog(ns, numpy.maximum(errors["Simpson"], 1e-17), "s-", label=f"Simpson: slope {slopes['Simpson']:.2f} (theory −4)")
    quad_ax.loglog(gauss_ns, numpy.maximum(errors_gauss, 1e-17), "^-", label="Gauss–Legendre (n nodes): exponential")
    quad_ax.set_xlabel("n (intervals or nodes)")
    quad_ax.set_ylabel("|error|")
    quad_ax.set_title("∫₀^π sin x dx = 2 by quadrature", fontsize=9)
    quad_ax.legend(fontsize=7)
    mc_ax.loglog(mc_ns, mc_rms, "o-", label=f"Monte Carlo RMS error over {repetitions} runs: slope {mc_slope:.2f}")
    mc_ax.loglog(mc_ns, sigma / numpy.sqrt(mc_ns), "k--", label="σ/√n (theory)")
    mc_ax.set_xlabel("samples n")
    mc_ax.set_ylabel("|error| (RMS over the runs)")
    mc_ax.set_title("Monte Carlo: error ∝ 1/√n in any dimension", fontsize=9)
    mc_ax.legend(fontsize=7)
    figures = save_figure(figure, out_dir, "integrals")

    text = (
        f"∫₀^π sin x dx = 2. Trapezoid error −(b−a)h²f''/12: slope {slopes['trapezoid']:.2f} against n (theory −2); "
        f"Simpson −(b−a)h⁴f⁗/180: slope {slopes['Simpson']:.2f} (theory −4); Gauss–Legendre with n nodes is exact "
        f"for degree 2n − 1 and reaches {errors_gauss[-1]:.1e} with 10 nodes.\n"
        f"Monte Carlo: I ≈ (b − a)·mean f(Uᵢ), standard error σ/√n with σ = √(π²/2 − 4) = {sigma:.4f}; "
        f"the measured RMS error falls with slope {mc_slope:.2f} (theory −1/2)."
    )
    result = LabResult("integrals", "Integrals: quadrature and Monte Carlo", figures, text,
                       numbers={"slopes": slopes, "monte_carlo_slope": mc_slope, "monte_carlo_sigma": sigma,
                                "gauss_error_10_nodes": errors_gauss[-1]},
                       data={"ns": ns, "errors": errors, "mc_ns": mc_ns, "mc_rms": numpy.array(mc_rms),
                             "mc_predicted": numpy.array(mc_predicted)})
    return finish(result, out_dir)


def limits(out_dir, iterations=30):
    """Sequences converging, with their rates: the fixed point of cos (linear), Newton for √2
    (quadratic), and (1 + 1/n)ⁿ → e accelerated by Richardson extrapolation."""
    fixed_point = [1.0]
    for _ in range(iterations):
        fixed_point.append(math.cos(fixed_point[-1]))
    newton = [1.0]
    for _ in range(6):
        x = cr.tensor(newton[-1], dtype=cr.float64, requires_grad=True)
        residual = x * x - 2
        (slope,) = cr.autograd.grad(residual, x)           # Newton: x ← x − g(x)/g'(x), g' by autodiff
        newton.append(newton[-1] - residual.item() / slope.item())
    fixed_estimate = calculus.convergence_order(fixed_point)
    newton_estimate = calculus.convergence_order(newton, limit=math.sqrt(2))
    aitken_limit = calculus.estimate_limit(fixed_point[:12])
    ns = [2 ** k for k in range(8)]
    compound = [(1 + 1 / n) ** n for n in ns]
    richardson = calculus.richardson_limit(compound, ratio=2.0, order=1, step=1)
    limit_cos = aitken_limit.value

    figure, (terms_ax, errors_ax, e_ax) = new_figure(3, 1, size=(4.2, 3.8))
    terms_ax.plot(fixed_point, "o-", ms=3)
    terms_ax.axhline(limit_cos, color="gray", ls=":", label=f"limit ≈ {limit_cos:.6f}")
    terms_ax.set_xlabel("k")
    terms_ax.set_ylabel("xₖ")
    terms_ax.set_title("xₖ₊₁ = cos xₖ", fontsize=9)
    terms_ax.legend(fontsize=7)
    errors_ax.semilogy(numpy.abs(numpy.array(fixed_point) - limit_cos) + 1e-17, "o-", ms=3,
                       label=f"cos fixed point: order {fixed_estimate.order:.2f}, rate {fixed_estimate.rate:.3f}")
    errors_ax.semilogy(numpy.abs(numpy.array(newton) - math.sqrt(2)) + 1e-17, "s-", ms=3,
                       label=f"Newton for √2: order {newton_estimate.order:.2f}")
    errors_ax.set_xlabel("k")
    errors_ax.set_ylabel("|xₖ − x*|")
    errors_ax.set_title("linear vs quadratic convergence", fontsize=9)
    errors_ax.legend(fontsize=7)
    e_ax.semilogx(ns, compound, "o-", label="(1 + 1/n)ⁿ")
    e_ax.axhline(math.e, color="gray", ls=":", label="e")
    e_ax.axhline(richardson.value, color="C3", ls="--", label=f"Richardson: {richardson.value:.8f}")
    e_ax.set_xlabel("n")
    e_ax.set_ylabel("(1 + 1/n)ⁿ")
    e_ax.set_title("(1 + 1/n)ⁿ → e, error ~ e/(2n)", fontsize=9)
    e_ax.legend(fontsize=7)
    figures = save_figure(figure, out_dir, "limits")

    text = (
        f"eₖ₊₁ ≈ μ eₖ^q defines the order q and rate μ; q ≈ log(eₖ₊₁/eₖ)/log(eₖ/eₖ₋₁).\n"
        f"xₖ₊₁ = cos xₖ converges linearly (order {fixed_estimate.order:.3f}) with rate {fixed_estimate.rate:.4f} "
        f"≈ |cos'(x*)| = sin x* to the limit {limit_cos:.10f} (Aitken's Δ² from 12 terms).\n"
        f"Newton's xₖ₊₁ = xₖ − (xₖ² − 2)/(2xₖ) converges quadratically: order {newton_estimate.order:.2f}.\n"
        f"(1 + 1/n)ⁿ for n = 1…128 reaches {compound[-1]:.6f}; Richardson extrapolation of the same 8 terms gives "
        f"{richardson.value:.10f} (e = {math.e:.10f})."
    )
    result = LabResult("limits", "Limits and rates of convergence", figures, text,
                       numbers={"fixed_point_limit": limit_cos, "fixed_point_order": fixed_estimate.order,
                                "fixed_point_rate": fixed_estimate.rate, "newton_order": newton_estimate.order,
                                "richardson_e": richardson.value, "last_compound_term": compound[-1]},
                       data={"fixed_point": numpy.array(fixed_point), "newton": numpy.array(newton)})
    return finish(result, out_dir)
