"""The planner's report: a self-contained HTML page and an Excel workbook."""

from __future__ import annotations

import base64
import shutil
import subprocess
from html.parser import HTMLParser

import matplotlib.image as plt_image
import pandas as pd
import pytest

from sim import batch
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
    assert dom.figures == ["competency", "cost", "tradeoff", "ce_plane", "ceac", "timeline",
                           "budget", "workforce"]
    assert len(dom.images) == 8 and not dom.external
    for src in dom.images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert dom.tables >= 11
    text = page.read_text()
    assert "own baseline" in text and "budget cap" in text and "2018/19" in text
    assert "replacements" in text and "in the study's bins" in text
    assert "doi:10.9745/GHSP-D-20-00421" in page.read_text()


def test_xlsx_report_opens_with_the_expected_sheets(finished_batch, tmp_path):
    book = tmp_path / "report.xlsx"
    assert main(["report", str(finished_batch), "--xlsx", str(book)]) == 0
    sheets = pd.read_excel(book, sheet_name=None)
    assert list(sheets) == ["outcomes", "differences", "outcomes_long", "icer", "ceac",
                            "timeline", "budget", "workforce", "turnover", "scenarios",
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
    assert 'data-decoded="8"' in dom
    shot = tmp_path / "shot.png"
    subprocess.run([*flags, "--window-size=1200,2000", f"--screenshot={shot}", page.as_uri()],
                   capture_output=True, timeout=120)
    pixels = plt_image.imread(shot)
    assert pixels.shape[:2] == (2000, 1200)
    assert (pixels[..., :3] < 0.9).any(axis=2).mean() > 0.05  # a page with content, not blank
