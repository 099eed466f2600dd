"""`webqa ui`: loopback by default; exposing an app needs a password."""

import pytest

from ui.ui_cmd import check_exposure
from webqa.cli import build_parser, main


@pytest.mark.parametrize("host,password,ok", [
    ("127.0.0.1", None, True), ("localhost", None, True), ("::1", None, True),
    ("0.0.0.0", None, False), ("192.168.1.5", None, False), ("0.0.0.0", "s3cret", True)])
def test_exposure_needs_a_password(host, password, ok):
    assert (check_exposure(host, password) is None) == ok


def test_exposed_app_without_password_exits_2_before_starting(capsys, monkeypatch):
    monkeypatch.delenv("WEBQA_UI_PASSWORD", raising=False)
    for app in ("ask", "record", "compare"):
        assert main(["ui", app, "--host", "0.0.0.0"]) == 2
        assert "--password" in capsys.readouterr().err


def test_defaults_bind_loopback():
    args = build_parser().parse_args(["ui", "record"])
    assert (args.host, args.db) == ("127.0.0.1", None)
