"""Kept-alive services: the runtime's own services (Redis, Prometheus, the task workers,
mail, the SQL database) that JSORC watches and brings back, and how it does so."""
