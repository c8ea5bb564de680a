"""DepartmentLink: one link of the model, its planned addressing, and the config of both routers' ends."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from govnet.model.derived import Link
from govnet_pulumi.router_config import RouterConfig, RouterConfigArgs, RouterConfigProvider


@dataclass(frozen=True)
class DepartmentLinkArgs:
    """The link as planned, the department it serves, and each end's router config."""

    link: Link
    department: str
    a: RouterConfigArgs
    b: RouterConfigArgs


def resource_name(text: str) -> str:
    """Model keys (`core1:eth6--health-r1:eth1`) as resource names: `:` is Pulumi's URN separator."""
    return text.replace(":", "-")


class DepartmentLink(pulumi.ComponentResource):
    """Both ends of a link; each end's interface stanza is a `RouterConfig` on its router."""

    ends: tuple[RouterConfig, RouterConfig]
    summary: dict[str, object]

    def __init__(
        self,
        name: str,
        args: DepartmentLinkArgs,
        opts: pulumi.ResourceOptions | None = None,
        provider: RouterConfigProvider | None = None,
    ) -> None:
        super().__init__("govnet:network:DepartmentLink", name, None, opts)
        link = args.link
        child = pulumi.ResourceOptions(parent=self)
        self.ends = tuple(  # type: ignore[assignment]
            RouterConfig(f"{name}-{end.device}", end, child, provider) for end in (args.a, args.b)
        )
        self.summary = {
            "link": link.name,
            "department": args.department,
            "prefix": str(link.prefix),
            "medium": link.medium,
            "bandwidth_mbps": link.bandwidth_mbps,
            "ospf_cost": link.ospf_cost,
            "a": {"device": link.a.device, "interface": link.a.interface, "address": str(link.a.address)},
            "b": {"device": link.b.device, "interface": link.b.interface, "address": str(link.b.address)},
        }
        self.register_outputs(self.summary)
