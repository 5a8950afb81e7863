"""Evaluating a programme: validation against a study's results, and survey power.

:func:`validate` sets the observed results of one arm (a targets file) beside
the model's 90 % prediction interval: the spread across replicates of what the
same survey would have found, including its own sampling noise at the study's
sample sizes. :func:`power` asks the converse for a county planning its own
evaluation: with an endline survey of ``n`` mentees, how likely is each item's
gain to be significant (McNemar, p < 0.05)?
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from sim import config as cfgmod
from sim import metrics, survey
from sim.config import OWNERSHIPS, Config, ConfigError
from sim.execution import progress
from sim.engines import simulate
from sim.rng import Streams

LOW, HIGH = 0.05, 0.95


def _interval(name: str, kind: str, wave: str, observed: float, n: int,
              simulated: np.ndarray, share: bool = True) -> dict:
    """One target's row. Shares are compared as counts of ``n``: the study published
    rounded percentages of whole respondents (16 of 17 is printed as 0.94)."""
    lo, hi = np.quantile(simulated, [LOW, HIGH])
    exact = round(observed * n) / n if share else observed
    return {"target": name, "kind": kind, "wave": wave, "observed": observed, "n": n,
            "simulated_mean": float(np.mean(simulated)), "simulated_p5": float(lo),
            "simulated_p95": float(hi), "inside": bool(lo - 1e-9 <= exact <= hi + 1e-9)}


def validate(cfg: Config, targets: survey.Targets, reps: int = 200, seed: int = 0) -> pd.DataFrame:
    """Observed vs simulated for every target: survey items, visit bins, drop-outs and
    checklist scores. With a posterior in ``cfg`` each replicate runs with its own draw,
    so the intervals are posterior predictive ones."""
    if targets.shares():
        survey.check_items(cfg, targets)
    names = [s.name for s in cfg.subcounties]
    if targets.subcounty not in names:
        raise ConfigError(f"{cfg.name}: subcounties: no {targets.subcounty}, which the targets describe")
    if len(names) > 1:
        cfg = cfgmod.from_dict(
            {**cfg.to_dict(), "subcounties": [s.model_dump() for s in cfg.subcounties
                                              if s.name == targets.subcounty]}, cfg.name)
    records = [simulate(cfg, seed, r) for r in range(reps)]
    rows = []
    if targets.shares():
        resp = survey.respondents(cfg, records)
        resp["p"] = survey.probabilities(resp)
        mean_p = resp.groupby(["item", "wave", "replicate"])["p"].mean()
    for item, (kind, s0, s1) in targets.shares().items():
        for wave, observed in zip(survey.WAVES, (s0, s1), strict=True):
            if observed is None:
                continue
            n = targets.n(kind, wave)
            p = (mean_p.loc[(item, wave)] if (item, wave) in mean_p.index.droplevel(2)
                 else pd.Series(dtype=float)).reindex(range(reps), fill_value=0.0).to_numpy()
            # the survey's own noise: n respondents answering at the replicate's rate
            sampled = np.array([Streams(seed, r)(f"survey.validation.{item}.{wave}").binomial(n, p[r])
                                for r in range(reps)]) / n
            rows.append(_interval(item, kind, wave, observed, n, sampled))
    mentees = metrics.mentees(cfg, records)
    if targets.visits_received:
        bins = survey.visits_received(mentees, list(targets.visits_received)).reindex(
            range(reps), fill_value=0.0)
        for label, observed in targets.visits_received.items():
            rows.append(_interval(f"visits {label}", "visits", "endline", observed,
                                  targets.sample_sizes.visits_received, bins[label].to_numpy()))
    facilities = cfg.subcounties[0].counts.total
    for name, sim in survey.dropouts(mentees, reps).items():
        observed = getattr(targets.dropouts, name)
        if observed is not None:
            rows.append(_interval(name, "dropouts", "endline", observed, facilities, sim,
                                  share=False))
    if targets.checklist is not None:
        c = targets.checklist
        for month, observed in c.by_month.items():
            # each replicate's mean score, and the mentors' sampling of n mentees around it
            noise = np.array([Streams(seed, r)(f"survey.validation.checklist.{month}")
                              .standard_normal() for r in range(reps)])
            rows.append(_interval(f"checklist month {month}", "checklist",
                                  "baseline" if month == 0 else "endline", observed, c.n,
                                  survey.checklist_scores(records, month)
                                  + noise * c.sd / np.sqrt(c.n), share=False))
    return pd.DataFrame(rows)


def target_keys(targets: survey.Targets) -> set[tuple[str, str]]:
    """``(target, wave)`` of every result a targets file reports, named as :func:`validate`
    names its rows."""
    keys = {(item, wave) for item, (_, *shares) in targets.shares().items()
            for wave, share in zip(survey.WAVES, shares, strict=True) if share is not None}
    keys |= {(f"visits {label}", "endline") for label in targets.visits_received}
    keys |= {(name, "endline") for name, v in targets.dropouts.model_dump().items()
             if v is not None}
    if targets.checklist is not None:
        keys |= {(f"checklist month {m}", "baseline" if m == 0 else "endline")
                 for m in targets.checklist.by_month}
    return keys


def held_out(table: pd.DataFrame, fitted: survey.Targets) -> pd.Series:
    """Which rows of a :func:`validate` table a calibration to ``fitted`` never saw: the
    targets that show whether a fit transfers."""
    seen = target_keys(fitted)
    return pd.Series([(t, w) not in seen for t, w in zip(table["target"], table["wave"],
                                                          strict=True)],
                     index=table.index, name="held_out")


def simulated_study(cfg: Config, like: survey.Targets, seed: int,
                    replicate: int = 0) -> survey.Targets:
    """The results one simulated study of ``cfg`` would report, in the form of ``like``
    (the same items, waves, visit bins and drop-out counts): replicate ``replicate``
    surveyed as the study was, each respondent answering by chance. For recovery
    checks: calibrated to these, a fit should find ``cfg``'s values."""
    rec = simulate(cfg, seed, replicate)
    answers = survey.answer(survey.respondents(cfg, [rec]), seed)
    right = answers.groupby(["item", "wave"])["correct"].agg(["sum", "size"])
    sizes: dict[str, list[int | None]] = {}
    doc: dict = {"subcounty": like.subcounty, "knowledge": {}, "skills": {}}
    for item, (kind, *shares) in like.shares().items():
        row = []
        for wave, share in zip(survey.WAVES, shares, strict=True):
            k, m = right.loc[(item, wave)] if (item, wave) in right.index else (0, 0)
            row.append(None if share is None or not m else float(k / m))
            n = sizes.setdefault(kind, [None, None])
            if row[-1] is not None and cfg.survey.items[item].supply is None:
                n[survey.WAVES.index(wave)] = max(n[survey.WAVES.index(wave)] or 0, int(m))
        doc[kind][item] = row
    mentees = metrics.mentees(cfg, [rec])
    enrolled = mentees[mentees["exit_reason"].isna()]
    doc["sample_sizes"] = {k: tuple(v) for k, v in sizes.items()}
    if like.visits_received and len(enrolled):
        bins = survey.visits_received(mentees, list(like.visits_received))
        doc["visits_received"] = {b: float(bins[b].iloc[0]) for b in like.visits_received}
        doc["sample_sizes"]["visits_received"] = len(enrolled)
    doc["dropouts"] = {k: int(v[0]) for k, v in survey.dropouts(mentees, 1).items()
                       if getattr(like.dropouts, k) is not None}
    return survey.Targets.model_validate(doc)


def study_tables(cfg: Config, reps: int = 200, seed: int = 0) -> pd.DataFrame:
    """The simulated version of the study's tables, with spread across replicates."""
    records = [simulate(cfg, seed, r) for r in range(reps)]
    answers = survey.answer(survey.respondents(cfg, records), seed)
    return survey.summarise(survey.study_table(answers), cfg)


def scale_to(cfg: Config, n: int) -> Config:
    """The config with ``n`` facilities, keeping each subcounty's ownership mix.

    Counts are apportioned by largest remainder, so they add up to ``n`` exactly;
    a listed subcounty's facilities become counts.
    """
    cells = [(s, o) for s in range(len(cfg.subcounties)) for o in OWNERSHIPS]
    counts = np.array([cfg.subcounties[s].counts[o] for s, o in cells], dtype=float)
    exact = counts / counts.sum() * n
    whole = np.floor(exact).astype(int)
    order = np.argsort(-(exact - whole), kind="stable")
    whole[order[: n - whole.sum()]] += 1
    data = cfg.to_dict()
    for sub in data["subcounties"]:
        sub["facilities"] = {}
    for (s, o), k in zip(cells, whole, strict=True):
        data["subcounties"][s]["facilities"][o] = int(k)
    data["subcounties"] = [sub for sub in data["subcounties"]
                           if sum(sub["facilities"].values()) > 0]
    return cfgmod.from_dict(data, cfg.name)


#: Keys the evaluation study's random numbers apart from the projection's: the study a county
#: would run sees nurses and answers of its own.
STUDY_STREAM = 7919


def study_summaries(cfg: Config, worlds: Sequence[dict[str, float]], seed: int, n: int,
                    months: int = 12) -> np.ndarray:
    """What an evaluation of ``n`` facilities would find in each of ``worlds`` (worlds x 2):
    the mean share right over the survey's knowledge and skills items at its baseline and
    its endline.

    A world is a parameter set, by dotted key, that ``cfg`` is run with (a projection's
    replicate: its posterior draw, setting values and sensitivity-analysis draws). The
    study is the pilot's design in that world: the first subcounty's mix of ``n``
    facilities mentored for ``months`` months and surveyed before and after, with random
    numbers of its own.
    """
    if cfg.survey is None:
        raise ConfigError(f"{cfg.name}: survey: the config has no survey block, so no "
                          "evaluation survey can be simulated")
    if n < 2:
        raise ConfigError(f"--survey: each survey size must be at least 2, got {n}")
    data = {**cfg.to_dict(), "months": months, "scaleup": None, "uncertainty": {}}
    data["subcounties"] = data["subcounties"][:1]
    design = scale_to(cfgmod.from_dict(data, f"{cfg.name} evaluation"), n)
    study_seed = int(np.random.SeedSequence([seed, STUDY_STREAM]).generate_state(1)[0])
    items = [name for name, item in cfg.survey.items.items() if item.supply is None]
    out = np.empty((len(worlds), 2))
    for r, values in enumerate(worlds):
        study = design.with_values(values)
        answers = survey.answer(survey.respondents(study, [simulate(study, study_seed, r)]),
                                study_seed)
        answers = answers[answers["item"].isin(items)]
        shares = answers.groupby(["wave", "item"])["correct"].mean().groupby("wave").mean()
        out[r] = shares.reindex(list(survey.WAVES)).to_numpy()
    return out


def power(cfg: Config, sizes: Sequence[int], reps: int = 200, seed: int = 0) -> pd.DataFrame:
    """Chance that an endline survey of ``n`` mentees finds each item's gain significant.

    For each ``n`` the programme is run with ``n`` facilities (the config's mix)
    and surveyed as the study was; an item counts as a success in a replicate
    when McNemar's p < 0.05 and its share rose.
    """
    if cfg.survey is None:
        raise ConfigError(f"{cfg.name}: survey: the config has no survey block")
    small = [n for n in sizes if n < 2]
    if small:  # before any size is simulated
        raise ConfigError(f"--n: each survey size must be at least 2, got {small[0]}")
    out = {}
    with progress(len(sizes) * reps, cfg.name, "rep") as bar:
        for n in sizes:
            scaled = scale_to(cfg, n)
            records = []
            for r in range(reps):
                records.append(simulate(scaled, seed, r))
                bar.update()
            answers = survey.answer(survey.respondents(scaled, records), seed)
            table = survey.study_table(answers)
            gain = ((table["p_value"] < survey.SIGNIFICANCE)
                    & (table["share_endline"] > table["share_baseline"]))
            out[n] = gain.groupby(table["item"]).sum() / reps
    df = pd.DataFrame(out)
    df.columns = [f"n={n}" for n in sizes]
    kinds = {name: item.kind for name, item in cfg.survey.items.items()}
    df.insert(0, "kind", [kinds[i] for i in df.index])
    order = list(cfg.survey.items)
    return df.reindex([i for i in order if i in df.index]).rename_axis("item").reset_index()
