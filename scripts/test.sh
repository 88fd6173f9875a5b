#!/usr/bin/env bash
# The README's second command: install mathscale with its test extras and run every test,
# the slow ones (real llama.cpp server, real model files) included.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install --quiet -e ".[local,dev]"
set +e
python -m pytest "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "scripts/test.sh: pytest collected no tests; that is a failure" >&2
  exit 1
fi
exit "$status"
