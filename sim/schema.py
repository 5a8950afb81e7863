"""The schemas of scenario and experiment files: JSON Schema for editors, and the
Markdown configuration reference (``docs/configuration.md``).

Both are generated from the pydantic models of :mod:`sim.config` and
:mod:`sim.experiment`, so they cannot drift from what the loader accepts. The JSON
Schema describes a *file* as written, before ``include:`` and the defaults are applied:
the keys of a mapping may come from a default or from another file of the ``include:``
chain, so only the items of lists (which a file gives whole) have required keys, and a
subcounty's facilities may come from the ``facility_list``. The loader checks the merged
scenario (``mentorsim validate``).
"""

from __future__ import annotations

import datetime as dt
import inspect
import json
import re
import types
from collections.abc import Sequence
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types as at
from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, models_json_schema
from pydantic_core import core_schema

from sim.config import AREAS, BUILT_IN_INTERVENTIONS, Config, FacilityList, intervention_class
from sim.experiment import ExperimentSpec

#: Keys of a file that are read before validation and are not fields of its model.
INCLUDE = {
    "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
    "description": "Files read first, relative to this file; this file's keys win. Mappings "
                   "are deep-merged, lists replaced whole.",
}
FACILITY_LIST = ("A CSV list of facilities (such as a KMHFL export) for every subcounty that "
                 "gives no `facilities`; its rows are assigned by their sub county, matched "
                 "ignoring case and surrounding spaces.")


class _WithFactoryDefaults(GenerateJsonSchema):
    """Pydantic's generator, also stating the defaults made by a default factory."""

    def get_default_value(self, schema: core_schema.WithDefaultSchema) -> Any:
        if "default_factory" in schema:
            return schema["default_factory"]()  # type: ignore[call-arg]
        return super().get_default_value(schema)


def _list_items(model: type[BaseModel], seen: set[type[BaseModel]] | None = None,
                within_list: bool = False) -> set[str]:
    """The names of the blocks that are items of a list, which a file gives whole."""
    seen = set() if seen is None else seen
    seen.add(model)
    found = {model.__name__} if within_list else set()

    def visit(t: Any, listed: bool) -> None:
        if isinstance(t, type) and issubclass(t, BaseModel):
            if t not in seen or listed:
                found.update(_list_items(t, seen, listed))
            return
        for arg in get_args(t):
            visit(arg, listed or get_origin(t) is list)

    for field in model.model_fields.values():
        visit(field.annotation, False)
    return found


def _file_schema(model: type[BaseModel], title: str, extra: dict[str, Any]) -> dict[str, Any]:
    """``model``'s JSON Schema as a file gives it: with the ``extra`` keys, and keys required
    only in the items of lists."""
    models = [model, *([FacilityList] if "facility_list" in extra else [])]
    _, top = models_json_schema([(m, "validation") for m in models],
                                schema_generator=_WithFactoryDefaults)
    defs = top["$defs"]
    doc = defs.pop(model.__name__)
    whole = _list_items(model)
    for name, block in [(model.__name__, doc), *defs.items()]:
        if name not in whole:  # its keys may come from a default or another file
            block.pop("required", None)
    doc["properties"] = {**extra, **doc["properties"]}
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **doc, "title": title,
            "$defs": defs}


def scenario_schema() -> dict[str, Any]:
    """The JSON Schema of a scenario file (``configs/*.yaml``)."""
    doc = _file_schema(Config, "mentorsim scenario", {
        "include": INCLUDE,
        "facility_list": {"$ref": "#/$defs/FacilityList", "description": FACILITY_LIST}})
    subcounty = doc["$defs"]["Subcounty"]
    subcounty["required"].remove("facilities")
    facilities = subcounty["properties"]["facilities"]
    facilities["description"] += " (required unless the `facility_list` gives them)"
    return doc


def experiment_schema() -> dict[str, Any]:
    """The JSON Schema of an experiment file (``configs/experiments/*.yaml``)."""
    return _file_schema(ExperimentSpec, "mentorsim experiment", {"include": INCLUDE})


def to_json(schema: dict[str, Any]) -> str:
    """A schema as the text of a ``.schema.json`` file."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


# --- the Markdown reference ------------------------------------------------------------

_INTRO = """\
# Configuration reference

Generated from the schema (the pydantic models of `sim/config.py` and `sim/experiment.py`) by
`mentorsim schema --reference`; edit the models' descriptions, not this file.

A **scenario** is one YAML file. Only the county's own layout and plan are required: `name`,
`start_date`, `months` and, for each subcounty, its `name`, `setting` and facilities. Every other
key defaults to the calibrated pilot's value (`configs/pilot.yaml` with
`configs/params/lari_calibrated.yaml`; a test keeps the two equal). A block given in part keeps
the defaults of the keys it leaves out, at any depth: `mentor: {mentees_per_mentor: 6}` changes
the caseload only. Unknown keys are errors. A file is read in this order: the files under
`include:`, then the file itself (its keys win), then `--set dotted.key=value` overrides (a list
item is addressed by its index or its `name`), and the result is validated. Hazards are per
year and durations in days; the eight areas are {areas}.

An editor with the YAML language server checks a file against `docs/schema/scenario.schema.json`
(or `experiment.schema.json`) given on its first line, as the shipped configs do:
`# yaml-language-server: $schema=../docs/schema/scenario.schema.json`; `mentorsim schema`
writes the same schema anywhere (`-o FILE`, `--experiment` for experiment files).
"""


def _text(doc: str | None) -> str:
    """A docstring as Markdown: one paragraph, Sphinx roles as code."""
    doc = inspect.cleandoc(doc or "")
    doc = re.sub(r":\w+:`~?([^`]+)`", r"`\1`", doc).replace("``", "`")
    return " ".join(doc.split())


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "null"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {_value(x)}" for k, x in v.items()) + "}"
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    return str(v)


def anchor(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading (before numbering repeats)."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def _constraints(field: Any) -> str:
    words = {at.Ge: ("ge", "≥"), at.Gt: ("gt", ">"), at.Le: ("le", "≤"), at.Lt: ("lt", "<")}
    out = []
    for m in field.metadata:
        if type(m) in words:
            attr, sign = words[type(m)]
            out.append(f"{sign} {_value(getattr(m, attr))}")
        elif isinstance(m, at.MinLen):
            out.append("non-empty" if m.min_length == 1 else f"at least {m.min_length} items")
    return ", ".join(out)


def _default(field: Any) -> tuple[str, dict[str, BaseModel]]:
    """A field's default as shown, and the named blocks it holds (tabled below it)."""
    if field.is_required():
        return "required", {}
    value = field.default_factory() if field.default_factory else field.default
    if isinstance(value, BaseModel):
        if all(not f.is_required() for f in type(value).model_fields.values()):
            return "its keys' defaults", {}
        return f"`{_value(value.model_dump())}`", {}
    if isinstance(value, dict) and value and all(isinstance(v, BaseModel) for v in value.values()):
        return ", ".join(f"`{k}`" for k in value), value
    if isinstance(value, dict) and value:
        return "<br>".join(f"`{k}`: {_value(v)}" for k, v in value.items()), {}
    return f"`{_value(value)}`", {}


class _Reference:
    """One file's reference: a section per block, in the order the blocks are reached."""

    def __init__(self) -> None:
        self.paths: dict[type[BaseModel], list[str]] = {}  # a block's paths, first first
        self.headings: dict[type[BaseModel], str] = {}
        self.merged: dict[type[BaseModel], bool] = {}  # only ever given over a default
        self.tables: dict[type[BaseModel], list[str]] = {}
        self.over_default = False  # whether the field being tabled has a block default

    def link(self, path: str, model: type[BaseModel]) -> str:
        """A link to the block's section, found at ``path``."""
        if model not in self.paths:
            self.paths[model] = []
            heading = f"`{path}`"
            taken = {anchor(h) for h in self.headings.values()}
            if "distribution" in model.model_fields or anchor(heading) in taken:
                heading += f": {model.__name__}"
            self.headings[model] = heading
        if path not in self.paths[model]:
            self.paths[model].append(path)
        self.merged[model] = self.merged.get(model, True) and self.over_default
        return f"[`{path}`](#{anchor(self.headings[model])})"

    def type_of(self, t: Any, path: str) -> str:
        """A field's type in words, linking the blocks it holds to their sections."""
        origin, args = get_origin(t), get_args(t)
        if origin is Annotated:
            return self.type_of(args[0], path)
        if origin in (Union, types.UnionType):
            options = [a for a in args if a is not type(None)]
            shown = " or ".join(self.type_of(a, path) for a in options)
            return shown + (" or null" if len(options) < len(args) else "")
        if origin is Literal:
            return " \\| ".join(f"`{a}`" for a in args)
        if origin is list:
            return "list of " + self.type_of(args[0], path + "[]")
        if origin is dict:
            key = "name" if args[0] is str else self.type_of(args[0], path)
            return f"mapping of {key} to {self.type_of(args[1], path + '.<name>')}"
        if isinstance(t, type) and issubclass(t, BaseModel):
            return self.link(path, t)
        names = {bool: "boolean", int: "integer", float: "number", str: "string",
                 dt.date: "date (YYYY-MM-DD)"}
        return names.get(t, "any")

    def table(self, prefix: str, model: type[BaseModel],
              extra: Sequence[tuple[str, str, str]] = ()) -> list[str]:
        """The block's table: a row per key (``extra`` rows first, keys read before
        validation), then the defaults of any mapping of named blocks."""
        lines = ["| Key | Type | Default | Constraints | Description |", "|---|---|---|---|---|"]
        lines += [f"| `{k}` | {t} | none | | {desc} |" for k, t, desc in extra]
        named = []
        for name, field in model.model_fields.items():
            shown, blocks = _default(field)
            if shown == "required" and self.merged.get(model):
                shown = "the block's default"
            if blocks:
                named.append((prefix + name, blocks))
            factory = field.default_factory
            self.over_default = factory is not None and isinstance(factory(), BaseModel)
            kind = self.type_of(field.annotation, prefix + name)
            lines.append(f"| `{name}` | {kind} | {shown} | {_constraints(field)} | "
                         f"{field.description or ''} |")
        for path, blocks in named:
            lines += ["", f"Defaults of `{path}`:", "",
                      "| Key | " + " | ".join(f"`{k}`" for k in blocks) + " |",
                      "|---|" + "---:|" * len(blocks)]
            lines += [f"| `{k}` | " + " | ".join(_value(getattr(b, k)) for b in blocks.values())
                      + " |" for k in type(next(iter(blocks.values()))).model_fields]
        return lines

    def file(self, title: str, model: type[BaseModel], blurb: str,
             extra: Sequence[tuple[str, str, str]]) -> list[str]:
        """The file's sections: its top level, then every block it holds."""
        out = [f"## {title}", "", blurb, "", "### Top level", "", _text(model.__doc__), "",
               *self.table("", model, extra)]
        done: list[type[BaseModel]] = []
        while len(done) < len(self.paths):  # blocks found in a table are tabled after it
            block = next(b for b in self.paths if b not in done)
            self.tables[block] = self.table(self.paths[block][0] + ".", block)
            done.append(block)
        for block in done:
            out += ["", f"### {self.headings[block]}", ""]
            if len(self.paths[block]) > 1:
                out += ["Also at " + ", ".join(f"`{p}`" for p in self.paths[block][1:]) + ".", ""]
            out += [_text(block.__doc__) or f"The `{self.paths[block][0]}` block.", "",
                    *self.tables[block]]
        return out


def _interventions() -> list[str]:
    """A section per built-in intervention: its parameters, beside ``type``."""
    out = ["## Built-in interventions", "",
           "An item of `interventions` names its rule with `type`; its other keys are the rule's "
           "parameters, below for the built-ins. A rule of your own (`module:Class` or "
           "`file.py:Class`) documents its own."]
    for name in BUILT_IN_INTERVENTIONS:
        cls = intervention_class(name)
        out += ["", f"### `type: {name}`", "", _text(inspect.getmodule(cls).__doc__), "",
                *_Reference().table("", cls.Params)]
    return out


def reference() -> str:
    """The configuration reference in Markdown: every block and field of the scenario and
    experiment files, with type, default, constraints and description."""
    include = ("include", "string or list of strings", INCLUDE["description"])
    scenario = _Reference()
    listing = ("facility_list", scenario.link("facility_list", FacilityList), FACILITY_LIST)
    parts = [_INTRO.replace("{areas}", ", ".join(f"`{a}`" for a in AREAS)).rstrip("\n"), ""]
    parts += scenario.file(
        "Scenario file", Config,
        "A scenario: `mentorsim run`, `validate`, `calibrate`, `report-validation` and `power` "
        "read one; `configs/pilot.yaml` states every value.", [include, listing])
    parts += ["", *_interventions(), ""]
    parts += _Reference().file(
        "Experiment file", ExperimentSpec,
        "An experiment: `mentorsim batch`, `tornado` and `optimise` read one "
        "(`configs/experiments/`). Every "
        "scenario it makes is validated as a scenario file before anything runs.", [include])
    return "\n".join(parts) + "\n"
