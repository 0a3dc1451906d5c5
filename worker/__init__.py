"""Workers: Celery app, the delivery pipeline, rules and sync logic.

``celery -A worker worker`` finds the app in ``worker/celery.py`` (Celery looks
for a ``celery`` submodule when the package has no ``app`` attribute), so
importing ``clients.ghl`` or ``worker.sync`` does not start Celery.
"""
