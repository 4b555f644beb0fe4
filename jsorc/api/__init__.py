"""The HTTP API façade: validates a request, then enqueues a task or answers from state."""
