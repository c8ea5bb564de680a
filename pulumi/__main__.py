"""govnet on Pulumi: the DC's VMs and every link's router config, from the governorate model."""

from govnet_pulumi import program, settings

import pulumi
from govnet.model import InventoryError, load_network

config = settings.from_config()
try:
    network = load_network(config.inventory, env=config.env)
except InventoryError as exc:
    raise pulumi.RunError(str(exc)) from None
for key, value in program.build(network, config).outputs.items():
    pulumi.export(key, value)
