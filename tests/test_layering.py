"""The dependency rules of the design: which package may import which, browser_env never loads
torch, omni_model never loads playwright.

The direction of imports is read from the source with ``ast`` (every ``import``, at the top or
inside a function, and ``importlib.import_module("...")`` with a literal name), so a lazy import
that goes the wrong way is caught too. The torch and playwright checks import every module of a
package in a fresh interpreter and look at sys.modules.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# Who may import whom, bottom to top. browser_env (the text web, no torch) and data (question sets)
# stand on nothing of ours; omni_model (the models, no playwright) on browser_env; agent on both and
# data; training on the agent as well (DAgger's student browses as the agent does) and owns the
# labelling store; ui, the benchmarks and the console script on top. Nothing imports ui or bench.
ALLOWED: dict[str, set[str]] = {
    "browser_env": set(),
    "data": set(),
    "omni_model": {"browser_env"},
    "agent": {"browser_env", "omni_model", "data"},
    "training": {"browser_env", "omni_model", "data", "agent"},
    "ui": {"browser_env", "omni_model", "data", "agent", "training"},
    "bench": {"browser_env", "omni_model", "data", "agent", "training"},
    "webqa": {"browser_env", "omni_model", "data", "agent", "training", "ui"},
}


def _imported(path: Path) -> list[tuple[int, str]]:
    """(line, top-level package) of every absolute import in a file, wherever it stands."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))  # relative imports stay inside their package
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
              and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            found.append((node.lineno, node.args[0].value))
    return [(line, name.split(".")[0]) for line, name in found]


def test_every_package_has_a_place_in_the_graph():
    packages = {p.parent.name for p in REPO.glob("*/__init__.py")} - {"tests"}
    assert packages <= set(ALLOWED), f"place {sorted(packages - set(ALLOWED))} in ALLOWED"
    order = list(ALLOWED)  # listed bottom to top: every arrow points down, so there is no cycle
    for package, below in ALLOWED.items():
        assert all(order.index(b) < order.index(package) for b in below), package


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_imports_point_down(package):
    wrong = []
    for path in sorted((REPO / package).rglob("*.py")):
        for line, target in _imported(path):
            if target in ALLOWED and target != package and target not in ALLOWED[package]:
                wrong.append(f"{path.relative_to(REPO)}:{line} imports {target}")
    assert not wrong, f"{package} may import only {sorted(ALLOWED[package])}:\n" + "\n".join(wrong)


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
