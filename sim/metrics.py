"""Metrics: turn replicate records into tidy tables and summary statistics.

Everything a user sees is computed here, once, from what the model recorded:
mentee spells, visits, monthly readings and the cost ledger. Nothing here
touches the simulation.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import pandas as pd

from sim import competency
from sim.config import AREAS, Config
from sim.costs import CATEGORIES
from sim.model import Record
from sim.scenarios import sites

SCORE_COLS = [f"score_{a}" for a in AREAS]
COST_COLS = [f"cost_{c}" for c in CATEGORIES]


def mentees(config: Config, records: Sequence[Record]) -> pd.DataFrame:
    """One row per mentee spell, final scores on the 0-4 checklist scale."""
    names = [s.name for s in config.subcounties]
    layout = sites(config)
    rows = []
    for rec in records:
        for sub, fac, mid, start, end, reason, visits, base, final in rec.spells:
            final_check = competency.checklist(final)
            rows.append(
                (rec.replicate, names[sub], fac, layout[fac].name, layout[fac].keph_level, mid,
                 start, end, reason, visits, competency.checklist(base).mean(),
                 final_check.mean(), *final_check)
            )
    cols = ["replicate", "subcounty", "facility_id", "facility_name", "keph_level", "mentee_id",
            "start_day", "end_day", "exit_reason", "visits", "baseline_mean_score",
            "final_mean_score", *SCORE_COLS]
    df = pd.DataFrame(rows, columns=cols)
    df = df.astype({"replicate": "int64", "facility_id": "int64", "mentee_id": "int64",
                    "visits": "int64", "exit_reason": "object", "keph_level": "object"})
    return df.sort_values(["replicate", "mentee_id", "start_day"], ignore_index=True)


def costs(config: Config, records: Sequence[Record]) -> pd.DataFrame:
    """The cost ledger of every replicate, with the month each cost fell in."""
    names = np.array([s.name for s in config.subcounties], dtype=object)
    starts = np.asarray(config.month_starts())
    frames = []
    for rec in records:
        led = rec.ledger
        day = np.asarray(led.day, dtype=float)
        frames.append(pd.DataFrame({
            "replicate": np.full(len(day), rec.replicate, dtype=np.int64),
            "day": day,
            "month": np.searchsorted(starts, day, side="right").astype(np.int64),
            "subcounty": names[np.asarray(led.subcounty, dtype=int)] if len(day) else [],
            "category": led.category,
            "who": led.who,
            "ksh": np.asarray(led.ksh, dtype=float),
        }))
    df = pd.concat(frames, ignore_index=True)
    df["usd"] = df["ksh"] / config.costs.ksh_per_usd
    return df


def mentors(config: Config, records: Sequence[Record]) -> pd.DataFrame:
    """One row per mentor spell: caseload, time in post, visits made."""
    names = [s.name for s in config.subcounties]
    rows = []
    for rec in records:
        made = pd.Series(np.asarray(rec.visits.column("mentor"), dtype="int64")).value_counts()
        for sub, slot, mid, caseload, start, end, reason, origin in rec.mentors:
            rows.append((rec.replicate, names[sub], slot, mid, caseload, start, end, reason,
                         origin, int(made.get(mid, 0))))
    cols = ["replicate", "subcounty", "slot", "mentor_id", "caseload", "start_day", "end_day",
            "exit_reason", "origin", "visits"]
    df = pd.DataFrame(rows, columns=cols).astype({"exit_reason": "object"})
    return df.sort_values(["replicate", "mentor_id"], ignore_index=True)


def _per_month(config: Config, records: Sequence[Record], name: str, events: str) -> pd.Series:
    """Count a record's events (a log with day and subcounty) per replicate, subcounty and month."""
    names = np.array([s.name for s in config.subcounties], dtype=object)
    starts = np.asarray(config.month_starts())
    parts = []
    for rec in records:
        log = getattr(rec, events)
        parts.append(pd.DataFrame({
            "replicate": rec.replicate,
            "subcounty": names[np.asarray(log.column("subcounty"), dtype=int)],
            "month": np.searchsorted(starts, np.asarray(log.column("day")), side="right"),
        }))
    df = pd.concat(parts, ignore_index=True)
    return df.groupby(["replicate", "subcounty", "month"]).size().rename(name)


def timeseries(config: Config, records: Sequence[Record], ledger: pd.DataFrame) -> pd.DataFrame:
    """Replicate x subcounty x month: competency, activity, stock-outs and costs.

    Competency, enrolment, mentors and group members are read at the month's
    end (``month_end``, the first day of the next month); visits, posts,
    stock-out days and costs are totals over the month. Month 0 is the
    baseline reading on day 0, with no flows.
    """
    names = [s.name for s in config.subcounties]
    rows = []
    for rec in records:
        for month, sub, mentees_, proficient, mentors_, groups, members, out, means in rec.months:
            overall = float(np.mean(means)) if mentees_ else np.nan
            rows.append((rec.replicate, names[sub], month, mentees_, proficient, mentors_, groups,
                         members, out, overall, *means))
    df = pd.DataFrame(rows, columns=["replicate", "subcounty", "month", "active_mentees",
                                     "proficient_mentees", "active_mentors", "whatsapp_groups",
                                     "whatsapp_members",
                                     "stockout_facility_days", "mean_score", *SCORE_COLS])
    starts = config.month_starts()
    dates = [pd.Timestamp(config.start_date + dt.timedelta(days=d)) for d in starts]
    df.insert(3, "month_start", [dates[max(m - 1, 0)] for m in df["month"]])
    df.insert(4, "month_end", [dates[m] for m in df["month"]])

    key = ["replicate", "subcounty", "month"]
    for name, events in (("visits", "visits"), ("whatsapp_posts", "posts")):
        df = df.join(_per_month(config, records, name, events), on=key)
        df[name] = df[name].fillna(0).astype("int64")

    cost = (ledger.pivot_table(index=key, columns="category", values="ksh", aggfunc="sum",
                               fill_value=0.0)
            .reindex(columns=list(CATEGORIES), fill_value=0.0))
    cost.columns = COST_COLS
    df = df.join(cost, on=key)
    df[COST_COLS] = df[COST_COLS].fillna(0.0)
    df["cost_total"] = df[COST_COLS].sum(axis=1)
    return df.sort_values(key, ignore_index=True)


def outcomes(spells: pd.DataFrame, ledger: pd.DataFrame, ksh_per_usd: float) -> pd.DataFrame:
    """Key outcomes per replicate (one row each)."""
    at_end = spells[spells["exit_reason"].isna()]
    by_rep = spells.groupby("replicate")
    people = by_rep["mentee_id"].nunique()
    total = ledger.groupby("replicate")["ksh"].sum().reindex(people.index, fill_value=0.0)
    end_groups = at_end.groupby("replicate")
    proficient = (at_end[SCORE_COLS] >= competency.PROFICIENT).all(axis=1).groupby(at_end["replicate"]).mean()
    # each nurse's gain, from her baseline to the end of her last spell
    last = spells.sort_values("start_day").groupby(["replicate", "mentee_id"]).last()
    gained = (last["final_mean_score"] - last["baseline_mean_score"]).groupby("replicate").sum()
    return pd.DataFrame({
        "mean_competency_at_horizon": end_groups["final_mean_score"].mean(),
        "share_all_areas_3_or_above": proficient,
        "visits_per_mentee": by_rep["visits"].sum() / people,
        "competency_points_gained": gained,
        "total_cost_ksh": total,
        "total_cost_usd": total / ksh_per_usd,
        "cost_per_mentee_ksh": total / people,
        "cost_per_competency_point_ksh": total / gained.where(gained > 0),
    }).reindex(people.index)


def describe(per_rep: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Mean and 5th/95th percentiles across replicates of each outcome column."""
    out = {}
    for col in per_rep.columns:
        x = per_rep[col].to_numpy(dtype=float)
        x = x[~np.isnan(x)]
        if len(x) == 0:
            out[col] = {"mean": None, "p5": None, "p95": None}
            continue
        out[col] = {"mean": float(x.mean()), "p5": float(np.percentile(x, 5)),
                    "p95": float(np.percentile(x, 95))}
    return out


def summary(config: Config, spells: pd.DataFrame, ledger: pd.DataFrame) -> dict:
    """Key outcomes across replicates, overall and per subcounty."""
    rate = config.costs.ksh_per_usd
    result = {"overall": describe(outcomes(spells, ledger, rate)), "by_subcounty": {}}
    for sub in config.subcounties:
        result["by_subcounty"][sub.name] = describe(
            outcomes(spells[spells["subcounty"] == sub.name],
                     ledger[ledger["subcounty"] == sub.name], rate)
        )
    return result


def economics(ledger: pd.DataFrame, ts: pd.DataFrame, rate: float,
              keys: Sequence[str] = ("replicate",)) -> pd.DataFrame:
    """Discounted cost and effects per group of ``keys`` (e.g. scenario and replicate).

    * ``cost_discounted_ksh``: every ledger entry discounted from its day;
    * ``competency_point_years``: checklist points above the month-0 baseline, times
      nurses in post, over the years they are held (each month's reading holds for
      that month, discounted from its middle);
    * ``proficient_nurse_months``: nurses with every area at 3 or above, month by month;
    * ``proficient_nurses_at_end``: how many of them there are at the horizon (discounted
      from it).
    """
    from sim.cea import discount_factor

    keys = list(keys)
    cost = ledger.assign(pv=ledger["ksh"] * discount_factor(ledger["day"].to_numpy(), rate))
    out = cost.groupby(keys)["pv"].sum().rename("cost_discounted_ksh").to_frame()
    start = ts.loc[ts["month"] == 0, "month_end"].min()
    days_end = (ts["month_end"] - start).dt.days.to_numpy(dtype=float)
    days_start = (ts["month_start"] - start).dt.days.to_numpy(dtype=float)
    length, middle = days_end - days_start, (days_start + days_end) / 2
    df = discount_factor(middle, rate)
    baseline = ts[ts["month"] == 0].set_index([*keys, "subcounty"])["mean_score"]
    base = baseline.reindex(pd.MultiIndex.from_frame(ts[[*keys, "subcounty"]])).to_numpy()
    gain = (ts["mean_score"].to_numpy() - base) * ts["active_mentees"].to_numpy()
    months = ts["month"].to_numpy() > 0
    flows = pd.DataFrame({
        "competency_point_years": np.where(months, np.nan_to_num(gain) * length / 365.25 * df, 0),
        "proficient_nurse_months": np.where(months, ts["proficient_mentees"].to_numpy()
                                            * length / (365.25 / 12) * df, 0),
    })
    last = ts["month"].to_numpy() == ts["month"].max()
    flows["proficient_nurses_at_end"] = np.where(
        last, ts["proficient_mentees"].to_numpy() * discount_factor(days_end, rate), 0)
    for k in keys:
        flows[k] = ts[k].to_numpy()
    return out.join(flows.groupby(keys).sum()).reset_index()
