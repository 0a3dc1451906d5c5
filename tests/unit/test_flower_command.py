"""``toky-ghl flower``: refuses to start without credentials, warns loudly without them
when asked to, and never puts the password on Flower's command line."""

from __future__ import annotations

import os

import pytest

from cli.main import main

PASSWORD = "Fl0wer-unit-pw-31"




@pytest.fixture
def started(monkeypatch):
    """Flower's start, recorded instead of run: the argv it would get."""
    from worker.celery import app

    calls: list[list[str]] = []
    monkeypatch.setattr(app, "start", lambda argv: calls.append(argv) or 0)
    monkeypatch.delenv("FLOWER_BASIC_AUTH", raising=False)
    monkeypatch.delenv("LOG_LEVEL", raising=False)
    return calls


def test_without_credentials_it_refuses_with_status_2_naming_the_variable(started, capsys):
    assert main(["flower"]) == 2
    assert started == []
    assert "FLOWER_BASIC_AUTH" in capsys.readouterr().err


def test_a_password_without_user_is_a_configuration_error(started, monkeypatch, capsys):
    monkeypatch.setenv("FLOWER_BASIC_AUTH", PASSWORD)
    assert main(["flower"]) == 2
    err = capsys.readouterr().err
    assert "FLOWER_BASIC_AUTH must be user:password" in err
    assert PASSWORD not in err
    assert started == []


def test_credentials_go_through_the_environment_never_argv(started, monkeypatch, capsys):
    # Given credentials with stray blanks
    monkeypatch.setenv("FLOWER_BASIC_AUTH", f"  ops:{PASSWORD} ")
    # When Flower starts
    assert main(["flower", "--port", "5601", "--address", "0.0.0.0"]) == 0
    # Then its argv has the options but no credentials
    (argv,) = started
    assert argv[:3] == ["flower", "--port=5601", "--address=0.0.0.0"]
    assert "--tasks_columns=name,args,state,result,received,runtime,worker,retries,uuid" in argv
    assert not any(PASSWORD in a or "basic" in a for a in argv)
    # And Flower finds them, normalised, in its environment (flower/command.py reads FLOWER_*)
    assert os.environ["FLOWER_BASIC_AUTH"] == f"ops:{PASSWORD}"
    assert PASSWORD not in capsys.readouterr().err


def test_unauthenticated_starts_with_a_loud_warning(started, monkeypatch, capsys):
    monkeypatch.setenv("FLOWER_BASIC_AUTH", "")  # empty: Flower would read a user named ""
    assert main(["flower", "--unauthenticated"]) == 0
    assert len(started) == 1
    assert "FLOWER_BASIC_AUTH" not in os.environ
    err = capsys.readouterr().err
    assert "WARNING: Flower is starting WITHOUT authentication" in err
    assert "http://127.0.0.1:5555" in err


def test_log_level_reaches_flower(started, monkeypatch):
    monkeypatch.setenv("FLOWER_BASIC_AUTH", f"ops:{PASSWORD}")
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    main(["flower"])
    assert "--logging=warning" in started[0]


@pytest.mark.parametrize("argv", [["flower", "--port", "web"], ["flower", "--bogus"],
                                  ["flower", "--port", "70000"]])
def test_a_bad_command_line_prints_usage(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert "usage: toky-ghl" in capsys.readouterr().err
