"""YAML with line marks.

The model keeps every value's source line so that each validation error can name `file:line`. Every file passes the
reference grammar (PyYAML's libyaml parser, run without building Python objects); text inside the plain subset
(no tags, anchors, aliases, merge keys, complex keys, directives or dates) is then read by a fast parser (yaml-rs,
when installed), anything else by the reference parser. Line marks are only needed when something is wrong, so they
are computed lazily with PyYAML's composer, whose nodes carry marks, and recorded for every path in the data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from govnet.model.errors import InventoryError, Loc, Problem

try:  # a Rust YAML parser: ~20x faster on national-scale inventories; PyYAML remains the reference and fallback
    import yaml_rs
except ImportError:  # pragma: no cover - exercised where the wheel is unavailable
    yaml_rs = None  # type: ignore[assignment]


@dataclass
class Source:
    """Plain data of one or more YAML files; the file and line of every path in it are computed on first use."""

    data: dict[str, Any] = field(default_factory=dict)
    files: list[tuple[Path, str]] = field(default_factory=list)
    owner: dict[str, str] = field(default_factory=dict)  # section → file that gave it
    _marks: dict[Loc, tuple[str, int]] | None = None

    def add_file(self, path: Path, display: str) -> None:
        self.files.append((path, display))
        self._marks = None

    @property
    def marks(self) -> dict[Loc, tuple[str, int]]:
        if self._marks is None:
            marks: dict[Loc, tuple[str, int]] = {}
            for path, display in self.files:
                _, file_marks = marks_of(path, display)
                marks.update(
                    {loc: m for loc, m in file_marks.items() if loc and self.owner.get(str(loc[0])) == display}
                )
            self._marks = marks
        return self._marks

    def where(self, loc: Loc) -> tuple[str, int]:
        """The file and line of `loc`, or of its nearest ancestor that has one."""
        loc = tuple(loc)
        while loc:
            if loc in self.marks:
                return self.marks[loc]
            loc = loc[:-1]
        return self.marks.get((), ("<inventory>", 0))


class YamlError(Exception):
    """A file that is not valid YAML or not a mapping at the top."""

    def __init__(self, file: str, line: int, message: str) -> None:
        super().__init__(message)
        self.file, self.line, self.message = file, line, message


# libyaml's parser when present (national-scale inventories parse ~10× faster); same nodes and marks either way.
_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):  # type: ignore[misc,valid-type]
    """Safe loader with YAML 1.2 core scalars, as yaml-rs reads them: `yes`/`on` stay strings, `0755` is 755, dates
    stay dates. Merge keys (`<<: *anchor`) are honoured. Duplicate keys are refused while converting."""


# YAML 1.2 core schema resolvers (PyYAML implements 1.1, whose booleans and octals surprise people and disagree
# with yaml-rs): null, bool, int, float, the merge key and, as yaml-rs does, timestamps; everything else is a string.
_Loader.yaml_implicit_resolvers = {}
for _tag, _regexp, _first in (
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", list("tTfF")),
    ("tag:yaml.org,2002:int", r"^(?:[-+]?[0-9][0-9_]*|0o[0-7]+|0x[0-9a-fA-F]+)$", list("-+0123456789")),
    (
        "tag:yaml.org,2002:float",
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        list("-+.0123456789"),
    ),
    ("tag:yaml.org,2002:merge", r"^<<$", ["<"]),
):
    _Loader.add_implicit_resolver(_tag, re.compile(_regexp), _first)
for _first_char, _resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items():  # dates, as yaml-rs reads them
    for _tag, _regexp in _resolvers:
        if _tag == "tag:yaml.org,2002:timestamp":
            _Loader.add_implicit_resolver(_tag, _regexp, [_first_char])


def _core_int(loader: _Loader, node: yaml.ScalarNode) -> int:
    text = node.value
    if text.startswith("0o"):
        return int(text[2:], 8)
    if text.startswith("0x"):
        return int(text[2:], 16)
    return int(text.replace("_", ""), 10)


def _core_bool(loader: _Loader, node: yaml.ScalarNode) -> bool:
    return str(node.value).lower() == "true"


_Loader.add_constructor("tag:yaml.org,2002:int", _core_int)
_Loader.add_constructor("tag:yaml.org,2002:bool", _core_bool)

_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"


def _scalar(node: yaml.ScalarNode, loader: _Loader, file: str) -> Any:
    # Plain strings are most of an inventory: skip the constructor's dispatch for them.
    if node.tag == _STR:
        return node.value
    try:
        return loader.construct_object(node, deep=True)
    except (ValueError, TypeError) as exc:  # a date that is no date (2026-13-45), a malformed binary
        raise YamlError(file, node.start_mark.line + 1, f"invalid YAML: {node.value!r}: {exc}") from None


def _convert(node: yaml.Node, loc: Loc, file: str, marks: dict[Loc, tuple[str, int]], loader: _Loader) -> Any:
    marks[loc] = (file, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        own = [(k, v) for k, v in node.value if k.tag != _MERGE]
        for key_node, value_node in node.value:  # merged mappings first: the mapping's own keys override them
            if key_node.tag == _MERGE:
                for key, value in _merged(value_node, loc, file, marks, loader).items():
                    out.setdefault(key, value)
        merged_keys = set(out)
        for key_node, value_node in own:
            if not isinstance(key_node, yaml.ScalarNode):
                raise YamlError(file, key_node.start_mark.line + 1, "invalid YAML: a mapping key must be a scalar")
            key = _scalar(key_node, loader, file)
            if key in out and key not in merged_keys:
                raise YamlError(file, key_node.start_mark.line + 1, f"duplicate key '{key}'")
            merged_keys.discard(key)
            out[key] = _convert(value_node, (*loc, key), file, marks, loader)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_convert(item, (*loc, i), file, marks, loader) for i, item in enumerate(node.value)]
    return _scalar(node, loader, file)  # type: ignore[arg-type]


def _merged(node: yaml.Node, loc: Loc, file: str, marks: dict[Loc, tuple[str, int]], loader: _Loader) -> dict[Any, Any]:
    """The mapping(s) a merge key names: one mapping, or a list of them where earlier ones win."""
    sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
    out: dict[Any, Any] = {}
    for source in sources:
        if not isinstance(source, yaml.MappingNode):
            raise YamlError(file, source.start_mark.line + 1, "a merge key (<<) takes a mapping or a list of mappings")
        for key, value in _convert(source, loc, file, marks, loader).items():
            out.setdefault(key, value)
    return out


def merge_keys(data: Any) -> Any:
    """Apply merge keys in data from a parser that keeps `<<` as a plain key (yaml-rs), as PyYAML's path does."""
    if isinstance(data, list):
        return [merge_keys(item) for item in data]
    if not isinstance(data, dict):
        return data
    out = {k: merge_keys(v) for k, v in data.items() if k != "<<"}
    if "<<" in data:
        sources = data["<<"] if isinstance(data["<<"], list) else [data["<<"]]
        for source in sources:
            for key, value in merge_keys(source).items() if isinstance(source, dict) else ():
                out.setdefault(key, value)
    return out


#: Characters YAML forbids in a stream (outside c-printable); yaml-rs lets some through, PyYAML refuses them.
_NOT_PRINTABLE = re.compile("[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _read(path: Path, display: str) -> str:
    """The file's text; YamlError for text that is not UTF-8 or holds a character YAML forbids (at its line)."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise YamlError(display, 1, f"not UTF-8 text ({exc.reason})") from None
    bad = _NOT_PRINTABLE.search(text)
    if bad:
        line = text.count("\n", 0, bad.start()) + 1
        raise YamlError(display, line, f"invalid YAML: character U+{ord(bad.group()):04X} is not allowed in YAML text")
    return text


def load_file(path: Path, display: str) -> tuple[Any, dict[Loc, tuple[str, int]]]:
    """Parse one YAML file into plain data and its marks; raise YamlError on bad syntax."""
    return _load_text(_read(path, display), display)


def _load_text(text: str, display: str) -> tuple[Any, dict[Loc, tuple[str, int]]]:
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        marks: dict[Loc, tuple[str, int]] = {}
        if node is None:
            return None, {(): (display, 1)}
        return _convert(node, (), display, marks, loader), marks
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise YamlError(display, line, f"invalid YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise YamlError(display, 1, f"invalid YAML: {exc}") from None
    finally:
        loader.dispose()


def marks_of(path: Path, display: str) -> tuple[Any, dict[Loc, tuple[str, int]]]:
    """The line of every path in a file the fast path already read (data None), or `load_file` for text outside the
    plain subset. Should the reference parser refuse the file, that refusal is the file's problem, at its line."""
    try:
        text = _read(path, display)
        if not plain(text):
            return _load_text(text, display)
        return None, _plain_marks(text, display)
    except YamlError as exc:
        raise InventoryError([Problem(exc.file, exc.line, "file", exc.message)]) from None


def _plain_marks(text: str, display: str) -> dict[Loc, tuple[str, int]]:
    """Marks of plain-subset text from the reference parser's event stream: the composer's marks (a node starts
    where its event does) without building nodes or values; only keys are resolved, as the composer resolves them."""
    loader = _Loader(text)
    marks: dict[Loc, tuple[str, int]] = {}
    stack: list[list[Any]] = []  # open collections: [loc, is mapping, key expected next, key or next index]
    try:
        while True:
            event = loader.get_event()
            kind = type(event)
            if kind is yaml.StreamEndEvent:
                break
            if kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
                stack.pop()
                continue
            if (
                kind is not yaml.ScalarEvent
                and kind is not yaml.MappingStartEvent
                and kind is not yaml.SequenceStartEvent
            ):
                continue  # stream and document starts and ends
            loc: Loc = ()
            if stack:
                top = stack[-1]
                if top[1] and top[2]:  # a key: plain-subset keys are scalars
                    top[2], top[3] = False, _key(event, loader, display)
                    continue
                if top[1]:
                    loc, top[2] = (*top[0], top[3]), True
                else:
                    loc, top[3] = (*top[0], top[3]), top[3] + 1
            marks[loc] = (display, event.start_mark.line + 1)
            if kind is yaml.MappingStartEvent:
                stack.append([loc, True, True, None])
            elif kind is yaml.SequenceStartEvent:
                stack.append([loc, False, False, 0])
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise YamlError(display, mark.line + 1 if mark else 1, f"invalid YAML: {exc.problem or exc.context}") from None
    finally:
        loader.dispose()
    return marks or {(): (display, 1)}


def _key(event: yaml.ScalarEvent, loader: _Loader, display: str) -> Any:
    tag = loader.resolve(yaml.ScalarNode, event.value, event.implicit)
    node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)  # type: ignore[arg-type]
    return _scalar(node, loader, display)


_FLOW_KEY = re.compile(r"[\]}][ \t]*:")  # a flow collection as a key
_BLOCK_SCALAR = re.compile(r"[|>][-+1-9]{0,2}[ \t]*(?:#[^\n]*)?$", re.MULTILINE)  # a | or > block scalar header
_DATE_TAIL = re.compile(r"-[0-9]{1,2}-[0-9]")  # what follows the year of a date (2026-01-01)


def plain(text: str) -> bool:
    """Whether the text stays in the plain subset, where yaml-rs and the reference parser read the same values: no
    tags (!), anchors (&), aliases (*), merge keys (<<), complex keys (? or a flow collection before `:`), directives
    or document markers after the first line, block scalars (the two chomp their last line break differently) or
    dates (constructed differently). Searched in the whole text, strings and comments too: a false alarm sends the
    file to the reference parser (slower), never to a wrong value. A few scans at memchr speed, no backtracking."""
    body = text[4:] if text.startswith("---\n") else text  # one leading document marker is plain
    if any(c in body for c in "!&*?") or "<<" in body or body.startswith(("%", "---", "...")):
        return False
    if "\n%" in body or "\n---" in body or "\n..." in body:
        return False
    if _FLOW_KEY.search(body) or _BLOCK_SCALAR.search(body):
        return False
    return not any(body[m.start() - 4 : m.start()].isdigit() for m in _DATE_TAIL.finditer(body))


# libyaml's parser without Python objects per event: the reference grammar over a national inventory in ~0.1 s.
_RawParser = getattr(getattr(yaml, "cyaml", None), "CParser", None)


def reference_check(text: str, display: str) -> None:
    """Run the reference parser's grammar (libyaml's scanner and parser, PyYAML's own) over the whole text and raise
    YamlError at the line of anything it refuses: the fast parser's data is used only for text both accept."""
    if _RawParser is None:  # pragma: no cover - PyYAML without libyaml: the full reference parse decides
        _load_text(text, display)
        return
    try:
        _RawParser(text).raw_parse()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise YamlError(display, mark.line + 1 if mark else 1, f"invalid YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise YamlError(display, 1, f"invalid YAML: {exc}") from None


def load_data(path: Path, display: str) -> Any:
    """The file's data. Text in the plain subset that the reference grammar accepts is read by yaml-rs (fast); any
    other text by the reference parser (PyYAML with the YAML 1.2 core resolvers), whose refusal names the line."""
    text = _read(path, display)
    if yaml_rs is None or not plain(text):
        return _load_text(text, display)[0]
    reference_check(text, display)
    try:
        return yaml_rs.loads(text)
    except Exception:  # a refusal the grammar does not see (a duplicate key): the reference parser says where
        return _load_text(text, display)[0]
