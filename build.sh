#!/usr/bin/env bash
# Sluice's single entry point.
#   ./build.sh run [server args]   start the server on embedded defaults (http://127.0.0.1:9400, ./data)
#   ./build.sh test                install what the tests need, build, and run every test
#   ./build.sh bench [suite...]    run the benchmarks; with no suite named, all of them, written to docs/benchmarks.md
#                                  (see bench/README.md)
set -euo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

need_dotnet() {
  if ! command -v dotnet >/dev/null 2>&1; then
    echo "build.sh: the .NET 10 SDK is required (https://dot.net); install it and run again" >&2
    exit 2
  fi
}

# Debian packages the tests use; installed only when missing.
install_test_deps() {
  local missing=()
  command -v setsid >/dev/null 2>&1 || missing+=(util-linux)
  command -v ps >/dev/null 2>&1 || missing+=(procps)
  command -v sqlite3 >/dev/null 2>&1 || missing+=(sqlite3)
  command -v curl >/dev/null 2>&1 || missing+=(curl)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "build.sh: installing ${missing[*]}"
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
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
    dotnet build src/Sluice.Server -c Release -v quiet -nologo >/dev/null
    exec dotnet src/Sluice.Server/bin/Release/net10.0/sluice-server.dll "$@"
    ;;
  test)
    need_dotnet
    install_test_deps
    dotnet build Sluice.slnx -c Release -v quiet -nologo
    status=0 passed=0 failed=0
    log=$(mktemp)
    for p in tests/*.Tests; do
      echo "== $p"
      dotnet test "$p" -c Release --no-build --nologo -v quiet --logger "console;verbosity=minimal" 2>&1 | tee "$log" || status=1
      f="" ps=""; read -r f ps < <(sed -nE 's/.*Failed: *([0-9]+), Passed: *([0-9]+).*/\1 \2/p' "$log" | tail -n 1) || true
      failed=$((failed + ${f:-1})) passed=$((passed + ${ps:-0}))
    done
    rm -f "$log"
    echo "tests: $passed passed, $failed failed"
    [ "$failed" -eq 0 ] || status=1
    exit $status
    ;;
  bench)
    need_dotnet
    case " $* " in *" --no-peers "*|*" --help "*) ;; *) install_bench_peers ;; esac
    dotnet build bench/Sluice.Bench -c Release -v quiet -nologo >/dev/null
    exec dotnet bench/Sluice.Bench/bin/Release/net10.0/Sluice.Bench.dll "$@"
    ;;
  *)
    echo "usage: ./build.sh run [--urls URL] [--data-dir DIR] | test | bench [suite...] [--help]" >&2
    exit 2
    ;;
esac
