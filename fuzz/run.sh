#!/usr/bin/env bash
# Fuzz campaign: builds every target once, then runs each for SECONDS seconds, one after
# another, on a temporary copy of its seed corpus (the committed corpus is never changed).
#
#   fuzz/run.sh SECONDS [TARGET...]      (default: every target of fuzz/Cargo.toml)
#
# Prints per target: executions, executions/s, corpus size after the run, and whether it
# crashed; exits 1 if any target crashed (or could not run). Crash inputs are kept in
# fuzz/artifacts/TARGET/ with the run's log (fuzz.log); see fuzz/README.md for turning one
# into a regression test. One fuzzing process at a time, one build job by default
# (CARGO_BUILD_JOBS), because the machines have two cores.
set -euo pipefail

# All in a function: bash parses it whole before running, so editing this file while a
# campaign runs cannot derail the run.
main() {
    usage() { echo "usage: $0 SECONDS [TARGET...]" >&2; exit 2; }
    [[ $# -ge 1 && $1 =~ ^[0-9]+$ && $1 -gt 0 ]] || usage
    seconds=$1
    shift

    fuzz_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
    cd "$fuzz_dir"

    if ! cargo +nightly --version >/dev/null 2>&1; then
        echo "error: no nightly toolchain: cargo-fuzz needs one (rustup toolchain install nightly)" >&2
        exit 1
    fi
    if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
        echo "cargo-fuzz is missing; installing it" >&2
        cargo install cargo-fuzz --locked
    fi

    export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-1}
    targets=("$@")
    if [[ ${#targets[@]} -eq 0 ]]; then
        mapfile -t targets < <(cargo +nightly fuzz list)
    fi
    [[ ${#targets[@]} -gt 0 ]] || { echo "error: no fuzz targets" >&2; exit 1; }

    # FUZZ_QUICK=1 (CI's smoke run): an unoptimised build without a sanitizer, which builds in
    # a fraction of the time; a campaign keeps the default (optimised, AddressSanitizer).
    build_args=()
    profile=release
    if [[ ${FUZZ_QUICK:-0} == 1 ]]; then
        build_args=(--dev --sanitizer none)
        profile=debug
    fi
    echo "== building ${#targets[@]} targets (cargo +nightly fuzz build ${build_args[*]})"
    cargo +nightly fuzz build "${build_args[@]}"
    triple=$(rustc +nightly -vV | sed -n 's/^host: //p')
    bin_dir="$fuzz_dir/target/$triple/$profile"

    # Scratch space (tmpfs when there is one): corpus copies, libFuzzer's job logs, and TMPDIR
    # for targets that write files (relay_config).
    scratch_parent=/dev/shm
    [[ -d $scratch_parent && -w $scratch_parent ]] || scratch_parent=${TMPDIR:-/tmp}
    work=$(mktemp -d "$scratch_parent/tiprelay-fuzz.XXXXXX")
    trap 'rm -rf "$work"' EXIT

    failed=0
    rows=()
    for t in "${targets[@]}"; do
        [[ -x $bin_dir/$t ]] || { echo "error: $bin_dir/$t was not built" >&2; exit 1; }
        corpus="$work/corpus/$t"
        mkdir -p "$corpus" "$work/run/$t" "$work/tmp/$t"
        if [[ -d corpus/$t ]]; then
            cp -R "corpus/$t/." "$corpus/"
        fi
        artifacts="$fuzz_dir/artifacts/$t"
        mkdir -p "$artifacts"
        log="$artifacts/fuzz.log"
        echo "== $t: ${seconds}s on a copy of $(ls "$corpus" | wc -l) seeds"
        start=$(date +%s)
        touch "$work/run/$t/started"
        set +e
        # -jobs=1 -workers=1: libFuzzer runs exactly one fuzzing process and writes its output
        # to fuzz-0.log in the working directory.
        (cd "$work/run/$t" && TMPDIR="$work/tmp/$t" "$bin_dir/$t" "$corpus" \
            -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=60 -workers=1 -jobs=1 \
            -print_final_stats=1 -artifact_prefix="$artifacts/" >"$work/run/$t/driver.log" 2>&1)
        rc=$?
        set -e
        cat "$work/run/$t/driver.log" "$work/run/$t"/fuzz-*.log >"$log" 2>/dev/null || true
        elapsed=$(( $(date +%s) - start ))
        stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -1; }
        execs=$(stat number_of_executed_units)
        rate=$(stat average_exec_per_sec)
        rss=$(stat peak_rss_mb)
        files=$(ls "$corpus" | wc -l)
        bytes=$(du -sb "$corpus" | cut -f1)
        found=$(find "$artifacts" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
            -o -name 'oom-*' \) -newer "$work/run/$t/started" | sort)
        if [[ $rc -ne 0 || -n $found ]]; then
            crash=yes
            failed=1
            echo "!! $t: exit code $rc; inputs: ${found:-none}; log: $log"
            grep -m1 -A2 "panicked at" "$log" || grep -m3 "ERROR\|SUMMARY" "$log" || tail -20 "$log"
        else
            crash=no
        fi
        echo "   $t: ${execs:-?} execs, ${rate:-?} execs/s, corpus $files files / $bytes bytes, peak RSS ${rss:-?} MB, ${elapsed}s, crash: $crash"
        rows+=("| $t | ${execs:-?} | ${rate:-?} | $files ($bytes B) | ${rss:-?} | $crash |")
    done

    echo
    echo "| target | execs | execs/s | corpus after (files, bytes) | peak RSS MB | crash |"
    echo "|---|---:|---:|---:|---:|---|"
    printf '%s\n' "${rows[@]}"
    exit $failed
}

main "$@"
