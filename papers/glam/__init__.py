"""GLAM (Zhu and Li, ICASSP 2022): model code and the published reference numbers (reference.json)."""
