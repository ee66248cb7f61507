#!/usr/bin/env bash
# Runs every fuzz target of the repository for a bounded time on top of its seed corpus
# (f.Add seeds and testdata/fuzz). Targets are discovered, not listed: a new `func FuzzX` in any
# package is picked up by itself. A failing input is kept in that package's testdata/fuzz by
# `go test`, so it becomes a seed of the next run; commit it with the fix.
#   FUZZTIME   time per target (default 3s)      FUZZ_PARALLEL  fuzzing workers (default 2)
#   FUZZ_PKGS  packages to search (default ./...)
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-3s}
parallel=${FUZZ_PARALLEL:-2}
# `go test -list` prints a package's matching names, then its "ok  PKG" line.
mapfile -t lines < <(go test -count=1 -list '^Fuzz' ${FUZZ_PKGS:-./...} | grep -E '^(Fuzz|ok )')
targets=()
names=()
for line in "${lines[@]}"; do
	case "$line" in
	Fuzz*) names+=("$line") ;;
	ok*)
		pkg=$(awk '{print $2}' <<<"$line")
		for n in "${names[@]}"; do targets+=("$pkg $n"); done
		names=()
		;;
	esac
done
if [ ${#targets[@]} -eq 0 ]; then
	echo "fuzz: no fuzz targets found" >&2
	exit 1
fi
echo "fuzz: ${#targets[@]} targets, $fuzztime each"
# fuzz PKG NAME: one bounded run; its output in $out.
fuzz() { out=$(go test -run '^$' -fuzz "^${2}\$" -fuzztime "$fuzztime" -parallel "$parallel" "$1" 2>&1); }
# Go 1.26's fuzz coordinator can fail a run as -fuzztime ends, with a bare "context deadline
# exceeded" and no failing input (golang/go#75804, fixed in Go 1.27). That run is tried once
# more; a real finding writes its input and fails again.
deadlineRace() { grep -q 'context deadline exceeded' <<<"$out" && ! grep -q 'Failing input written' <<<"$out"; }
status=0
for t in "${targets[@]}"; do
	read -r pkg name <<<"$t"
	start=$(date +%s)
	if fuzz "$pkg" "$name" || { deadlineRace && echo "fuzz: again $pkg $name (golang/go#75804)" && fuzz "$pkg" "$name"; }; then
		echo "fuzz: ok   $pkg $name ($(($(date +%s) - start))s)"
	else
		echo "fuzz: FAIL $pkg $name"
		echo "$out" | tail -40
		status=1
	fi
done
exit $status
