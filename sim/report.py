"""The planner's report of a batch: one self-contained HTML page and an Excel workbook.

The HTML page embeds its figures (PNG as data URIs) and styles, so it can be
emailed or opened offline; the workbook holds every table on its own sheet for
people who work in spreadsheets. Both are built from the batch folder alone.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
from pathlib import Path

import pandas as pd
import yaml

from sim import batch, compare, metrics
from sim.information import ALL, MEASURED
from sim.scenarios import short_names
from sim.plots import (batch_figures, budget_figure, ce_plane_figure, ceac_figure,
                       expected_loss_figure, information_figure, sampling_figure,
                       timeline_figure, workforce_figure)

PAPER = ("Hossain I, Mugoya I, Muchai L, et al. Blended Learning Using Peer Mentoring and "
         "WhatsApp for Building Capacity of Health Workers for Strengthening Immunization "
         "Services in Kenya. Global Health: Science and Practice 2021;9(1):201-215, "
         "doi:10.9745/GHSP-D-20-00421")

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; color: #222; }
h1 { font-size: 1.6em; } h2 { margin-top: 1.8em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.8em 0; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
figure { margin: 1em 0; } figcaption { font-size: 0.85em; color: #555; }
img { max-width: 100%; } .note { color: #555; font-size: 0.9em; }
th[colspan] { text-align: center; } .wide { overflow-x: auto; }
"""


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _flatten(data: dict, prefix: str = "") -> list[tuple[str, object]]:
    rows: list[tuple[str, object]] = []
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            rows.extend(_flatten(value, name + "."))
        else:
            rows.append((name, value))
    return rows


def _timeline_shown(timeline: pd.DataFrame) -> pd.DataFrame:
    """The timeline as the page shows it: long lists of subcounties cut, the start range
    in one column (the workbook keeps every name and number)."""
    def span(row: pd.Series) -> str:
        if pd.isna(row["start_month_min"]):
            return "not started"
        lo, hi = int(row["start_month_min"]), int(row["start_month_max"])
        return str(lo) if lo == hi else f"{lo}-{hi}"

    shown = timeline.assign(
        subcounties=[short_names(n.split(", ")) for n in timeline["subcounties"]],
        start_month=timeline.apply(span, axis=1))
    return shown[["scenario", "phase", "subcounties", "facilities", "planned_month",
                  "start_month", "reasons", "mentors_recruited", "graduates_used"]]


#: Subcounties a scenario shows on the page, beyond which only the most turnover is shown.
SHOWN_SUBCOUNTIES = 8
TOP_SUBCOUNTIES = 5


def _turnover_shown(summary: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The turnover summary as the page shows it, in two tables: turnover and replacement,
    and the nurses at the end, originals and replacements side by side: their months
    enrolled and the visits they received, in the study's bins. Per scenario, its subcounties and all of them together, or,
    beyond :data:`SHOWN_SUBCOUNTIES`, all together and the :data:`TOP_SUBCOUNTIES` with the
    most replacements per post (the workbook keeps every subcounty)."""
    kept = []
    for _, grp in summary.groupby("scenario", sort=False):
        subs = grp[grp["subcounty"] != metrics.ALL_SUBCOUNTIES]
        total = grp[grp["subcounty"] == metrics.ALL_SUBCOUNTIES]
        if len(subs) == 1:
            kept.append(subs)
        elif len(subs) <= SHOWN_SUBCOUNTIES:
            kept += [subs, total]
        else:
            rate = subs["replacements"] / subs["posts"]
            kept += [total, subs.loc[rate.sort_values(ascending=False, kind="stable")
                                     .index[:TOP_SUBCOUNTIES]]]
    df = pd.concat(kept)

    def fmt(col: str, spec: str = ".2f", scale: float = 1.0) -> list[str]:
        return ["" if pd.isna(x) else f"{scale * x:{spec}}" for x in df[col]]

    turnover = pd.DataFrame({
        "scenario": df["scenario"], "subcounty": df["subcounty"], "posts": fmt("posts", ".0f"),
        "left by turnover": fmt("left_turnover"), "furloughed": fmt("left_furlough"),
        "graduated": fmt("left_graduated"), "replacements": fmt("replacements"),
        "vacant at end": fmt("vacancies_at_horizon")})
    # the study's bins, with hyphens and spaces a header does not break at
    labels = {"0_4": "≤4", "5_8": "5\u20118", "9_12": "9\u201112", "over_12": ">12"}
    columns = {("", "scenario"): df["scenario"], ("", "subcounty"): df["subcounty"]}
    for group in metrics.GROUPS:
        columns[(group, "nurses")] = fmt(f"{group}_at_horizon")
        columns[(group, "months")] = fmt(f"{group}_months_mean", ".1f")
        columns[(group, "visits")] = fmt(f"{group}_visits_mean")
        for b, label in labels.items():
            columns[(group, f"{label}\u00a0%")] = fmt(f"{group}_share_{b}", ".0f", 100)
    return turnover, pd.DataFrame(columns)


def _by_year(df: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Means over replications per scenario and fiscal year."""
    return (df.groupby(["scenario", "fiscal_year"], sort=False)[columns].mean()
            .reset_index())


def tables(out: str | Path, ce: compare.CostEffectiveness) -> dict[str, pd.DataFrame]:
    """Every table of the report, by sheet name; ``ce`` is the batch's cost-effectiveness."""
    exp = batch.experiment_of(out)
    comparison = compare.compare(out)
    base = yaml.safe_load((Path(out) / "scenarios" / "000.yaml").read_text())
    overrides = pd.DataFrame(
        [(s, k, v) for s, changes in exp["scenarios"].items() for k, v in changes.items()],
        columns=["scenario", "parameter", "value"])
    drawn = [(k, d.pop("distribution"), d) for k, d in exp.get("psa", {}).items()]
    u = base.get("uncertainty") or {}
    if u.get("posterior"):
        drawn.append(("the calibrated parameters", "posterior sample",
                      {"file": Path(u["posterior"]).name}))
    drawn += [(sp["parameter"], "between settings", {k: sp[k] for k in ("sd", "shift", "scale", "source")})
              for sp in u.get("between_settings") or []]
    psa = pd.DataFrame(drawn, columns=["parameter", "distribution", "settings"]).astype(
        {"settings": str})
    budget = batch.read(out, "budget")
    workforce = batch.read(out, "workforce")
    return {
        "outcomes": compare.wide(comparison),
        "differences": compare.wide(comparison, difference=True),
        "outcomes_long": comparison,
        "icer": ce.icer,
        "curves": ce.curves,
        "decision": ce.decision,
        "timeline": metrics.timeline(batch.read(out, "phases")),
        "budget": _by_year(budget, ["programme_months", *metrics.COST_COLS, "cost_total",
                                    "annual_budget_ksh", "share_of_budget"]),
        "workforce": _by_year(workforce, [c for c in workforce.columns
                                          if c not in ("replicate", "fiscal_year", "scenario")]),
        "turnover": metrics.turnover_summary(batch.read(out, "turnover")),
        "scenarios": overrides,
        "uncertainty": psa,
        "parameters": pd.DataFrame(_flatten(base), columns=["parameter", "value"])
        .astype({"value": str}),
    } | {name: pd.read_csv(f) for name, f in _voi_files(out).items()}


def _voi_files(out: str | Path) -> dict[str, Path]:
    """The value-of-information tables ``mentorsim voi`` wrote into the batch, if it ran."""
    folder = Path(out) / "voi"
    return {name: folder / f"{name}.csv" for name in ("evppi", "evsi")
            if (folder / f"{name}.csv").is_file()}


def _information(out: str | Path, sheets: dict[str, pd.DataFrame], figure) -> list[str]:
    """The information-rank chart and the survey's value, from ``mentorsim voi``'s tables."""
    if "evppi" not in sheets:
        return ["<p class='note'>Which parameters are worth learning about, and whether an "
                "evaluation survey is worth its cost: run <code>mentorsim voi</code> on this "
                "batch (its replicates must draw parameters) and the report shows them.</p>"]
    evppi = sheets["evppi"]
    wtp, draws = float(evppi["wtp_ksh"].iloc[0]), int(evppi["draws"].iloc[0])
    money = evppi.rename(columns={"name": "parameter or group"}).drop(columns=["wtp_ksh", "draws"])
    parts = [
        f"<p>At {wtp:,.0f} KSh per effect unit, from {draws} draws (<code>mentorsim voi</code>): "
        "the expected value of perfect information about each parameter and group (EVPPI, by "
        "regression of the net benefits on the draws, Strong, Oakley and Brennan 2014), per "
        "decision, per nurse and over the population the decision affects, with its Monte Carlo "
        "standard error. A parameter worth little cannot change the decision, however "
        "uncertain; the EVPI above also holds chance, which no study can learn.</p>",
        figure("information", information_figure(evppi), "The information-rank chart: EVPPI "
               "over the population, largest first, with two standard errors."),
        _table(money.round(0)),
    ]
    if "evsi" in sheets:
        evsi = sheets["evsi"]
        bound = evppi.set_index("name")["population_ksh"]
        parts += [
            "<p>The expected value of sample information (EVSI) of an evaluation survey of the "
            "programme by its number of facilities: what the survey's baseline and endline "
            "would be worth for this decision, and, where its cost is given, the expected net "
            "benefit of sampling (EVSI less the cost).</p>",
            figure("sampling", sampling_figure(evsi, float(bound.get(MEASURED, bound[ALL]))),
                   "EVSI by survey size over the population, with two standard errors; the "
                   "dotted line is the EVPPI of what the survey measures, which bounds it."),
            _table(evsi.drop(columns=["wtp_ksh", "draws"]).round(0)),
        ]
    return parts


def write_xlsx(path: Path, sheets: dict[str, pd.DataFrame]) -> None:
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for name, df in sheets.items():
            df.to_excel(writer, sheet_name=name[:31], index=False)


def _table(df: pd.DataFrame) -> str:
    """A table that scrolls sideways when it is wider than the page."""
    return ("<div class='wide'>" + df.to_html(index=False, border=0, na_rep="",
                                              float_format=lambda x: f"{x:,.2f}") + "</div>")


def write_html(out: str | Path, path: Path, sheets: dict[str, pd.DataFrame],
               ce: compare.CostEffectiveness, threshold: float) -> None:
    """The page, from the batch, its tables and its cost-effectiveness; ``threshold`` (KSh per
    effect unit) is the willingness to pay of the CE plane's line and the summary."""
    exp = batch.experiment_of(out)
    figs = batch_figures(batch.read(out, "timeseries"), batch.read(out, "outcomes"),
                         list(exp["scenarios"]))
    order = list(exp["scenarios"])
    phases = batch.read(out, "phases")
    figures = [
        ("competency", figs["competency"], "Mean competency of every nurse in post at the "
         "scenario's facilities (nurses of subcounties not yet in the programme at their "
         "baselines), month by month: mean over replications and the band holding 90 % of them."),
        ("cost", figs["cost"], "Cumulative cost."),
        ("tradeoff", figs["tradeoff"], "Cost per mentee against competency at the end."),
    ]
    unit = metrics.EFFECT_UNITS[ce.measure]
    economic = [
        ("ce_plane", ce_plane_figure(ce.d_cost, ce.d_effect, ce.reference, unit, threshold,
                                     ce.ksh_per_usd),
         f"Each strategy's discounted cost and {unit[1]} over {ce.reference}, the cheapest "
         "strategy not dominated, draw by draw; a draw below the dashed line is cost-effective "
         "at its willingness to pay."),
        ("ceac", ceac_figure(ce.curves, ce.decision, unit, ce.ksh_per_usd),
         "The probability that each strategy is cost-effective (has the highest net benefit), "
         "by willingness to pay, and the acceptability frontier: that probability for the "
         "strategy with the highest expected net benefit, the one to choose, which need not be "
         "the one most often cost-effective."),
        ("expected_loss", expected_loss_figure(ce.curves, ce.decision, unit, ce.ksh_per_usd),
         "What choosing each strategy forgoes on average, against choosing the best one in "
         "every draw. The strategy to choose has the lowest expected loss, and that loss is "
         "the EVPI."),
    ]
    plan = []
    if len(phases):
        plan.append(("timeline", timeline_figure(phases, order), "Each phase's planned start "
                     "(diamond) and actual start: mean (dot) and range across replications."))
    plan += [
        ("budget", budget_figure(batch.read(out, "budget"), order), "Mean cost per government "
         "fiscal year against the annual cap; the first and last years may be part-years."),
        ("workforce", workforce_figure(batch.read(out, "workforce"), order), "Mentors in post at "
         "each fiscal year's end, and the visit hours the enrolled nurses need at the target "
         "interval over the hours of the mentors' release days (above 1, too few)."),
    ]
    calibrated = yaml.safe_load((Path(out) / "scenarios" / "000.yaml").read_text()).get(
        "calibration")
    sources = (f"Calibrated to the {calibrated['targets']} on {calibrated['date']} "
               f"(seed {calibrated['seed']}): {', '.join(calibrated['parameters'])}."
               if calibrated else "No calibrated parameters.")
    e = html.escape

    def figure(key: str, fig, caption: str) -> str:
        return (f"<figure id='{key}'><img alt='{e(caption)}' "
                f"src='data:image/png;base64,{_png(fig)}'>"
                f"<figcaption>{e(caption)}</figcaption></figure>")

    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{e(exp['name'])}: mentorsim report</title><style>{STYLE}</style></head><body>",
        f"<h1>{e(exp['name'])}</h1>",
        f"<p class='note'>mentorsim report, {dt.date.today().isoformat()}: "
        f"{len(exp['scenarios'])} scenarios, {exp['replications']} replications each, seed "
        f"{exp['seed']}; differences are measured from <b>{e(exp['comparator'])}</b>, replication "
        "by replication (common random numbers). Intervals hold 90 % of replications, and so "
        f"hold {e(batch.intervals_hold(out))}.</p>",
        "<h2>Outcomes</h2>", _table(sheets["outcomes"]),
        f"<h2>Difference from {e(exp['comparator'])}</h2>", _table(sheets["differences"]),
    ]
    parts += [figure(*f) for f in figures]
    parts += [
        "<h2>Cost-effectiveness</h2>",
        f"<p>Costs in KSh{f' at {ce.price_year} prices' if ce.price_year else ''} (and in US$ "
        f"at {ce.ksh_per_usd:,.2f} KSh to the dollar) and {unit[1]}, both discounted at "
        f"{ce.rate:.0%} a year. Effects are totals for all the nurses of a scenario, one per "
        "post (facility) whether or not its subcounty has joined the programme, and per nurse. "
        f"{e(metrics.EFFECT_DEFINITION)}</p>",
        "<p class='note'>Strategies by cost. A strategy is dominated when another costs no more "
        "and achieves at least as much, and extendedly dominated when a mix of the strategies "
        "either side of it would achieve more for the same cost. ΔCost and ΔEffect are over "
        "the strategy it is compared with, the strategy on the frontier before it; the ICER, "
        "ΔCost / ΔEffect, is given on the frontier only.</p>",
        _table(compare.icer_shown(ce)),
    ]
    parts += [figure(*f) for f in economic]
    parts += [
        "<h3>Value of information</h3>",
        f"<p>{e(compare.decision_line(ce, threshold))}</p>",
        "<p>The expected value of perfect information (EVPI) is what it would be worth, per "
        "decision, to know the true value of everything uncertain before choosing: the expected "
        "net benefit of choosing the best strategy in each draw, less that of the strategy best "
        "on average. It is the expected loss of the strategy to choose, and a ceiling on what "
        "any study to reduce the uncertainty (a survey, a trial) is worth for this decision. "
        "One decision here is the programme for a scenario's nurses over the horizon; the "
        f"draws hold {e(batch.intervals_hold(out))}.</p>",
        _table(compare.decision_shown(ce)),
    ]
    parts += _information(out, sheets, figure)
    parts += ["<h2>The plan: timeline, budget and workforce</h2>"]
    parts += ([_table(_timeline_shown(sheets["timeline"]))] if len(sheets["timeline"]) else
              ["<p>No scenario has scale-up phases: every subcounty is in from the start.</p>"])
    parts += [figure(*f) for f in plan]
    parts += ["<h3>Budget by fiscal year (mean of replications)</h3>",
              _table(sheets["budget"][["scenario", "fiscal_year", "programme_months",
                                       "cost_total", "annual_budget_ksh", "share_of_budget"]]),
              "<h3>Workforce by fiscal year (mean of replications)</h3>",
              _table(sheets["workforce"][["scenario", "fiscal_year", "mentors_in_post",
                                          "mentors_recruited", "graduates_promoted",
                                          "mentors_left", "release_days_used",
                                          "workload_pressure"]])]
    many = sheets["turnover"].groupby("scenario")["subcounty"].nunique().max() - 1
    moves, visits = _turnover_shown(sheets["turnover"])
    parts += [
        "<h2>Nurses: turnover, replacements and visits received</h2>",
        "<p>Mean per replication, by subcounty: posts (facilities), nurses who left their post "
        "by turnover, were furloughed with their facility or became mentors (graduated), the "
        "replacements enrolled (a post's later nurses) and posts vacant at the end after a "
        "turnover.</p>",
        _table(moves),
        "<p>The nurses enrolled at the end, each post's first nurse (originals) apart from "
        "replacements: how many (mean per replication) and, pooled over replications, their "
        "mean months enrolled by the end, their "
        f"mean visits received in the last {metrics.VISITS_WINDOW_MONTHS} months of the "
        "programme (the whole programme, if shorter) and the share with each number of "
        "visits, in the study's bins.</p>",
        _table(visits),
    ]
    if many > SHOWN_SUBCOUNTIES:
        parts.append(f"<p class='note'>A scenario with more than {SHOWN_SUBCOUNTIES} "
                     f"subcounties shows all of them together and the {TOP_SUBCOUNTIES} with the "
                     "most replacements per post; the workbook's turnover sheet has every "
                     "subcounty.</p>")
    parts += [
        "<h2>Scenarios</h2>", _table(sheets["scenarios"]),
        "<h2>Uncertain parameters</h2>",
        _table(sheets["uncertainty"]) if len(sheets["uncertainty"]) else "<p>None declared.</p>",
        "<h2>Assumptions and sources</h2>",
        f"<p>The programme and its unit costs follow {e(PAPER)}. {e(sources)} Every other value "
        "is the scenario's configuration below; the README marks which are assumptions.</p>",
        "<details><summary>All parameters of the first scenario</summary>",
        _table(sheets["parameters"]), "</details>",
        "</body></html>",
    ]
    path.write_text("\n".join(parts), encoding="utf-8")
