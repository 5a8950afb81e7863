"""Value of information: what learning a parameter, or running a survey, is worth.

Pure functions on arrays. ``nb`` is (draws x strategies): each row one replicate of a
probabilistic analysis, its net benefit under each strategy (``wtp * effect - cost``).
In a stochastic simulation a replicate's net benefit holds chance as well as the
parameters it was drawn with, and no study can learn chance: the expected value of
perfect *parameter* information is the EVPPI of every uncertain parameter together,
which is below :func:`sim.cea.evpi` of the raw net benefits.

EVPPI follows Strong, Oakley & Brennan (Med Decis Making 2014;34:311-326): the net
benefit of each strategy against the first is regressed on the parameters of interest
with a generalised additive model (pyGAM; smoothing chosen by GCV), and the fitted
values stand for the expected net benefit given those parameters:
``EVPPI = mean over draws of max_d g_d(x) - max_d mean of g_d(x)``. Its Monte Carlo
error comes from drawing the regression's coefficients from their approximate
posterior. EVSI is the same regression on a summary of the data a study would
collect (Strong, Brennan & Oakley, Med Decis Making 2015;35:570-583).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

SPLINES = {1: 10, 2: 6, 3: 5, 4: 4}  # basis size per dimension of a tensor-product smooth
MOST_JOINT = 4  # above this many parameters the smooth is additive (no interactions)


class Value(NamedTuple):
    """A value of information per decision and its Monte Carlo standard error."""

    value: float
    se: float


def _value(nb: np.ndarray) -> float:
    """``mean of the row maxima - max of the column means`` of (draws x strategies)."""
    return float(nb.max(axis=1).mean() - nb.mean(axis=0).max())


def _terms(k: int):
    from pygam import s, te

    if k == 1:
        return s(0, n_splines=SPLINES[1])
    if k <= MOST_JOINT:
        return te(*range(k), n_splines=[SPLINES[k]] * k)
    terms = s(0)
    for j in range(1, k):
        terms += s(j)
    return terms


def fitted(y: np.ndarray, x: np.ndarray, draws: int = 0, seed: int = 0
           ) -> tuple[np.ndarray, np.ndarray]:
    """A GAM of ``y`` on the columns of ``x``: its fitted values, and ``draws`` sets of
    fitted values from the coefficients' approximate posterior (draws x rows)."""
    from pygam import LinearGAM

    x = np.asarray(x, float).reshape(len(y), -1)
    if np.ptp(y) == 0:  # nothing to explain: the regression is the constant
        return np.full(len(y), float(y[0])), np.full((draws, len(y)), float(y[0]))
    scale = x.std(axis=0)
    x = (x - x.mean(axis=0)) / np.where(scale > 0, scale, 1.0)
    gam = LinearGAM(_terms(x.shape[1])).gridsearch(x, y, progress=False)
    mean = gam.predict(x)
    if not draws:
        return mean, np.empty((0, len(y)))
    rng = np.random.default_rng(seed)
    coef = rng.multivariate_normal(gam.coef_, gam.statistics_["cov"], size=draws,
                                   method="cholesky" if _posdef(gam.statistics_["cov"])
                                   else "eigh")
    # pyGAM keeps the model matrix behind a private name; it is the fit's own basis
    return mean, (gam._modelmat(x) @ coef.T).T


def _posdef(cov: np.ndarray) -> bool:
    try:
        np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        return False
    return True


def evppi(nb: np.ndarray, x: np.ndarray, draws: int = 200, seed: int = 0) -> Value:
    """Expected value of perfect information about the parameters ``x`` (draws x k),
    per decision, with its Monte Carlo standard error."""
    nb = np.asarray(nb, float)
    incremental = nb[:, 1:] - nb[:, :1]
    g = np.zeros((draws + 1, *nb.shape))
    for d in range(incremental.shape[1]):
        mean, sampled = fitted(incremental[:, d], x, draws, seed + d)
        g[0, :, d + 1], g[1:, :, d + 1] = mean, sampled
    values = g.max(axis=2).mean(axis=1) - g.mean(axis=1).max(axis=1)
    return Value(float(values[0]), float(values[1:].std(ddof=1)) if draws > 1 else float("nan"))


def population(per_decision: float, people_per_year: float, years: int, rate: float) -> float:
    """A per-person value of information over everyone the decision affects: ``people_per_year``
    for ``years`` years, discounted at ``rate`` a year (year 0 undiscounted)."""
    if people_per_year < 0 or years < 0:
        raise ValueError("the population and the horizon cannot be negative")
    if rate <= -1:
        raise ValueError("a discount rate must be above -100 %")
    return per_decision * people_per_year * float(sum((1 + rate) ** -t for t in range(years)))
