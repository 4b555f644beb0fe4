"""Celery settings for JSORC's workers and Beat.

At-least-once: a task is acknowledged after it ran, and re-queued if its worker dies
(after the visibility timeout, which is checked here to exceed the longest task).
Broker and result backend are the Redis of the JSORC settings (JSORC_REDIS_URL).
"""

from jsorc.delivery import check_visibility_timeout
from jsorc.settings import Settings

_settings = Settings.from_env()
# Fail fast: a visibility timeout shorter than a task would run it twice at once.
check_visibility_timeout(_settings)

broker_url = _settings.redis_url
result_backend = _settings.redis_url
broker_connection_retry_on_startup = True
# Seconds before an unacknowledged task is handed to another worker; longer than any task.
broker_transport_options = {"visibility_timeout": _settings.visibility_timeout}
# Each worker also consumes its own queue, so the canary can reach one worker in particular.
worker_direct = True

task_serializer = "json"
result_serializer = "json"
accept_content = ["json"]
task_default_queue = "jsorc"
task_acks_late = True
task_reject_on_worker_lost = True
worker_prefetch_multiplier = 1
# Seconds results are kept.
result_expires = 3600

# Flower needs events.
worker_send_task_events = True
task_send_sent_event = True

timezone = "UTC"
beat_scheduler = "beat_schedule.scheduler:JsorcScheduler"
# Seconds; Beat looks for schedule changes at least this often.
beat_max_loop_interval = 5
