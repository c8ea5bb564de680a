"""The helper's request syntax: ``VERB [options] [arguments]``, one request per process or per session line.

Parsed by hand, not argparse: a one-shot helper starts on every request and argparse alone costs more than
the rest of a ``status``. The driver's connection Protocol declares the same verbs
(:data:`napalm_frr.connection.HELPER_VERBS`).
"""

from __future__ import annotations

import json
import re
import types

from napalm_frr.helper.box import UsageError

MAX_REVERT_SECONDS = 24 * 3600
#: A single read-only command.
SHOW_COMMAND = re.compile(r"show [^\n]+")
#: Every verb a request may name.
VERBS = (
    "status",
    "checkpoint",
    "check",
    "replace",
    "merge",
    "nft-apply",
    "nft-diff",
    "arm",
    "confirm",
    "rollback",
    "startup",
    "facts",
    "ntp",
    "show",
    "ping",
)
#: ``ping`` takes iputils options with a value (count, size, timeout, TTL, source), then one destination.
PING_OPTIONS = ("-c", "-s", "-W", "-t", "-I")
PING_VALUE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:%-]{0,252}")
#: The revert timer's own entry (not a request verb: a timer run as a program).
TIMER = "_timer"

#: Per verb: (flags, options taking a value, positional arguments). Parsed by hand, not argparse: the
#: helper starts on every request and argparse alone costs more than the rest of a ``status``.
SYNTAX: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "check": (("--with-nft", "--merge", "--diff", "--running"), (), ()),
    "replace": (("--with-nft",), ("--revert-in", "--message"), ()),
    "merge": ((), ("--revert-in", "--message"), ()),
    "nft-apply": ((), ("--revert-in", "--message"), ()),
    "arm": ((), ("--message",), ("seconds",)),
    "_timer": ((), (), ("token",)),
}


def parse_args(argv: list[str]) -> types.SimpleNamespace:
    """``VERB [options] [arguments]`` → a namespace (``verb``, each option and argument); UsageError if bad."""
    if not argv:
        raise UsageError("a verb is required: " + ", ".join(VERBS))
    verb, rest = argv[0], argv[1:]
    if verb not in VERBS and verb != TIMER:
        raise UsageError(f"unknown verb {verb!r} (verbs: {', '.join(VERBS)})")
    flags, options, positional = SYNTAX.get(verb, ((), (), ()))
    values: dict[str, object] = {f.lstrip("-").replace("-", "_"): False for f in flags}
    values.update({o.lstrip("-").replace("-", "_"): None for o in options})
    values.update(verb=verb, message=values.get("message") or "")
    given: list[str] = []
    words = iter(rest)
    for word in words:
        if word in flags:
            values[word.lstrip("-").replace("-", "_")] = True
        elif word in options:
            value = next(words, None)
            if value is None:
                raise UsageError(f"{verb}: {word} needs a value")
            values[word.lstrip("-").replace("-", "_")] = _seconds(value) if word == "--revert-in" else value
        elif word.startswith("--"):
            raise UsageError(f"{verb}: unknown option {word}")
        else:
            given.append(word)
    if len(given) != len(positional):
        raise UsageError(f"{verb}: expected {' '.join(positional) or 'no arguments'}, got {' '.join(given) or 'none'}")
    for name, value in zip(positional, given, strict=True):
        values[name] = _seconds(value) if name == "seconds" else value
    return types.SimpleNamespace(**values)


def _seconds(text: str) -> int:
    """A revert delay: whole seconds, 1 s to 24 h."""
    if not text.isdigit() or not 1 <= int(text) <= MAX_REVERT_SECONDS:
        raise UsageError(f"seconds must be 1..{MAX_REVERT_SECONDS}, got {text!r}")
    return int(text)


def candidate_and_policy(stdin: str, with_nft: bool) -> tuple[str, str | None]:
    """stdin as the FRR config alone, or with ``--with-nft`` as ``{"config": ..., "nft": ...}``."""
    if not with_nft:
        return stdin, None
    try:
        both = json.loads(stdin)
        return str(both["config"]), str(both["nft"])
    except (ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"--with-nft needs a JSON object with config and nft on stdin ({exc})") from exc


#: What a request's argv may start with: the command itself (a login passes the whole command line).
COMMAND_PREFIXES = ("napalm-frr-helper",)
