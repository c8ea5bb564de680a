"""``python -m napalm_frr.helper INSTANCE VERB [ARGS]``: one request, a session, or ``serve`` (the resident helper)."""

from __future__ import annotations

import sys


def run(argv: list[str]) -> int:
    if len(argv) < 1:
        print("usage: python -m napalm_frr.helper INSTANCE VERB [ARGS]", file=sys.stderr)
        return 2
    if argv[1:] == ["serve"]:
        from napalm_frr.helper.server import serve

        return serve(argv[0])
    from napalm_frr.helper.service import main

    return main(argv[0], argv[1:])


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
