"""Value of information: what learning a parameter, or running a survey, is worth.

Pure functions on arrays. ``nb`` is (draws x strategies): each row one replicate of a
probabilistic analysis, its net benefit under each strategy (``wtp * effect - cost``).
In a stochastic simulation a replicate's net benefit holds chance as well as the
parameters it was drawn with, and no study can learn chance: the expected value of
perfect *parameter* information is the EVPPI of every uncertain parameter together,
which is below :func:`sim.cea.evpi` of the raw net benefits.

EVPPI follows Strong, Oakley & Brennan (Med Decis Making 2014;34:311-326): the net
benefit of each strategy against the first is regressed on the parameters of interest
with a generalised additive model (pyGAM; smoothing chosen by the corrected AIC) of the
parameters' ranks (a Gaussian process with a length scale per parameter for a group of more
than four, or more than the draws support), and the fitted values stand for the expected net
benefit given those parameters:
``EVPPI = mean over draws of max_d g_d(x) - max_d mean of g_d(x)``, kept between zero and
the EVPI of ``nb``. Its Monte Carlo error comes from drawing the regression's coefficients
(the GAM) or its fitted values (the Gaussian process) from their approximate posterior.
EVSI is the same regression on a summary of the data a study would collect (Strong,
Brennan & Oakley, Med Decis Making 2015;35:570-583).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.stats import rankdata

SPLINES = {1: 10, 2: 6, 3: 5, 4: 4}  # basis size per dimension of a tensor-product smooth
MOST_JOINT = 4  # above this many parameters the smooth is additive (no interactions) ...
ADDITIVE_SPLINES = 8  # ... with this basis size per parameter
#: A group of more parameters than the draws support for a smooth (one input per this many
#: draws), or of more than MOST_JOINT, is regressed with a Gaussian process instead: a smooth
#: of many inputs and a few hundred draws fits their chance variation.
DRAWS_PER_INPUT = 50
DRAWS_PER_COEFFICIENT = 4  # a tensor-product smooth needs this many draws per coefficient
#: Smoothing parameters the corrected AIC chooses from, up to the nearly linear. AICc rather
#: than GCV: with many parameters and a few hundred draws GCV fits the chance variation, and
#: a group of parameters unrelated to the net benefit would seem worth knowing.
LAMBDAS = np.logspace(-3, 6, 10)
#: The Gaussian process's hyperparameters are fitted on at most this many draws (a fixed
#: random subset): the marginal likelihood costs O(draws^3) per evaluation. The fitted
#: values then condition on every draw.
GP_FIT_DRAWS = 500
GP_RESTARTS = 1  # random starts of the optimiser beyond the two fixed ones
GP_ITERATIONS = 200  # of each start: the optimum's last digits do not change the values
#: The rate of an exponential prior on each input's relevance (inverse squared length scale):
#: with many inputs and a few hundred draws, short length scales on unrelated inputs make the
#: draws nearly independent and the maximum likelihood interpolates chance.
GP_SHRINK = 10.0
#: Length scales on ranks in [0, 1]: below the lower bound a process interpolates chance;
#: at the upper one an input is irrelevant.
GP_LENGTH_SCALES = (0.05, 1e3)


class Value(NamedTuple):
    """A value of information per decision and its Monte Carlo standard error."""

    value: float
    se: float


def _value(nb: np.ndarray) -> float:
    """``mean of the row maxima - max of the column means`` of (draws x strategies)."""
    return float(nb.max(axis=1).mean() - nb.mean(axis=0).max())


def _terms(k: int, draws: int):
    """One smooth of ``k`` inputs: a spline, a tensor product where the draws support its
    coefficients, or an additive smooth."""
    from pygam import s, te

    if k == 1:
        return s(0, n_splines=SPLINES[1])
    if k <= MOST_JOINT and SPLINES[k] ** k * DRAWS_PER_COEFFICIENT <= draws:
        return te(*range(k), n_splines=[SPLINES[k]] * k)
    terms = s(0, n_splines=ADDITIVE_SPLINES)
    for j in range(1, k):
        terms += s(j, n_splines=ADDITIVE_SPLINES)
    return terms


def fitted(y: np.ndarray, x: np.ndarray, draws: int = 0, seed: int = 0
           ) -> tuple[np.ndarray, np.ndarray]:
    """A GAM of ``y`` on the columns of ``x``: its fitted values, and ``draws`` sets of
    fitted values from the coefficients' approximate posterior (draws x rows)."""
    from pygam import LinearGAM

    x = np.asarray(x, float).reshape(len(y), -1)
    if np.ptp(y) == 0:  # nothing to explain: the regression is the constant
        return np.full(len(y), float(y[0])), np.full((draws, len(y)), float(y[0]))
    # E[y | x] is E[y | the ranks of x]: on ranks the draws spread evenly, so a few extreme
    # draws of a skewed parameter cannot lever the smooth beyond the data
    x = np.column_stack([(rankdata(c) - 0.5) / len(c) for c in x.T])
    if x.shape[1] > min(MOST_JOINT, max(1, len(y) // DRAWS_PER_INPUT)):
        return _gp(y, x, draws, seed)
    gam = LinearGAM(_terms(x.shape[1], len(y))).gridsearch(x, y, lam=LAMBDAS, objective="AICc",
                                                   progress=False)
    mean = gam.predict(x)
    if not draws:
        return mean, np.empty((0, len(y)))
    # the coefficients' covariance is positive semi-definite up to rounding: draw through
    # its eigen-decomposition with rounding's negative eigenvalues set to zero
    cov = gam.statistics_["cov"]
    w, v = np.linalg.eigh((cov + cov.T) / 2)
    z = np.random.default_rng(seed).standard_normal((draws, len(w)))
    coef = gam.coef_ + (z * np.sqrt(np.clip(w, 0.0, None))) @ v.T
    # pyGAM keeps the model matrix behind a private name; it is the fit's own basis
    return mean, (gam._modelmat(x) @ coef.T).T


def _kernel(u: np.ndarray, v: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """The squared-exponential covariance between the rows of ``u`` and ``v`` at
    ``theta = [log variance, log length scale per input..., log noise]``."""
    w = np.exp(-theta[1:-1])
    su, sv = u * w, v * w
    d2 = (su**2).sum(1)[:, None] + (sv**2).sum(1)[None, :] - 2 * su @ sv.T
    return np.exp(theta[0] - 0.5 * np.clip(d2, 0.0, None))


def _objective(theta: np.ndarray, u: np.ndarray, z: np.ndarray) -> tuple[float, np.ndarray]:
    """Minus the log marginal likelihood of ``z`` at ``theta`` plus the shrinkage of the
    inputs' relevances (:data:`GP_SHRINK`), and its gradient."""
    from scipy.linalg import cho_factor, cho_solve

    n = len(z)
    k = _kernel(u, u, theta)
    noise = np.exp(theta[-1])
    try:
        factor = cho_factor(k + noise * np.eye(n), lower=True)
    except np.linalg.LinAlgError:
        return 1e25, np.zeros_like(theta)
    alpha = cho_solve(factor, z)
    inverse = cho_solve(factor, np.eye(n))
    relevance = np.exp(-2 * theta[1:-1])
    value = (0.5 * z @ alpha + np.log(np.diag(factor[0])).sum() + 0.5 * n * np.log(2 * np.pi)
             + GP_SHRINK * relevance.sum())
    m = (np.outer(alpha, alpha) - inverse) * k  # dK/dtheta_j = k * (its factor)
    row = m.sum(1)
    spread = 2 * (row @ u**2) - 2 * (u * (m @ u)).sum(0)  # sum_ij m_ij (u_i - u_j)^2
    grad = np.concatenate([[m.sum()], spread * relevance,
                           [noise * (alpha @ alpha - np.trace(inverse))]])
    grad = -0.5 * grad
    grad[1:-1] -= 2 * GP_SHRINK * relevance
    return float(value), grad


def _gp(y: np.ndarray, u: np.ndarray, draws: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A Gaussian process of ``y`` on the columns of ``u`` (ranks in [0, 1]): its posterior
    mean at the draws, and ``draws`` joint samples of it from the posterior (draws x rows).

    A constant mean, a squared-exponential kernel with a length scale per input and a noise
    term; the hyperparameters maximise the marginal likelihood, on at most
    :data:`GP_FIT_DRAWS` draws (a fixed random subset), less a shrinkage of each input's
    relevance (its inverse squared length scale), so that an input the net benefit does not
    depend on gets a long length scale, whatever direction of the inputs it lies in."""
    from scipy.linalg import cho_factor, cho_solve
    from scipy.optimize import minimize

    n, k = u.shape
    centre, scale = y.mean(), y.std()
    z = (y - centre) / scale  # the constant mean, and hyperparameters on a unit scale
    fit = np.sort(np.random.default_rng(0).choice(n, GP_FIT_DRAWS, replace=False)) \
        if n > GP_FIT_DRAWS else np.arange(n)
    bounds = [(np.log(1e-3), np.log(1e2))] + [tuple(np.log(GP_LENGTH_SCALES))] * k \
        + [(np.log(1e-4), np.log(10.0))]
    # from every input mattering somewhat, from none mattering much (the shrinkage can hold
    # the first in a local optimum with every length scale long), and from random points
    starts = [np.r_[0.0, np.zeros(k), np.log(0.5)], np.r_[0.0, np.full(k, np.log(3.0)), 0.0]]
    rng = np.random.default_rng(0)
    starts += [np.r_[rng.uniform(-2, 1), rng.uniform(np.log(0.2), np.log(5), k),
                     rng.uniform(-3, 0)] for _ in range(GP_RESTARTS)]
    best = min((minimize(_objective, t, (u[fit], z[fit]), "L-BFGS-B", jac=True, bounds=bounds,
                         options={"maxiter": GP_ITERATIONS}) for t in starts),
               key=lambda r: r.fun)
    theta = best.x
    # the posterior of the regression function (the noise term excluded) at every draw:
    # mean K (K + s I)^-1 z and covariance K - K (K + s I)^-1 K = s (I - s (K + s I)^-1)
    signal, noise = _kernel(u, u, theta), np.exp(theta[-1])
    factor = cho_factor(signal + noise * np.eye(n), lower=True)
    mean = centre + scale * (signal @ cho_solve(factor, z))
    if not draws:
        return mean, np.empty((0, n))
    cov = noise * (np.eye(n) - noise * cho_solve(factor, np.eye(n)))
    # positive semi-definite up to rounding: sample through its eigen-decomposition
    w, v = np.linalg.eigh((cov + cov.T) / 2)
    e = np.random.default_rng(seed).standard_normal((draws, n))
    return mean, mean + scale * (e * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def evppi(nb: np.ndarray, x: np.ndarray, draws: int = 200, seed: int = 0) -> Value:
    """Expected value of perfect information about the parameters ``x`` (draws x k),
    per decision, with its Monte Carlo standard error."""
    nb = np.asarray(nb, float)
    incremental = nb[:, 1:] - nb[:, :1]
    g = np.zeros((draws + 1, *nb.shape))
    for d in range(incremental.shape[1]):
        mean, sampled = fitted(incremental[:, d], x, draws, seed + d)
        g[0, :, d + 1], g[1:, :, d + 1] = mean, sampled
    # never below zero (a mean of maxima is at least the maximum of the means) but by rounding,
    # and never above the EVPI of the net benefits themselves, which is what a regression
    # that explained every draw would give
    values = np.clip(g.max(axis=2).mean(axis=1) - g.mean(axis=1).max(axis=1), 0.0, _value(nb))
    return Value(float(values[0]), float(values[1:].std(ddof=1)) if draws > 1 else float("nan"))


def population(per_decision: float, people_per_year: float, years: int, rate: float) -> float:
    """A per-person value of information over everyone the decision affects: ``people_per_year``
    for ``years`` years, discounted at ``rate`` a year (year 0 undiscounted)."""
    if people_per_year < 0 or years < 0:
        raise ValueError("the population and the horizon cannot be negative")
    if rate <= -1:
        raise ValueError("a discount rate must be above -100 %")
    return per_decision * people_per_year * float(sum((1 + rate) ** -t for t in range(years)))
