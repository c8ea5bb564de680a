# govnet: the free strategy run through Mitogen, for playbooks/servers.yml.
# Mitogen keeps one Python interpreter per server for the whole play and caches the modules it has sent there, so a
# task costs one message instead of a new process that imports Ansible's module utilities again. Its strategy
# plugins live in the installed `ansible_mitogen` package; ansible.cfg's strategy_plugins points here, so the
# playbook names the strategy without knowing where the virtual environment is.
from __future__ import annotations

import ansible_mitogen.loaders
import ansible_mitogen.strategy


class StrategyModule(
    ansible_mitogen.strategy.StrategyMixin, ansible_mitogen.loaders.strategy_loader.get("free", class_only=True)
):  # type: ignore[misc]
    """Ansible's free strategy with Mitogen's connection multiplexer."""
