"""A deploy's diff as a network engineer reads it: once per section, `+` added and `-` removed, the same form for both
platforms.

The exact diff stays what the driver (or hier_config) gave, in the JSON report and the audit trail; this is only how
it is shown. frr-reload repeats the section line above every changed line (`interface eth1` once per line under
it), and hier_config's remediation writes removals as `no …` commands: both are folded into one tree here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

TOP = ""  # the section of top-level lines


@dataclass
class Section:
    header: str
    lines: list[str] = field(default_factory=list)  # "+ …" / "- …"


@dataclass
class DiffView:
    sections: dict[str, Section] = field(default_factory=dict)

    def add(self, header: str, sign: str, line: str) -> None:
        entry = f"{sign} {line.strip()}"
        section = self.sections.setdefault(header, Section(header))
        if entry not in section.lines:
            section.lines.append(entry)

    @property
    def added(self) -> int:
        return sum(line.startswith("+") for s in self.sections.values() for line in s.lines)

    @property
    def removed(self) -> int:
        return sum(line.startswith("-") for s in self.sections.values() for line in s.lines)

    def summary(self) -> str:
        """`+12 -3 in 4 sections` (top-level lines count as one section)."""
        if not self.sections:
            return ""
        count = len(self.sections)
        return f"+{self.added} -{self.removed} in {count} section{'s' if count != 1 else ''}"

    def text(self) -> str:
        out: list[str] = []
        for section in self.sections.values():
            if section.header == TOP:
                out += section.lines
            else:
                out.append(section.header)
                out += [f"  {line}" for line in section.lines]
        return "\n".join(out)


def parse(diff: str) -> DiffView:
    """Either shape: frr-reload's `Lines To Delete` / `Lines To Add` (with an nftables unified diff after it), or an
    indented remediation (IOS)."""
    view = DiffView()
    text, _, nft = diff.partition("--- nftables")
    if "Lines To Add" in text or "Lines To Delete" in text:
        _frr(text, view)
    else:
        _remediation(text, view)
    if nft:
        for line in nft.splitlines()[1:]:
            if line.startswith(("+", "-")) and not line.startswith(("+++", "---", "@@")):
                view.add("nftables", line[0], line[1:])
    return view


def _frr(text: str, view: DiffView) -> None:
    sign, header, has_children = "", None, False

    def close() -> None:  # a section line with nothing under it is itself the change
        if header is not None and not has_children:
            view.add(TOP, sign, header)

    for line in text.splitlines():
        if line.startswith(("Lines To Delete", "Lines To Add")):
            close()
            sign, header, has_children = ("-" if "Delete" in line else "+"), None, False
        elif not line.strip() or set(line.strip()) == {"="} or not sign:
            continue
        elif line.startswith(" "):
            stripped = line.strip()
            if sign == "-" and stripped.startswith("no "):  # frr-reload deletes a line by its `no` form
                stripped = stripped[3:]
            view.add(header or TOP, sign, stripped)
            has_children = True
        elif line != header:  # frr-reload repeats the section line above each changed line: fold repeats
            close()
            header, has_children = line, False
    close()


def _remediation(text: str, view: DiffView) -> None:
    lines = [line for line in text.splitlines() if line.strip() and line.strip() != "!"]
    for i, line in enumerate(lines):
        if line.startswith(" "):
            continue
        children = []
        for child in lines[i + 1 :]:
            if not child.startswith(" "):
                break
            children.append(child.strip())
        if not children:
            _signed(view, TOP, line.strip())
        for child in children:
            _signed(view, line.strip(), child)


def _signed(view: DiffView, header: str, line: str) -> None:
    if line.startswith("no "):
        view.add(header, "-", line[3:])
    else:
        view.add(header, "+", line)
