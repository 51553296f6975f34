# Sourced by scripts/test.sh: a throwaway PostgreSQL server for the store's tests.
#
# pg_start: initdb a cluster in a temporary directory, start it on a private unix socket (no TCP
# port: nothing else on the machine can collide with it or reach it), export its URL as
# GFL_TEST_PG_URL and stop it and delete it on exit (trap), even when the tests fail. Debian's
# `postgresql` package provides the server; as root it is installed when missing (CI runs as
# root). Where none can be had, GFL_TEST_PG_SKIP says why and the PostgreSQL tests skip with it.

pg_bin() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$d" ] && [ -x "$d/initdb" ] && echo "$d" && return 0
  command -v initdb >/dev/null 2>&1 && dirname "$(command -v initdb)" && return 0
  return 1
}

pg_start() {
  if [ -n "${GFL_TEST_PG_URL:-}" ]; then return 0; fi  # given: a server someone else runs
  local bin
  if ! bin=$(pg_bin); then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) \
        >/dev/null 2>&1 || true
    fi
    if ! bin=$(pg_bin); then
      export GFL_TEST_PG_SKIP="PostgreSQL tests skipped: no PostgreSQL server found (install Debian's postgresql package, or run this script as root to have it installed)"
      echo "note: $GFL_TEST_PG_SKIP" >&2
      return 0
    fi
  fi
  PG_DIR=$(mktemp -d /tmp/gfl-pg.XXXXXX)
  local as=()
  if [ "$(id -u)" = 0 ]; then  # initdb refuses to run as root: the server runs as postgres
    if ! id postgres >/dev/null 2>&1; then
      export GFL_TEST_PG_SKIP="PostgreSQL tests skipped: running as root and there is no 'postgres' user to run the server"
      echo "note: $GFL_TEST_PG_SKIP" >&2
      rm -rf "$PG_DIR"
      return 0
    fi
    chown postgres "$PG_DIR"
    as=(runuser -u postgres --)
  fi
  trap pg_stop EXIT
  trap 'pg_stop; exit 130' INT TERM
  if ! "${as[@]}" "$bin/initdb" -D "$PG_DIR/data" -A trust -U gfl -E UTF8 >"$PG_DIR/initdb.log" 2>&1 \
    || ! "${as[@]}" "$bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
      -o "-c listen_addresses='' -k $PG_DIR -p 5432 -c fsync=off" start >/dev/null 2>&1; then
    export GFL_TEST_PG_SKIP="PostgreSQL tests skipped: the throwaway server did not start (see $PG_DIR/*.log)"
    echo "note: $GFL_TEST_PG_SKIP" >&2
    return 0
  fi
  PG_CTL="$bin/pg_ctl"
  PG_AS="${as[*]}"
  export GFL_TEST_PG_URL="postgresql://gfl@/postgres?host=$PG_DIR&port=5432"
  echo "PostgreSQL for the store's tests: $GFL_TEST_PG_URL" >&2
}

pg_stop() {
  if [ -n "${PG_DIR:-}" ] && [ -d "$PG_DIR/data" ]; then
    # shellcheck disable=SC2086  # PG_AS is a command prefix, split on purpose
    $PG_AS "$PG_CTL" -D "$PG_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  [ -n "${PG_DIR:-}" ] && rm -rf "$PG_DIR"
  return 0
}
