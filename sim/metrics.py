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

from sim.rules import competency
from sim.config import AMENITIES, AREAS, Config
from sim.costs import CATEGORIES
from sim.record import Record
from sim.scenarios import sites

#: What the tables read of a config, by dotted key: replicates whose configs agree on these
#: (a sensitivity analysis drawing other parameters) have their tables computed in one call.
READS = ("subcounties", "facilities", "months", "start_date", "scaleup", "mentor",
         "costs.ksh_per_usd", "costs.discount_rate", "costs.fiscal_year_start_month")

SCORE_COLS = [f"score_{a}" for a in AREAS]
AMENITY_COLS = [f"has_{a}" for a in AMENITIES]
COST_COLS = [f"cost_{c}" for c in CATEGORIES]


def reads(key: str) -> bool:
    """Whether the tables read the config's value at dotted ``key`` (:data:`READS`)."""
    return any(key == r or key.startswith(r + ".") or r.startswith(key + ".") for r in READS)


def tables(config: Config, records: Sequence[Record]) -> dict[str, pd.DataFrame]:
    """The tables of replicates' records: ``mentees``, ``mentors``, ``timeseries``, ``costs``
    (the ledger), ``phases``, ``budget``, ``workforce`` and ``turnover``."""
    spells = mentees(config, records)
    ledger = costs(config, records)
    mentor_spells = mentors(config, records)
    return {
        "mentees": spells,
        "mentors": mentor_spells,
        "timeseries": timeseries(config, records, ledger),
        "costs": ledger,
        "phases": phases(config, records),
        "budget": budget(config, ledger),
        "workforce": workforce(config, records, spells, mentor_spells),
        "turnover": turnover(config, records, spells),
    }


def mentees(config: Config, records: Sequence[Record]) -> pd.DataFrame:
    """One row per mentee spell, final scores on the 0-4 checklist scale, and the amenities
    of her facility in that replicate."""
    names = np.array([s.name for s in config.subcounties], dtype=object)
    layout = sites(config)
    spells = [(rec, spell) for rec in records for spell in rec.spells]
    n = len(spells)
    facility = np.array([spell.facility for _, spell in spells], dtype=np.int64)
    final = competency.checklist(np.array([spell.competency for _, spell in spells],
                                          dtype=float).reshape(n, len(AREAS)))
    baseline = competency.checklist(np.array([spell.baseline for _, spell in spells],
                                             dtype=float).reshape(n, len(AREAS)))
    has = [rec.amenities[spell.facility] for rec, spell in spells]
    df = pd.DataFrame({
        "replicate": np.array([rec.replicate for rec, _ in spells], dtype=np.int64),
        "subcounty": names[np.array([spell.subcounty for _, spell in spells], dtype=np.intp)],
        "facility_id": facility,
        "facility_name": np.array([layout[f].name for f in facility.tolist()], dtype=object),
        "keph_level": np.array([layout[f].keph_level for f in facility.tolist()], dtype=object),
        "mentee_id": np.array([spell.mentee for _, spell in spells], dtype=np.int64),
        "start_day": np.array([spell.start for _, spell in spells], dtype=float),
        "end_day": np.array([spell.end for _, spell in spells], dtype=float),
        "exit_reason": np.array([spell.reason for _, spell in spells], dtype=object),
        "visits": np.array([spell.visits for _, spell in spells], dtype=np.int64),
        "baseline_mean_score": baseline.mean(axis=1),
        "final_mean_score": final.mean(axis=1),
        **{col: final[:, a] for a, col in enumerate(SCORE_COLS)},
        **{col: np.array([name in h for h in has], dtype=bool)
           for name, col in zip(AMENITIES, AMENITY_COLS, strict=True)},
    })
    df.insert(6, "replacement", _replacements(df))
    joined = df.groupby(["replicate", "mentee_id"])["start_day"].transform("min").to_numpy(float)
    df.insert(7, "joined_month", np.searchsorted(np.asarray(config.month_starts()), joined,
                                                 side="right").astype(np.int64))
    return df.sort_values(["replicate", "mentee_id", "start_day"], ignore_index=True)


def _replacements(spells: pd.DataFrame) -> np.ndarray:
    """Whether each spell's nurse is a replacement: not the first nurse her post (facility)
    had in the programme. The first is the nurse of the post's earliest spell; a furloughed
    nurse coming back keeps her id and is not a replacement, and the nurse who takes a post
    after its holder left it (by turnover, or a graduate who mentored from it until she left
    it) is one."""
    first = (spells.sort_values(["start_day", "mentee_id"])
             .groupby(["replicate", "facility_id"])["mentee_id"].transform("first"))
    return (spells["mentee_id"] != first.reindex(spells.index)).to_numpy(bool)


def costs(config: Config, records: Sequence[Record]) -> pd.DataFrame:
    """The cost ledger of every replicate, with the month each cost fell in."""
    names = np.array([s.name for s in config.subcounties], dtype=object)
    starts = np.asarray(config.month_starts())
    ledgers = [rec.ledger for rec in records]
    day = np.concatenate([np.asarray(led.day, dtype=float) for led in ledgers])
    df = pd.DataFrame({  # one frame of all the records' columns, not a frame per record
        "replicate": np.concatenate([np.full(len(led.day), rec.replicate, dtype=np.int64)
                                     for rec, led in zip(records, ledgers, strict=True)]),
        "day": day,
        "month": np.searchsorted(starts, day, side="right").astype(np.int64),
        "subcounty": names[np.concatenate([np.asarray(led.subcounty, dtype=int)
                                           for led in ledgers])],
        "category": [c for led in ledgers for c in led.category],
        "who": [w for led in ledgers for w in led.who],
        "ksh": np.concatenate([np.asarray(led.ksh, dtype=float) for led in ledgers]),
    })
    df["usd"] = df["ksh"] / config.costs.ksh_per_usd
    return df


def mentors(config: Config, records: Sequence[Record]) -> pd.DataFrame:
    """One row per mentor spell: caseload, time in post, visits made."""
    names = [s.name for s in config.subcounties]
    rows = []
    for rec in records:
        made = pd.Series(np.asarray(rec.visits.column("mentor"), dtype="int64")).value_counts()
        for m in rec.mentors:
            rows.append((rec.replicate, names[m.subcounty], m.slot, m.mentor, m.caseload,
                         m.start, m.end, m.reason, m.origin, int(made.get(m.mentor, 0))))
    cols = ["replicate", "subcounty", "slot", "mentor_id", "caseload", "start_day", "end_day",
            "exit_reason", "origin", "visits"]
    df = pd.DataFrame(rows, columns=cols).astype({"start_day": "float64", "end_day": "float64",
                                                  "exit_reason": "object"})
    return df.sort_values(["replicate", "mentor_id"], ignore_index=True)


PHASE_COLUMNS = ["replicate", "phase", "subcounties", "facilities", "planned_month",
                 "planned_date", "start_month", "start_date", "delay_months", "reason",
                 "mentors_recruited", "graduates_used"]


def phases(config: Config, records: Sequence[Record]) -> pd.DataFrame:
    """The plan's timeline: one row per (replicate, scale-up phase), phases numbered in
    config order. A phase that did not start within the horizon has no start month
    (null), and its delay is counted to the horizon's month."""
    plan = config.scaleup.phases if config.scaleup else []
    counts = {s.name: s.counts.total for s in config.subcounties}
    starts = config.month_starts()

    def date(month: int | None) -> pd.Timestamp:
        if month is None or month > config.months:
            return pd.NaT
        return pd.Timestamp(config.start_date + dt.timedelta(days=starts[month - 1]))

    rows = []
    for rec in records:
        for row in sorted(rec.phases, key=lambda row: row.phase):
            phase = plan[row.phase - 1]
            reached = config.months + 1 if row.start_month is None else row.start_month
            rows.append((rec.replicate, row.phase, ", ".join(phase.subcounties),
                         sum(counts[n] for n in phase.subcounties), row.planned_month,
                         date(row.planned_month), row.start_month, date(row.start_month),
                         max(reached - row.planned_month, 0), row.reason,
                         row.mentors_recruited, row.graduates_used))
    columns = dict(zip(PHASE_COLUMNS, zip(*rows, strict=True), strict=True)) if rows else \
        dict.fromkeys(PHASE_COLUMNS, ())
    ints = ("replicate", "phase", "facilities", "planned_month", "delay_months",
            "mentors_recruited", "graduates_used")
    return pd.DataFrame({
        name: (np.array(values, np.int64) if name in ints
               else pd.array(values, dtype="Int64") if name == "start_month"
               else pd.to_datetime(pd.Series(values, dtype=object)) if name.endswith("_date")
               else np.array(values, dtype=object))
        for name, values in columns.items()})


def timeline(phases: pd.DataFrame) -> pd.DataFrame:
    """The plan's timeline summarised across replicates: a row per phase (per scenario, in
    a batch) with its planned month, the mean, earliest and latest actual start, how many
    replicates it did not start in, the share delayed, its reasons with their counts, and
    the mean mentors recruited and graduates used."""
    keys = ["scenario", "phase"] if "scenario" in phases.columns else ["phase"]
    rows = []
    for key, grp in phases.groupby(keys, sort=False):
        started = grp["start_month"].dropna().astype(float)
        reasons = grp["reason"].value_counts()
        rows.append({
            **dict(zip(keys, key if isinstance(key, tuple) else (key,), strict=True)),
            "subcounties": grp["subcounties"].iloc[0],
            "facilities": grp["facilities"].iloc[0],
            "planned_month": grp["planned_month"].iloc[0],
            "start_month_mean": started.mean() if len(started) else None,
            "start_month_min": started.min() if len(started) else None,
            "start_month_max": started.max() if len(started) else None,
            "not_started": len(grp) - len(started),
            "share_delayed": float((grp["delay_months"] > 0).mean()),
            "reasons": "; ".join(f"{r} ({n} of {len(grp)})" for r, n in reasons.items()),
            "mentors_recruited": grp["mentors_recruited"].mean(),
            "graduates_used": grp["graduates_used"].mean(),
        })
    return pd.DataFrame(rows)


def _fiscal_frame(config: Config) -> dict[str, np.ndarray]:
    """The fiscal years a scenario runs through, column by column: label, whole-year
    dates, the programme's first and last day in each, and its months starting in it."""
    start, horizon = config.start_date, config.horizon_days
    years = config.fiscal_years()
    month_starts = np.asarray(config.month_starts()[:-1])
    first = np.array([max(y.start, 0.0) for y in years])
    last = np.array([min(y.end, horizon) for y in years])
    return {
        "fiscal_year": np.array([y.label for y in years], dtype=object),
        "year_start": pd.to_datetime([start + dt.timedelta(days=y.start) for y in years]),
        "year_end": pd.to_datetime([start + dt.timedelta(days=y.end) for y in years]),
        "first_day": first,
        "last_day": last,
        "programme_months": ((month_starts[None, :] >= first[:, None])
                             & (month_starts[None, :] < last[:, None])).sum(axis=1),
    }


def _fiscal_index(config: Config, days: np.ndarray) -> np.ndarray:
    """Index of the fiscal year each day falls in."""
    starts = np.array([y.start for y in config.fiscal_years()])
    return np.searchsorted(starts, np.asarray(days, dtype=float), side="right") - 1


def budget(config: Config, ledger: pd.DataFrame) -> pd.DataFrame:
    """Costs by government fiscal year and category against the scale-up's annual cap: a
    row per (replicate, fiscal year). ``year_start`` and ``year_end`` bound the whole year;
    ``programme_months`` counts the programme's months that start in it (a first or last
    year may be cut short by the start date or the horizon)."""
    years = _fiscal_frame(config)
    n_years, n_cats = len(years["fiscal_year"]), len(CATEGORIES)
    reps = np.sort(ledger["replicate"].unique())
    rep = np.searchsorted(reps, ledger["replicate"].to_numpy())
    year = _fiscal_index(config, ledger["day"].to_numpy())
    category = pd.Categorical(ledger["category"], categories=list(CATEGORIES)).codes
    cells = np.zeros(len(reps) * n_years * n_cats)  # summed in ledger order, as a groupby would
    np.add.at(cells, (rep * n_years + year) * n_cats + category, ledger["ksh"].to_numpy(float))
    cells = cells.reshape(-1, n_cats)
    total = cells.sum(axis=1)
    cap = config.scaleup.annual_budget_ksh if config.scaleup else None
    cap = np.full(len(total), np.nan if cap is None else float(cap))
    columns = {"replicate": np.repeat(reps, n_years).astype(np.int64)}
    for col in ("fiscal_year", "year_start", "year_end", "programme_months"):
        columns[col] = np.tile(np.asarray(years[col]), len(reps))
    columns.update(zip(COST_COLS, cells.T, strict=True))
    columns.update(cost_total=total, annual_budget_ksh=cap, share_of_budget=total / cap)
    return pd.DataFrame(columns)


def workforce(config: Config, records: Sequence[Record], spells: pd.DataFrame,
              mentor_spells: pd.DataFrame) -> pd.DataFrame:
    """Mentors and their workload by fiscal year: a row per (replicate, fiscal year).

    * ``mentor_years``: time in post of all mentors; ``mentors_in_post``: at the year's
      last programme day; ``mentors_recruited``, ``graduates_promoted``, ``mentors_left``:
      mentor spells that began (as a recruit or a graduate) or ended in attrition in it;
    * ``release_days_available``: release days of the mentors in post, net of absence
      (expected: ``release_days_per_week / 7`` of each day in post, times one less the
      absence probability); ``release_days_used``: mentor-days with at least one visit;
    * ``workload_pressure``: visit hours the enrolled nurses need at the target interval
      (visit plus travel, by setting) over the hours of the available release days. In
      the spirit of WHO's Workload Indicators of Staffing Need: above 1, the mentors in
      post cannot keep every nurse to the target interval.
    """
    years = _fiscal_frame(config)
    n_years = len(years["fiscal_year"])
    first, last = years["first_day"], years["last_day"]

    def overlap(start: np.ndarray, end: np.ndarray) -> np.ndarray:  # spells x years, days
        lo = np.maximum(np.asarray(start, float)[:, None], first[None, :])
        hi = np.minimum(np.asarray(end, float)[:, None], last[None, :])
        return np.clip(hi - lo, 0.0, None)

    names = [s.name for s in config.subcounties]
    # columns as arrays, selected per replicate by a mask: pandas' cost per call would
    # otherwise dominate a batch's chunk of small replicates
    m_rep = mentor_spells["replicate"].to_numpy()
    m_start = mentor_spells["start_day"].to_numpy(float)
    m_end = mentor_spells["end_day"].to_numpy(float)
    recruit = (mentor_spells["origin"] == "recruit").to_numpy(bool)
    graduate = (mentor_spells["origin"] == "graduate").to_numpy(bool)
    attrition = (mentor_spells["exit_reason"] == "attrition").to_numpy(bool)
    n_rep = spells["replicate"].to_numpy()
    n_start = spells["start_day"].to_numpy(float)
    n_end = spells["end_day"].to_numpy(float)
    n_sub = pd.Categorical(spells["subcounty"], categories=names).codes
    ends = last - 1e-9
    rows = []
    for rec in records:
        r = rec.replicate
        m = replicate_config(config, rec).mentor  # a posterior draw may set its values
        hours = np.array([m.visit_hours + getattr(m.travel_hours, s.setting)
                          for s in config.subcounties])
        mine, nurses = m_rep == r, n_rep == r
        start, end = m_start[mine], m_end[mine]
        in_post = overlap(start, end).sum(axis=0)
        began = _fiscal_index(config, start)
        ended = _fiscal_index(config, end)
        at_end = ((start[:, None] <= ends[None, :]) & (end[:, None] > ends[None, :])).sum(axis=0)
        day = np.asarray(rec.visits.column("day"), float)
        mentor = np.asarray(rec.visits.column("mentor"), float)
        days = np.unique(np.column_stack([day, mentor]), axis=0)[:, 0]  # mentor-days
        used = np.bincount(_fiscal_index(config, days), minlength=n_years)[:n_years]
        enrolled = overlap(n_start[nurses], n_end[nurses])
        needed = (enrolled * hours[n_sub[nurses]][:, None]).sum(axis=0) / m.target_interval_days
        available = in_post * m.release_days_per_week / 7 * (1 - m.absence_probability)
        for k in range(n_years):
            rows.append((r, years["fiscal_year"][k], in_post[k] / 365.25, int(at_end[k]),
                         int(((began == k) & recruit[mine]).sum()),
                         int(((began == k) & graduate[mine]).sum()),
                         int(((ended == k) & attrition[mine]).sum()),
                         available[k], int(used[k]), needed[k],
                         needed[k] / (available[k] * m.workday_hours) if available[k] else np.nan))
    return pd.DataFrame(rows, columns=[
        "replicate", "fiscal_year", "mentor_years", "mentors_in_post", "mentors_recruited",
        "graduates_promoted", "mentors_left", "release_days_available", "release_days_used",
        "visit_hours_needed", "workload_pressure"])


def replicate_config(config: Config, rec: Record) -> Config:
    """The config a replicate ran with: ``config`` with its posterior draw's values, if any."""
    return config if rec.draw is None else config.with_values(rec.draw.values)


def parameters(records: Sequence[Record]) -> pd.DataFrame:
    """A row per replicate that ran with a parameter set of its own (a posterior draw, a
    setting's spread): the draw's row in the posterior file (from 1; null without one) and
    the values set; empty when no replicate did."""
    rows = [{"replicate": rec.replicate,
             "draw": None if rec.draw.index is None else rec.draw.index + 1, **rec.draw.values}
            for rec in records if rec.draw is not None]
    return pd.DataFrame(rows)


#: The study's bins of visits received (its Table 1), by their lowest count; the last is open.
VISIT_BINS = {"0_4": 0, "5_8": 5, "9_12": 9, "over_12": 13}
#: How many of the last programme months the visits-received bins count (the pilot's year).
VISITS_WINDOW_MONTHS = 12
GROUPS = ("originals", "replacements")

TURNOVER_COLUMNS = [
    "replicate", "subcounty", "posts", "originals", "left_turnover", "left_furlough",
    "furlough_returns", "left_graduated", "replacements", "graduates_replaced",
    "vacancies_at_horizon", "visits_window_months",
    *(f"{g}_{c}" for g in GROUPS for c in ("at_horizon", "months_mean", "visits_mean",
                                            *(f"visits_{b}" for b in VISIT_BINS)))]


def turnover(config: Config, records: Sequence[Record], spells: pd.DataFrame) -> pd.DataFrame:
    """Nurse turnover and replacement, and the visits the nurses at the horizon received: a
    row per (replicate, subcounty), subcounties in config order (one not yet in the
    programme has a row of zeros).

    * ``originals``: nurses enrolled as their post's first in the programme; ``left_*``:
      spells ended by turnover, furlough or graduation; ``furlough_returns``: spells
      begun by a furloughed nurse coming back; ``replacements``: nurses enrolled in a post
      after its earlier nurse left it (``mentees.parquet``'s ``replacement``), of which
      ``graduates_replaced`` followed a graduate who had mentored from the post until she
      left it; ``vacancies_at_horizon``: posts whose last nurse left by turnover and whose
      successor was not enrolled by the horizon (the vacancy, or a furloughed facility's
      return, still awaited). So ``left_turnover + graduates_replaced = replacements +
      vacancies_at_horizon``.
    * For the nurses enrolled at the horizon, originals and replacements apart: how many,
      their mean months enrolled (all spells, to the horizon, in programme months: a nurse
      in post throughout the pilot has 12), their mean visits received in the last
      ``visits_window_months`` months of the programme (12, or the whole programme if
      shorter, as the study counted a 12-month programme's visits) and how many received
      0-4, 5-8, 9-12 or more than 12 of them (the study's bins).
    """
    names = [s.name for s in config.subcounties]
    n_sub, bins = len(names), len(VISIT_BINS)
    reps = np.array(sorted(rec.replicate for rec in records), dtype=np.int64)
    cells = len(reps) * n_sub
    sub = pd.Categorical(spells["subcounty"], categories=names).codes.astype(np.int64)
    cell = np.searchsorted(reps, spells["replicate"].to_numpy()) * n_sub + sub

    def count(mask: np.ndarray, where: np.ndarray = cell) -> np.ndarray:
        return np.bincount(where[mask], minlength=cells)

    reason = spells["exit_reason"].to_numpy(object)
    out: dict[str, np.ndarray] = {
        "replicate": np.repeat(reps, n_sub),
        "subcounty": np.tile(np.array(names, dtype=object), len(reps)),
        "posts": np.tile(np.array([s.counts.total for s in config.subcounties], np.int64),
                         len(reps)),
    }
    # a row per nurse, in her post's order of nurses: when she joined, her time enrolled,
    # how her last spell ended, and the post's previous nurse's last exit
    starts = np.asarray(config.month_starts())
    month = np.arange(len(starts), dtype=float)  # day -> programme months since day 0
    span = (np.interp(spells["end_day"].to_numpy(float), starts, month)
            - np.interp(spells["start_day"].to_numpy(float), starts, month))
    order = spells.assign(_cell=cell, _months=span,
                          _open=spells["exit_reason"].isna()).sort_values(
        ["replicate", "facility_id", "start_day", "mentee_id"])
    by_nurse = order.groupby(["replicate", "mentee_id"], sort=False)
    nurses = order.drop_duplicates(["replicate", "mentee_id"], keep="last").set_index(
        ["replicate", "mentee_id"])
    nurses = nurses.assign(
        _joined=by_nurse["start_day"].min(), _months=by_nurse["_months"].sum()).sort_values(
        ["replicate", "facility_id", "_joined", "mentee_id"])
    facility = nurses[["facility_id"]].reset_index()[["replicate", "facility_id"]]
    same_post = (facility == facility.shift()).all(axis=1).to_numpy()
    last_reason = nurses["exit_reason"].to_numpy(object)
    previous = np.r_[None, last_reason[:-1]]
    replacement = nurses["replacement"].to_numpy(bool)
    ncell = nurses["_cell"].to_numpy(np.int64)
    last_of_post = np.r_[~same_post[1:], True]
    out.update(
        originals=count(~replacement, ncell),
        left_turnover=count(reason == "turnover"),
        left_furlough=count(reason == "furlough"),
        furlough_returns=count(np.ones(len(cell), bool)) - count(np.ones(len(ncell), bool), ncell),
        left_graduated=count(reason == "graduated"),
        replacements=count(replacement, ncell),
        graduates_replaced=count(replacement & same_post & (previous == "graduated"), ncell),
        vacancies_at_horizon=count(last_of_post & (last_reason == "turnover"), ncell),
        visits_window_months=np.full(cells, min(VISITS_WINDOW_MONTHS, config.months), np.int64),
    )
    # the nurses at the horizon: their visits within the window, from the visit log
    at_end = nurses[nurses["_open"].to_numpy(bool)]
    since = starts[max(config.months - VISITS_WINDOW_MONTHS, 0)]
    received = np.zeros(len(at_end), np.int64)
    rep_of, ids = at_end.index.get_level_values(0), at_end.index.get_level_values(1)
    for rec in records:
        mine = np.flatnonzero(rep_of == rec.replicate)
        if not len(mine):
            continue
        who = np.asarray(rec.visits.column("mentee"), np.int64)
        day = np.asarray(rec.visits.column("day"), float)
        per = np.bincount(who[day >= since], minlength=int(ids[mine].max()) + 1)
        received[mine] = per[ids[mine]]
    group = at_end["replacement"].to_numpy(bool)
    ecell = at_end["_cell"].to_numpy(np.int64)
    k = np.searchsorted(list(VISIT_BINS.values()), received, side="right") - 1
    for g, mask in zip(GROUPS, (~group, group), strict=True):
        n = count(mask, ecell)
        with np.errstate(invalid="ignore", divide="ignore"):
            months = np.bincount(ecell[mask], at_end["_months"].to_numpy(float)[mask],
                                 minlength=cells) / n
            visits = np.bincount(ecell[mask], received[mask], minlength=cells) / n
        binned = np.bincount(ecell[mask] * bins + k[mask], minlength=cells * bins).reshape(
            cells, bins)
        out[f"{g}_at_horizon"] = n
        out[f"{g}_months_mean"] = months
        out[f"{g}_visits_mean"] = visits
        for j, b in enumerate(VISIT_BINS):
            out[f"{g}_visits_{b}"] = binned[:, j]
    return pd.DataFrame({c: out[c] for c in TURNOVER_COLUMNS})


ALL_SUBCOUNTIES = "all subcounties"


def turnover_summary(table: pd.DataFrame) -> pd.DataFrame:
    """The turnover table summarised across replicates: a row per subcounty (per scenario, in
    a batch), then one for all its subcounties together. Counts are means per replication;
    the nurses at the horizon are pooled over replications (and subcounties), so their mean
    months and visits are per nurse, and ``<group>_share_<bin>`` is the share of the group's
    nurses at the horizon whose visits fall in the bin."""
    keys = ["scenario"] if "scenario" in table.columns else []
    counts = ["posts", "originals", "left_turnover", "left_furlough", "furlough_returns",
              "left_graduated", "replacements", "graduates_replaced", "vacancies_at_horizon",
              *(f"{g}_at_horizon" for g in GROUPS)]
    pooled = [f"{g}_visits_{b}" for g in GROUPS for b in VISIT_BINS]
    df = table.copy()
    for g in GROUPS:
        for stat in ("months_mean", "visits_mean"):
            df[f"{g}_{stat}"] = (df[f"{g}_{stat}"] * df[f"{g}_at_horizon"]).fillna(0.0)
    weighted = [f"{g}_{stat}" for g in GROUPS for stat in ("months_mean", "visits_mean")]
    summed = [*counts, *pooled, *weighted]
    together = (df.groupby([*keys, "replicate"], sort=False)
                .agg({**dict.fromkeys(summed, "sum"), "visits_window_months": "first"})
                .reset_index().assign(subcounty=ALL_SUBCOUNTIES))
    both = pd.concat([df, together], ignore_index=True)
    if keys:  # each scenario's subcounties in their order, then all of them
        first = {s: i for i, s in enumerate(dict.fromkeys(table["scenario"]))}
        both = both.assign(_o=both["scenario"].map(first)).sort_values("_o", kind="stable")
    grouped = both.groupby([*keys, "subcounty"], sort=False)
    means = grouped[counts].mean()
    sums = grouped[[*pooled, *weighted, *(f"{g}_at_horizon" for g in GROUPS)]].sum()
    out = means.assign(visits_window_months=grouped["visits_window_months"].first())
    with np.errstate(invalid="ignore", divide="ignore"):
        for g in GROUPS:
            n = sums[f"{g}_at_horizon"].where(sums[f"{g}_at_horizon"] > 0)
            out[f"{g}_months_mean"] = sums[f"{g}_months_mean"] / n
            out[f"{g}_visits_mean"] = sums[f"{g}_visits_mean"] / n
            for b in VISIT_BINS:
                out[f"{g}_share_{b}"] = sums[f"{g}_visits_{b}"] / n
    return out.reset_index()


def timeseries(config: Config, records: Sequence[Record], ledger: pd.DataFrame) -> pd.DataFrame:
    """Replicate x subcounty x month: competency, activity, stock-outs and costs.

    Competency, enrolment, mentors and group members are read at the month's
    end (``month_end``, the first day of the next month); visits, posts,
    stock-out days and costs are totals over the month. Month 0 is the
    baseline reading on day 0, with no flows.
    """
    names = np.array([s.name for s in config.subcounties], dtype=object)
    months = [(rec.replicate, m) for rec in records for m in rec.months]
    n = len(months)

    def column(field: str, dtype: type) -> np.ndarray:
        return np.array([getattr(m, field) for _, m in months], dtype=dtype)

    replicate = np.array([r for r, _ in months], dtype=np.int64)
    sub, month = column("subcounty", np.intp), column("month", np.int64)
    enrolled = column("mentees", np.int64)
    scores = np.array([m.mean_score for _, m in months], dtype=float).reshape(n, len(AREAS))
    in_post = column("nurses_in_post", np.int64)
    level_sum = column("level_sum_in_post", float)
    starts = config.month_starts()
    dates = np.array([np.datetime64(config.start_date + dt.timedelta(days=d), "s")
                      for d in starts])
    df = pd.DataFrame({
        "replicate": replicate,
        "subcounty": names[sub],
        "month": month,
        "month_start": dates[np.maximum(month - 1, 0)],
        "month_end": dates[month],
        "active_mentees": enrolled,
        "proficient_mentees": column("proficient", np.int64),
        "active_mentors": column("mentors", np.int64),
        "whatsapp_groups": column("groups", np.int64),
        "whatsapp_members": column("members", np.int64),
        "stockout_facility_days": column("stockout_days", float),
        "mean_score": np.where(enrolled > 0, scores.mean(axis=1), np.nan),
        **{col: scores[:, a] for a, col in enumerate(SCORE_COLS)},
        "points_above_baseline": column("points_above_baseline", float),
        "newly_proficient": column("newly_proficient", np.int64),
        "nurses_in_post": in_post,
        "mean_score_in_post": np.divide(level_sum, in_post, out=np.full(n, np.nan),
                                        where=in_post > 0),
        "proficient_in_post": column("proficient_in_post", np.int64),
    })
    # each (replicate, subcounty, month)'s row, for the totals over the month
    replicates, rep = np.unique(replicate, return_inverse=True)
    shape = (len(replicates), len(names), int(month.max(initial=0)) + 1)
    row = np.full(shape, -1, dtype=np.intp)
    row[rep, sub, month] = np.arange(n)
    month_of = np.asarray(starts)

    def rows_of(reps: np.ndarray, subs: np.ndarray, days: np.ndarray) -> np.ndarray:
        """The row of each event (-1: none, past the last reading)."""
        at = np.searchsorted(month_of, days, side="right")
        ok = at < shape[2]
        out = np.full(len(days), -1, dtype=np.intp)
        out[ok] = row[np.searchsorted(replicates, reps[ok]), subs[ok], at[ok]]
        return out

    for name, events in (("visits", "visits"), ("whatsapp_posts", "posts")):
        logs = [(rec.replicate, getattr(rec, events)) for rec in records]
        at = rows_of(np.concatenate([np.full(len(log), r, np.int64) for r, log in logs]),
                     np.concatenate([np.asarray(log.column("subcounty"), np.intp)
                                     for _, log in logs]),
                     np.concatenate([np.asarray(log.column("day"), float) for _, log in logs]))
        df[name] = np.bincount(at[at >= 0], minlength=n).astype(np.int64)
    at = rows_of(ledger["replicate"].to_numpy(np.int64),
                 pd.Index(names).get_indexer(ledger["subcounty"]),
                 ledger["day"].to_numpy(float))
    category = pd.Index(CATEGORIES).get_indexer(ledger["category"])
    kept = at >= 0
    cost = np.bincount(at[kept] * len(CATEGORIES) + category[kept],
                       weights=ledger["ksh"].to_numpy(float)[kept],
                       minlength=n * len(CATEGORIES)).reshape(n, len(CATEGORIES))
    for c, col in enumerate(COST_COLS):
        df[col] = cost[:, c]
    df["cost_total"] = df[COST_COLS].sum(axis=1)
    return df.sort_values(["replicate", "subcounty", "month"], ignore_index=True)


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
    # originals and replacements apart (a nurse is one or the other on all her spells)
    replaced = spells["replacement"].astype(bool)
    newcomers = (spells["mentee_id"].where(replaced).groupby(spells["replicate"]).nunique()
                 .reindex(people.index, fill_value=0))
    originals = people - newcomers
    late = spells["visits"].where(replaced, 0).groupby(spells["replicate"]).sum()
    visits = {True: late, False: by_rep["visits"].sum() - late}
    return pd.DataFrame({
        "mean_competency_at_horizon": end_groups["final_mean_score"].mean(),
        "share_all_areas_3_or_above": proficient,
        "visits_per_mentee": by_rep["visits"].sum() / people,
        "competency_points_gained": gained,
        "total_cost_ksh": total,
        "total_cost_usd": total / ksh_per_usd,
        "cost_per_mentee_ksh": total / people,
        "cost_per_competency_point_ksh": total / gained.where(gained > 0),
        "replacements": newcomers,
        "visits_per_original_nurse": visits[False] / originals.where(originals > 0),
        "visits_per_replacement_nurse": visits[True] / newcomers.where(newcomers > 0),
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


EFFECTS = ("competency_point_years", "proficient_nurse_months", "proficient_nurses_at_end")

#: The per-replicate outcomes of a batch's ``outcomes`` table: :func:`outcomes`' columns, then
#: :func:`economics`' (a test keeps them equal to the table's).
OUTCOMES = ("mean_competency_at_horizon", "share_all_areas_3_or_above", "visits_per_mentee",
            "competency_points_gained", "total_cost_ksh", "total_cost_usd",
            "cost_per_mentee_ksh", "cost_per_competency_point_ksh", "replacements",
            "visits_per_original_nurse", "visits_per_replacement_nurse",
            "cost_discounted_ksh", *EFFECTS)

#: Each effect's unit, singular and plural, for table headers and axis labels.
EFFECT_UNITS = {
    "competency_point_years": ("competency-point-year", "competency-point-years"),
    "proficient_nurse_months": ("proficient-nurse-month", "proficient-nurse-months"),
    "proficient_nurses_at_end": ("nurse proficient at the end", "nurses proficient at the end"),
}

#: How every effect measure is defined, for the docs and the CEA outputs.
EFFECT_DEFINITION = (
    "Effects count every nurse serving a programme post (enrolled mentees, and graduates "
    "mentoring from their own posts) against her own baseline when she took the post, summed "
    "over every facility of the scenario from day 0 to the horizon; a post that is vacant, "
    "furloughed or not yet in the programme adds nothing. competency_point_years: her mean "
    "checklist level above her baseline's, over the years it is held; proficient_nurse_months: "
    "months in which she has every area at level 3 or above and did not at baseline; "
    "proficient_nurses_at_end: such nurses at the horizon. Effects are discounted from the "
    "middle of each month (the end, for the last one)."
)


def economics(ledger: pd.DataFrame, ts: pd.DataFrame, rate: float,
              keys: Sequence[str] = ("replicate",)) -> pd.DataFrame:
    """Discounted cost and effects per group of ``keys`` (e.g. scenario and replicate, or
    replicate and subcounty).

    * ``cost_discounted_ksh``: every ledger entry discounted from its day;
    * the effects of :data:`EFFECTS` (see :data:`EFFECT_DEFINITION`), read from the
      timeseries' ``points_above_baseline`` and ``newly_proficient``: each month's
      reading holds for that month, discounted from its middle.

    Because each nurse is measured against her own baseline and a post outside the
    programme adds nothing, the same programme written with or without phases has the
    same effect, and a later phase adds in proportion to its nurses and months.
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
    months = ts["month"].to_numpy() > 0
    points = ts["points_above_baseline"].to_numpy(dtype=float)
    newly = ts["newly_proficient"].to_numpy(dtype=float)
    flows = pd.DataFrame({
        "competency_point_years": np.where(months, points * length / 365.25 * df, 0),
        "proficient_nurse_months": np.where(months, newly * length / (365.25 / 12) * df, 0),
    })
    last = ts["month"].to_numpy() == ts["month"].max()
    flows["proficient_nurses_at_end"] = np.where(last, newly * discount_factor(days_end, rate), 0)
    for k in keys:
        flows[k] = ts[k].to_numpy()
    return out.join(flows.groupby(keys).sum(), how="outer").fillna(0.0).reset_index()
