"""One stanza of a device configuration: find it, cut it out, put another in its place.

A `RouterConfig` owns one stanza (a link's `interface …` block) of a router's configuration, while the rest of the
configuration belongs to `govnet deploy`. To push just that stanza through NAPALM's *replace* semantics (so lines
added by hand inside the stanza are removed, not kept as a merge would), the candidate is the device's running
configuration with this one stanza swapped for the intended one. Works for FRR (`exit` closes a block) and IOS
(`!` separates blocks): a stanza is its header line plus the indented lines that follow it.
"""

from __future__ import annotations

import re

_NOISE = re.compile(r"^(Building configuration\.\.\.|Current configuration\s*:.*)$")


def clean_running(text: str) -> str:
    """Running config as a candidate: drop the banner lines `show running-config` prints before the config."""
    lines = [ln.rstrip() for ln in text.splitlines() if not _NOISE.match(ln.strip())]
    while lines and not lines[0]:
        lines.pop(0)
    return "\n".join(lines) + "\n"


def _span(lines: list[str], header: str) -> tuple[int, int] | None:
    """[start, end) of the stanza `header` in `lines`, including a closing `exit`; None when absent."""
    try:
        start = next(i for i, ln in enumerate(lines) if ln.rstrip() == header)
    except StopIteration:
        return None
    end = start + 1
    while end < len(lines) and lines[end][:1] in (" ", "\t"):
        end += 1
    if end < len(lines) and lines[end].strip() in ("exit", "exit-address-family"):
        end += 1
    return start, end


def extract(config: str, header: str) -> str:
    """The stanza `header` as it appears in `config` (header, body, closing `exit`), or "" when absent."""
    lines = config.splitlines()
    span = _span(lines, header)
    if span is None:
        return ""
    return "\n".join(ln.rstrip() for ln in lines[span[0] : span[1]]) + "\n"


def body(stanza: str) -> list[str]:
    """The meaningful lines of a stanza, for comparing intent with what a device reports."""
    return [ln.strip() for ln in stanza.splitlines()[1:] if ln.strip() not in ("", "!", "exit")]


def splice(config: str, header: str, stanza: str) -> str:
    """`config` with the stanza `header` replaced by `stanza` (added after the last interface block if absent)."""
    lines = config.splitlines()
    new = stanza.rstrip("\n").splitlines()
    span = _span(lines, header)
    if span is None:
        span = (_insert_at(lines),) * 2
        new = [*new, "!"]
    return "\n".join([*lines[: span[0]], *new, *lines[span[1] :]]) + "\n"


def _insert_at(lines: list[str]) -> int:
    """Where a missing interface stanza goes: after the last interface block, else before `end`."""
    last = None
    for i, ln in enumerate(lines):
        if ln.startswith("interface "):
            last = i
    if last is not None:
        span = _span(lines, lines[last].rstrip())
        assert span is not None
        end = span[1]
        return end + 1 if end < len(lines) and lines[end].strip() == "!" else end
    ends = [i for i, ln in enumerate(lines) if ln.strip() == "end"]
    return ends[-1] if ends else len(lines)


def deconfigured(header: str, platform: str) -> str:
    """The stanza a removed link leaves behind: the bare header (every line under it removed)."""
    return f"{header}\nexit\n" if platform == "frr" else f"{header}\n"
