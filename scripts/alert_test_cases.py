"""Write deploy/prometheus/alerts_test.yml from the cases below, filling each expected
alert's annotations from deploy/prometheus/alerts.yml (promtool compares them exactly).

    python scripts/alert_test_cases.py > deploy/prometheus/alerts_test.yml
    promtool test rules deploy/prometheus/alerts_test.yml

The series and the expectations are written here by hand: every rule has a fixture
that fires and one that does not (tests/unit/test_alerts.py checks it).
"""
import sys
from pathlib import Path

import yaml

RULES = Path(__file__).resolve().parents[1] / "deploy" / "prometheus" / "alerts.yml"
rules = {r["alert"]: r for r in yaml.safe_load(RULES.read_text())["groups"][0]["rules"]}

def fire(name, at, **labels):
    r = rules[name]
    return {"eval_time": at, "alertname": name,
            "exp_alerts": [{"exp_labels": {**labels, "severity": r["labels"]["severity"]},
                            "exp_annotations": r["annotations"]}]}
def quiet(name, at):
    return {"eval_time": at, "alertname": name, "exp_alerts": []}
def s(series, values):
    return {"series": series, "values": values}

tests = []
def case(comment, series, checks, interval="1m"):
    tests.append({"name": comment, "interval": interval, "input_series": series,
                  "alert_rule_test": checks})

X = 'job="toky-ghl",instance="metrics:9808"'
case("exporter down: fires after 5 minutes of tokyghl_up 0, not during a short failure",
     [s(f'tokyghl_up{{{X}}}', '1x10 0x20'), s(f'up{{{X}}}', '1x30')],
     [quiet("TokyGhlExporterDown", "8m"), quiet("TokyGhlExporterDown", "13m"),
      fire("TokyGhlExporterDown", "18m", job="toky-ghl", instance="metrics:9808")])
case("exporter down: a target Prometheus cannot scrape (up 0, no tokyghl_up) fires",
     [s(f'up{{{X}}}', '1x10 0x20'), s(f'tokyghl_up{{{X}}}', '1x10 _x20')],
     [quiet("TokyGhlExporterDown", "12m"),
      fire("TokyGhlExporterDown", "18m", job="toky-ghl", instance="metrics:9808")])
case("exporter down: a 3-minute blip does not fire",
     [s(f'tokyghl_up{{{X}}}', '1x10 0x3 1x20'), s(f'up{{{X}}}', '1x30')],
     [quiet("TokyGhlExporterDown", "14m"), quiet("TokyGhlExporterDown", "25m")])
case("dead letters: fire while new ones arrive, quiet before and 15 minutes after",
     [s('tokyghl_events_total{type="call.ended",outcome="dead_lettered",reason="rejected"}',
        '0x30 1 2 3 3x20'),
      s('tokyghl_events_total{type="call.ended",outcome="applied",reason=""}', '0+10x60')],
     [quiet("TokyGhlDeadLettersGrowing", "25m"), fire("TokyGhlDeadLettersGrowing", "35m"),
      quiet("TokyGhlDeadLettersGrowing", "52m")])
case("dead letters: the first ever (a new series) fires, steady ones do not",
     [s('tokyghl_dead_letters{kind="invalid",' + X + '}', '_x20 1x40')],
     [quiet("TokyGhlDeadLettersGrowing", "15m"), fire("TokyGhlDeadLettersGrowing", "25m"),
      quiet("TokyGhlDeadLettersGrowing", "45m")])
case("dead letters: replayed (fewer now) does not fire",
     [s('tokyghl_dead_letters{kind="rejected",' + X + '}', '5x20 2x20')],
     [quiet("TokyGhlDeadLettersGrowing", "30m")])
case("backlog: a queue growing 20 a minute fires after 10 minutes above 100",
     [s('tokyghl_queue_depth{' + X + '}', '0+20x40')],
     [quiet("TokyGhlBacklogGrowing", "10m"), fire("TokyGhlBacklogGrowing", "25m")])
case("backlog: a large but steady or draining queue does not fire",
     [s('tokyghl_queue_depth{' + X + '}', '500x20 500-10x20')],
     [quiet("TokyGhlBacklogGrowing", "19m"), quiet("TokyGhlBacklogGrowing", "35m")])
case("backlog: a small growing queue does not fire",
     [s('tokyghl_queue_depth{' + X + '}', '0+2x40')],
     [quiet("TokyGhlBacklogGrowing", "35m")])
B = 'tokyghl_lag_seconds_bucket{type="call.ended",le="%s"}'
case("lag: p95 above 300 s for 10 minutes fires",
     [s(B % "60.0", '0+10x30'), s(B % "300.0", '0+10x30'), s(B % "600.0", '0+20x30'),
      s(B % "+Inf", '0+20x30')],
     [quiet("TokyGhlLagHigh", "8m"), fire("TokyGhlLagHigh", "25m")])
case("lag: every event within a minute does not fire",
     [s(B % "60.0", '0+20x30'), s(B % "300.0", '0+20x30'), s(B % "600.0", '0+20x30'),
      s(B % "+Inf", '0+20x30')],
     [quiet("TokyGhlLagHigh", "25m")])
R = 'tokyghl_ghl_requests_total{location="loc1",method="POST",route="/contacts/upsert",status="%s"}'
case("GHL 429s: 1 in 6 requests fires after 5 minutes",
     [s(R % "200", '0+60x30'), s(R % "429", '0+12x30')],
     [quiet("TokyGhlGhlThrottled", "4m"), fire("TokyGhlGhlThrottled", "20m"),
      quiet("TokyGhlGhlErrors", "20m")])
case("GHL 429s: 1 in 60 does not fire; nor do 429s at a trickle",
     [s(R % "200", '0+60x30'), s(R % "429", '0+1x30'),
      s(R.replace("loc1", "loc2") % "429", '0x30')],
     [quiet("TokyGhlGhlThrottled", "20m")])
case("GHL 429s: a few requests, half refused, below the minimum rate, do not fire",
     [s(R % "200", '0+1x30'), s(R % "429", '0+1x30')],
     [quiet("TokyGhlGhlThrottled", "20m")])
case("GHL 5xx and unanswered requests: 1 in 6 fires after 5 minutes",
     [s(R % "200", '0+60x30'), s(R % "503", '0+6x30'), s(R % "error", '0+6x30')],
     [quiet("TokyGhlGhlErrors", "4m"), fire("TokyGhlGhlErrors", "20m"),
      quiet("TokyGhlGhlThrottled", "20m")])
case("GHL 5xx: 1 in 60 does not fire",
     [s(R % "200", '0+60x30'), s(R % "502", '0+1x30')],
     [quiet("TokyGhlGhlErrors", "20m")])
case("circuit: open for more than 5 minutes fires",
     [s('tokyghl_ghl_circuit_open{location="loc1",state="open",' + X + '}', '0x5 1x20')],
     [quiet("TokyGhlCircuitOpen", "8m"), fire("TokyGhlCircuitOpen", "15m", location="loc1")])
case("circuit: open for 3 minutes, then closed, does not fire",
     [s('tokyghl_ghl_circuit_open{location="loc1",state="open",' + X + '}', '0x5 1x3 0x20')],
     [quiet("TokyGhlCircuitOpen", "9m"), quiet("TokyGhlCircuitOpen", "20m")])
case("auth pause: paused for more than 5 minutes fires",
     [s('tokyghl_ghl_auth_paused{location="loc1",' + X + '}', '0x5 1x20')],
     [quiet("TokyGhlLocationPaused", "8m"), fire("TokyGhlLocationPaused", "15m", location="loc1")])
case("auth pause: a 3-minute pause (rotated quickly) does not fire",
     [s('tokyghl_ghl_auth_paused{location="loc1",' + X + '}', '0x5 1x3 0x20')],
     [quiet("TokyGhlLocationPaused", "20m")])
case("daily budget: below 10 % left fires, above it does not",
     [s('tokyghl_ghl_budget_remaining{location="loc1",window="day"}', '150000-10000x14 10000x5'),
      s('tokyghl_ghl_budget_limit{location="loc1",window="day"}', '200000x20'),
      s('tokyghl_ghl_budget_remaining{location="loc1",window="burst"}', '0x20'),
      s('tokyghl_ghl_budget_limit{location="loc1",window="burst"}', '100x20')],
     [quiet("TokyGhlDailyBudgetLow", "5m"),
      fire("TokyGhlDailyBudgetLow", "15m", location="loc1", window="day")])
A = 'tokyghl_events_total{type="call.ended",outcome="applied",reason=""}'
Q = 'tokyghl_events_queued_total{type="call.ended",source="%s"}'
case("nothing applied for an hour while events keep being queued fires",
     [s(A, '0+10x30 300x90'), s(Q % "webhook", '0+10x120')],
     [quiet("TokyGhlNothingApplied", "60m"), fire("TokyGhlNothingApplied", "95m")])
case("nothing applied while nothing arrives does not fire",
     [s(A, '300x120'), s(Q % "webhook", '300x120')],
     [quiet("TokyGhlNothingApplied", "95m")])
case("poller silent: no successful cycle for 15 minutes fires",
     [s('tokyghl_poller_last_success_timestamp_seconds{poller="poll"}', '0+60x10 600x30')],
     [quiet("TokyGhlPollerSilent", "20m"), fire("TokyGhlPollerSilent", "30m", poller="poll")])
case("poller silent: a poller succeeding every minute does not fire",
     [s('tokyghl_poller_last_success_timestamp_seconds{poller="poll"}', '0+60x40')],
     [quiet("TokyGhlPollerSilent", "35m")])
W = 'tokyghl_webhook_requests_total{event="inbound_call_ended",status="%s"}'
P = 'tokyghl_poller_items_total{poller="poll",what="queued"}'
case("webhook silent: webhooks stop while the poller finds new calls fires",
     [s(W % "202", '0+5x120 600x120'), s(P, '0x120 0+2x120')],
     [quiet("TokyGhlWebhookSilent", "100m"), fire("TokyGhlWebhookSilent", "200m")])
case("webhook silent: quiet when nothing happens, or when webhooks were never used",
     [s(W % "202", '0+5x120 600x120'), s(P, '0x240'),
      s(P.replace("poll", "mirror"), '0+5x240')],
     [quiet("TokyGhlWebhookSilent", "200m")])
case("webhook silent: a poll-only deployment (no webhook ever) does not fire",
     [s(P, '0+2x240')],
     [quiet("TokyGhlWebhookSilent", "200m")])
case("webhook 401 burst: 5 a minute fires, quiet after it stops",
     [s('tokyghl_webhook_unauthorized_total{' + X + '}', '0x10 0+5x10 50x20')],
     [quiet("TokyGhlWebhookUnauthorizedBurst", "9m"),
      fire("TokyGhlWebhookUnauthorizedBurst", "18m"),
      quiet("TokyGhlWebhookUnauthorizedBurst", "30m")])
case("webhook 401 burst: one wrong token a minute does not fire",
     [s('tokyghl_webhook_unauthorized_total{' + X + '}', '0+1x30')],
     [quiet("TokyGhlWebhookUnauthorizedBurst", "25m")])
case("delete burst: 10 deletes a minute fires",
     [s('tokyghl_events_queued_total{type="contact.deleted",source="webhook"}', '0x10 0+10x10'),
      s('tokyghl_events_queued_total{type="note.deleted",source="poll"}', '0+1x20')],
     [quiet("TokyGhlDeleteBurst", "9m"), fire("TokyGhlDeleteBurst", "18m")])
case("delete burst: many creates and a delete a minute do not fire",
     [s('tokyghl_events_queued_total{type="contact.deleted",source="webhook"}', '0+1x30'),
      s('tokyghl_events_queued_total{type="contact.created",source="webhook"}', '0+100x30')],
     [quiet("TokyGhlDeleteBurst", "25m")])
case("events per minute: 30 a minute after a day of 1 a minute fires",
     [s(Q % "webhook", '0+1x1440 1440+30x20')],
     [quiet("TokyGhlEventRateRise", "1430m"), fire("TokyGhlEventRateRise", "1455m")])
case("events per minute: a steady 30 a minute does not fire",
     [s(Q % "webhook", '0+30x1460')],
     [quiet("TokyGhlEventRateRise", "1455m")])
case("events per minute: a tenfold rise below 5 a minute does not fire",
     [s(Q % "webhook", '0x1440 0+2x20'), s(Q % "poll", '0+0.1x1460')],
     [quiet("TokyGhlEventRateRise", "1455m")])

out = {"rule_files": ["alerts.yml"], "evaluation_interval": "1m", "tests": tests}
head = ("# promtool test rules deploy/prometheus/alerts_test.yml\n"
        "# Generated by scripts/alert_test_cases.py (the cases are written there).\n"
        "# Each rule fires on a fixture that should page and stays quiet on one that should not.\n"
        "# Series are what toky-ghl metrics exports (README, \"Monitoring\").\n")
sys.stdout.write(head + yaml.safe_dump(out, sort_keys=False, width=110))
