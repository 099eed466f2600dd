"""Files that are not what their names say (random bytes, gzipped or not, as .html, .txt or .jsonl)
are reported once each, by file, and skipped, in the readers and in ``webqa index build``
(issue #14, item 7)."""

import gzip
import json
import random
import subprocess
import sys
from pathlib import Path

from browser_env.miniweb.corpus import CorpusReport, iter_corpus


def _noise(n: int = 20_000, seed: int = 7) -> bytes:
    return random.Random(seed).randbytes(n)


def _bad_folder(root: Path) -> Path:
    root.mkdir()
    (root / "good.txt").write_text("A good page\nwith real text about rivers.\n", encoding="utf-8")
    (root / "noise.html.gz").write_bytes(gzip.compress(_noise()))  # a valid gzip of random bytes
    (root / "raw.html.gz").write_bytes(_noise(seed=8))  # random bytes under a gzip name
    (root / "noise.txt").write_bytes(_noise(seed=9))
    (root / "noise.htm").write_bytes(_noise(seed=10))
    return root


def test_binary_files_in_a_folder_are_skipped_and_reported_once(tmp_path):
    report = CorpusReport()
    docs = list(iter_corpus(_bad_folder(tmp_path / "pages"), report=report))
    assert [d.id for d in docs] == ["good.txt"]
    names = sorted(Path(b.file).name for b in report.bad)
    assert names == ["noise.htm", "noise.html.gz", "noise.txt", "raw.html.gz"]
    assert all(b.line is None for b in report.bad)
    assert all("not a text file" in b.reason or "cannot read" in b.reason for b in report.bad), report.bad


def test_a_binary_jsonl_is_one_bad_file_not_a_bad_row_per_line(tmp_path):
    path = tmp_path / "bin.jsonl"
    path.write_bytes(_noise(60_000))
    report = CorpusReport()
    assert list(iter_corpus(path, report=report)) == []
    assert len(report.bad) == 1 and report.bad[0].file == str(path) and "not a text file" in report.bad[0].reason


def test_a_text_jsonl_with_a_bad_row_still_names_its_line(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_bytes(json.dumps({"id": "a", "title": "A", "text": "a"}).encode() + b"\n\xff\xfe{\n")
    report = CorpusReport()
    assert [d.id for d in iter_corpus(path, report=report)] == ["a"]
    assert [(b.line, b.reason.split(" (")[0]) for b in report.bad] == [(2, "not valid JSON")]


def _index_build(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "webqa", "index", "build", *args, "--no-progress"],
                          capture_output=True, text=True, timeout=120)


def test_index_build_names_each_bad_file_once(tmp_path):
    done = _index_build(str(_bad_folder(tmp_path / "pages")), "--out", str(tmp_path / "ix"))
    assert done.returncode == 0, done.stderr
    output = done.stdout + done.stderr
    for name in ["noise.htm", "noise.html.gz", "noise.txt", "raw.html.gz"]:
        assert sum(f"/{name}:" in line for line in output.splitlines()) == 1, output
    assert "1 documents loaded" in output


def test_index_build_of_a_binary_jsonl_is_a_few_lines(tmp_path):
    path = tmp_path / "bin.jsonl"
    path.write_bytes(_noise(60_000))
    done = _index_build(str(path), "--out", str(tmp_path / "ix"))
    assert done.returncode == 1
    lines = (done.stdout + done.stderr).splitlines()
    assert len(lines) <= 5 and sum("not a text file" in line for line in lines) == 1, lines
    assert "Traceback" not in done.stderr
