"""A virtual baseline/endline survey, run the way the pilot's evaluation was.

The pilot measured outcomes with a knowledge interview and an observed
immunization session at baseline and endline, then compared each item's paired
proportions with McNemar's test and reported the risk ratio of the remaining
gap, (1 - endline share) / (1 - baseline share). This module does the same to
the model's nurses:

* who is asked: the nurse enrolled at the facility on the survey day (day 0 for
  the baseline, the horizon for the endline); skills are observed only where a
  session is held, i.e. the facility has vaccines that day;
* how she answers: an area item is right with probability
  ``1 / (1 + exp(-a (c - d)))`` (a two-parameter logistic item response
  function of her competency ``c`` in the item's area, with the item's
  discrimination ``a`` and difficulty ``d``); a practice that ``needs`` an
  amenity her facility lacks (hand washing without running water or
  sanitiser) is observed not done, whatever she knows
  (:mod:`sim.rules.amenities`); a supply item (e.g. vaccines available) is
  read from the facility's stock line, not from skills;
* how it is analysed: shares per wave, McNemar's exact test on the facilities
  answered at both waves, and the gap risk ratio.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from scipy.special import expit

from sim.config import AREAS, Config, ConfigError, format_error
from sim.record import Record
from sim.rng import Streams
from sim.rules import amenities

WAVES = ("baseline", "endline")
SIGNIFICANCE = 0.05


# --- targets -------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Shares = tuple[float | None, float | None]  # (baseline, endline); None: not surveyed


class SampleSizes(_Strict):
    """Respondents per wave, as in the study (baseline, endline); None: no such wave."""

    knowledge: tuple[int | None, int | None] = (None, None)
    skills: tuple[int | None, int | None] = (None, None)
    visits_received: int | None = Field(default=None, ge=1)


class Dropouts(_Strict):
    """Who had left by the endline."""

    facilities_dropped: int | None = Field(default=None, ge=0)
    enrolled_at_endline: int | None = Field(default=None, ge=0)
    left_by_turnover: int | None = Field(
        default=None, ge=0, description="nurses who left their posts (transfers, "
                                        "resignations) by the endline")


class Checklist(_Strict):
    """Mentors' checklist scores: the mean 0-4 score of the enrolled mentees, averaged over
    the eight areas, at programme months (0: the baseline)."""

    n: int = Field(ge=1, description="mentees scored at each month")
    sd: float = Field(gt=0, description="standard deviation of a mentee's mean score")
    by_month: dict[int, float] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> Checklist:
        for month, score in self.by_month.items():
            if month < 0 or not 0 <= score <= 4:
                raise ValueError(f"by_month.{month}: a month from 0 and a score within 0-4")
        return self


class Targets(_Strict):
    """Observed results of one subcounty arm (e.g. ``configs/targets/lari.yaml``).

    Every part is optional, and an item may report one wave only (``[0.35, null]``): a
    county may have a baseline survey alone, or monitoring data without a survey.
    """

    subcounty: str
    sample_sizes: SampleSizes = SampleSizes()
    visits_received: dict[str, float] = {}
    dropouts: Dropouts = Dropouts()
    knowledge: dict[str, Shares] = {}
    skills: dict[str, Shares] = {}
    checklist: Checklist | None = None

    @model_validator(mode="after")
    def _check(self) -> Targets:
        for kind in ("knowledge", "skills"):
            sizes = getattr(self.sample_sizes, kind)
            for item, shares in getattr(self, kind).items():
                if all(s is None for s in shares):
                    raise ValueError(f"{kind}.{item}: give a share for at least one wave")
                for wave, share, n in zip(WAVES, shares, sizes, strict=True):
                    if share is not None and not 0 <= share <= 1:
                        raise ValueError(f"{kind}.{item}: shares must be within [0, 1]")
                    if share is not None and not n:
                        raise ValueError(f"sample_sizes.{kind}: needs the {wave} "
                                         f"respondents ({kind}.{item} has a {wave} share)")
        if self.visits_received:
            if self.sample_sizes.visits_received is None:
                raise ValueError("sample_sizes.visits_received: needs the nurses asked "
                                 "(visits_received has shares)")
            ranges = sorted(visit_bin(label) for label in self.visits_received)
            for (_, hi), (lo, _) in zip(ranges, ranges[1:], strict=False):
                if lo <= hi:
                    raise ValueError("visits_received: the bins overlap")
            if sum(self.visits_received.values()) > 1 + 1e-6:
                raise ValueError("visits_received: the shares add up to more than 1")
        if not (self.shares() or self.visits_received or self.checklist
                or any(v is not None for v in self.dropouts.model_dump().values())):
            raise ValueError("no targets: give survey shares, visits_received, dropouts or "
                             "checklist")
        return self

    def shares(self) -> dict[str, tuple[str, float | None, float | None]]:
        """item -> (kind, baseline share, endline share); None: that wave not surveyed."""
        return {item: (kind, *getattr(self, kind)[item])
                for kind in ("knowledge", "skills") for item in getattr(self, kind)}

    def n(self, kind: str, wave: str) -> int | None:
        return getattr(self.sample_sizes, kind)[WAVES.index(wave)]

    def waves(self) -> set[str]:
        """The survey waves with at least one share."""
        return {w for _, *shares in self.shares().values()
                for w, s in zip(WAVES, shares, strict=True) if s is not None}


def load_targets(path: str | Path) -> Targets:
    """Read and validate a targets YAML file; problems raise a one-line ConfigError."""
    from sim.config import read_raw

    path = Path(path)
    data = read_raw(path)
    try:
        return Targets.model_validate(data)
    except ValidationError as err:
        raise ConfigError(format_error(str(path), err, Targets)) from None


def check_items(config: Config, targets: Targets) -> None:
    """Every target item must be a survey item of the config."""
    if config.survey is None:
        raise ConfigError(f"{config.name}: survey: the config has no survey block")
    missing = [i for i in targets.shares() if i not in config.survey.items]
    if missing:
        raise ConfigError(f"{config.name}: survey.items: no item {missing[0]} (used by the targets)")
    for item, (kind, _, _) in targets.shares().items():
        if config.survey.items[item].kind != kind:
            raise ConfigError(f"{config.name}: survey.items.{item}: the targets list it under {kind}")


def visit_bin(label: str) -> tuple[float, float]:
    """The inclusive range of a visits-received bin: '9-12', '>12', '>=13', '<9' or '<=4'."""
    text = label.replace(" ", "")
    try:
        for prefix, lo, hi in ((">=", lambda x: x, lambda x: math.inf),
                               ("<=", lambda x: 0.0, lambda x: x),
                               (">", lambda x: x + 1, lambda x: math.inf),
                               ("<", lambda x: 0.0, lambda x: x - 1)):
            if text.startswith(prefix):
                x = float(int(text[len(prefix):]))
                return lo(x), hi(x)
        first, last = text.split("-")
        lo, hi = float(int(first)), float(int(last))
    except ValueError:
        raise ValueError(f"visits_received: cannot read bin '{label}' "
                         "(use 9-12, >12, >=13, <9 or <=4)") from None
    if lo > hi:
        raise ValueError(f"visits_received: bin '{label}' is empty")
    return lo, hi


# --- the survey ----------------------------------------------------------------------


def item_response(c: np.ndarray, difficulty: float, discrimination: float) -> np.ndarray:
    """Chance of a right answer: the two-parameter logistic item response function."""
    return expit(discrimination * (c - difficulty))  # no overflow for extreme arguments


def respondents(config: Config, records: Sequence[Record]) -> pd.DataFrame:
    """One row per (replicate, wave, facility, item) that the survey would ask.

    ``level`` is the nurse's competency in the item's area, or, for a supply
    item, 1.0 when the line is in stock. ``able`` is False where the item is a
    practice that needs an amenity the facility lacks (its ``needs``): she is
    observed not doing it whatever her level. Rows exist only for eligible
    respondents: an enrolled nurse, and for observed skills a session held.
    ``difficulty`` and ``discrimination`` are the item's in the replicate's own
    parameters (a draw from a posterior, if the config names one; NaN for a
    supply item).
    """
    if config.survey is None:
        raise ConfigError(f"{config.name}: survey: the config has no survey block")
    rows = []
    for rec in records:
        survey = (config if rec.draw is None else config.with_values(rec.draw.values)).survey
        items = {name: (item, item.difficulty if item.supply is None else math.nan,
                        (item.discrimination or survey.discrimination) if item.supply is None
                        else math.nan)
                 for name, item in survey.items.items()}
        for state in rec.states:
            if state.mentee is None:
                continue
            session = state.in_stock["vaccines"]
            has = rec.amenities[state.facility]
            for name, (item, d, a) in items.items():
                if item.supply is not None:
                    level = float(state.in_stock[item.supply])
                elif item.kind == "skills" and not session:
                    continue
                else:
                    level = float(state.competency[AREAS.index(item.area)])
                rows.append((rec.replicate, state.wave, state.facility, state.key, name, level,
                             d, a, amenities.able(item.needs, has)))
    return pd.DataFrame(rows, columns=["replicate", "wave", "facility_id", "key", "item", "level",
                                       "difficulty", "discrimination", "able"])


def probabilities(resp: pd.DataFrame) -> np.ndarray:
    """Chance each respondent answers right (supply items: 1 if in stock, else 0; a practice
    she is not ``able`` to do: 0)."""
    p = resp["level"].to_numpy(dtype=float)
    d, a = resp["difficulty"].to_numpy(), resp["discrimination"].to_numpy()
    area = ~np.isnan(d)
    p = np.where(area, item_response(p, np.where(area, d, 0.0), np.where(area, a, 0.0)), p)
    return np.where(resp["able"].to_numpy(dtype=bool), p, 0.0)


def answer(resp: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Sample right/wrong answers; each replicate draws from its own stream."""
    p = probabilities(resp)
    correct = np.zeros(len(resp), dtype=bool)
    for rep, idx in resp.groupby("replicate").indices.items():
        rng = Streams(seed, rep)("survey.answers")
        correct[idx] = rng.random(len(idx)) < p[idx]
    return resp.assign(correct=correct)


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value for ``b`` and ``c`` discordant pairs.

    Under no change each discordant pair goes either way with chance 1/2, so
    the smaller count is Binomial(b + c, 1/2); the p-value doubles its tail.
    """
    n = b + c
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(b, c) + 1)) / 2.0**n
    return min(1.0, 2.0 * tail)


def gap_risk_ratio(baseline: float, endline: float) -> float:
    """Risk ratio of the gap: (1 - endline share) / (1 - baseline share)."""
    return (1.0 - endline) / (1.0 - baseline) if baseline < 1.0 else math.nan


def study_table(answers: pd.DataFrame) -> pd.DataFrame:
    """The study's table for each replicate and item: shares, McNemar p, gap risk ratio."""
    wide = answers.pivot_table(index=["replicate", "item", "facility_id"], columns="wave",
                               values="correct", aggfunc="first")
    wide = wide.reindex(columns=list(WAVES))
    rows = []
    for (rep, item), g in wide.groupby(level=["replicate", "item"]):
        b0, b1 = g["baseline"].dropna().astype(bool), g["endline"].dropna().astype(bool)
        both = g.dropna()
        x0, x1 = both["baseline"].astype(bool), both["endline"].astype(bool)
        s0 = b0.mean() if len(b0) else math.nan
        s1 = b1.mean() if len(b1) else math.nan
        rows.append({
            "replicate": rep, "item": item,
            "n_baseline": len(b0), "share_baseline": s0,
            "n_endline": len(b1), "share_endline": s1,
            "pairs": len(both),
            "p_value": mcnemar_exact(int((x0 & ~x1).sum()), int((~x0 & x1).sum())),
            "gap_risk_ratio": gap_risk_ratio(s0, s1),
        })
    return pd.DataFrame(rows)


def summarise(table: pd.DataFrame, config: Config) -> pd.DataFrame:
    """The study's table across replicates: mean and 90 % interval of each statistic."""
    kinds = {n: i.kind for n, i in config.survey.items.items()}
    out = []
    for item, g in table.groupby("item", sort=False):
        row = {"item": item, "kind": kinds[item]}
        for col in ("share_baseline", "share_endline", "gap_risk_ratio", "p_value"):
            x = g[col].dropna()
            row[f"{col}_mean"] = x.mean()
            row[f"{col}_p5"] = x.quantile(0.05)
            row[f"{col}_p95"] = x.quantile(0.95)
        row["share_significant"] = (g["p_value"] < SIGNIFICANCE).mean()
        out.append(row)
    return pd.DataFrame(out)


def visits_received(mentees: pd.DataFrame, labels: Sequence[str]) -> pd.DataFrame:
    """Per replicate, the share of nurses enrolled at the endline whose visits fall in each bin."""
    enrolled = mentees[mentees["exit_reason"].isna()]
    out = pd.DataFrame(index=sorted(mentees["replicate"].unique()))
    for label in labels:
        lo, hi = visit_bin(label)
        inside = enrolled["visits"].between(lo, hi)
        out[label] = inside.groupby(enrolled["replicate"]).mean()
    return out.fillna(0.0)


def dropouts(mentees: pd.DataFrame, reps: int) -> dict[str, np.ndarray]:
    """Per replicate ``0 .. reps-1``, the counts a study's drop-out targets report: nurses
    enrolled at the endline, facilities that furloughed their nurse, nurses who left their
    posts (turnover)."""
    counts = {
        "enrolled_at_endline": mentees[mentees["exit_reason"].isna()].groupby("replicate").size(),
        "facilities_dropped": mentees[mentees["exit_reason"] == "furlough"]
        .groupby("replicate")["facility_id"].nunique(),
        "left_by_turnover": mentees[mentees["exit_reason"] == "turnover"]
        .groupby("replicate").size(),
    }
    return {k: v.reindex(range(reps), fill_value=0).to_numpy(dtype=float)
            for k, v in counts.items()}


def checklist_scores(records: Sequence[Record], month: int) -> np.ndarray:
    """Each replicate's mean checklist score (over areas and enrolled nurses) at a month's
    reading; NaN where no nurse was enrolled."""
    return np.array([next((float(np.mean(row.mean_score)) for row in rec.months
                           if row.month == month and row.mentees), np.nan)
                     for rec in records])
