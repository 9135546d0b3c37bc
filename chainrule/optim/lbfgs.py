"""L-BFGS with an optional strong-Wolfe line search, for full-batch problems."""
import math

from chainrule.backends import array_module
from chainrule.core.grad_mode import enable_grad
from chainrule.optim.optimizer import Optimizer


class LBFGS(Optimizer):
    r"""Limited-memory BFGS, as ``torch.optim.LBFGS`` (same arguments, defaults and iterations).

    All parameters are treated as one flat vector :math:`x`. Each iteration keeps
    the last ``history_size`` pairs :math:`s_i = x_{i+1} - x_i`,
    :math:`y_i = \nabla f(x_{i+1}) - \nabla f(x_i)` (only those with
    :math:`y_i^\top s_i > 10^{-10}`) and applies the inverse-Hessian estimate
    :math:`H` to the gradient with the two-loop recursion (Nocedal & Wright, Alg. 7.4):

    .. math::
        q &= -\nabla f(x_k); \quad \text{for } i = k-1,\dots,k-m:\ \
            \alpha_i = \rho_i\, s_i^\top q,\ \ q \leftarrow q - \alpha_i y_i
            \qquad (\rho_i = 1/y_i^\top s_i) \\
        r &= \gamma\, q, \quad \gamma = \frac{s_{k-1}^\top y_{k-1}}{y_{k-1}^\top y_{k-1}}; \quad
            \text{for } i = k-m,\dots,k-1:\ \ \beta_i = \rho_i\, y_i^\top r,\ \ r \leftarrow r + (\alpha_i-\beta_i)\, s_i \\
        x_{k+1} &= x_k + t_k\, d_k, \quad d_k = r

    The step :math:`t_k` is ``lr`` (the first iteration: :math:`\min(1, 1/\lVert g\rVert_1)\cdot` ``lr``),
    or, with ``line_search_fn='strong_wolfe'``, a step satisfying the strong Wolfe
    conditions :math:`f(x+td) \le f(x) + c_1 t\, g^\top d` and
    :math:`|\nabla f(x+td)^\top d| \le c_2 |g^\top d|` (:math:`c_1=10^{-4}, c_2=0.9`),
    found by bracketing and cubic interpolation.

    L-BFGS needs exact (full-batch) losses and gradients: ``step(closure)`` calls
    ``closure`` (which must zero the gradients, compute the loss, call
    ``backward()`` and return the loss) up to ``max_eval`` times, doing up to
    ``max_iter`` iterations.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.optim.testfunctions import Rosenbrock
        >>> f = Rosenbrock()
        >>> x = cr.tensor(f.start, dtype=cr.float64, requires_grad=True)
        >>> opt = cr.optim.LBFGS([x], line_search_fn="strong_wolfe")
        >>> def closure():
        ...     opt.zero_grad()
        ...     loss = f(x)
        ...     loss.backward()
        ...     return loss
        >>> for _ in range(5):
        ...     _ = opt.step(closure)
        >>> [round(v, 4) for v in x.tolist()]
        [1.0, 1.0]
    """

    def __init__(self, params, lr=1.0, max_iter=20, max_eval=None, tolerance_grad=1e-7, tolerance_change=1e-9,
                 history_size=100, line_search_fn=None):
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = dict(lr=lr, max_iter=max_iter, max_eval=max_eval, tolerance_grad=tolerance_grad,
                        tolerance_change=tolerance_change, history_size=history_size, line_search_fn=line_search_fn)
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError(
                "LBFGS: parameter groups are not supported (all parameters form one vector with one step size); "
                "pass a plain list of tensors"
            )
        self._params = self.param_groups[0]["params"]

    def check_hyperparameters(self, group):
        super().check_hyperparameters(group)
        for name in ("max_iter", "max_eval", "history_size"):
            value = group[name]
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"LBFGS: {name} must be a positive integer, got {value!r}")
        self._check_non_negative(group, "tolerance_grad", "e.g. 1e-7")
        self._check_non_negative(group, "tolerance_change", "e.g. 1e-9")
        if group["line_search_fn"] not in (None, "strong_wolfe"):
            raise ValueError(
                f"LBFGS: line_search_fn must be None or 'strong_wolfe', got {group['line_search_fn']!r}"
            )

    def add_param_group(self, param_group):
        if self.param_groups:
            raise ValueError("LBFGS: parameter groups are not supported; build LBFGS over one list of tensors")
        super().add_param_group(param_group)

    # ----- the parameters as one flat vector ------------------------------------------------
    def _flat_grad(self):
        xp = array_module(self._params[0].array)
        pieces = [
            xp.zeros(p.numel(), dtype=p.dtype) if p.grad is None else p.grad.array.reshape(-1)
            for p in self._params
        ]
        return xp.concatenate(pieces)

    def _add_to_params(self, step_size, direction):
        offset = 0
        for p in self._params:
            count = p.numel()
            p.array += step_size * direction[offset:offset + count].reshape(p.shape)
            offset += count

    def _copy_params(self):
        return [p.array.copy() for p in self._params]

    def _set_params(self, arrays):
        for p, array in zip(self._params, arrays):
            p.array[...] = array

    def _evaluate_along(self, closure, x_start, t, direction):
        """f and ∇f at x_start + t·d (the parameters are put back to x_start afterwards)."""
        self._add_to_params(t, direction)
        loss = float(closure())
        flat_grad = self._flat_grad()
        self._set_params(x_start)
        return loss, flat_grad

    # ----- one step: up to max_iter iterations -------------------------------------------------
    def step(self, closure):
        """Run up to ``max_iter`` L-BFGS iterations; return the loss at the starting point."""
        if closure is None:
            raise ValueError(
                "LBFGS.step needs a closure that zeroes the gradients, computes the loss, calls backward() "
                "and returns the loss: L-BFGS evaluates the function several times per step"
            )
        group = self.param_groups[0]
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tolerance_grad, tolerance_change = group["tolerance_grad"], group["tolerance_change"]
        history_size = group["history_size"]
        xp = array_module(self._params[0].array)

        def evaluate():
            with enable_grad():
                return closure()

        state = self.state.setdefault(self._params[0], {})
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        original_loss = evaluate()
        loss = float(original_loss)
        current_evals = 1
        state["func_evals"] += 1
        flat_grad = self._flat_grad()
        if float(xp.abs(flat_grad).max()) <= tolerance_grad:
            return original_loss

        d = state.get("d")
        t = state.get("t")
        old_dirs = state.get("old_dirs")
        old_steps = state.get("old_stps")
        ro = state.get("ro")
        h_diag = state.get("H_diag")
        prev_flat_grad = state.get("prev_flat_grad")
        prev_loss = state.get("prev_loss")

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1

            # The search direction d = -H·g.
            if state["n_iter"] == 1:
                d = -flat_grad
                old_dirs, old_steps, ro = [], [], []
                h_diag = 1.0
            else:
                y = flat_grad - prev_flat_grad
                s = d * t
                ys = float(xp.dot(y, s))
                if ys > 1e-10:                       # keep only pairs with positive curvature
                    if len(old_dirs) == history_size:
                        old_dirs.pop(0)
                        old_steps.pop(0)
                        ro.pop(0)
                    old_dirs.append(y)
                    old_steps.append(s)
                    ro.append(1.0 / ys)
                    h_diag = ys / float(xp.dot(y, y))
                alphas = [0.0] * len(old_dirs)
                q = -flat_grad
                for i in range(len(old_dirs) - 1, -1, -1):
                    alphas[i] = float(xp.dot(old_steps[i], q)) * ro[i]
                    q -= alphas[i] * old_dirs[i]
                d = r = q * h_diag
                for i in range(len(old_dirs)):
                    beta_i = float(xp.dot(old_dirs[i], r)) * ro[i]
                    r += (alphas[i] - beta_i) * old_steps[i]

            if prev_flat_grad is None:
                prev_flat_grad = flat_grad.copy()
            else:
                prev_flat_grad[...] = flat_grad
            prev_loss = loss

            # The step length.
            if state["n_iter"] == 1:
                t = min(1.0, 1.0 / float(xp.abs(flat_grad).sum())) * lr
            else:
                t = lr
            gtd = float(xp.dot(flat_grad, d))
            if gtd > -tolerance_change:              # not a descent direction any more
                break

            evals_this_iteration = 0
            if group["line_search_fn"] == "strong_wolfe":
                x_start = self._copy_params()

                def along(x, step, direction):
                    return self._evaluate_along(evaluate, x, step, direction)

                loss, flat_grad, t, evals_this_iteration = _strong_wolfe(
                    along, x_start, t, d, loss, flat_grad, gtd, xp, max_ls=max_eval - current_evals
                )
                self._add_to_params(t, d)
                optimal = float(xp.abs(flat_grad).max()) <= tolerance_grad
            else:
                self._add_to_params(t, d)
                optimal = False
                if n_iter != max_iter:
                    loss = float(evaluate())
                    flat_grad = self._flat_grad()
                    optimal = float(xp.abs(flat_grad).max()) <= tolerance_grad
                    evals_this_iteration = 1

            current_evals += evals_this_iteration
            state["func_evals"] += evals_this_iteration

            if n_iter == max_iter or current_evals >= max_eval or optimal:
                break
            if float(xp.abs(d * t).max()) <= tolerance_change:
                break
            if abs(loss - prev_loss) < tolerance_change:
                break

        state.update(d=d, t=t, old_dirs=old_dirs, old_stps=old_steps, ro=ro, H_diag=h_diag,
                     prev_flat_grad=prev_flat_grad, prev_loss=prev_loss)
        return original_loss


def _cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    """The minimizer of the cubic through (x1, f1, f'=g1) and (x2, f2, f'=g2), clipped to ``bounds``.

    Nocedal & Wright, eq. 3.59. With no real minimizer, the middle of the bounds.
    """
    if bounds is not None:
        low, high = bounds
    else:
        low, high = (x1, x2) if x1 <= x2 else (x2, x1)
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1 ** 2 - g1 * g2
    if d2_square >= 0:
        d2 = math.sqrt(d2_square)
        if x1 <= x2:
            minimizer = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            minimizer = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
        return min(max(minimizer, low), high)
    return (low + high) / 2.0


def _strong_wolfe(evaluate_along, x, t, d, f, g, gtd, xp, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_ls=25):
    """Find a step t along d that satisfies the strong Wolfe conditions (Nocedal & Wright, Alg. 3.5-3.6).

    First bracket an interval that contains such a step (growing t), then zoom in
    on it with cubic interpolation. Returns (f, grad, t, number of evaluations).
    """
    d_norm = float(xp.abs(d).max())
    g = g.copy()
    f_new, g_new = evaluate_along(x, t, d)
    evals = 1
    gtd_new = float(xp.dot(g_new, d))

    t_prev, f_prev, g_prev, gtd_prev = 0.0, f, g, gtd
    done = False
    ls_iter = 0
    while ls_iter < max_ls:
        # Sufficient decrease fails, or the function went up: a minimum lies in [t_prev, t].
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            bracket, bracket_f, bracket_g, bracket_gtd = [t_prev, t], [f_prev, f_new], [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        # The curvature condition holds: done.
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bracket_f, bracket_g = [t], [f_new], [g_new]
            done = True
            break
        # The slope turned positive: a minimum lies in [t_prev, t].
        if gtd_new >= 0:
            bracket, bracket_f, bracket_g, bracket_gtd = [t_prev, t], [f_prev, f_new], [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        # Still going down: extrapolate a longer step.
        min_step = t + 0.01 * (t - t_prev)
        max_step = t * 10
        previous_t = t
        t = _cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, bounds=(min_step, max_step))
        t_prev, f_prev, g_prev, gtd_prev = previous_t, f_new, g_new.copy(), gtd_new
        f_new, g_new = evaluate_along(x, t, d)
        evals += 1
        gtd_new = float(xp.dot(g_new, d))
        ls_iter += 1

    if ls_iter == max_ls:
        bracket, bracket_f, bracket_g = [0.0, t], [f, f_new], [g, g_new]

    # Zoom: shrink the bracket until a point satisfies the conditions.
    insufficient_progress = False
    low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = _cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0], bracket[1], bracket_f[1], bracket_gtd[1])
        # Keep t away from the ends of the bracket, so that it really shrinks.
        eps = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < eps:
            if insufficient_progress or t >= max(bracket) or t <= min(bracket):
                if abs(t - max(bracket)) < abs(t - min(bracket)):
                    t = max(bracket) - eps
                else:
                    t = min(bracket) + eps
                insufficient_progress = False
            else:
                insufficient_progress = True
        else:
            insufficient_progress = False

        f_new, g_new = evaluate_along(x, t, d)
        evals += 1
        gtd_new = float(xp.dot(g_new, d))
        ls_iter += 1

        if f_new > (f + c1 * t * gtd) or f_new >= bracket_f[low_pos]:
            bracket[high_pos], bracket_f[high_pos] = t, f_new
            bracket_g[high_pos], bracket_gtd[high_pos] = g_new.copy(), gtd_new
            low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high_pos] - bracket[low_pos]) >= 0:
                bracket[high_pos], bracket_f[high_pos] = bracket[low_pos], bracket_f[low_pos]
                bracket_g[high_pos], bracket_gtd[high_pos] = bracket_g[low_pos], bracket_gtd[low_pos]
            bracket[low_pos], bracket_f[low_pos] = t, f_new
            bracket_g[low_pos], bracket_gtd[low_pos] = g_new.copy(), gtd_new

    return bracket_f[low_pos], bracket_g[low_pos], bracket[low_pos], evals
