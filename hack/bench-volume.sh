#!/usr/bin/env bash
# Benchmarks berth's volume backup and restore against the classic busybox recipe, on the same
# engine, in one run:
#
#   bash hack/bench-volume.sh            # about 1 GiB of mixed files (SIZE_MB=1024)
#   SIZE_MB=4096 SKIP_BUSYBOX=1 bash hack/bench-volume.sh   # berth only: peak RSS at 4 GiB
#
# The volume holds thousands of small text files and a few large ones (random, base64 text,
# log-like text). It is held by a data-volume container X, and backed up with
#   docker run --rm --volumes-from X -v $PWD:/backup BUSYBOX tar czf /backup/b.tar.gz /data
# and with `berth volume backup X:/data` (tar.gz and tar.zst); restores are compared with
# `tar xzf` in a busybox container. berth's peak RSS comes from /usr/bin/time.
# Everything created is removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MB=${SIZE_MB:-1024}
SMALL_FILES=${SMALL_FILES:-5000}
BUSYBOX=${BUSYBOX:-berth-fixtures/busybox:local}
id=$RANDOM$RANDOM
vol=berth-bench-$id
dc=berth-bench-data-$id
work=$(mktemp -d /tmp/berth-bench-XXXXXX)
berth=$work/berth

cleanup() {
	docker rm -f "$dc" >/dev/null 2>&1 || true
	docker volume rm -f "$vol" "$vol-r1" "$vol-r2" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

go build -o "$berth" ./cmd/berth

echo "== populating $vol: $SMALL_FILES small files + large files, about $SIZE_MB MiB"
docker volume create --label berth.bench=1 "$vol" >/dev/null
docker create --name "$dc" --network none -v "$vol":/data "$BUSYBOX" true >/dev/null
large=$(( (SIZE_MB - SMALL_FILES * 10 / 1024) / 3 ))
docker run --rm --network none --volumes-from "$dc" "$BUSYBOX" sh -c "
set -e
mkdir -p /data/small /data/large /data/empty
head -c 300000 /dev/urandom | base64 > /data/small/seed
i=0
while [ \$i -lt $SMALL_FILES ]; do
	d=/data/small/d\$((i / 100))
	[ -d \$d ] || mkdir \$d
	head -c \$(( (i * 7919) % 20000 + 64 )) /data/small/seed > \$d/f\$i.txt
	i=\$((i + 1))
done
head -c $((large * 1048576)) /dev/urandom > /data/large/random.bin
head -c $((large * 786432)) /dev/urandom | base64 > /data/large/base64.txt
seq 1 100000000 | sed 's/^/2026-11-26T12:00:00Z level=info msg=\"request served\" n=/' | head -c $((large * 1048576)) > /data/large/app.log
"
bytes=$(docker run --rm --network none --volumes-from "$dc" "$BUSYBOX" du -sb /data | cut -f1)
files=$(docker run --rm --network none --volumes-from "$dc" "$BUSYBOX" sh -c 'find /data -type f | wc -l')
mib=$(awk "BEGIN{printf \"%.0f\", $bytes/1048576}")
echo "   $files files, $mib MiB"
# Warm the page cache so that neither side pays for cold reads.
docker run --rm --network none --volumes-from "$dc" "$BUSYBOX" sh -c 'find /data -type f -exec cat {} + >/dev/null'

now() { date +%s.%N; }
rate() { awk "BEGIN{printf \"%.1f\", $bytes/1048576/($2-$1)}"; }
secs() { awk "BEGIN{printf \"%.1f\", $2-$1}"; }

bb_backup=0 bb_restore=0
if [ -z "${SKIP_BUSYBOX:-}" ]; then
	echo "== backup: busybox tar czf"
	t0=$(now)
	docker run --rm --network none --volumes-from "$dc" -v "$work":/backup "$BUSYBOX" tar czf /backup/b.tar.gz /data 2>/dev/null
	t1=$(now)
	bb_backup=$(rate "$t0" "$t1")
	echo "   $(secs "$t0" "$t1") s, $bb_backup MiB/s, $(du -m "$work/b.tar.gz" | cut -f1) MiB"
	fi

berth_backup() { # format file
	local t0 t1 rss
	t0=$(now)
	# shellcheck disable=SC2086 # $1 is the format and maybe a level flag
	/usr/bin/time -f %M -o "$work/rss" "$berth" volume backup "$dc:/data" -o "$work/$2" --format $1 2>/dev/null
	t1=$(now)
	rss=$(( $(cat "$work/rss") / 1024 ))
	echo "   $(secs "$t0" "$t1") s, $(rate "$t0" "$t1") MiB/s, $(du -m "$work/$2" | cut -f1) MiB, peak RSS $rss MiB" >&2
	echo "$(rate "$t0" "$t1") $rss"
}
echo "== backup: berth tar.gz"
read -r berth_gz rss_gz < <(berth_backup tar.gz berth.tar.gz)
echo "== backup: berth tar.zst"
read -r berth_zst rss_zst < <(berth_backup tar.zst berth.tar.zst)
rm -f "$work/berth.tar.zst"
echo "== backup: berth tar.gz --level 6 (busybox gzip's level)"
read -r berth_gz6 rss_gz6 < <(berth_backup "tar.gz --level 6" berth6.tar.gz)
rm -f "$work/berth6.tar.gz"

if [ -z "${SKIP_BUSYBOX:-}" ]; then
	echo "== restore: busybox tar xzf"
	docker volume create "$vol-r1" >/dev/null
	t0=$(now)
	docker run --rm --network none -v "$vol-r1":/data -v "$work":/backup "$BUSYBOX" tar xzf /backup/b.tar.gz -C /
	t1=$(now)
	bb_restore=$(rate "$t0" "$t1")
	echo "   $(secs "$t0" "$t1") s, $bb_restore MiB/s"
	docker volume rm "$vol-r1" >/dev/null
fi

echo "== restore: berth (verify, then write)"
t0=$(now)
/usr/bin/time -f %M -o "$work/rss" "$berth" volume restore "$work/berth.tar.gz" "$vol-r2" 2>/dev/null
t1=$(now)
berth_restore=$(rate "$t0" "$t1")
rss_restore=$(( $(cat "$work/rss") / 1024 ))
echo "   $(secs "$t0" "$t1") s, $berth_restore MiB/s, peak RSS $rss_restore MiB"

echo
echo "== summary ($mib MiB, $files files, $(nproc) cores)"
ratio() { awk "BEGIN{if ($2 > 0) printf \"%.1f\", $1/$2; else print \"-\"}"; }
printf '%-34s %10s %8s %10s\n' "" "MiB/s" "ratio" "peak RSS"
printf '%-34s %10s %8s %10s\n' "backup busybox tar czf" "$bb_backup" "1.0" "-"
printf '%-34s %10s %8s %10s\n' "backup berth tar.gz" "$berth_gz" "$(ratio "$berth_gz" "$bb_backup")" "$rss_gz MiB"
printf '%-34s %10s %8s %10s\n' "backup berth tar.zst" "$berth_zst" "$(ratio "$berth_zst" "$bb_backup")" "$rss_zst MiB"
printf '%-34s %10s %8s %10s\n' "backup berth tar.gz --level 6" "$berth_gz6" "$(ratio "$berth_gz6" "$bb_backup")" "$rss_gz6 MiB"
printf '%-34s %10s %8s %10s\n' "restore busybox tar xzf" "$bb_restore" "1.0" "-"
printf '%-34s %10s %8s %10s\n' "restore berth (verify + write)" "$berth_restore" "$(ratio "$berth_restore" "$bb_restore")" "$rss_restore MiB"
