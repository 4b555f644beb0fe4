"""JSORC: an orchestrator for actions.

Actions are Python functions that an application calls either in its own process
(module mode) or through an HTTP action server (remote mode). JSORC places them,
spawns and retires their servers, and brings dead servers back.
"""

from jsorc.actions.registry import action

__all__ = ["action"]
__version__ = "0.1.0"
