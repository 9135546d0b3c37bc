"""Principal component analysis through the SVD of the centered data."""
from chainrule.core.tensor import Tensor
from chainrule.linalg._common import as_float_tensor
from chainrule.linalg.decompositions import svd


class PCA:
    """Principal component analysis: the orthogonal directions of largest variance.

    With centered data X_c = X − μ (n samples × d features) and its thin SVD
    X_c = U Σ Vᵀ, the covariance is C = X_cᵀX_c/(n−1) = V (Σ²/(n−1)) Vᵀ: the
    rows of Vᵀ are the principal axes (``components_``) and σᵢ²/(n−1) the
    variances along them (``explained_variance_``). The SVD avoids forming C,
    which would square the condition number.

        transform(X)         = (X − μ) Vₖ               (÷ √variance if whiten)
        inverse_transform(Z) = Z Vₖᵀ + μ                 (Z × √variance first if whiten)

    Signs are deterministic (like scikit-learn's ``svd_flip``): each component
    is flipped so that its entry of largest magnitude is positive. The
    computations are tensor ops, so gradients flow through ``fit_transform`` (as
    long as the kept singular values are distinct, see ``svd``).

    Example:
        >>> import chainrule as cr
        >>> X = cr.tensor([[0.0, 0.0], [1.0, 2.0], [2.0, 3.0], [3.0, 7.0]], dtype=cr.float64)
        >>> pca = cr.linalg.PCA(n_components=1).fit(X)
        >>> round(pca.explained_variance_ratio_[0].item(), 4), pca.components_.shape
        (0.9905, (1, 2))
    """

    def __init__(self, n_components=None, *, whiten=False):
        self.n_components = n_components
        self.whiten = whiten

    def fit(self, X):
        """Learn the mean and the principal axes from X (n_samples, n_features); returns self."""
        self._fit(X)
        return self

    def _fit(self, X):
        X = as_float_tensor(X, "PCA.fit")
        if X.ndim != 2:
            raise ValueError(f"PCA.fit: expected data of shape (n_samples, n_features), got shape {X.shape}")
        n_samples, n_features = X.shape
        if n_samples < 2:
            raise ValueError(f"PCA.fit: need at least 2 samples to estimate a variance, got shape {X.shape}")
        k = min(n_samples, n_features) if self.n_components is None else self.n_components
        if not 1 <= k <= min(n_samples, n_features):
            raise ValueError(
                f"PCA: n_components must be between 1 and min(n_samples, n_features) = {min(n_samples, n_features)} "
                f"for data of shape {X.shape}, got {self.n_components}"
            )
        self.mean_ = X.mean(dim=0)
        centered = X - self.mean_
        U, S, Vh = svd(centered, full_matrices=False)
        signs = self._component_signs(Vh)
        U, Vh = U * signs, Vh * signs.unsqueeze(-1)
        variances = S * S / (n_samples - 1)
        self.n_components_ = k
        self.n_samples_, self.n_features_in_ = n_samples, n_features
        self.components_ = Vh[:k]
        self.singular_values_ = S[:k]
        self.explained_variance_ = variances[:k]
        self.explained_variance_ratio_ = variances[:k] / variances.sum()
        return U[:, :k], S[:k]

    @staticmethod
    def _component_signs(Vh):
        """±1 per component so that the entry of largest |value| in each row of Vᵀ is positive."""
        xp = Vh.xp
        rows = xp.arange(Vh.shape[0])
        largest = Vh.array[rows, xp.argmax(xp.abs(Vh.array), axis=1)]
        return Tensor._wrap(xp.where(largest < 0, -1.0, 1.0).astype(Vh.dtype))

    def _check_fitted(self, op_name):
        if not hasattr(self, "components_"):
            raise RuntimeError(f"PCA.{op_name}: this PCA is not fitted yet; call fit(X) first")

    def transform(self, X):
        """Coordinates of X along the principal axes: (X − μ) Vₖ (÷ √variance if whiten)."""
        self._check_fitted("transform")
        X = as_float_tensor(X, "PCA.transform")
        if X.ndim != 2 or X.shape[1] != self.n_features_in_:
            raise ValueError(f"PCA.transform: expected shape (n, {self.n_features_in_}) like the fitted data, got {X.shape}")
        projected = (X - self.mean_) @ self.components_.mT
        if self.whiten:
            projected = projected / self.explained_variance_.sqrt()
        return projected

    def fit_transform(self, X):
        """fit(X) then transform(X), computed as U Σ (or U √(n−1) if whiten) from the same SVD."""
        U, S = self._fit(X)
        if self.whiten:
            return U * (self.n_samples_ - 1) ** 0.5
        return U * S

    def inverse_transform(self, Z):
        """Back to feature space: Z Vₖᵀ + μ (Z scaled by √variance first if whiten)."""
        self._check_fitted("inverse_transform")
        Z = as_float_tensor(Z, "PCA.inverse_transform")
        if Z.ndim != 2 or Z.shape[1] != self.n_components_:
            raise ValueError(f"PCA.inverse_transform: expected shape (n, {self.n_components_}), got {Z.shape}")
        if self.whiten:
            Z = Z * self.explained_variance_.sqrt()
        return Z @ self.components_ + self.mean_
