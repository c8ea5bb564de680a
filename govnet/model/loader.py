"""Load stage: inventory directory → typed, frozen `Inventory`, or every problem at once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from govnet.model.errors import InventoryError, Problem, loc_text
from govnet.model.schema import Inventory
from govnet.model.yamlsrc import Loc, Source, YamlError, load_data, marks_of

SECTIONS = tuple(Inventory.model_fields)
#: Where a section lives in the shipped inventories: the file a missing section is reported against.
HOME = {"sites": "sites.yml", "links": "links.yml", "servers": "servers.yml"}


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def read_source(directory: Path) -> Source:
    """Merge every `*.yml` of the directory into one Source; each top-level section may appear in one file only."""
    shown = _display(directory)
    if not directory.exists():
        raise InventoryError([Problem(shown, 0, "inventory", "no such directory")])
    if not directory.is_dir():
        raise InventoryError([Problem(shown, 0, "inventory", "not a directory")])
    files = sorted(p for p in directory.glob("*.yml") if p.is_file())
    if not files:
        raise InventoryError([Problem(shown, 0, "inventory", "no *.yml files in the inventory directory")])
    source, problems = Source(), []
    for path in files:
        problems += _merge(source, path)
    if problems:
        raise InventoryError(problems)
    return source


def _merge(source: Source, path: Path) -> list[Problem]:
    display = _display(path)
    try:
        data = load_data(path, display)
    except YamlError as exc:
        return [Problem(exc.file, exc.line, "file", exc.message)]
    if data is None:
        return [Problem(display, 1, "file", "file is empty")]
    if not isinstance(data, dict):
        return [Problem(display, 1, "file", "top level must be a mapping of sections")]
    problems = []
    marks: dict[Loc, tuple[str, int]] | None = None  # parsed once, only when a key needs its line

    def line_of(loc: Loc) -> int:
        nonlocal marks
        if marks is None:
            marks = marks_of(path, display)[1]
        return marks.get(loc, (display, 1))[1]

    for key, value in data.items():
        if key not in SECTIONS:
            line = line_of((key,))
            expected = ", ".join(SECTIONS)
            problems.append(Problem(display, line, str(key), f"unknown section (expected one of {expected})"))
        elif key in source.data:
            first = source.where((key,))
            line = line_of((key,))
            problems.append(Problem(display, line, key, f"section already given in {first[0]}:{first[1]}"))
        else:
            source.data[key] = value
            source.owner[key] = display
    source.add_file(path, display)
    return problems


def _pydantic_problems(exc: ValidationError, source: Source) -> list[Problem]:
    problems = []
    for err in exc.errors():
        loc: Loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        file, line = source.where(loc)
        what = err["msg"]
        if err["type"] == "missing":
            what = "required field missing"
        elif err["type"] == "extra_forbidden":
            what = "unknown field"
        elif err["type"] == "value_error":
            what = str(err.get("ctx", {}).get("error", err["msg"]))
        elif err["type"] == "string_pattern_mismatch" or err["type"] == "string_too_long":
            what = f"{err['msg'].lower()} (got {err.get('input')!r})"
        elif "input" in err and not isinstance(err["input"], dict | list):
            what = f"{err['msg']} (got {err['input']!r})"
        problems.append(Problem(file, line, loc_text(loc), what))
    return problems


def load_inventory(directory: Path) -> tuple[Inventory, Source]:
    """Parse and type-check; raise InventoryError listing every problem."""
    source = read_source(directory)
    missing = [s for s in ("governorate", "environments", "zones", "phases", "sites", "links") if s not in source.data]
    try:
        inventory = Inventory.model_validate(source.data)
    except ValidationError as exc:
        problems = _pydantic_problems(exc, source)
        for section in missing:
            problems = [p for p in problems if p.where != section]
            home = HOME.get(section, "governorate.yml")
            what = f"required section missing from every *.yml file (its place: {home})"
            problems.append(Problem(_display(directory / home), 1, section, what))
        raise InventoryError(problems) from None
    return inventory, source


def dump_inventory(inventory: Inventory) -> dict[str, Any]:
    """Plain data that `Inventory.model_validate` turns back into an equal inventory (round-trip tests use it)."""
    return inventory.model_dump(mode="json", by_alias=True)
