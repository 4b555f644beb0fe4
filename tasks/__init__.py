"""Celery tasks: thin wrappers that decode arguments and call JSORC's domain code."""
