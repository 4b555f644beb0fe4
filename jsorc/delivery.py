"""At-least-once delivery: the broker's visibility timeout against the longest task.

With late acks on Redis, a task whose worker died is handed to another worker once the
visibility timeout has passed; a timeout shorter than a task that is still running would
run it twice at once. `check_visibility_timeout` refuses such settings at start.
Non-goal: limiting task run time (tasks bound their own waits).
"""

from __future__ import annotations

from jsorc.errors import SettingsError
from jsorc.settings import Settings
from jsorc.spawning import RETIRE_MARGIN

# Seconds a task may run beyond the waits it is built from (probes, stopping a server).
TASK_SLACK = 10.0


def longest_task(settings: Settings) -> float:
    """Seconds the longest orchestration task can run: a retire that waits out a spawn of
    the same action (itself bounded by server_start_timeout), then stops the server."""
    return settings.server_start_timeout + RETIRE_MARGIN + TASK_SLACK


def check_visibility_timeout(settings: Settings) -> None:
    longest = longest_task(settings)
    if settings.visibility_timeout <= longest:
        raise SettingsError(
            f"visibility_timeout of {settings.visibility_timeout:g} s must exceed the longest "
            f"task ({longest:g} s, from server_start_timeout {settings.server_start_timeout:g} s);"
            " a shorter one hands running tasks to a second worker. Raise "
            "JSORC_VISIBILITY_TIMEOUT or lower JSORC_SERVER_START_TIMEOUT."
        )
