"""Stack configuration, read once with typed getters (every key is documented in Pulumi.yaml)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pulumi
from govnet.model import login
from govnet.model.login import DEFAULT_USERNAME

#: The lab's documented login (docs/lab.md, govnet.model.login); used only when the stack's environment is `lab`.
LAB_USERNAME = DEFAULT_USERNAME
#: Config keys that hold secrets: set with `pulumi config set --secret`, never declared with a default.
SECRET_KEYS = ("routerPassword", "proxmoxApiToken")


@dataclass(frozen=True)
class Secret:
    """A secret value that never prints itself; components hand it to Pulumi as `Output.secret`."""

    value: pulumi.Input[str] = field(repr=False)

    def __str__(self) -> str:
        return "<secret>"

    def output(self) -> pulumi.Output[str]:
        return pulumi.Output.secret(self.value)


@dataclass(frozen=True)
class Proxmox:
    """Where the DC's VMs live: the Proxmox VE API, the node, storage, bridge and the cloud-init template."""

    endpoint: str
    api_token: Secret
    node: str
    datastore: str = "local-lvm"
    bridge: str = "vmbr0"
    template_vm_id: int = 9000
    insecure: bool = False


@dataclass(frozen=True)
class Settings:
    """Everything the program needs besides the model."""

    inventory: Path
    env: str
    router_username: str
    router_password: Secret
    known_hosts: str = ""
    revert_in: int = 120
    backup_dir: str = ""
    ansible_inventory: str = "inventory/karbala.govnet.yml"
    manage_routers: bool = True
    proxmox: Proxmox | None = None
    admin_user: str = "govnet"
    admin_ssh_keys: tuple[str, ...] = ()


def _here(path: str) -> Path:
    """Paths in stack config are relative to the project directory (where Pulumi.yaml is)."""
    p = Path(path).expanduser()
    return p if p.is_absolute() else (Path(__file__).resolve().parents[1] / p).resolve()


def _router_password(cfg: pulumi.Config, env: str) -> Secret:
    """Stack secret first, then GOVNET_PASSWORD; the documented lab default only in the lab."""
    from_config = cfg.get_secret("routerPassword")
    if from_config is not None:
        return Secret(from_config)
    value = login.password(env)
    if not value:
        raise pulumi.RunError("routerPassword: set GOVNET_PASSWORD or `pulumi config set --secret routerPassword`")
    return Secret(value)


def _proxmox(cfg: pulumi.Config) -> Proxmox | None:
    endpoint = cfg.get("proxmoxEndpoint")
    if not endpoint:
        return None
    token: pulumi.Input[str] | None = cfg.get_secret("proxmoxApiToken") or os.environ.get("PROXMOX_VE_API_TOKEN")
    if not token:
        raise pulumi.RunError(
            "proxmoxEndpoint is set but no API token: `pulumi config set --secret proxmoxApiToken`"
            " or PROXMOX_VE_API_TOKEN"
        )
    return Proxmox(
        endpoint=endpoint,
        api_token=Secret(token),
        node=cfg.require("proxmoxNode"),
        datastore=cfg.get("proxmoxDatastore") or "local-lvm",
        bridge=cfg.get("proxmoxBridge") or "vmbr0",
        template_vm_id=cfg.get_int("proxmoxTemplateVmId") or 9000,
        insecure=cfg.get_bool("proxmoxInsecure") or False,
    )


def from_config() -> Settings:
    """Read the stack's configuration (namespace `govnet`)."""
    cfg = pulumi.Config("govnet")
    env = cfg.get("env") or pulumi.get_stack()
    keys = cfg.get_object("adminSshKeys") or []
    return Settings(
        inventory=_here(cfg.get("inventory") or "../inventory/karbala"),
        env=env,
        router_username=os.environ.get("GOVNET_USERNAME") or cfg.get("routerUsername") or LAB_USERNAME,
        router_password=_router_password(cfg, env),
        known_hosts=str(_here(known_hosts)) if (known_hosts := cfg.get("knownHosts")) else "",
        revert_in=cfg.get_int("revertIn") or 120,
        backup_dir=str(_here(cfg.get("backupDir") or f"../build/{env}/backups")),
        ansible_inventory=cfg.get("ansibleInventory") or "inventory/karbala.govnet.yml",
        manage_routers=cfg.get_bool("manageRouters") is not False,
        proxmox=_proxmox(cfg),
        admin_user=cfg.get("adminUser") or "govnet",
        admin_ssh_keys=tuple(str(k) for k in keys),
    )
