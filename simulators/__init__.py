"""The GHL and Toky simulators: shipped product code, not test helpers.

In-memory imitations of the two APIs toky-ghl talks to, served over HTTP on
loopback (``serve``: waitress in a thread or in the foreground), or answered
in-process through a ``requests`` adapter. The product runs on them:

- ``toky-ghl run`` starts both when no credentials are set (the demo);
- ``toky-ghl sandbox`` serves both alone, to point a deployment at;
- ``toky-ghl check-map`` and ``toky-ghl try`` (``worker.dryrun``) send the
  events' requests to an in-process GHL simulator (and Toky's) and record them;
- ``python -m`` of ``ghl`` or ``toky`` serves one from a shell.

The tests and benchmarks drive the real clients against them too. Each
behaviour the product relies on cites its source (the official API spec,
documentation, another client's code) beside the code that serves it; where
sources disagree, the simulator serves each form (``/_sim/config``,
``/_sim/settings``). Packages: ``ghl`` (API v2: contacts, tasks, notes,
appointments, users, custom fields, OAuth, the rate-limit headers), ``toky``
(the REST API: agents, CDRs, SMS, voicemails, contacts, webhooks).
"""
