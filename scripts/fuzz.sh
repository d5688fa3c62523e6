#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, clang, ASan + UBSan) into build-fuzz/ and runs each
# one for a bounded time from its committed corpus (fuzz/corpus/TARGET). Fails when any
# target finds a crash, a leak, a sanitizer report or a broken invariant; the input that did
# it is kept in build-fuzz/artifacts/. Ends with a table of executions per target.
#
#   scripts/fuzz.sh                    every target for ADASHTA_FUZZ_SECONDS (default 20) s:
#                                      the suite's run (scripts/test.sh)
#   scripts/fuzz.sh --long [SECONDS]   every target for SECONDS (default 600) s, growing the
#                                      corpus kept in build-fuzz/corpus/ across runs
#   scripts/fuzz.sh --seed             rewrites the seed corpora fuzz/corpus/ (make_corpus)
#   scripts/fuzz.sh [...] json mesh    only these targets (json client_frame mesh beacon token
#                                      router node ws_frames http_request)
#
# Reproduce a finding: build-fuzz/fuzz/fuzz_TARGET build-fuzz/artifacts/TARGET-crash-...
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${ADASHTA_FUZZ_BUILD_DIR:-$here/build-fuzz}"
all_targets=(json client_frame mesh beacon token router node ws_frames http_request)

mode=bounded
seconds="${ADASHTA_FUZZ_SECONDS:-20}"
targets=()
while (($#)); do
  case "$1" in
    --long)
      mode=long
      seconds=600
      if [[ ${2:-} =~ ^[0-9]+$ ]]; then seconds="$2"; shift; fi
      ;;
    --seed) mode=seed ;;
    -h | --help)
      sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      if [[ ! " ${all_targets[*]} " == *" $1 "* ]]; then
        echo "fuzz: unknown target or option '$1'; targets are ${all_targets[*]}" >&2
        exit 2
      fi
      targets+=("$1")
      ;;
  esac
  shift
done
((${#targets[@]})) || targets=("${all_targets[@]}")

if ! command -v clang++ >/dev/null; then
  echo "fuzz: clang++ is missing; scripts/setup.sh installs it (clang, libclang-rt-14-dev)" >&2
  exit 1
fi
# A build folder configured otherwise (another compiler, no ADASHTA_FUZZ) is configured anew.
if [[ -f $build/CMakeCache.txt ]] && ! { grep -q '^ADASHTA_FUZZ:BOOL=ON$' "$build/CMakeCache.txt" &&
  grep -q '^CMAKE_CXX_COMPILER:[A-Z]*=.*clang++' "$build/CMakeCache.txt"; }; then
  echo "fuzz: $build was configured without clang and ADASHTA_FUZZ=ON; configuring it again"
  rm -rf "$build/CMakeCache.txt" "$build/CMakeFiles" "$build/build.ninja"
fi
if [[ ! -f $build/build.ninja ]]; then
  CC=clang CXX=clang++ cmake -S "$here" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
    -DADASHTA_FUZZ=ON -DADASHTA_TESTS=OFF -DADASHTA_BENCH=OFF >/dev/null
fi
ninja -C "$build" fuzz_targets

if [[ $mode == seed ]]; then
  "$build/fuzz/make_corpus" "$here/fuzz/corpus" "$here/fuzz/keys"
  echo "fuzz: wrote the seeds in fuzz/corpus/ ($(find "$here/fuzz/corpus" -type f | wc -l) files)"
  exit 0
fi

artifacts="$build/artifacts"
logs="$build/fuzz-logs"
mkdir -p "$artifacts" "$logs"
# The bounded run starts from the committed seeds only, so each run of the suite is alike;
# the long run keeps what it finds and starts from there next time.
if [[ $mode == long ]]; then
  work="$build/corpus"
else
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
fi

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
failed=()
rows=()
for target in "${targets[@]}"; do
  mkdir -p "$work/$target"
  dict=()
  [[ -f $here/fuzz/$target.dict ]] && dict=(-dict="$here/fuzz/$target.dict")
  log="$logs/$target.log"
  echo "== fuzz_$target for ${seconds} s"
  # -timeout: one input running 10 s is a finding too (a loop a peer could trigger).
  if "$build/fuzz/fuzz_$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$artifacts/$target-" "${dict[@]}" \
    "$work/$target" "$here/fuzz/corpus/$target" >"$log" 2>&1; then
    result=ok
  else
    result=FAILED
    failed+=("$target")
    echo "fuzz_$target FAILED; the end of $log:" >&2
    tail -n 60 "$log" >&2
  fi
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
  rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)"
  added="$(sed -n 's/^stat::new_units_added: *//p' "$log" | tail -1)"
  rows+=("$(printf '%-14s %10s %10s %8s  %s' "$target" "${execs:-?}" "${rate:-?}" "${added:-?}" "$result")")
done

echo
printf '%-14s %10s %10s %8s  %s\n' target executions "execs/s" "new" result
printf '%s\n' "${rows[@]}"
if ((${#failed[@]})); then
  echo "fuzz: ${failed[*]} failed; inputs in $artifacts, logs in $logs" >&2
  exit 1
fi
echo "fuzz: every target ran ${seconds} s without a finding"
