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
parameters' ranks, and the fitted values stand for the expected net benefit given those parameters:
``EVPPI = mean over draws of max_d g_d(x) - max_d mean of g_d(x)``. Its Monte Carlo
error comes from drawing the regression's coefficients from their approximate
posterior. EVSI is the same regression on a summary of the data a study would
collect (Strong, Brennan & Oakley, Med Decis Making 2015;35:570-583).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.stats import rankdata

SPLINES = {1: 10, 2: 6, 3: 5, 4: 4}  # basis size per dimension of a tensor-product smooth
MOST_JOINT = 4  # above this many parameters the smooth is additive (no interactions) ...
ADDITIVE_SPLINES = 8  # ... with this basis size per parameter
#: A group of more parameters than the draws support (one input per this many draws) is
#: regressed on its leading principal components: a smooth of many inputs and a few hundred
#: draws fits their chance variation, and parameters unrelated to the net benefit would
#: seem worth knowing.
DRAWS_PER_INPUT = 50
DRAWS_PER_COEFFICIENT = 4  # a tensor-product smooth needs this many draws per coefficient
#: Smoothing parameters the corrected AIC chooses from, up to the nearly linear. AICc rather
#: than GCV: with many parameters and a few hundred draws GCV fits the chance variation, and
#: a group of parameters unrelated to the net benefit would seem worth knowing.
LAMBDAS = np.logspace(-3, 6, 10)


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
    most = max(1, len(y) // DRAWS_PER_INPUT)
    if x.shape[1] > min(MOST_JOINT, most):
        x = _components(x, min(x.shape[1], most))
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


def _components(x: np.ndarray, m: int) -> np.ndarray:
    """The first ``m`` principal components of ``x``'s columns, each on ranks again."""
    centred = x - x.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    scores = centred @ vt[:m].T
    return np.column_stack([(rankdata(c) - 0.5) / len(c) for c in scores.T])


def evppi(nb: np.ndarray, x: np.ndarray, draws: int = 200, seed: int = 0) -> Value:
    """Expected value of perfect information about the parameters ``x`` (draws x k),
    per decision, with its Monte Carlo standard error."""
    nb = np.asarray(nb, float)
    incremental = nb[:, 1:] - nb[:, :1]
    g = np.zeros((draws + 1, *nb.shape))
    for d in range(incremental.shape[1]):
        mean, sampled = fitted(incremental[:, d], x, draws, seed + d)
        g[0, :, d + 1], g[1:, :, d + 1] = mean, sampled
    # never below zero (a mean of maxima is at least the maximum of the means) but by rounding
    values = np.maximum(g.max(axis=2).mean(axis=1) - g.mean(axis=1).max(axis=1), 0.0)
    return Value(float(values[0]), float(values[1:].std(ddof=1)) if draws > 1 else float("nan"))


def population(per_decision: float, people_per_year: float, years: int, rate: float) -> float:
    """A per-person value of information over everyone the decision affects: ``people_per_year``
    for ``years`` years, discounted at ``rate`` a year (year 0 undiscounted)."""
    if people_per_year < 0 or years < 0:
        raise ValueError("the population and the horizon cannot be negative")
    if rate <= -1:
        raise ValueError("a discount rate must be above -100 %")
    return per_decision * people_per_year * float(sum((1 + rate) ** -t for t in range(years)))
