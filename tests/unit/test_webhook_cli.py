"""``toky-ghl webhook`` / ``webhooks`` / ``agents``: the parts that need no server."""

from __future__ import annotations

from cli.commands.agents import agents_block, suggest
from cli.commands.webhooks import hook_url, mask_url
from cli.main import main

SECRET = "whsec-Cli-0123456789abcdef"


def test_webhook_refuses_to_start_without_the_secret(monkeypatch, capsys):
    # Given no WEBHOOK_SECRET
    monkeypatch.delenv("WEBHOOK_SECRET", raising=False)
    # When the receiver is started
    status = main(["webhook", "--port", "0"])
    # Then it exits 2 naming the variable
    assert status == 2
    assert "WEBHOOK_SECRET must be set" in capsys.readouterr().err


def test_hook_urls_carry_the_token_and_print_masked():
    # Given a base URL with a trailing slash and a secret with URL-special characters
    url = hook_url("https://hooks.example.com/", "new_sms", "a+b/c=d")
    # When it is masked for printing
    shown = mask_url(url)
    # Then the URL encodes the secret, and the printed one hides it
    assert url == "https://hooks.example.com/webhooks/toky/new_sms?token=a%2Bb%2Fc%3Dd"
    assert shown == "https://hooks.example.com/webhooks/toky/new_sms?token=***"


def test_agents_are_matched_to_users_by_email_case_insensitively():
    # Given two Toky agents, one with a GHL user of the same email in another case
    agents = [{"email": "Ana@Demo.example"}, {"email": "ben@demo.example"}]
    users = [{"id": "U1", "email": "ana@demo.example"}, {"id": "U2", "email": "zed@x.example"}]
    # When the block is suggested
    block = agents_block(suggest(agents, users), users_known=True)
    # Then the match is a line, the other agent a comment saying why
    assert block.splitlines() == [
        "agents:",
        '  "ana@demo.example": "U1"',
        '  # "ben@demo.example": <GHL user id>   (no GHL user with this email)',
    ]
