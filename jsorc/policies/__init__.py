"""Placement policies: which actions run in-process and which remote, decided each tick.

`default` moves nothing; `evaluation` tries every placement that fits in memory and keeps
the best for a while; `adaptive` estimates each action's cost in each mode from tracked
calls plus short probes, and solves for the best placement under the memory budget.
"""
