"""The emulated governorate: network namespaces, one FRR instance and one sshd per device.

Kept import-light on purpose: ``python -m govnet.lab.device_shell`` runs on every SSH login, so
nothing heavy (pydantic, rich, the model) may be imported from here.
"""
