#!/usr/bin/env bash
# The installed systemd unit is valid: systemd-analyze verify on an instance of it, with its
# programs pointed at this build. Skips (exit 0 with a note) where systemd-analyze is missing.
# usage: unit_test.sh UNIT_FILE BIN_DIR
set -euo pipefail
unit=$1 bin=$2
if ! command -v systemd-analyze >/dev/null; then
  echo "systemd-analyze not installed: unit not verified"
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sed -E "s|^(ExecStart=)[^ ]*/hamon-watcher|\1$bin/hamon-watcher|; s|^(ExecStop=)[^ ]*/hamon |\1$bin/hamon |" "$unit" > "$work/hamon@.service"
grep -q '^Type=notify$' "$work/hamon@.service"
grep -q '^KillMode=process$' "$work/hamon@.service"
grep -q '^Restart=always$' "$work/hamon@.service"
cd "$work"
out=$(systemd-analyze verify ./hamon@a.service 2>&1) || { echo "$out"; exit 1; }
if [[ -n $out ]]; then echo "$out"; exit 1; fi
echo "unit verified"
