"""NAPALM community driver for FRR."""
