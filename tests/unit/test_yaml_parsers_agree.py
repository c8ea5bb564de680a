"""The inventory's two YAML readers agree: yaml-rs (fast path) and PyYAML with govnet's YAML 1.2 core resolvers (the
path with line numbers). A value must not change meaning depending on which one read it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml_rs
from hypothesis import given, settings
from hypothesis import strategies as st

from govnet.model.yamlsrc import YamlError, load_data, load_file, marks_of, merge_keys

REPO = Path(__file__).resolve().parents[2]

SCALARS = [
    "yes", "no", "on", "off", "y", "n", "true", "True", "FALSE", "0755", "0o17", "0x1F", "-12", "+3", "1_000",
    "12:30", "1:20:30", "1.5", "-.5", "1e3", ".inf", "-.Inf", ".nan", "~", "null", "Null", "", "2026-01-01",
    "'0755'", '"yes"', "198.18.0.1", "198.18.0.0/15", "tcp/443", "eth1", "0", "00", "007", "كربلاء",
]  # fmt: skip


@pytest.mark.parametrize("text", SCALARS)
def test_a_scalar_means_the_same_to_both_parsers(text: str, tmp_path: Path) -> None:
    doc = f"value: {text}\nlist: [{text or '~'}]\n"
    path = tmp_path / "x.yml"
    path.write_text(doc)
    assert repr(load_file(path, "x.yml")[0]) == repr(yaml_rs.loads(doc))  # repr: nan equals nan


def test_merge_keys_are_honoured_by_both_paths(tmp_path: Path) -> None:
    doc = (
        "base: &b {medium: fibre, bandwidth_mbps: 1000, ospf_cost: 10}\n"
        "other: &o {medium: copper, vlan: 7}\n"
        "one: {<<: *b, ospf_cost: 50}\n"
        "two:\n  <<: [*b, *o]\n  name: x\n"
    )
    path = tmp_path / "x.yml"
    path.write_text(doc)
    marked = load_file(path, "x.yml")[0]
    assert marked["one"] == {"medium": "fibre", "bandwidth_mbps": 1000, "ospf_cost": 50}
    assert marked["two"] == {"medium": "fibre", "bandwidth_mbps": 1000, "ospf_cost": 10, "vlan": 7, "name": "x"}
    assert load_data(path, "x.yml") == marked == merge_keys(yaml_rs.loads(doc))


def test_a_key_given_twice_is_refused_but_overriding_a_merged_key_is_not(tmp_path: Path) -> None:
    path = tmp_path / "x.yml"
    path.write_text("b: &b {a: 1}\nc: {<<: *b, a: 2}\nd: {a: 1, a: 2}\n")
    with pytest.raises(YamlError, match="duplicate key 'a'") as caught:
        load_file(path, "x.yml")
    assert caught.value.line == 3


@pytest.mark.parametrize("char", ["\x1f", "\x00", "\x7f", "\ufffe"])
def test_a_control_character_is_refused_with_its_line_by_both_paths(char: str, tmp_path: Path) -> None:
    """yaml-rs accepts some characters YAML forbids; the fast path must not read what the marked path refuses."""
    path = tmp_path / "x.yml"
    path.write_text(f"a: 1\nb: x{char}y\n")
    with pytest.raises(YamlError) as exc:
        load_data(path, "x.yml")
    assert exc.value.line == 2 and "invalid YAML" in exc.value.message


#: Pieces of YAML where yaml-rs and PyYAML are known to part ways (tabs, stray `:` and `?`, tags, anchors, aliases,
#: merge keys, documents, directives, block scalars and their chomping, bad escapes, dates that are no dates), mixed
#: with plain inventory text.
PIECES = [
    "a", "b", ": ", ":", "- ", "-", "\n", "  ", " ", "[", "]", "{", "}", ",", "? ", "&x ", "*x", "!t ", "!!str ",
    "'", '"', "#c", "|", ">", "|\n  x", ">-\n", "|+\n", "\n\n", "\n  ", "1", "yes", "<<: ", "---\n", "...\n",
    "%YAML 1.2\n", "\t", "\\", "@", "`", "%", "x: y", "2026-13-45", "2026-01-01", "0o9", "0x", ".5e", "~", "1.5",
    "-3", "null", "0755", "كربلاء",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(pieces=st.lists(st.sampled_from(PIECES), min_size=1, max_size=14))
def test_the_fast_path_reads_a_file_only_as_the_reference_parser_does(
    pieces: list[str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """load_data (the reference grammar's check, then yaml-rs on the plain subset) and load_file (the reference
    parser alone) accept the same files and read the same values; whatever yaml-rs alone would have accepted."""
    path = tmp_path_factory.getbasetemp() / "agree.yml"
    path.write_text("".join(pieces), encoding="utf-8")
    try:
        fast: object = repr(load_data(path, "x.yml"))
    except YamlError:
        fast = YamlError
    try:
        reference: object = repr(load_file(path, "x.yml")[0])
    except YamlError:
        reference = YamlError
    assert fast == reference
    if fast is not YamlError:  # and every path's line is the one the composer gives
        assert marks_of(path, "x.yml")[1] == load_file(path, "x.yml")[1]


@pytest.mark.parametrize("path", sorted(REPO.glob("inventory/*/*.yml")), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_the_lines_of_a_plain_file_are_the_composers(path: Path) -> None:
    """Marks from the event stream (no nodes built) equal the composer's, path for path."""
    marks = marks_of(path, "f")
    assert marks[0] is None, "a shipped inventory file left the plain subset: it is read by the slow path"
    assert marks[1] == load_file(path, "f")[1]


def test_a_tab_yaml_rs_lets_through_is_refused_with_its_line(tmp_path: Path) -> None:
    """yaml-rs reads `a: 1` here; the reference grammar refuses the tab, and so does the fast path, at line 2."""
    path = tmp_path / "x.yml"
    path.write_text("a: 1\n\t# a comment indented by tab\nb: 2\n")
    assert yaml_rs.loads(path.read_text()) == {"a": 1, "b": 2}
    with pytest.raises(YamlError, match="tab character") as exc:
        load_data(path, "x.yml")
    assert exc.value.line == 2


@pytest.mark.parametrize("text", ["when: 2026-13-45\n", "? [a, b]\n: c\n"])
def test_what_the_constructor_refuses_is_a_yaml_error_with_its_line(text: str, tmp_path: Path) -> None:
    path = tmp_path / "x.yml"
    path.write_text("a: 1\n" + text)
    with pytest.raises(YamlError) as exc:
        load_data(path, "x.yml")
    assert exc.value.line == 2
