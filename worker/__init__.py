"""Workers: Celery app, sync logic, GHL client.

``celery -A worker worker`` finds the app in ``worker/celery.py`` (Celery looks
for a ``celery`` submodule when the package has no ``app`` attribute), so
importing ``worker.ghl`` or ``worker.sync`` does not start Celery.
"""
