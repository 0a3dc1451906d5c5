"""The Toky webhook receiver: ``create_app`` (WSGI, Flask) and ``make_server`` (waitress).

See docs/webhook.md for the URLs and the answers.
"""

from producers.webhook.app import create_app
from producers.webhook.mapping import HANDLED_EVENTS, event_for
from producers.webhook.serve import make_server

__all__ = ["HANDLED_EVENTS", "create_app", "event_for", "make_server"]
