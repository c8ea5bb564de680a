"""govnet on Pulumi: the DC's VMs and every link's router config, from the governorate model."""

import pulumi
from govnet.model import InventoryError, load_network
from govnet_pulumi import program, settings

config = settings.from_config()
try:
    network = load_network(config.inventory, env=config.env)
except InventoryError as exc:
    raise pulumi.RunError(str(exc)) from None
for key, value in program.build(network, config).outputs.items():
    pulumi.export(key, value)
