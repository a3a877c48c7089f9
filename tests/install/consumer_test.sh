#!/usr/bin/env bash
# Installs hamon to a scratch prefix, then builds the client example as a separate CMake project
# (find_package(hamon) → hamon::client) and with pkg-config, and runs what it built on a real
# heartbeat segment.  usage: consumer_test.sh BUILD_DIR SOURCE_DIR HB_RUN
set -euo pipefail
build=$1 src=$2 hb_run=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cmake --install "$build" --prefix "$work/prefix" --component client >/dev/null
cmake -S "$src/examples/client" -B "$work/build" -G Ninja -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/build" >/dev/null

# Outside hamon: a clear error and exit 2, not a crash.
rc=0
out=$("$work/build/heartbeat_example" 2>&1) || rc=$?
if [[ $rc -ne 2 || $out != *"not started by hamon"* ]]; then
  echo "outside hamon: expected exit 2 and 'not started by hamon', got $rc: $out" >&2
  exit 1
fi

"$hb_run" 20 -- "$work/build/heartbeat_example" 20
"$hb_run" 20 -- "$work/build/heartbeat_example_c" 20

pc=$(dirname "$(find "$work/prefix" -name hamon-client.pc | head -n 1)")
cflags=$(PKG_CONFIG_PATH="$pc" pkg-config --cflags hamon-client)
# shellcheck disable=SC2086 # cflags is a list of flags
cc -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Werror $cflags "$src/examples/client/heartbeat_example.c" -o "$work/pc_example"
"$hb_run" 5 -- "$work/pc_example" 5
echo "consumer: find_package and pkg-config builds attach and beat"
