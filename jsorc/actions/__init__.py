"""Actions: the decorator that registers them, their configs, and module loading."""

from jsorc.actions.registry import ActionFunction, action

__all__ = ["ActionFunction", "action"]
