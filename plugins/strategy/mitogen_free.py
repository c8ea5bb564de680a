# govnet: the free strategy run through Mitogen, for playbooks/servers.yml.
# Mitogen keeps one Python interpreter per server for the whole play and caches the modules it has sent there, so a
# task costs one message instead of a new process that imports Ansible's module utilities again. Its strategy
# plugins live in the installed `ansible_mitogen` package; ansible.cfg's strategy_plugins points here, so the
# playbook names the strategy without knowing where the virtual environment is.
#
# Every task still runs in a worker process forked from this one, and a worker loads each Jinja filter and test
# plugin a template names again (Ansible's plugin cache lives in the worker and dies with it). Loaded here once,
# before the first fork, they are in every worker's sys.modules already: the roles' input asserts, which name a dozen
# filters and tests each, cost a third less controller CPU (about 3 CPU-s of the second run's 13 servers).
from __future__ import annotations

from typing import Any

import ansible_mitogen.loaders
import ansible_mitogen.strategy
from ansible.plugins.loader import filter_loader, test_loader

# The collection filters the roles and the inventory use (ansible.builtin's are all loaded).
COLLECTION_FILTERS = ("govnet.network.ipaddr", "community.general.dict_kv")


def preload_jinja_plugins() -> None:
    """Import every builtin filter and test plugin, and the collection filters the roles use, in this process."""
    for loader in (filter_loader, test_loader):
        for _plugin in loader.all():
            pass
    for name in COLLECTION_FILTERS:
        filter_loader.get(name)


class StrategyModule(
    ansible_mitogen.strategy.StrategyMixin, ansible_mitogen.loaders.strategy_loader.get("free", class_only=True)
):  # type: ignore[misc]
    """Ansible's free strategy with Mitogen's connection multiplexer, the Jinja plugins loaded before the forks."""

    def run(self, iterator: Any, play_context: Any, result: int = 0) -> Any:
        preload_jinja_plugins()
        return super().run(iterator, play_context, result)
