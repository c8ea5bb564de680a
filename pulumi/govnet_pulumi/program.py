"""The program as a function of (model, settings): `__main__` calls it, the mock tests call it the same way."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import pulumi_proxmoxve as proxmoxve

import pulumi
from govnet.model.derived import Link, Network
from govnet.render import render_device
from govnet_pulumi import sections
from govnet_pulumi.link import DepartmentLink, DepartmentLinkArgs, resource_name
from govnet_pulumi.router_config import RouterConfigArgs, RouterConfigProvider
from govnet_pulumi.server import DataCentreServer, DataCentreServerArgs
from govnet_pulumi.settings import Proxmox, Settings


@dataclass
class Program:
    """What was declared, for tests and for the stack outputs."""

    servers: dict[str, DataCentreServer] = field(default_factory=dict)
    links: dict[str, DepartmentLink] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)


def build(network: Network, settings: Settings, provider: RouterConfigProvider | None = None) -> Program:
    """Declare every DC server and every link of `network`; return them with the stack outputs."""
    program = Program()
    if settings.proxmox is not None:
        program.servers = declare_servers(network, settings, settings.proxmox)
    if settings.manage_routers:
        program.links = declare_links(network, settings, provider)
    program.outputs = outputs(network, settings, program)
    return program


def declare_servers(network: Network, settings: Settings, place: Proxmox) -> dict[str, DataCentreServer]:
    """One VM per DC server, all through one explicit Proxmox provider (its API token a secret)."""
    provider = proxmoxve.Provider(
        "proxmox", endpoint=place.endpoint, api_token=place.api_token.output(), insecure=place.insecure
    )
    opts = pulumi.ResourceOptions(provider=provider)
    dns = tuple(str(a) for a in network.dns_servers)
    return {
        s.name: DataCentreServer(
            s.name,
            DataCentreServerArgs(
                server=s,
                segment=network.segment(s.site, s.segment),
                dns_servers=dns,
                domain=network.domain,
                env=network.env,
                placement=place,
                admin_user=settings.admin_user,
                admin_ssh_keys=settings.admin_ssh_keys,
            ),
            opts,
        )
        for s in network.servers
    }


def department_of(network: Network, link: Link) -> str:
    """The department a link serves: its department site, or the DC for links inside the DC."""
    sites = [network.sites[network.devices[d].site] for d in (link.a.device, link.b.device)]
    return next((s.name for s in sites if s.kind == "department"), sites[0].name)


def router_config_args(
    network: Network, settings: Settings, device: str, interface: str, rendered: str
) -> RouterConfigArgs:
    """One link end: its interface stanza cut from the device's full render (what `govnet deploy` pushes)."""
    dev = network.devices[device]
    header = f"interface {interface}"
    return RouterConfigArgs(
        device=device,
        host=str(dev.mgmt.ip),
        platform=dev.platform,
        header=header,
        intended=sections.extract(rendered, header),
        username=settings.router_username,
        password=settings.router_password.output(),
        known_hosts=settings.known_hosts,
        revert_in=settings.revert_in,
        backup_dir=settings.backup_dir,
        env=network.env,
        vault=str(network.vault or ""),
    )


def declare_links(
    network: Network, settings: Settings, provider: RouterConfigProvider | None = None
) -> dict[str, DepartmentLink]:
    """One DepartmentLink per link, with a RouterConfig for each end."""
    rendered = {name: render_device(network, name) for name in network.devices}
    return {
        link.name: DepartmentLink(
            resource_name(link.name),
            DepartmentLinkArgs(
                link=link,
                department=department_of(network, link),
                a=router_config_args(network, settings, link.a.device, link.a.interface, rendered[link.a.device]),
                b=router_config_args(network, settings, link.b.device, link.b.interface, rendered[link.b.device]),
            ),
            provider=provider,
        )
        for link in network.links
    }


def outputs(network: Network, settings: Settings, program: Program) -> dict[str, Any]:
    """Stack outputs: server addresses, the Ansible inventory, links per department."""
    per_department: dict[str, list[dict[str, object]]] = defaultdict(list)
    for link in network.links:
        per_department[department_of(network, link)].append(
            {
                "link": link.name,
                "medium": link.medium,
                "bandwidth_mbps": link.bandwidth_mbps,
                "ospf_cost": link.ospf_cost,
                "a": {"device": link.a.device, "address": str(link.a.address)},
                "b": {"device": link.b.device, "address": str(link.b.address)},
            }
        )
    return {
        "env": network.env,
        "servers": {s.name: str(s.address) for s in network.servers},
        "vm_ids": {name: srv.vm.vm_id for name, srv in program.servers.items()},
        "ansible_inventory": settings.ansible_inventory,
        "links": dict(per_department),
    }
