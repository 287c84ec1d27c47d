"""A small Gaussian process for mixed categorical / numeric architecture encodings (numpy only).

Kernel: Matern 5/2 over one distance in which every dimension has its own length
scale (ARD). A numeric dimension contributes its scaled difference; a categorical
one contributes 0 when the two values match and 1 when they differ (the "overlap"
or Hamming kernel, as in Optuna's GPSampler and SMAC), so no order is invented
between operations. The hyperparameters (length scales, signal and noise
variances) maximise the marginal likelihood under weak log-normal priors, with
bounds that keep a length scale from collapsing (KerasTuner's GP falls to 1e-5).
"""

import numpy as np
from scipy import linalg, optimize, special

_SQRT5 = np.sqrt(5.0)
# Bounds on log-hyperparameters (targets are standardised).
_LOG_LENGTH = (np.log(0.05), np.log(20.0))
_LOG_SIGNAL = (np.log(0.05), np.log(20.0))
_LOG_NOISE = (np.log(1e-6), np.log(1.0))
# Weak priors (mean, std of the log): length scales near the data's scale, small noise.
_PRIOR_LENGTH = (np.log(0.7), 1.5)
_PRIOR_SIGNAL = (0.0, 1.5)
_PRIOR_NOISE = (np.log(1e-3), 3.0)


def default_theta(dims):
    """Starting log-hyperparameters: length scales, then signal and noise variance."""
    return np.concatenate([np.full(dims, _PRIOR_LENGTH[0]), [_PRIOR_SIGNAL[0], _PRIOR_NOISE[0]]])


def _scaled_sq_diffs(a, b, categorical, lengths):
    """Per-dimension squared scaled differences, shape (len(a), len(b), dims)."""
    diff = a[:, None, :] - b[None, :, :]
    diff = np.where(categorical, (diff != 0).astype(float), diff)
    return (diff / lengths) ** 2


def _matern(sq_dist, signal):
    d = np.sqrt(np.maximum(sq_dist, 0.0))
    return signal * (1.0 + _SQRT5 * d + 5.0 / 3.0 * sq_dist) * np.exp(-_SQRT5 * d)


class GPRegressor:
    """A fitted GP regressor over encoded points.

    Args:
        x: Encoded points, shape (n, dims).
        y: Targets (maximised), shape (n,); standardised internally.
        categorical: Boolean mask of the categorical dimensions.
        theta: Log-hyperparameters to start the fit from (e.g. the last fit's).
    """

    def __init__(self, x, y, *, categorical, theta=None):
        self.x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        self.categorical = np.asarray(categorical, dtype=bool)
        self.mean, std = y.mean(), y.std()
        self.std = std if std > 0 else 1.0
        self.y = (y - self.mean) / self.std
        dims = self.x.shape[1]
        starts = [default_theta(dims)]
        if theta is not None and len(theta) == dims + 2:
            starts.insert(0, np.asarray(theta, dtype=float))
        bounds = [_LOG_LENGTH] * dims + [_LOG_SIGNAL, _LOG_NOISE]
        fits = [optimize.minimize(self._objective, np.clip(start, *np.array(bounds).T), jac=True,
                                  bounds=bounds, method="L-BFGS-B", options={"maxiter": 200})
                for start in starts]
        self.theta = min(fits, key=lambda result: result.fun).x  # the first of the best
        self._factorise(self.theta)

    def _split(self, theta):
        dims = self.x.shape[1]
        return np.exp(theta[:dims]), np.exp(theta[dims]), np.exp(theta[dims + 1])

    def _objective(self, theta):
        """Negative log posterior of the hyperparameters and its gradient."""
        lengths, signal, noise = self._split(theta)
        sq = _scaled_sq_diffs(self.x, self.x, self.categorical, lengths)
        sq_dist = sq.sum(-1)
        d = np.sqrt(sq_dist)
        k_signal = _matern(sq_dist, signal)
        k = k_signal + (noise + 1e-8) * np.eye(len(self.y))
        try:
            chol = linalg.cho_factor(k, lower=True)
        except linalg.LinAlgError:
            return 1e10, np.zeros_like(theta)
        alpha = linalg.cho_solve(chol, self.y)
        nll = 0.5 * self.y @ alpha + np.log(np.diag(chol[0])).sum()
        # dNLL/dtheta = -0.5 tr((alpha alpha^T - K^-1) dK/dtheta)
        inner = np.outer(alpha, alpha) - linalg.cho_solve(chol, np.eye(len(self.y)))
        # Matern 5/2: dk/dlog(l_i) = 5/3 s (1 + sqrt5 d) exp(-sqrt5 d) (diff_i / l_i)^2
        common = 5.0 / 3.0 * signal * (1.0 + _SQRT5 * d) * np.exp(-_SQRT5 * d)
        grad_lengths = np.einsum("ij,ijk->k", inner * common, sq)
        grad = -0.5 * np.concatenate([grad_lengths, [np.sum(inner * k_signal),
                                                     noise * np.trace(inner)]])
        # Log-normal priors on every hyperparameter.
        dims = self.x.shape[1]
        means = np.concatenate([np.full(dims, _PRIOR_LENGTH[0]), [_PRIOR_SIGNAL[0], _PRIOR_NOISE[0]]])
        stds = np.concatenate([np.full(dims, _PRIOR_LENGTH[1]), [_PRIOR_SIGNAL[1], _PRIOR_NOISE[1]]])
        nll += 0.5 * np.sum(((theta - means) / stds) ** 2)
        grad += (theta - means) / stds ** 2
        return nll, grad

    def _factorise(self, theta):
        self.lengths, self.signal, self.noise = self._split(theta)
        sq_dist = _scaled_sq_diffs(self.x, self.x, self.categorical, self.lengths).sum(-1)
        k = _matern(sq_dist, self.signal) + (self.noise + 1e-8) * np.eye(len(self.y))
        self._chol = linalg.cho_factor(k, lower=True)
        self._alpha = linalg.cho_solve(self._chol, self.y)

    def predict(self, x):
        """Posterior mean and standard deviation of the latent function (standardised)."""
        x = np.asarray(x, dtype=float)
        k_star = _matern(_scaled_sq_diffs(x, self.x, self.categorical, self.lengths).sum(-1),
                         self.signal)
        mean = k_star @ self._alpha
        v = linalg.solve_triangular(self._chol[0], k_star.T, lower=True)
        var = np.maximum(self.signal - np.sum(v ** 2, axis=0), 1e-12)
        return mean, np.sqrt(var)

    def log_probability_below(self, x, bound):
        """log P(f(x) <= bound) under the posterior, `bound` in the targets' units (a
        constraint's probability of being kept, Gardner et al. 2014)."""
        mean, std = self.predict(x)
        return special.log_ndtr((bound - (mean * self.std + self.mean)) / (std * self.std))

    def log_expected_improvement(self, x):
        """log EI over the best observed target, stable far below it (Ament et al. 2023)."""
        mean, std = self.predict(x)
        z = (mean - self.y.max()) / std
        return np.log(std) + _log_h(z)


def _log_h(z):
    """log(phi(z) + z Phi(z)), computed without underflow for very negative z."""
    z = np.asarray(z, dtype=float)
    out = np.empty_like(z)
    small = z < -1.0
    zs = z[small]
    # phi(z) + z Phi(z) = phi(z) (1 + z Phi(z)/phi(z)), Phi/phi = sqrt(pi/2) erfcx(-z/sqrt2)
    out[small] = (-0.5 * zs ** 2 - 0.5 * np.log(2 * np.pi)
                  + np.log1p(zs * np.sqrt(np.pi / 2) * special.erfcx(-zs / np.sqrt(2))))
    zl = z[~small]
    out[~small] = np.log(np.exp(-0.5 * zl ** 2) / np.sqrt(2 * np.pi) + zl * special.ndtr(zl))
    return out
