#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# install_link.sh BUILD_DIR [SOURCE_DIR]
#
# Installs a built tree into a temporary prefix and uses it the way a user
# would, outside the build tree:
#   1. cc examples/embed_wordcount.c $(pkg-config --cflags --libs sluice)
#      -> libsluice.so, run with LD_LIBRARY_PATH=<prefix>/lib;
#   2. the same with `pkg-config --static --libs sluice` against libsluice.a
#      (no libsluice.so needed at run time);
#   3. a CMake project: find_package(sluice REQUIRED) +
#      target_link_libraries(x sluice::sluice), built and run.
# Each program is fed `to be or not to be` and must print `to<TAB>2`.
#
# Environment:
#   CC            C compiler (default cc)
#   EXTRA_CFLAGS  added when compiling, EXTRA_LDFLAGS when linking. A sanitizer
#                 build of libsluice needs the program built with the same
#                 sanitizers, e.g. -fsanitize=address,undefined for Debug.
#   KEEP=1        keep the temporary directory (printed) for inspection.
#
# Prints one line per step; exits 1 if any step failed (and goes on with the
# next steps where it can, so one run reports every problem).
set -u

if [ $# -lt 1 ]; then
    echo "usage: $0 BUILD_DIR [SOURCE_DIR]" >&2
    exit 2
fi
BUILD=$(cd "$1" && pwd) || exit 2
SRC=${2:-$(cd "$(dirname "$0")/../.." && pwd)}
SRC=$(cd "$SRC" && pwd) || exit 2
CC=${CC:-cc}
EXTRA_CFLAGS=${EXTRA_CFLAGS:-}
EXTRA_LDFLAGS=${EXTRA_LDFLAGS:-}

TMP=$(mktemp -d "${TMPDIR:-/tmp}/sluice-install.XXXXXX")
if [ "${KEEP:-0}" = 1 ]; then
    echo "install_link: keeping $TMP"
else
    trap 'rm -rf "$TMP"' EXIT
fi
PREFIX=$TMP/prefix
failures=0

ok() { echo "install_link: ok: $*"; }
fail() {
    echo "install_link: FAIL: $*" >&2
    failures=$((failures + 1))
}
# expect_wordcount PROGRAM [env...]: runs it on one line, wants `to<TAB>2`.
expect_wordcount() {
    local prog=$1 out
    shift
    if ! out=$(printf 'to be or not to be\n' | env "$@" "$prog" 2>"$TMP/run.err"); then
        fail "$prog exited non-zero: $(cat "$TMP/run.err")"
        return 1
    fi
    if ! printf '%s\n' "$out" | grep -q "$(printf 'to\t2')"; then
        fail "$prog printed no 'to<TAB>2' line; output: $out"
        return 1
    fi
    return 0
}

# ------------------------------------------------------------------ install
if ! cmake --install "$BUILD" --prefix "$PREFIX" >"$TMP/install.log" 2>&1; then
    cat "$TMP/install.log" >&2
    fail "cmake --install $BUILD --prefix $PREFIX"
    exit 1
fi
PC=$(find "$PREFIX" -name sluice.pc | head -n 1)
SO=$(find "$PREFIX" -name 'libsluice.so' | head -n 1)
A=$(find "$PREFIX" -name 'libsluice.a' | head -n 1)
CONFIG=$(find "$PREFIX" -name sluiceConfig.cmake | head -n 1)
missing=""
[ -f "$PREFIX/include/sluice.h" ] || missing="$missing include/sluice.h"
[ -n "$SO" ] || missing="$missing libsluice.so"
[ -n "$A" ] || missing="$missing libsluice.a"
[ -n "$PC" ] || missing="$missing sluice.pc"
[ -n "$CONFIG" ] || missing="$missing sluiceConfig.cmake"
if [ -n "$missing" ]; then
    fail "not installed:$missing"
    exit 1
fi
LIBDIR=$(dirname "$SO")
ok "installed into $PREFIX (header, libsluice.so, libsluice.a, sluice.pc, CMake package)"

mkdir -p "$TMP/user"
cp "$SRC/examples/embed_wordcount.c" "$TMP/user/"
cd "$TMP/user" || exit 1

# ------------------------------------------------------------------ pkg-config
export PKG_CONFIG_PATH
PKG_CONFIG_PATH=$(dirname "$PC")
PKGCONFIG="pkg-config"
pc_prefix=$(pkg-config --variable=prefix sluice 2>&1)
# The .pc may name its prefix relative to itself (${pcfiledir}/../..): what
# matters is that it resolves to where it was installed.
if [ "$(realpath -m "$pc_prefix")" != "$(realpath -m "$PREFIX")" ]; then
    fail "sluice.pc has prefix=$pc_prefix, not the install prefix $PREFIX (cmake --install --prefix is not honoured:" \
        "pkg-config --cflags gives '$(pkg-config --cflags sluice)'); going on with pkg-config --define-prefix"
    PKGCONFIG="pkg-config --define-prefix"
fi
if [ "$($PKGCONFIG --modversion sluice)" != "0.1.0" ]; then
    fail "pkg-config --modversion sluice: $($PKGCONFIG --modversion sluice)"
fi

# 1. shared
# shellcheck disable=SC2086
if $CC $EXTRA_CFLAGS -Wall -Wextra -Werror embed_wordcount.c $($PKGCONFIG --cflags --libs sluice) $EXTRA_LDFLAGS \
    -o wc_shared 2>"$TMP/cc.err"; then
    if ! ldd ./wc_shared | grep -q "libsluice.so.* => $LIBDIR/"; then
        LD_LIBRARY_PATH=$LIBDIR ldd ./wc_shared | grep -q "libsluice.so.* => $LIBDIR/" ||
            fail "wc_shared does not resolve libsluice.so from $LIBDIR: $(LD_LIBRARY_PATH=$LIBDIR ldd ./wc_shared | grep sluice)"
    fi
    expect_wordcount ./wc_shared LD_LIBRARY_PATH="$LIBDIR" &&
        ok "pkg-config --cflags --libs sluice: compiled, linked libsluice.so, printed 'to<TAB>2'"
else
    fail "cc embed_wordcount.c \$(pkg-config --cflags --libs sluice): $(cat "$TMP/cc.err")"
fi

# 2. static: the archive by name (-l:libsluice.a), the private libraries from --static.
static_libs=$($PKGCONFIG --static --libs sluice)
static_libs=${static_libs/-lsluice/-l:libsluice.a}
# shellcheck disable=SC2086
if $CC $EXTRA_CFLAGS -Wall -Wextra -Werror embed_wordcount.c $($PKGCONFIG --cflags sluice) $static_libs $EXTRA_LDFLAGS \
    -o wc_static 2>"$TMP/cc.err"; then
    if ldd ./wc_static | grep -q libsluice; then
        fail "wc_static still needs libsluice.so: $(ldd ./wc_static | grep libsluice)"
    fi
    expect_wordcount ./wc_static LD_LIBRARY_PATH= &&
        ok "pkg-config --static --libs sluice: linked libsluice.a ($static_libs), printed 'to<TAB>2'"
else
    fail "cc embed_wordcount.c \$(pkg-config --static --libs sluice) with libsluice.a: $(cat "$TMP/cc.err")"
fi

# ------------------------------------------------------------------ CMake package
mkdir -p "$TMP/cmake-user"
cp embed_wordcount.c "$TMP/cmake-user/"
cat >"$TMP/cmake-user/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.16)
project(x LANGUAGES C)
find_package(sluice 0.1 REQUIRED)
if(NOT sluice_VERSION VERSION_EQUAL 0.1.0)
  message(FATAL_ERROR "sluice_VERSION is ${sluice_VERSION}")
endif()
add_executable(x embed_wordcount.c)
target_link_libraries(x sluice::sluice)
EOF
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
if cmake -S "$TMP/cmake-user" -B "$TMP/cmake-user/build" "${generator[@]}" -DCMAKE_PREFIX_PATH="$PREFIX" \
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_FLAGS="$EXTRA_CFLAGS" -DCMAKE_EXE_LINKER_FLAGS="$EXTRA_LDFLAGS" \
    >"$TMP/cmake.log" 2>&1 && cmake --build "$TMP/cmake-user/build" >>"$TMP/cmake.log" 2>&1; then
    # No LD_LIBRARY_PATH: CMake's build RPATH must point at the installed library.
    expect_wordcount "$TMP/cmake-user/build/x" LD_LIBRARY_PATH= &&
        ok "find_package(sluice) + target_link_libraries(x sluice::sluice): built, printed 'to<TAB>2'"
else
    fail "CMake project with find_package(sluice): $(tail -n 20 "$TMP/cmake.log")"
fi

if [ "$failures" -ne 0 ]; then
    echo "install_link: $failures step(s) failed" >&2
    exit 1
fi
echo "install_link: all steps passed"
