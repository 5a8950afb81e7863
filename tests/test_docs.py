"""The documentation: generated parts match the schema, links resolve, the README is short,
and every shipped YAML file names its schema and follows it."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import ROOT
from sim import schema
from sim.cli import main

DOCS = ROOT / "docs"
PAGES = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]
SCHEMAS = {"scenario": schema.scenario_schema, "experiment": schema.experiment_schema}
SHIPPED = sorted(p for p in (ROOT / "configs").rglob("*.yaml") if p.parent.name != "targets")
STARTER = {"county.yaml": "scenario", "experiment.yaml": "experiment"}


def test_readme_is_a_front_door():
    assert len((ROOT / "README.md").read_text().splitlines()) <= 350


def test_configuration_reference_is_generated_from_the_schema():
    shipped = (DOCS / "configuration.md").read_text(encoding="utf-8")
    assert shipped == schema.reference(), (
        "docs/configuration.md is out of date: regenerate it with "
        "`mentorsim schema --reference > docs/configuration.md`")


@pytest.mark.parametrize("kind", SCHEMAS)
def test_shipped_schema_is_generated(kind):
    shipped = (DOCS / "schema" / f"{kind}.schema.json").read_text(encoding="utf-8")
    flag = " --experiment" if kind == "experiment" else ""
    assert shipped == schema.to_json(SCHEMAS[kind]()), (
        f"docs/schema/{kind}.schema.json is out of date: regenerate it with "
        f"`mentorsim schema{flag} -o docs/schema/{kind}.schema.json`")


def _links(page: Path) -> list[str]:
    text = re.sub(r"^```.*?^```", "", page.read_text(encoding="utf-8"), flags=re.M | re.S)
    text = re.sub(r"`[^`\n]*`", "", text)  # code, not links
    return [t for t in re.findall(r"\]\(([^)\s]+)\)", text)
            if not re.match(r"[a-z]+:", t)]


def _anchors(page: Path) -> set[str]:
    """The anchors of a page's headings, numbered as GitHub numbers repeats."""
    text = re.sub(r"^```.*?^```", "", page.read_text(encoding="utf-8"), flags=re.M | re.S)
    anchors, repeats = set(), dict[str, int]()
    for heading in re.findall(r"^#+ (.+)$", text, flags=re.M):
        base = schema.anchor(heading.strip())
        n = repeats.get(base, 0)
        anchors.add(f"{base}-{n}" if n else base)
        repeats[base] = n + 1
    return anchors


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_relative_links_resolve(page):
    broken = []
    for link in _links(page):
        target, _, fragment = link.partition("#")
        path = (page.parent / target).resolve() if target else page
        if not path.exists():
            broken.append(link)
        elif fragment and path.suffix == ".md" and fragment not in _anchors(path):
            broken.append(link)
    assert not broken, f"{page.name}: broken links {broken}"


# --- the JSON Schema and the shipped files ----------------------------------------------


def _problems(node: dict[str, Any], value: Any, root: dict[str, Any], at: str) -> list[str]:
    """Where ``value`` breaks the schema ``node``: the keywords the schemas use, enough to
    catch unknown and missing keys and wrong kinds of value."""
    while "$ref" in node:
        rest = {k: v for k, v in node.items() if k != "$ref"}
        node = {**root["$defs"][node["$ref"].rsplit("/", 1)[-1]], **rest}
    for key in ("anyOf", "oneOf"):
        if key in node:
            options = [_problems(o, value, root, at) for o in node[key]]
            return [] if any(not p for p in options) else min(options, key=len)
    kinds = {"object": dict, "array": list, "string": (str, dt.date), "boolean": bool,
             "integer": int, "number": (int, float), "null": type(None)}
    kind = node.get("type")
    if kind and (not isinstance(value, kinds[kind])
                 or kind in ("integer", "number") and isinstance(value, bool)):
        return [f"{at}: expected {kind}, got {value!r}"]
    if "enum" in node and value not in node["enum"] or "const" in node and value != node["const"]:
        return [f"{at}: {value!r} not allowed"]
    out = []
    if isinstance(value, dict):
        out += [f"{at}.{k}: missing" for k in node.get("required", []) if k not in value]
        extra = node.get("additionalProperties", True)
        for k, v in value.items():
            if k in node.get("properties", {}):
                out += _problems(node["properties"][k], v, root, f"{at}.{k}")
            elif extra is False:
                out.append(f"{at}.{k}: unknown key")
            elif isinstance(extra, dict):
                out += _problems(extra, v, root, f"{at}.{k}")
    if isinstance(value, list) and "items" in node:
        for i, v in enumerate(value):
            out += _problems(node["items"], v, root, f"{at}.{i}")
    return out


def _kind(path: Path) -> str:
    return "experiment" if "base" in yaml.safe_load(path.read_text()) else "scenario"


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: str(p.relative_to(ROOT)))
def test_shipped_yaml_names_its_schema_and_follows_it(path):
    kind = _kind(path)
    first = path.read_text().splitlines()[0]
    assert first.startswith("# yaml-language-server: $schema="), first
    target = (path.parent / first.split("$schema=", 1)[1]).resolve()
    assert target == (DOCS / "schema" / f"{kind}.schema.json").resolve()
    doc = SCHEMAS[kind]()
    assert _problems(doc, yaml.safe_load(path.read_text()), doc, "") == []


@pytest.mark.parametrize("name", STARTER)
def test_starter_files_follow_the_schema(name):
    text = (ROOT / "sim" / "starter" / name).read_text()
    doc = SCHEMAS[STARTER[name]]()
    assert _problems(doc, yaml.safe_load(text), doc, "") == []


def test_the_schema_catches_what_the_loader_refuses():
    doc = schema.scenario_schema()
    bad = {"name": "x", "mentor": {"mentes_per_mentor": 6, "release_days_per_week": "one"},
           "supply": {"vaccines": {"lead_time_mean_days": 3}},
           "subcounties": [{"name": "A", "facilities": {"public": 2}}],
           "scaleup": {"phases": [{"subcounties": ["A"]}]}}
    found = _problems(doc, bad, doc, "")
    assert ".mentor.mentes_per_mentor: unknown key" in found
    assert any(p.startswith(".mentor.release_days_per_week: expected integer") for p in found)
    assert ".subcounties.0.setting: missing" in found  # a list's items are given whole
    assert ".scaleup.phases.0.start_month: missing" in found
    assert len(found) == 4  # a block in part is no error: its other keys come from elsewhere


def test_schema_command_writes_stdout_or_a_file(tmp_path, capsys):
    assert main(["schema"]) == 0
    assert json.loads(capsys.readouterr().out) == schema.scenario_schema()
    out = tmp_path / "new" / "experiment.schema.json"
    assert main(["schema", "--experiment", "-o", str(out)]) == 0
    assert out.read_text() == schema.to_json(schema.experiment_schema())
    assert main(["schema", "--reference"]) == 0
    assert capsys.readouterr().out.startswith(f"wrote {out}\n# Configuration reference")


def test_schema_command_refuses_a_bad_path_in_one_line(tmp_path, capsys):
    for argv in (["schema", "-o", str(tmp_path)],
                 ["schema", "-o", str(tmp_path / "file.txt" / "x.json")],
                 ["schema", "--experiment", "--reference"]):
        (tmp_path / "file.txt").write_text("mine")
        assert main(argv) == 2
        captured = capsys.readouterr()
        assert captured.out == "" and len(captured.err.strip().splitlines()) == 1, captured.err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"]
