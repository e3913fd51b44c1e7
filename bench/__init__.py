"""Benchmarks of SPEC §9's budgets, measured as ratios to a bare route in one run.

Each module here has a `main() -> bool` (True when within its budget); `python -m bench` runs
them all, `python -m bench caseload` only the ones named.
"""
