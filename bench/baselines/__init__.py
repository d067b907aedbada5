"""The baselines `accord bench` measures Accord against (run each with `python -m`)."""
