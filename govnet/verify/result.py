"""One result line of a verification run; every check family produces these."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

FAMILIES = (
    "control-plane",
    "reachability",
    "services",
    "traceroute",
    "segmentation",
    "citizen",
    "exposure",
    "egress",
    "failover",
    "isp-failover",
    "oracle",
)


@dataclass(frozen=True)
class Check:
    family: str
    name: str  # what was checked, precise enough to act on: "core1: OSPF neighbour 198.18.0.2 on eth1 Full"
    ok: bool
    detail: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
