"""The dependency rules of the design: browser_env never loads torch, omni_model never loads playwright.

Each check imports every module of a package in a fresh interpreter and looks at sys.modules.
"""

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _modules(package: str) -> list[str]:
    names = []
    for path in sorted((REPO / package).rglob("*.py")):
        rel = path.relative_to(REPO).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names.append(".".join(parts))
    return names


@pytest.mark.parametrize("package,forbidden", [("browser_env", "torch"), ("omni_model", "playwright")])
def test_package_never_imports(package, forbidden):
    mods = _modules(package)
    code = (
        "import importlib, sys\n"
        f"for m in {mods!r}:\n"
        "    importlib.import_module(m)\n"
        f"bad = sorted(k for k in sys.modules if k == {forbidden!r} or k.startswith({forbidden!r} + '.'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"{package} imported {forbidden}: {out.stdout.strip()[:200]}"


def test_cli_help_is_instant_and_lists_every_command():
    out = subprocess.run([sys.executable, "-m", "webqa", "--help"], capture_output=True, text=True, cwd=REPO,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    for command in ("setup", "index", "browse", "generate", "ask", "eval"):
        assert command in out.stdout
    probe = subprocess.run(
        [sys.executable, "-c", "import sys; from webqa.cli import build_parser; build_parser(); "
         "print(','.join(m for m in ('torch', 'playwright', 'transformers', 'gradio') if m in sys.modules))"],
        capture_output=True, text=True, cwd=REPO, timeout=60)
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip() == "", f"--help imported heavy modules: {probe.stdout.strip()}"
