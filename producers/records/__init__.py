"""Toky records (call records, SMS, voicemails) as contract events.

Shared by the poller (which reads them from Toky's lists) and the webhook
receiver (which gets them in Toky's POSTs), so both write the same event for the
same Toky object: ``calls`` (CDRs), ``messages`` (SMS and voicemails),
``toky_time`` (Toky's zoneless GMT times as the contract's ISO 8601).
"""
