"""Offline analysis of rendered (or collected) device configurations: reads the text, never the model.

Reading the text is the point: a test that evaluated the model would agree with itself; one that evaluates
what the template printed proves the device would do what the policy says.
"""
