"""The periodic schedule, kept in a database by django-celery-beat so a change of
backoff_interval reaches a running Beat without a restart."""
