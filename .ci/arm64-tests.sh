#!/usr/bin/env bash
# arm64 tests under qemu-user: cross-compiles the test binaries of the
# packages whose tests exercise the kernels and runs them on emulated CPUs
# with FEAT_DotProd (-cpu max: the "neon-dotprod" kernels) and without
# (-cpu cortex-a53: the "neon" kernels), plus the kernels once with
# TANDEM_KERNELS=generic. Prints one line per run and a closing count of the
# tests run; exits non-zero if any run fails.
#
# Emulation says nothing about speed. TestKernelsEnv re-executes its own
# binary, which qemu-user cannot do without binfmt_misc, so it is skipped in
# the emulated runs and the generic run stands in for it.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v qemu-aarch64 >/dev/null 2>&1; then
	echo "arm64-tests: installing qemu-user"
	apt-get update -qq
	apt-get install -y -qq qemu-user >/dev/null
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
start=$SECONDS

pkgs=(kernels model)
for p in "${pkgs[@]}"; do
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 go test -c -o "$tmp/$p.test" "./$p"
done
echo "arm64-tests: built ${pkgs[*]} test binaries ($((SECONDS - start))s)"

# Each run: name|package|qemu cpu|expected Kernels()|extra environment.
runs=(
	"kernels dotprod|kernels|max|neon-dotprod|"
	"kernels neon|kernels|cortex-a53|neon|"
	"kernels generic|kernels|max|generic|TANDEM_KERNELS=generic"
	"model dotprod|model|max|neon-dotprod|"
	"model neon|model|cortex-a53|neon|"
)

# run executes one run, writing its verbose log to $tmp/<n>.log and a
# summary line to $tmp/<n>.res.
run() {
	local n=$1 spec=$2
	local name pkg cpu expect env
	IFS='|' read -r name pkg cpu expect env <<<"$spec"
	local bin="$tmp/$pkg.test"
	local log="$tmp/$n.log" t0=$SECONDS rc=0
	local skip='^TestKernelsEnv$'
	[ -n "$env" ] && skip='^$'
	(
		cd "$pkg"
		# shellcheck disable=SC2086
		env TANDEM_EXPECT_KERNELS="$expect" $env \
			qemu-aarch64 -cpu "$cpu" "$bin" -test.v -test.timeout=5m -test.skip="$skip"
	) >"$log" 2>&1 || rc=$?
	local pass fail status=PASS
	pass=$(grep -c '^--- PASS' "$log" || true)
	fail=$(grep -c '^--- FAIL' "$log" || true)
	if [ "$rc" -ne 0 ]; then
		status=FAIL
		[ "$fail" -eq 0 ] && fail=1 # a crash or timeout counts as one failure
	fi
	printf '%s|%s|%s|%s|%s|%s\n' "$status" "$name" "$cpu" "$pass" "$fail" "$((SECONDS - t0))" >"$tmp/$n.res"
}

# Two runs at a time (qemu-user runs a Go test binary on about one core).
pids=()
for i in "${!runs[@]}"; do
	run "$i" "${runs[$i]}" &
	pids+=($!)
	if [ "${#pids[@]}" -ge 2 ]; then
		wait "${pids[0]}"
		pids=("${pids[@]:1}")
	fi
done
wait

total_pass=0 total_fail=0 failed=0
for i in "${!runs[@]}"; do
	IFS='|' read -r status name cpu pass fail secs <"$tmp/$i.res"
	echo "arm64-tests: $status $name (qemu -cpu $cpu): $pass passed, $fail failed, ${secs}s"
	total_pass=$((total_pass + pass))
	total_fail=$((total_fail + fail))
	if [ "$status" != PASS ]; then
		failed=1
		echo "---- $name: failures ----"
		grep -E -A 20 '^ *--- FAIL|^panic:|^fatal error:|timed out' "$tmp/$i.log" | head -n 100 || true
		echo "---- $name: last 20 lines ----"
		tail -n 20 "$tmp/$i.log"
		echo "----"
	fi
done
echo "arm64-tests: total $((SECONDS - start))s"
echo "arm64: $total_pass passed, $total_fail failed"
exit "$failed"
