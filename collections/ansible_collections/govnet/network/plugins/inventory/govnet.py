"""Ansible inventory plugin fed by govnet's model: the one list of servers and devices, grouped for playbooks."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Constructable

DOCUMENTATION = r"""
name: govnet
short_description: Hosts and groups of the governorate from govnet's model
description:
  - Loads the inventory directory through C(govnet.model.load_network) (load, validate, address) and exposes every
    DC server, router/switch and lab department host with the planned addresses, segment and services.
  - Groups - C(servers), C(network_devices), C(endpoints); C(env_<env>), C(site_<site>), C(role_<role>),
    C(zone_<zone>), C(phase_<n>) (dashes become underscores).
options:
  plugin:
    description: Marks the file as this plugin's.
    required: true
    choices: [govnet.network.govnet, govnet]
  inventory_dir:
    description: The governorate's inventory directory, relative to this file (or absolute).
    type: str
    default: karbala
  env:
    description: Environment to address (C(lab) or C(production)).
    type: str
    default: lab
    env:
      - name: GOVNET_ENV
  lab_containers:
    description:
      - Lab only - reach every DC server through podman in its lab container C(gvlab-<server>) (see
        C(playbooks/lab-containers.yml)) instead of over SSH at its planned address. The address stays in
        C(govnet_ip) / C(govnet_address).
    type: bool
    default: false
  lab_connection:
    description:
      - With C(lab_containers), the connection into the containers. C(podman) (default) is the name Mitogen
        takes over under the strategy of C(playbooks/servers.yml) (C(mitogen_free)), where one C(podman exec) per
        server starts an interpreter that runs every task of the play. Under Ansible's own strategies C(podman) is
        C(containers.podman.podman), several podman processes per task. C(govnet.network.labns) enters the
        container's namespaces with nsenter and pipelines modules, the faster choice for plays without Mitogen.
    type: str
    default: podman
    choices: [podman, govnet.network.labns, containers.podman.podman]
  server_python:
    description: Python interpreter on the servers (set explicitly; discovery is unreliable).
    type: str
    default: /usr/bin/python3
extends_documentation_fragment:
  - constructed
"""

EXAMPLES = r"""
# inventory/karbala.govnet.yml
plugin: govnet.network.govnet
inventory_dir: karbala
env: lab
"""


def group_name(prefix: str, value: object) -> str:
    """Ansible group names must be identifiers: `dc-dmz` → `zone_dc_dmz`."""
    return f"{prefix}_{str(value).replace('-', '_').replace('.', '_')}"


class InventoryModule(BaseInventoryPlugin, Constructable):
    NAME = "govnet.network.govnet"

    def verify_file(self, path: str) -> bool:
        """Only claim files named *.govnet.yml / *.govnet.yaml so other inventories stay untouched."""
        return super().verify_file(path) and path.endswith((".govnet.yml", ".govnet.yaml"))

    def parse(self, inventory: Any, loader: Any, path: str, cache: bool = True) -> None:
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)
        try:
            from govnet.model import InventoryError, load_network
        except ImportError as exc:
            raise AnsibleParserError(f"govnet is not importable by this Ansible's Python: {exc}") from exc
        directory = Path(os.path.dirname(path)) / self.get_option("inventory_dir")
        env = self.get_option("env")
        try:
            network = load_network(directory, env=env)
        except InventoryError as exc:
            raise AnsibleParserError(f"govnet inventory {directory} ({env}):\n{exc}") from None
        if self.get_option("lab_containers") and network.env != "lab":
            raise AnsibleParserError(f"{path}: lab_containers is for the lab environment only, not '{network.env}'")
        self._populate(network)

    def _group(self, group: str, host: str) -> None:
        self.inventory.add_group(group)
        self.inventory.add_child(group, host)

    def _populate(self, net: Any) -> None:
        """Add every host with its model facts, then the groups every playbook selects by."""
        phase_of_site = {site.name: site.phase for site in net.sites.values()}
        for key, value in self._globals(net).items():
            self.inventory.set_variable("all", key, value)
        for server in net.servers:
            self._add(
                server.name,
                "servers",
                self._server_vars(server),
                server.site,
                server.role,
                server.zone,
                server.phase,
                net.env,
            )
        for device in net.devices.values():
            self._add(
                device.name,
                "network_devices",
                self._device_vars(device),
                device.site,
                device.role,
                device.zone,
                device.phase,
                net.env,
            )
        for host in net.hosts:
            hostvars = {
                "govnet_kind": "endpoint",
                "govnet_site": host.site,
                "govnet_segment": host.segment,
                "govnet_zone": host.zone,
                "govnet_address": str(host.address),
                "govnet_gateway": str(host.gateway),
                "ansible_connection": "local",
                "ansible_python_interpreter": "{{ ansible_playbook_python }}",
            }
            self._add(
                host.name, "endpoints", hostvars, host.site, "endpoint", host.zone, phase_of_site[host.site], net.env
            )

    def _add(
        self, name: str, kind: str, hostvars: dict[str, Any], site: str, role: str, zone: str, phase: int, env: str
    ) -> None:
        self.inventory.add_host(name)
        for key, value in hostvars.items():
            self.inventory.set_variable(name, key, value)
        for group in (
            kind,
            group_name("env", env),
            group_name("site", site),
            group_name("role", role),
            group_name("zone", zone),
            group_name("phase", phase),
        ):
            self._group(group, name)
        strict = self.get_option("strict")
        self._set_composite_vars(self.get_option("compose"), hostvars, name, strict=strict)
        self._add_host_to_composed_groups(self.get_option("groups"), hostvars, name, strict=strict)
        self._add_host_to_keyed_groups(self.get_option("keyed_groups"), hostvars, name, strict=strict)

    def _server_vars(self, server: Any) -> dict[str, Any]:
        return {
            "govnet_kind": "server",
            "govnet_role": server.role,
            "govnet_site": server.site,
            "govnet_segment": server.segment,
            "govnet_zone": server.zone,
            "govnet_phase": server.phase,
            "govnet_address": str(server.address),
            "govnet_ip": str(server.address.ip),
            "govnet_gateway": str(server.gateway),
            "govnet_vcpu": server.vcpu,
            "govnet_memory_mb": server.memory_mb,
            "govnet_disk_gb": server.disk_gb,
            "govnet_services": [{"proto": s.proto, "port": s.port} for s in server.services],
            "ansible_host": str(server.address.ip),
            "ansible_python_interpreter": self.get_option("server_python"),
        } | self._lab_container_vars(server.name)

    def _lab_container_vars(self, name: str) -> dict[str, Any]:
        """In the lab every server is a container in its namespace; lab_containers makes Ansible use podman."""
        if self.get_option("env") != "lab":
            return {}
        container = f"gvlab-{name}"
        if not self.get_option("lab_containers"):
            return {"govnet_lab_container": container}
        return {
            "govnet_lab_container": container,
            "govnet_lab_netns": f"gvs-{name}",
            "ansible_host": container,
            "ansible_connection": self.get_option("lab_connection"),
        }

    @staticmethod
    def _device_vars(device: Any) -> dict[str, Any]:
        # Devices are configured by `govnet deploy` from the controller, never over an Ansible connection.
        return {
            "govnet_kind": "device",
            "govnet_role": device.role,
            "govnet_site": device.site,
            "govnet_zone": device.zone,
            "govnet_phase": device.phase,
            "govnet_platform": device.platform,
            "govnet_loopback": str(device.loopback),
            "govnet_router_id": str(device.router_id),
            "govnet_mgmt": str(device.mgmt),
            "ansible_host": str(device.mgmt.ip),
            "ansible_connection": "local",
            "ansible_python_interpreter": "{{ ansible_playbook_python }}",
        }

    @staticmethod
    def _globals(net: Any) -> dict[str, Any]:
        """Governorate-wide facts the roles need (DNS zone, NTP/DNS/syslog servers, zone prefixes)."""
        return {
            "govnet_name": net.name,
            "govnet_env": net.env,
            "govnet_domain": net.domain,
            "govnet_timezone": net.timezone,
            "govnet_ntp_servers": [str(a) for a in net.ntp_servers],
            "govnet_dns_servers": [str(a) for a in net.dns_servers],
            "govnet_syslog_servers": [str(a) for a in net.syslog_servers],
            "govnet_zone_prefixes": {z: [str(p) for p in ps] for z, ps in net.zone_prefixes.items()},
            # the zone standing for the Internet (every address outside), kept out of "every prefix of ours"
            "govnet_outside_zones": [z for r, z in net.zone_roles.items() if r == "internet"],
            **_public(net),
            "govnet_segments": [
                {"site": s.site, "name": s.name, "prefix": str(s.prefix), "gateway": str(s.gateway.ip), "zone": s.zone}
                for s in net.segments
            ],
        }


def _public(net: Any) -> dict[str, Any]:
    """The public view of DNS (only what the Internet edge publishes, at its public addresses): the names, and the
    published DNS servers as the zone's public name servers. Empty without an Internet edge."""
    edge = getattr(net, "internet", None)
    names: dict[str, list[str]] = {}
    servers = []
    for pub in edge.published if edge is not None else ():
        dns = any(s.port == 53 for s in pub.services)
        for name in pub.dns:
            if dns:
                servers.append({"name": name, "address": str(pub.public)})
            else:
                names.setdefault(name, []).append(str(pub.public))
    return {
        "govnet_public_names": [{"name": n, "addresses": sorted(a)} for n, a in names.items()],
        "govnet_public_nameservers": servers,
    }
