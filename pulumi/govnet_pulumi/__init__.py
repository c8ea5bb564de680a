"""Pulumi components for the governorate: DC virtual machines, inter-department links, router configs.

Everything here is built from govnet's addressed model (`govnet.model.load_network`); nothing reads inventory YAML.
"""
