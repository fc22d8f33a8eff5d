#!/usr/bin/env bash
# Prepares PostgreSQL's own regression suite for test/regress/pg-regress.test.ts (run by .ci/run as
# root on Debian): adds deb-src entries mirroring the machine's Debian sources (in a file of their
# own), installs postgresql-server-dev-<major> (PGXS) and dpkg-dev, fetches the source package of
# the installed server version with `apt-get source`, and builds the C functions the suite loads
# (regress.so from src/test/regress, refint.so and autoinc.so from contrib/spi) with PGXS.
#
#   .ci/pg-regress-setup.sh [DIR]     # DIR: $MERIDIAN_PG_REGRESS_DIR, else <repo>/.tmp/pg-regress
#
# Result (the test reads it): DIR/src (the unpacked source tree), DIR/lib (the .so files, given to
# pg_regress as --dlpath) and DIR/READY (written last: version and paths). Safe to run again: a DIR
# whose READY names the installed server version is left as it is.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
DIR=${1:-${MERIDIAN_PG_REGRESS_DIR:-$PWD/.tmp/pg-regress}}
export DEBIAN_FRONTEND=noninteractive

say() { printf '\n==> pg-regress setup: %s\n' "$*"; }
is_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

major=''
for d in /usr/lib/postgresql/*/bin/postgres; do
  [ -x "$d" ] || continue
  d=${d#/usr/lib/postgresql/}; d=${d%%/*}
  if [ -z "$major" ] || [ "$d" -gt "$major" ]; then major=$d; fi
done
[ -n "$major" ] || { echo "pg-regress setup: no PostgreSQL server installed" >&2; exit 1; }
server_pkg="postgresql-$major"
version=$(dpkg-query -W -f='${Version}' "$server_pkg")
say "$server_pkg $version into $DIR"

if [ -f "$DIR/READY" ] && grep -qx "version=$version" "$DIR/READY"; then
  say "already prepared"
  exit 0
fi

# deb-src: the same URIs/Suites/Components as each deb822 stanza of the machine's Debian sources
src_list=/etc/apt/sources.list.d/meridian-pg-regress-src.sources
if [ "$(id -u)" = 0 ] && ! grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/ /etc/apt/sources.list; then
  src=/etc/apt/sources.list.d/debian.sources
  [ -f "$src" ] || { echo "pg-regress setup: $src not found (cannot mirror it as deb-src)" >&2; exit 1; }
  sed -e 's/^Types:.*/Types: deb-src/' "$src" >"$src_list"
  say "added $src_list"
  cat "$src_list"
fi

pkgs=(dpkg-dev make gcc "postgresql-server-dev-$major")
missing=()
for p in "${pkgs[@]}"; do is_installed "$p" || missing+=("$p"); done
if [ "$(id -u)" = 0 ]; then
  apt-get update -qq
  if [ "${#missing[@]}" -gt 0 ]; then
    # the headers of the running server's version when the archive still has it
    dev="postgresql-server-dev-$major"
    if ! is_installed "$dev" && apt-get install -y -qq --no-install-recommends "$dev=$version" dpkg-dev make gcc; then :
    else apt-get install -y -qq --no-install-recommends "${pkgs[@]}"; fi
  fi
elif [ "${#missing[@]}" -gt 0 ]; then
  echo "pg-regress setup: not root and missing: ${missing[*]}" >&2
  exit 1
fi

rm -rf "$DIR"
mkdir -p "$DIR/fetch" "$DIR/lib"
say "apt-get source $server_pkg=$version"
# --download-only + dpkg-source -x: no build dependencies needed (apt checks the files against the
# signed Sources index; --no-check skips only the .dsc's own OpenPGP signature)
{ id _apt >/dev/null 2>&1 && chown _apt "$DIR/fetch"; } || true
fetch_source() {
  rm -f "$DIR"/fetch/*
  (cd "$DIR/fetch" && apt-get source -qq --download-only "$1")
}
source_version=$version
if ! fetch_source "$server_pkg=$version"; then
  # the mirror lacks the installed version's source (an update whose source is not there, or one
  # no longer kept): the newest other source of the same major the index lists that downloads (its
  # expected outputs rarely differ within a major; the direct run would show it)
  echo "pg-regress setup: no source for $server_pkg=$version; trying the other versions the index lists" >&2
  fetched=''
  for v in $(apt-cache showsrc "$server_pkg" | sed -n 's/^Version: //p' | sort -rVu); do
    [ "$v" = "$version" ] && continue
    if fetch_source "$server_pkg=$v"; then fetched=$v; break; fi
  done
  [ -n "$fetched" ] || { echo "pg-regress setup: no source of $server_pkg could be fetched" >&2; exit 1; }
  echo "pg-regress setup: using the source of $server_pkg=$fetched for server $version" >&2
  source_version=$fetched
fi
dsc=$(ls "$DIR"/fetch/*.dsc)
dpkg-source --no-check -x "$dsc" "$DIR/src" >/dev/null
rm -rf "$DIR/fetch"
[ -f "$DIR/src/src/test/regress/parallel_schedule" ] || { echo "pg-regress setup: no parallel_schedule in the source" >&2; exit 1; }

pg_config=/usr/lib/postgresql/$major/bin/pg_config
[ -x "$pg_config" ] || pg_config=$(command -v pg_config)
say "building regress.so (src/test/regress), refint.so and autoinc.so (contrib/spi) with PGXS ($pg_config)"
# src/test/regress has no PGXS makefile: a minimal one (regress.c includes a header of its own directory)
b="$DIR/build/regress"
mkdir -p "$b"
cp "$DIR/src/src/test/regress/regress.c" "$b/"
printf 'MODULES = regress\nPG_CPPFLAGS = -I%s\nPG_CONFIG = %s\nPGXS := $(shell $(PG_CONFIG) --pgxs)\ninclude $(PGXS)\n' \
  "$DIR/src/src/test/regress" "$pg_config" >"$b/Makefile"
make -s -C "$b" >/dev/null
cp "$b/regress.so" "$DIR/lib/"
# contrib/spi builds with PGXS as it is (its makefile adds -DREFINT_VERBOSE, whose NOTICEs the tests expect)
make -s -C "$DIR/src/contrib/spi" USE_PGXS=1 PG_CONFIG="$pg_config" >/dev/null
cp "$DIR/src/contrib/spi/refint.so" "$DIR/src/contrib/spi/autoinc.so" "$DIR/lib/"
rm -rf "$DIR/build"

pg_regress=$($pg_config --pgxs | sed 's|src/makefiles/pgxs.mk$||')src/test/regress/pg_regress
[ -x "$pg_regress" ] || { echo "pg-regress setup: $pg_regress not found" >&2; exit 1; }
# the server runs as the postgres OS user: it must be able to read the libraries
chmod -R a+rX "$DIR"
{
  echo "version=$version"
  echo "source=$source_version"
  echo "major=$major"
  echo "src=$DIR/src"
  echo "lib=$DIR/lib"
  echo "pg_regress=$pg_regress"
  echo "bindir=$($pg_config --bindir)"
} >"$DIR/READY.tmp"
mv "$DIR/READY.tmp" "$DIR/READY"
say "ready"
cat "$DIR/READY"
