# Shared helpers for ferrite's VM tests (sourced: . "$FERRITE_TEST_LIB").
# shellcheck shell=bash
set -euo pipefail

KO=$FERRITE_ROOT/ferrite.ko

fail() { echo "FAIL: $*" >&2; exit 1; }
note() { echo "# $*"; }

# full_size FULL QUICK: FULL under make check-full (run-tests --full), QUICK under make check, for
# a test whose slow part keeps testing the same thing at a smaller size.
full_size() {
  if [ "${FERRITE_TEST_FULL:-0}" = 1 ]; then echo "$1"; else echo "$2"; fi
}

# assert_eq EXPECTED ACTUAL WHAT
assert_eq() {
  [ "$1" = "$2" ] || fail "$3: expected '$1', got '$2'"
}

# Print the kmemleak report after a fresh scan (empty when nothing leaked).
kmemleak_report() {
  echo scan > /sys/kernel/debug/kmemleak
  cat /sys/kernel/debug/kmemleak
}

# Tests never clear the kernel log (the run's final scan reads it all); to look at what the kernel
# said during one step, put a mark in the log first and read from it:
#   mark=$(kmsg_mark); ...; kmsg_since "$mark" | grep ...
kmsg_mark() {
  local m="fstest-mark-$RANDOM$RANDOM"
  echo "$m" > /dev/kmsg
  echo "$m"
}
kmsg_since() {
  dmesg | sed -n "/$1/,\$p"
}
