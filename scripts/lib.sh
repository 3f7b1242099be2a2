# Shared shell settings for ferrite's scripts. Sourced, not run.
# shellcheck shell=bash

FERRITE_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FERRITE_CACHE=${FERRITE_CACHE:-$HOME/.cache/ferrite}
BINDGEN_VERSION=0.70.1
# The kernel's Rust must be Debian's rustc-web, never the rustup toolchain that may come first on
# PATH: the kernel and every module must be built by the same rustc.
KRUSTC=/usr/bin/rustc
KRUSTDOC=/usr/bin/rustdoc
KBINDGEN=$FERRITE_CACHE/bindgen-$BINDGEN_VERSION/bin/bindgen
export LIBCLANG_PATH=${LIBCLANG_PATH:-/usr/lib/llvm-14/lib}

_ferrite_t0=${_ferrite_t0:-$(date +%s)}
export _ferrite_t0

step() { printf '==> [%4ss] %s\n' "$(( $(date +%s) - _ferrite_t0 ))" "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
