"""DataCentreServer: one Proxmox VE virtual machine for one DC server of the model."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi_proxmoxve as proxmoxve

import pulumi
from govnet.model.derived import Segment, Server
from govnet_pulumi.settings import Proxmox

VM_TYPE = "proxmoxve:index/vmLegacy:VmLegacy"


@dataclass(frozen=True)
class DataCentreServerArgs:
    """The server as planned, the segment it sits on, and where and how the VM is made."""

    server: Server
    segment: Segment
    dns_servers: tuple[str, ...]
    domain: str
    env: str
    placement: Proxmox
    admin_user: str
    admin_ssh_keys: tuple[str, ...]


def tags(server: Server, env: str) -> list[str]:
    """Proxmox tags (lower-case, `[a-z0-9_-]`): what the VM is, its zone and its rollout phase."""
    raw = ["govnet", f"env-{env}", f"role-{server.role}", f"zone-{server.zone}", f"phase-{server.phase}"]
    return [t.lower().replace(".", "-") for t in raw]


class DataCentreServer(pulumi.ComponentResource):
    """A DC server: planned size, its segment's VLAN on the DC bridge, cloud-init with its planned address."""

    vm: proxmoxve.VmLegacy
    address: str

    def __init__(self, name: str, args: DataCentreServerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("govnet:dc:DataCentreServer", name, None, opts)
        s, place = args.server, args.placement
        self.address = str(s.address)
        self.vm = proxmoxve.VmLegacy(
            name,
            name=s.name,
            node_name=place.node,
            description=f"{s.role} server {s.name} ({s.zone}, phase {s.phase}); managed by govnet",
            tags=tags(s, args.env),
            clone=proxmoxve.VmLegacyCloneArgs(vm_id=place.template_vm_id, full=True),
            agent=proxmoxve.VmLegacyAgentArgs(enabled=True),
            cpu=proxmoxve.VmLegacyCpuArgs(cores=s.vcpu, type="x86-64-v2-AES"),
            memory=proxmoxve.VmLegacyMemoryArgs(dedicated=s.memory_mb),
            disks=[
                proxmoxve.VmLegacyDiskArgs(
                    interface="scsi0", datastore_id=place.datastore, size=s.disk_gb, file_format="raw"
                )
            ],
            network_devices=[
                proxmoxve.VmLegacyNetworkDeviceArgs(bridge=place.bridge, vlan_id=args.segment.vlan, model="virtio")
            ],
            initialization=proxmoxve.VmLegacyInitializationArgs(
                datastore_id=place.datastore,
                ip_configs=[
                    proxmoxve.VmLegacyInitializationIpConfigArgs(
                        ipv4=proxmoxve.VmLegacyInitializationIpConfigIpv4Args(
                            address=str(s.address), gateway=str(s.gateway)
                        )
                    )
                ],
                dns=proxmoxve.VmLegacyInitializationDnsArgs(domain=args.domain, servers=list(args.dns_servers)),
                user_account=proxmoxve.VmLegacyInitializationUserAccountArgs(
                    username=args.admin_user, keys=list(args.admin_ssh_keys)
                ),
            ),
            operating_system=proxmoxve.VmLegacyOperatingSystemArgs(type="l26"),
            on_boot=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"name": s.name, "address": self.address, "vm_id": self.vm.vm_id})
