"""Light-SERNet (Aftab et al., ICASSP 2022): model code and the published reference numbers (reference.json)."""
