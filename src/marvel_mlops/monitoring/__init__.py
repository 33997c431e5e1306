"""Monitoring of the served model: windowed profiles, drift, performance, alerts.

Spark does the data-volume work in one aggregation pass per input (``sketch``): value
counts per window, model version, variant and column. Everything else (PSI,
Jensen-Shannon, chi-square, KS, Wasserstein, quantiles) is exact arithmetic on those
small count tables (``statistics``, ``profile``), so the cost grows with the data only
once.
"""
