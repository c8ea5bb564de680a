"""govnet: the Karbala governorate e-governance network as code."""
