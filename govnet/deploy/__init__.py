"""Deploy stage: model → rendered configs → devices, safely (backup, diff, commit confirmed, post-checks, audit).

    from govnet.deploy.engine import DeployOptions, deploy
    report = deploy(network, DeployOptions(...))

The command line is in ``govnet.cli.deploy``; docs/deploy.md describes the whole flow.
"""
