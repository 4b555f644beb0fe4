"""Measurement: always-on call statistics, trackact, benchmarks, tracksys, load tests.

Latency is kept as fixed log-scale histograms (`histogram.py`) so percentiles can be
estimated and merged across processes; everything durable lands in SQL (`reports.py`).
"""
