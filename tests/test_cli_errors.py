"""Bad input to ``webqa`` commands ends in one clear line on stderr and exit code 2, never a
traceback (issue #14, item 4; ``webqa browse``'s own cases are in tests/browser_env/test_browse_cmd.py)."""

import pytest

from webqa.cli import main as webqa


@pytest.mark.parametrize("db, expect", [
    ("nosuch://x", "Can't load plugin"),  # an unknown SQLAlchemy dialect
    ("garbage", "Could not parse"),  # not a URL at all
])
def test_demos_export_with_a_bad_database_url(capsys, tmp_path, db, expect):
    assert webqa(["demos", "export", "--db", db, "--out", str(tmp_path / "d.jsonl")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and db in err and expect in err, err
    assert not (tmp_path / "d.jsonl").exists()
