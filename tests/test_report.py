"""The planner's report (a self-contained HTML page and an Excel workbook), and the
cost-effectiveness tables and options it shares with ``cea``."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
from html.parser import HTMLParser

import matplotlib.image as plt_image
import numpy as np
import pandas as pd
import pytest

from sim import batch, compare
from sim.cli import main
from sim.experiment import load_experiment

from conftest import CONFIGS


class _Dom(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.figures: list[str] = []
        self.tables = 0
        self.external: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.images.append(a.get("src", ""))
        if tag == "figure":
            self.figures.append(a.get("id", ""))
        if tag == "table":
            self.tables += 1
        if tag in ("link", "script") and (a.get("href") or a.get("src")):
            self.external.append(a.get("href") or a.get("src"))


@pytest.fixture(scope="module")
def finished_batch(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    path = tmp / "exp.yaml"
    path.write_text(f"""
name: report test
base: {CONFIGS / 'pilot.yaml'}
replications: 4
seed: 3
comparator: classroom
scenarios:
  mentoring: {{months: 6}}
  classroom: {{months: 6, classroom.enabled: true, mentor.enabled: false, whatsapp.enabled: false}}
  phased: {{months: 6, scaleup: {{annual_budget_ksh: 700000, phases: [{{start_month: 4, subcounties: [Machakos]}}]}}}}
psa:
  classroom.per_diem_per_day: {{distribution: uniform, low: 2000, high: 6000}}
""")
    return batch.run_batch(load_experiment(path), tmp / "out", jobs=1)


def test_html_report_is_self_contained_with_every_figure(finished_batch, tmp_path):
    page = tmp_path / "r" / "report.html"
    assert main(["report", str(finished_batch), "--html", str(page)]) == 0
    dom = _Dom()
    dom.feed(page.read_text())
    assert dom.figures == ["competency", "cost", "tradeoff", "ce_plane", "ceac", "expected_loss",
                           "timeline", "budget", "workforce"]
    assert len(dom.images) == 9 and not dom.external
    for src in dom.images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert dom.tables >= 11
    text = page.read_text()
    assert "own baseline" in text and "budget cap" in text and "2018/19" in text
    assert "replacements" in text and "in the study's bins" in text
    assert "doi:10.9745/GHSP-D-20-00421" in page.read_text()
    assert "Value of information" in text and "expected value of perfect information" in text
    shown = re.sub(r"data:image/png;base64,[^']*", "", text)  # base64 may spell anything
    assert "NaN" not in shown and ">nan<" not in shown


def test_xlsx_report_opens_with_the_expected_sheets(finished_batch, tmp_path):
    book = tmp_path / "report.xlsx"
    assert main(["report", str(finished_batch), "--xlsx", str(book)]) == 0
    sheets = pd.read_excel(book, sheet_name=None)
    assert list(sheets) == ["outcomes", "differences", "outcomes_long", "icer", "curves",
                            "decision", "timeline", "budget", "workforce", "turnover", "scenarios",
                            "uncertainty", "parameters"]
    assert set(sheets["outcomes"]["scenario"]) == {"mentoring", "classroom", "phased"}
    assert set(sheets["icer"]["strategy"]) == {"mentoring", "classroom", "phased"}
    timeline = sheets["timeline"].set_index("scenario")
    # a full fiscal year from July cannot carry Machakos, so it never starts
    assert timeline.loc["phased", "planned_month"] == 4
    assert timeline.loc["phased", "share_delayed"] == 1
    assert timeline.loc["phased", "reasons"] == "budget cap (4 of 4)"
    assert set(sheets["budget"]["fiscal_year"]) == {"2017/18", "2018/19"}
    assert {"mentors_in_post", "workload_pressure"} <= set(sheets["workforce"].columns)
    turnover = sheets["turnover"]
    assert list(turnover["subcounty"]) == ["Lari", "Machakos", "all subcounties"] * 3
    phased = turnover[turnover["scenario"] == "phased"].set_index("subcounty")
    assert phased.loc["Machakos", "originals"] == 0  # the cap kept it out
    assert phased.loc["all subcounties", "posts"] == 40
    assert {"replacements_share_9_12", "originals_visits_mean"} <= set(turnover.columns)
    assert "classroom.per_diem_per_day" in set(sheets["uncertainty"]["parameter"])
    assert "mentor.mentees_per_mentor" in set(sheets["parameters"]["parameter"])


def test_cost_effectiveness_tables_agree_with_each_other(finished_batch):
    ce = compare.cost_effectiveness(finished_batch, wtps=[0, 20_000, 60_000])
    t = ce.icer.set_index("strategy")
    assert (t["nurses"] == 40).all()  # every post of the pilot's facilities, joined or not
    np.testing.assert_allclose(t["effect_per_nurse"], t["effect"] / 40)
    np.testing.assert_allclose(t["cost_usd"], t["cost_ksh"] / 100)  # costs.ksh_per_usd
    others = t[t["status"] != "reference"]
    np.testing.assert_allclose(
        others["d_cost_ksh"], others["cost_ksh"] - t.loc[others["compared_with"], "cost_ksh"].to_numpy())
    np.testing.assert_allclose(
        others["d_effect"], others["effect"] - t.loc[others["compared_with"], "effect"].to_numpy())
    assert ce.reference == t.index[0] and t["cost_ksh"].is_monotonic_increasing
    loss = ce.curves.pivot(index="wtp_ksh", columns="strategy", values="expected_loss_ksh")
    probability = ce.curves.pivot(index="wtp_ksh", columns="strategy",
                                  values="probability_cost_effective")
    d = ce.decision.set_index("wtp_ksh")
    np.testing.assert_allclose(d["evpi_ksh"], loss.min(axis=1))  # the optimal strategy's loss
    assert list(d["optimal"]) == list(loss.idxmin(axis=1))
    np.testing.assert_allclose(
        d["probability_cost_effective"],
        [probability.loc[w, s] for w, s in d["optimal"].items()])
    assert ce.at(20_000)["evpi_ksh"] == pytest.approx(d.loc[20_000, "evpi_ksh"])
    shown = compare.icer_shown(ce)
    cells = [str(c) for c in shown.to_numpy().ravel()]
    assert not any("nan" in c.lower() for c in cells)
    assert ("Cost", "KSh") in shown.columns and ("Cost", "US$") in shown.columns
    assert ("Effect (competency-point-years)", "per nurse") in shown.columns
    # money is whole shillings, thousands separated; the reference has no increment
    ref = shown.iloc[0]
    assert ref[("Over the strategy compared with", "ΔCost (KSh)")] == "—"
    assert all(c.replace(",", "").isdigit() for c in shown[("Cost", "KSh")])


def test_cea_takes_willingness_to_pay_in_dollars(finished_batch, capsys):
    assert main(["cea", str(finished_batch), "--wtp", "0:600:300", "--currency", "usd",
                 "--threshold", "250"]) == 0
    printed = capsys.readouterr().out
    decision = pd.read_csv(finished_batch / "cea" / "decision.csv")
    assert list(decision["wtp_ksh"]) == [0, 30_000, 60_000]
    assert list(decision["wtp_usd"]) == [0, 300, 600]
    assert "At a willingness to pay of 25,000 KSh (US$ 250) per competency-point-year" in printed
    assert "NaN" not in printed and " nan " not in printed


@pytest.mark.parametrize("flags, words", [
    (["--wtp", "0,-5000"], ["--wtp", "negative", "-5000"]),
    (["--wtp", "0:100:0"], ["--wtp", "start:stop:step"]),
    (["--wtp", "0:1e9:1"], ["--wtp", "at most"]),
    (["--wtp", "0,nan"], ["--wtp", "finite"]),
    (["--threshold", "-1"], ["--threshold", "negative"]),
    (["--currency", "eur"], ["--currency", "eur"]),
    (["--discount", "0.9"], ["--discount"]),
])
def test_bad_cost_effectiveness_options_are_one_line_errors(finished_batch, tmp_path, capsys,
                                                           flags, words):
    before = sorted(p.relative_to(finished_batch) for p in finished_batch.rglob("*"))
    for command in (["cea", str(finished_batch)],
                    ["report", str(finished_batch), "--html", str(tmp_path / "r.html")]):
        assert main([*command, *flags]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and all(w in err for w in words), err
    assert sorted(p.relative_to(finished_batch) for p in finished_batch.rglob("*")) == before
    assert not (tmp_path / "r.html").exists()


def test_report_needs_an_output(finished_batch, capsys):
    assert main(["report", str(finished_batch)]) == 2
    assert "--html FILE, --xlsx FILE or both" in capsys.readouterr().err


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="no headless Chromium here (.ci/run installs it)")
def test_html_report_renders_in_a_headless_browser(finished_batch, tmp_path):
    page = tmp_path / "report.html"
    assert main(["report", str(finished_batch), "--html", str(page)]) == 0
    # a copy that, once loaded, counts the images the browser actually decoded
    probe = tmp_path / "probe.html"
    probe.write_text(page.read_text().replace("</body>", """<script>
window.addEventListener('load', () => { document.body.dataset.decoded =
  [...document.images].filter(i => i.complete && i.naturalWidth > 100).length; });
</script></body>"""))
    flags = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}", "--hide-scrollbars",
             "--virtual-time-budget=10000"]
    dom = subprocess.run([*flags, "--dump-dom", probe.as_uri()], capture_output=True, text=True,
                         timeout=120).stdout
    assert 'data-decoded="9"' in dom
    shot = tmp_path / "shot.png"
    subprocess.run([*flags, "--window-size=1200,2000", f"--screenshot={shot}", page.as_uri()],
                   capture_output=True, timeout=120)
    pixels = plt_image.imread(shot)
    assert pixels.shape[:2] == (2000, 1200)
    assert (pixels[..., :3] < 0.9).any(axis=2).mean() > 0.05  # a page with content, not blank
