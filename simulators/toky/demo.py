"""``seed_demo``: a small, believable Toky account for the demo and tests.

Rows are made by ``TokySim``'s helpers, whose shapes cite Toky's reference
(state.py): outbound calls carry the agent in ``from`` (as ``name__domain``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from simulators.toky.state import TokySim

TOKY_NUMBER = "+15125550000"
RECORDINGS = "https://recordings.toky.example/demo"
#: The demo's agents; the GHL simulator's demo users have the same emails, so
#: ``toky-ghl agents`` in the demo matches them (simulators/ghl/demo.py).
ANA_EMAIL, BEN_EMAIL = "ana.ruiz@demo.example", "ben.cole@demo.example"


def seed_demo(sim: TokySim, *, now: datetime | None = None) -> dict[str, int]:
    """Add agents, contacts, calls (answered, missed, outbound unsuccessful), a
    voicemail and SMS spread over the 3 days before ``now`` (default: the
    current time). Returns how many of each were added.
    """
    now = now or datetime.now(UTC)

    def ago(hours: float) -> datetime:
        return now - timedelta(hours=hours)

    ana, ben = ANA_EMAIL, BEN_EMAIL
    sim.add_agent(email=ana, fullname="Ana Ruiz", phone_number="+15125550001",
                  is_admin=True, created_at=ago(24 * 90))
    sim.add_agent(email=ben, fullname="Ben Cole", phone_number="+15125550002",
                  created_at=ago(24 * 30))
    contacts = [
        ("+15125550101", "Ana María López", "Ana@Example.com", "Austin", "US"),
        ("+15125550102", "Bob Smith", "bob.smith@example.com", "Dallas", "US"),
        ("+442079460000", "Clara Jones", "clara@example.co.uk", "London", "GB"),
    ]
    for phone, name, email, city, country in contacts:
        sim.add_contact(phone=phone, contact_name=name, email=email, city=city,
                        country_code=country)
    sim.add_call(from_number="+15125550101", to_number=TOKY_NUMBER, agent=ana,
                 duration_s=184, init_dt=ago(70), recording_url=f"{RECORDINGS}/call-1.mp3")
    sim.add_call(from_number="+15125550101", to_number=TOKY_NUMBER, agent=ana,
                 duration_s=95, init_dt=ago(50))
    sim.add_call(from_number="+15125550199", to_number=TOKY_NUMBER, disposition_code=487,
                 init_dt=ago(26))
    sim.add_call(direction="outbound", from_number=TOKY_NUMBER, to_number="+15125550102",
                 agent=ben, disposition_code=486, init_dt=ago(20))
    sim.add_call(direction="outbound", from_number=TOKY_NUMBER, to_number="+442079460000",
                 agent=ben, duration_s=312, init_dt=ago(3), web_call=True)
    sim.add_voicemail(from_number="+15125550199", to_number=TOKY_NUMBER, duration_s=27,
                      record_url=f"{RECORDINGS}/voicemail-1.mp3", date=ago(26))
    sim.add_sms(from_number="+15125550101", to_number=TOKY_NUMBER,
                text="Can you call me back after 3pm?", date=ago(49))
    sim.add_sms(direction="outbound", from_number=TOKY_NUMBER, to_number="+15125550101",
                text="Sure, Ana will call you at 3pm.", agent=ana, date=ago(48))
    return {"agents": 2, "contacts": len(contacts), "calls": 5, "voicemails": 1, "sms": 2}
