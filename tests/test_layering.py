"""The dependency rules of the design: which package may import which, which part of browser_env
may import which, browser_env never loads torch, its text browser never loads playwright or httpx,
omni_model never loads playwright.

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


# Inside browser_env, bottom to top: the shared types and paths; the text browser (pure text, the
# I/O handed in); Chromium and egress (which runs its hidden-text pass on the text env's LoopThread);
# the mini-web (whose corpus HTML goes through that pass); the search backends (one of which searches
# the mini-web's index); the runtime that puts them together; and ``webqa browse`` on it.
BROWSER_ENV_ORDER = ["types", "paths", "text", "web", "miniweb", "backends", "runtime", "browse_cmd"]
BROWSER_ENV_ALLOWED: dict[str, set[str]] = {
    "types": set(),
    "paths": set(),
    "text": {"types"},
    "web": {"types", "text"},
    "miniweb": {"types", "paths", "web"},
    "backends": {"types", "miniweb"},
    "runtime": {"types", "text", "web", "miniweb", "backends"},
    "browse_cmd": {"types", "paths", "text", "backends", "runtime"},
}


def _browser_env_part(module: str) -> str | None:
    """The part of browser_env (a subpackage or a top-level module) that ``module`` belongs to."""
    parts = module.split(".")
    return parts[1] if parts[0] == "browser_env" and len(parts) > 1 else None


def _browser_env_imports(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module) of every import of browser_env in a file of it, relative ones resolved."""
    package = list(path.relative_to(REPO).parent.parts)
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            found.append((node.lineno, ".".join(base + ([node.module] if node.module else []))))
    return [(line, name) for line, name in found if name.startswith("browser_env.")]


def test_every_browser_env_part_has_a_place():
    parts = {p.stem if p.is_file() else p.name for p in (REPO / "browser_env").iterdir()
             if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").is_file()}
    assert parts == set(BROWSER_ENV_ORDER), f"place {sorted(parts ^ set(BROWSER_ENV_ORDER))} in BROWSER_ENV_ORDER"
    for part, below in BROWSER_ENV_ALLOWED.items():
        assert all(BROWSER_ENV_ORDER.index(b) < BROWSER_ENV_ORDER.index(part) for b in below), part


@pytest.mark.parametrize("part", BROWSER_ENV_ORDER)
def test_browser_env_imports_point_down(part):
    root = REPO / "browser_env"
    paths = sorted((root / part).rglob("*.py")) if (root / part).is_dir() else [root / f"{part}.py"]
    wrong = []
    for path in paths:
        for line, target in _browser_env_imports(path):
            other = _browser_env_part(target)
            if other not in (None, part) and other not in BROWSER_ENV_ALLOWED[part]:
                wrong.append(f"{path.relative_to(REPO)}:{line} imports {target}")
    assert not wrong, f"browser_env.{part} may import only {sorted(BROWSER_ENV_ALLOWED[part])}:\n" + "\n".join(wrong)


def _modules(package: str) -> list[str]:
    names = []
    for path in sorted(REPO.joinpath(*package.split(".")).rglob("*.py")):
        rel = path.relative_to(REPO).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if parts[-1] != "__main__":  # running it is its import
            names.append(".".join(parts))
    return names


@pytest.mark.parametrize("package,forbidden", [("browser_env", "torch"), ("browser_env.text", "playwright"),
                                               ("browser_env.text", "httpx"), ("omni_model", "playwright")])
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
