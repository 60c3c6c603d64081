#!/usr/bin/env bash
# Build kquant-gui as a one-folder app with PyInstaller, pack it, and optionally smoke-test it.
#
#   packaging/build.sh               dist/kquant-gui/ and dist/kquant-gui-<version>-linux-<arch>.tar.gz
#   packaging/build.sh --smoke       the same, then run the BUILT app's --smoke-test offscreen, with
#                                    no Python reachable (the CI step; see packaging/README.md)
#   packaging/build.sh --smoke-only  smoke-test an existing dist/kquant-gui/ without rebuilding
#
# Environment: PYTHON (default .venv/bin/python; needs the project and PyInstaller, installed
# here from the `package` extra if missing), MAX_UNPACKED_MB (default 350), MAX_PACKED_MB (140).
# Sizes are in MB = 10^6 bytes. Exit status is non-zero if the build, a size budget, the library
# check or the smoke test fails.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
MAX_UNPACKED_MB="${MAX_UNPACKED_MB:-350}"
MAX_PACKED_MB="${MAX_PACKED_MB:-140}"
APP_DIR="$ROOT/dist/kquant-gui"
APP="$APP_DIR/kquant-gui"

build=1
smoke=0
for arg in "$@"; do
  case "$arg" in
    --smoke) smoke=1 ;;
    --smoke-only) build=0; smoke=1 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "build.sh: unknown option $arg (try --help)" >&2; exit 2 ;;
  esac
done

VERSION="$("$PY" -c 'import runpy; print(runpy.run_path("kquant_gui/_version.py")["__version__"])')"
ARCHIVE="$ROOT/dist/kquant-gui-$VERSION-linux-$(uname -m).tar.gz"
say() { printf 'build.sh: %s\n' "$*"; }
die() { printf 'build.sh: FAILED: %s\n' "$*" >&2; exit 1; }
mb() { awk -v b="$1" 'BEGIN { printf "%.0f", b / 1e6 }'; }

if [ "$build" = 1 ]; then
  if ! "$PY" -c 'import PyInstaller' 2>/dev/null; then
    say "installing PyInstaller (the package extra)"
    "$PY" -m pip install --quiet -e "$ROOT[package]"
  fi
  start=$SECONDS
  rm -rf "$APP_DIR" "$ARCHIVE"
  "$PY" -m PyInstaller --noconfirm --log-level WARN \
    --distpath "$ROOT/dist" --workpath "$ROOT/build/pyinstaller" packaging/kquant-gui.spec
  say "PyInstaller took $((SECONDS - start)) s"
  # PyInstaller adds top-level links to every Qt library it saw, also to the ones the spec
  # dropped (the eglfs platform's); those links dangle and go.
  find "$APP_DIR" -xtype l -delete

  # The app must carry its own resources and nothing of the repository's tests or benchmarks.
  for needed in sample.jpg icon.svg icons/kquant-gui-256.png; do
    [ -f "$APP_DIR/_internal/kquant_gui/resources/$needed" ] || die "missing resource $needed"
  done
  leaked="$(find "$APP_DIR" \( -name tests -o -name benchmarks -o -name translations \) -print)"
  [ -z "$leaked" ] || die "unwanted folders in the build: $leaked"

  start=$SECONDS
  tar -C "$ROOT/dist" -czf "$ARCHIVE" kquant-gui
  say "packed in $((SECONDS - start)) s: $ARCHIVE"

  unpacked=$(du -sb "$APP_DIR" | cut -f1)
  packed=$(stat -c %s "$ARCHIVE")
  say "size: unpacked $(mb "$unpacked") MB, packed $(mb "$packed") MB" \
    "(budget $MAX_UNPACKED_MB / $MAX_PACKED_MB MB)"
  [ "$unpacked" -le $((MAX_UNPACKED_MB * 1000000)) ] || die "unpacked size over budget"
  [ "$packed" -le $((MAX_PACKED_MB * 1000000)) ] || die "packed size over budget"
fi

[ "$smoke" = 1 ] || exit 0
[ -x "$APP" ] || die "no built app at $APP; run packaging/build.sh first"

# 1. Libraries, resolved as at run time (the bootloader puts _internal first on the library
# path): Python must come from inside the bundle, never from the build machine.
libcheck="$(find "$APP_DIR" -type f \( -name '*.so*' -o -path "$APP" \) -print0 |
  LD_LIBRARY_PATH="$APP_DIR/_internal" xargs -0 ldd 2>/dev/null || true)"
outside_python="$(printf '%s\n' "$libcheck" | grep -E 'libpython[0-9.]*\.so' | grep -v "$APP_DIR" || true)"
[ -z "$outside_python" ] || die "libpython resolved outside the bundle: $outside_python"
# Libraries left unresolved: expected only for optional Qt plugins on this machine (the GTK
# theme plugin without GTK installed). Listed so a new one is noticed.
missing="$(printf '%s\n' "$libcheck" | grep 'not found' | sort -u | tr -s ' \t' ' ' || true)"
[ -z "$missing" ] || say "unresolved (optional plugin) libraries: $(echo "$missing" | tr '\n' ';')"

# 2. Run the built app with an empty environment, an empty PATH and, where we may (root with
# mount namespaces), every Python installation and the source tree hidden behind empty mounts:
# what a machine without Python looks like to the app.
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch/home" "$scratch/bin"
hide=()
for p in "$("$PY" -c 'import sys; print(sys.base_prefix)')" "$ROOT/.venv" "$ROOT/kquant_gui" \
  /usr/lib/python3* /usr/local/lib/python3* /usr/bin/python* /usr/local/bin/python* \
  /usr/lib/*-linux-gnu/libpython3*; do
  # Symlinks are skipped: their targets are in the list or hidden with their folder.
  if [ -e "$p" ] && [ ! -L "$p" ]; then hide+=("$p"); fi
done
run_app() {
  timeout 300 env -i HOME="$scratch/home" PATH="$scratch/bin" LANG=C.UTF-8 \
    QT_QPA_PLATFORM=offscreen "$APP" "$@"
}
isolation="env -i, empty PATH"
if [ "$(id -u)" = 0 ] && unshare -m true 2>/dev/null; then
  isolation="$isolation, ${#hide[@]} Python/source paths hidden"
  run_isolated() {
    unshare -m bash -c '
      for p in "${@:2:$1}"; do
        if [ -d "$p" ]; then mount -t tmpfs none "$p"; else mount --bind /dev/null "$p"; fi
      done
      shift $(($1 + 1)); exec "$@"' _ "${#hide[@]}" "${hide[@]}" \
      timeout 300 env -i HOME="$scratch/home" PATH="$scratch/bin" LANG=C.UTF-8 \
      QT_QPA_PLATFORM=offscreen "$APP" "$@"
  }
else
  run_isolated() { run_app "$@"; }
fi

start=$SECONDS
set +e
output="$(run_isolated --smoke-test 2>&1)"
status=$?
set -e
say "smoke test of the built app ($isolation): $((SECONDS - start)) s, exit $status"
printf '%s\n' "$output"
[ "$status" = 0 ] || die "the built app's --smoke-test exited $status"
grep -q '^kquant-gui smoke test ok:' <<<"$output" || die "no 'smoke test ok' line"
