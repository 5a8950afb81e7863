"""Figures for results: the competency curve per subcounty with its band."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no display needed on servers or CI
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402


def competency_curve(ts: pd.DataFrame, path: Path, title: str = "") -> Path:
    """Median and 5-95 % band across replicates of the mean checklist score by month."""
    fig, ax = plt.subplots(figsize=(7, 4), dpi=120)
    for name, sub in ts.groupby("subcounty", sort=False):
        q = sub.groupby("month_end")["mean_score"].quantile([0.05, 0.5, 0.95]).unstack()
        line = ax.plot(q.index, q[0.5], marker="o", label=name)[0]
        ax.fill_between(q.index, q[0.05], q[0.95], color=line.get_color(), alpha=0.2)
    ax.set_ylim(0, 4)
    ax.set_ylabel("mean competency (0-4 checklist)")
    ax.set_xlabel("date of reading (end of each programme month)")
    ax.set_title(title or "Competency")
    ax.grid(alpha=0.3)
    ax.legend(title="subcounty: median, 5-95 %")
    fig.autofmt_xdate()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
