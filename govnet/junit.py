"""JUnit XML, the report format every CI understands (GitLab's test reports, GitHub's test summary actions).

One testsuite per run, one testcase per check; a failed check carries a <failure> with its message and details.
Names must be unique in a suite (CI systems merge duplicates silently), so a duplicate is refused.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Case:
    classname: str  # the check family: filters, pairing, control-plane, ...
    name: str
    ok: bool
    message: str = ""
    details: tuple[str, ...] = field(default_factory=tuple)
    skipped: bool = False


def junit_xml(suite: str, cases: Iterable[Case]) -> str:
    cases = list(cases)
    names = [c.name for c in cases]
    dup = sorted({n for n in names if names.count(n) > 1}) if len(set(names)) != len(names) else []
    if dup:
        raise ValueError(f"duplicate testcase names: {', '.join(dup[:5])}")
    failures = sum(1 for c in cases if not c.ok and not c.skipped)
    skipped = sum(1 for c in cases if c.skipped)
    root = ET.Element("testsuites", name=suite, tests=str(len(cases)), failures=str(failures))
    node = ET.SubElement(
        root, "testsuite", name=suite, tests=str(len(cases)), failures=str(failures), errors="0", skipped=str(skipped)
    )
    for c in cases:
        case = ET.SubElement(node, "testcase", classname=f"{suite}.{c.classname}", name=c.name)
        if c.skipped:
            ET.SubElement(case, "skipped", message=c.message)
        elif not c.ok:
            failure = ET.SubElement(case, "failure", message=c.message or "failed")
            failure.text = "\n".join(c.details)
        elif c.details:
            ET.SubElement(case, "system-out").text = "\n".join(c.details)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_junit(path: Path, suite: str, cases: Iterable[Case]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(junit_xml(suite, cases))


def unique(cases: Iterable[Case]) -> list[Case]:
    """Suffix repeated names (` #2`, ` #3`): a run may check the same thing twice (a drill's before and after)."""
    seen: dict[str, int] = {}
    out = []
    for c in cases:
        seen[c.name] = seen.get(c.name, 0) + 1
        out.append(c if seen[c.name] == 1 else Case(c.classname, f"{c.name} #{seen[c.name]}", *_rest(c)))
    return out


def _rest(c: Case) -> tuple[bool, str, tuple[str, ...], bool]:
    return c.ok, c.message, c.details, c.skipped


def validate_cases(problems: Iterable[object], summary: str) -> list[Case]:
    """validate: one failing testcase per problem (`file:line: where: what`), or one passing case."""
    lines = [str(p) for p in problems]
    if not lines:
        return [Case("validate", f"inventory builds: {summary}", True)]
    return unique(Case("validate", line.rsplit(": ", 1)[0], False, line) for line in lines)


def verify_cases(checks: Iterable[object]) -> list[Case]:
    """verify: one testcase per check of the run (govnet.verify.result.Check: family, name, ok, detail)."""
    return unique(
        Case(
            str(getattr(c, "family", "")),
            str(getattr(c, "name", "")),
            bool(getattr(c, "ok", False)),
            str(getattr(c, "detail", "")),
        )
        for c in checks
    )
