#!/usr/bin/env bash
# Sluice's single entry point.
#   ./build.sh run [server args]   build the web console (when its sources changed) and start the server on embedded
#                                  defaults (http://127.0.0.1:9400, ./data); the console is served at /
#   ./build.sh test                install what the tests need, build, and run every test
#   ./build.sh cli                 build the sluice command-line tool and say where it is (see docs/cli.md)
#   ./build.sh bench [suite...]    run the benchmarks; with no suite named, all of them, written to docs/benchmarks.md
#                                  (see bench/README.md); multinode starts a throwaway PostgreSQL
#   ./build.sh fuzz [--seed N] [--count M] [--only K] [--filter NAME]
#                                  the fuzz harness for longer runs or to replay one case (see docs/reliability.md)
#   ./build.sh soak [--seconds S] [--rate R]
#                                  the soak test, 10 minutes by default (see docs/reliability.md)
set -euo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

need_dotnet() {
  if ! command -v dotnet >/dev/null 2>&1; then
    echo "build.sh: the .NET 10 SDK is required (https://dot.net); install it and run again" >&2
    exit 2
  fi
}

# Node.js 20.19+ (or 22.12+) builds the web console (Vite); the machine image has it, and npm installs the rest.
have_node() {
  command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 \
    && node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit((a===20&&b>=19)||(a===22&&b>=12)||a>22?0:1)'
}

# console/node_modules from package-lock.json (npm ci) when missing or older than the lock file.
console_deps() {
  if [ ! -f console/node_modules/.package-lock.json ] || [ console/package-lock.json -nt console/node_modules/.package-lock.json ]; then
    echo "build.sh: installing the console's npm packages (npm ci)"
    (cd console && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

# Builds the web console into src/Sluice.Server/wwwroot (copied next to the server binary by dotnet build) when it is
# missing or older than any of its sources. The bundle is not committed: it is made from console/ on every machine.
build_console() {
  local out=src/Sluice.Server/wwwroot/index.html
  if [ -f "$out" ] && [ -z "$(find console -path console/node_modules -prune -o -path console/e2e -prune -o -path console/test -prune \
      -o -type f -newer "$out" -print -quit)" ]; then
    return 0
  fi
  console_deps
  echo "build.sh: building the web console"
  (cd console && npm run build --silent >/dev/null)
}

# The server as it is run: published into artifacts/server, precompiled (ReadyToRun) and with tiered compilation off.
# A server that has just started otherwise spends most of a core for its first minutes re-compiling hot code in the
# background (measured: 2-3 ms of CPU per process step in a chain instead of about 1 ms; docs/benchmarks.md).
# Incremental: a publish with nothing changed takes a few seconds. The tests run the plain build (bin/Release).
publish_server() {
  dotnet publish src/Sluice.Server -c Release --use-current-runtime --self-contained false -p:PublishReadyToRun=true \
    -p:TieredCompilation=false -o artifacts/server -v quiet -nologo >/dev/null
}

# Debian packages the tests use; installed only when missing.
install_test_deps() {
  local missing=()
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  command -v setsid >/dev/null 2>&1 || missing+=(util-linux)
  command -v ps >/dev/null 2>&1 || missing+=(procps)
  # The native step supervisor (src/Sluice.Executors.Process/native): a C compiler, the C library's static archive, and
  # musl (a static supervisor that starts faster than a glibc one).
  command -v cc >/dev/null 2>&1 || missing+=(gcc)
  ls /usr/lib/*-linux-gnu/libc.a >/dev/null 2>&1 || missing+=(libc6-dev)
  command -v musl-gcc >/dev/null 2>&1 || missing+=(musl-tools)
  # SageMaker job steps in the tests: bash entrypoints, tar.gz artifacts, Python training and transform programs.
  command -v bash >/dev/null 2>&1 || missing+=(bash)
  command -v tar >/dev/null 2>&1 || missing+=(tar)
  command -v gzip >/dev/null 2>&1 || missing+=(gzip)
  command -v python3 >/dev/null 2>&1 || missing+=(python3)
  command -v sqlite3 >/dev/null 2>&1 || missing+=(sqlite3)
  command -v curl >/dev/null 2>&1 || missing+=(curl)
  # The SageMaker and SQS faces are tested with the real clients: AWS CLI v2 and Debian's boto3 (older botocore, SQS
  # query protocol) from Debian, node for the AWS JS SDK. boto3 and AWS CLI v1 come with the image's pip Python.
  [ -x /usr/bin/aws ] || missing+=(awscli)
  /usr/bin/python3 -c 'import boto3' >/dev/null 2>&1 || missing+=(python3-boto3)
  command -v node >/dev/null 2>&1 || missing+=(nodejs)
  command -v npm >/dev/null 2>&1 || missing+=(npm)
  command -v script >/dev/null 2>&1 || missing+=(bsdutils)
  # The PostgreSQL store's contract suite and the multi-node tests run against a throwaway cluster (see start_postgres).
  pg_bindir >/dev/null || missing+=(postgresql)
  command -v runuser >/dev/null 2>&1 || missing+=(util-linux)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "build.sh: installing ${missing[*]}"
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  # @aws-sdk/client-sagemaker and @aws-sdk/client-sqs, pinned by the lock file; installed again only when it changed.
  local node_dir=tests/Sluice.Server.Tests/SageMaker/node
  if [ ! -f "$node_dir/node_modules/.package-lock.json" ] || [ "$node_dir/package-lock.json" -nt "$node_dir/node_modules/.package-lock.json" ]; then
    echo "build.sh: npm ci in $node_dir"
    (cd "$node_dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  fi
}

# The newest installed PostgreSQL's bin directory (Debian puts initdb and pg_ctl there, not on PATH).
pg_bindir() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && echo "$d"
}

# A throwaway PostgreSQL cluster for the tests: initdb in a temp directory, pg_ctl on a free loopback port (as the postgres
# user when run as root), SLUICE_TEST_POSTGRES exported; stop_postgres (run on exit, even after a failure) removes it.
PG_TEST_DIR=""
start_postgres() {
  local bin port as=()
  bin=$(pg_bindir) || { echo "build.sh: PostgreSQL is not installed" >&2; return 1; }
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  PG_TEST_DIR=$(mktemp -d /tmp/sluice-pg-XXXXXX)
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    chown postgres "$PG_TEST_DIR"
    as=(runuser -u postgres --)
  fi
  "${as[@]}" "$bin/initdb" -D "$PG_TEST_DIR/data" -U postgres -A trust -E UTF8 --no-sync >"$PG_TEST_DIR/initdb.log" 2>&1 \
    || { cat "$PG_TEST_DIR/initdb.log" >&2; return 1; }
  # Durability is not under test here: fsync off keeps a loaded machine fast. Sockets stay in the temp directory.
  "${as[@]}" "$bin/pg_ctl" -D "$PG_TEST_DIR/data" -l "$PG_TEST_DIR/server.log" -w -t 60 \
    -o "-p $port -c listen_addresses=127.0.0.1 -k $PG_TEST_DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
    start >/dev/null || { cat "$PG_TEST_DIR/server.log" >&2; return 1; }
  export SLUICE_TEST_POSTGRES="Host=127.0.0.1;Port=$port;Username=postgres;Database=postgres"
  export SLUICE_TEST_POSTGRES_DATA="$PG_TEST_DIR/data" SLUICE_TEST_PG_BIN="$bin"
  echo "build.sh: PostgreSQL for the tests on 127.0.0.1:$port ($PG_TEST_DIR)"
}

stop_postgres() {
  if [ -n "$PG_TEST_DIR" ] && [ -d "$PG_TEST_DIR" ]; then
    local as=()
    [ "$(id -u)" = 0 ] && as=(runuser -u postgres --)
    "${as[@]}" "$(pg_bindir)/pg_ctl" -D "$PG_TEST_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$PG_TEST_DIR"
  fi
}

# Node packages of test folders (a package-lock.json next to the tests that use them): npm ci when missing or stale.
install_node_deps() {
  local lock dir
  while IFS= read -r lock; do
    dir=$(dirname "$lock")
    if [ ! -d "$dir/node_modules" ] || [ "$lock" -nt "$dir/node_modules/.package-lock.json" ]; then
      echo "build.sh: npm ci in $dir"
      (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    fi
  done < <(find tests -name package-lock.json -not -path '*/node_modules/*' | sort)
}

# The orchestrators the benchmarks compare against (Debian packages); installed only when missing.
install_bench_peers() {
  local missing=()
  command -v snakemake >/dev/null 2>&1 || missing+=(snakemake)
  command -v cwltool >/dev/null 2>&1 || missing+=(cwltool)
  command -v toil-cwl-runner >/dev/null 2>&1 || missing+=(toil)
  command -v setsid >/dev/null 2>&1 || missing+=(util-linux)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "build.sh: installing benchmark peers: ${missing[*]}"
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

cmd="${1:-}"
shift || true
case "$cmd" in
  run)
    need_dotnet
    if have_node; then
      build_console
    else
      echo "build.sh: Node.js 20.19+ is not installed, so the web console is not built; the APIs work without it" >&2
    fi
    publish_server
    exec dotnet artifacts/server/sluice-server.dll "$@"
    ;;
  test)
    need_dotnet
    install_test_deps
    if ! have_node; then
      echo "build.sh: Node.js 20.19+ with npm is required to build and test the web console" >&2
      exit 2
    fi
    build_console
    install_node_deps
    dotnet build Sluice.slnx -c Release -v quiet -nologo
    trap stop_postgres EXIT
    start_postgres
    status=0 passed=0 failed=0
    log=$(mktemp)
    for p in tests/*.Tests; do
      echo "== $p"
      dotnet test "$p" -c Release --no-build --nologo -v quiet --logger "console;verbosity=minimal" 2>&1 | tee "$log" || status=1
      f="" ps=""; read -r f ps < <(sed -nE 's/.*Failed: *([0-9]+), Passed: *([0-9]+).*/\1 \2/p' "$log" | tail -n 1) || true
      failed=$((failed + ${f:-1})) passed=$((passed + ${ps:-0}))
    done
    # The web console: Vitest unit tests, then Chromium end-to-end tests against a real server process.
    for suite in test e2e; do
      echo "== console ($suite)"
      (cd console && NO_COLOR=1 npm run "$suite" --silent) 2>&1 | tee "$log" || status=1
      # Vitest's summary: "Tests  2 failed | 8 passed (10)"; no summary at all counts as a failure.
      if grep -qE '^ *Tests +[0-9]' "$log"; then
        f=$(sed -nE 's/^ *Tests .* ([0-9]+) failed.*/\1/p' "$log" | tail -n 1)
        ps=$(sed -nE 's/^ *Tests .* ([0-9]+) passed.*/\1/p' "$log" | tail -n 1)
      else
        f=1 ps=0
      fi
      failed=$((failed + ${f:-0})) passed=$((passed + ${ps:-0}))
    done
    rm -f "$log"
    echo "tests: $passed passed, $failed failed"
    [ "$failed" -eq 0 ] || status=1
    exit $status
    ;;
  cli)
    need_dotnet
    dotnet build src/Sluice.Cli -c Release -v quiet -nologo >/dev/null
    bin="$PWD/src/Sluice.Cli/bin/Release/net10.0"
    echo "sluice is built: $bin/sluice"
    echo "put it on your PATH with:  export PATH=\"$bin:\$PATH\""
    ;;
  bench)
    need_dotnet
    case " $* " in *" --no-peers "*|*" --help "*) ;; *) install_bench_peers ;; esac
    dotnet build bench/Sluice.Bench -c Release -v quiet -nologo >/dev/null
    # The multinode subset needs a PostgreSQL: SLUICE_BENCH_POSTGRES, or a throwaway cluster like the tests'.
    suites=" "
    for a in "$@"; do case "$a" in --*) break ;; *) suites+="$a " ;; esac; done
    case "$suites" in
      " "|*" all "*|*" multinode "*)
        if [ -z "${SLUICE_BENCH_POSTGRES:-}" ] && pg_bindir >/dev/null; then
          trap stop_postgres EXIT
          start_postgres
          export SLUICE_BENCH_POSTGRES="$SLUICE_TEST_POSTGRES"
        fi
        ;;
    esac
    # The benchmarks measure the server that ./build.sh run starts (not exec'd: the PostgreSQL is removed on exit).
    publish_server
    SLUICE_BENCH_SERVER="$PWD/artifacts/server/sluice-server.dll" dotnet bench/Sluice.Bench/bin/Release/net10.0/Sluice.Bench.dll "$@"
    ;;
  fuzz|soak)
    need_dotnet
    filter=$([ "$cmd" = fuzz ] && echo "FullyQualifiedName~Fuzz" || echo "FullyQualifiedName~Soak")
    export SLUICE_SOAK_SECONDS=600
    while [ $# -gt 0 ]; do
      case "$1" in
        --seed) export SLUICE_FUZZ_SEED="$2"; shift 2 ;;
        --count) export SLUICE_FUZZ_COUNT="$2"; shift 2 ;;
        --only) export SLUICE_FUZZ_ONLY="$2"; shift 2 ;;
        --filter) filter="FullyQualifiedName~$2"; shift 2 ;;
        --seconds) export SLUICE_SOAK_SECONDS="$2"; shift 2 ;;
        --rate) export SLUICE_SOAK_RATE="$2"; shift 2 ;;
        *) echo "build.sh $cmd: unknown option $1" >&2; exit 2 ;;
      esac
    done
    dotnet build tests/Sluice.Reliability.Tests -c Release -v quiet -nologo >/dev/null
    exec dotnet test tests/Sluice.Reliability.Tests -c Release --no-build --nologo -v quiet --filter "$filter" \
      --logger "console;verbosity=normal"
    ;;
  *)
    echo "usage: ./build.sh run [--urls URL] [--data-dir DIR] | test | cli | bench [suite...] [--help] | fuzz [--seed N] [--count M] [--only K] | soak [--seconds S]" >&2
    exit 2
    ;;
esac
