#!/bin/bash
# test_dpdk_hugepages.sh - sluice `transport dpdk` on real 2 MB hugepages (every other dpdk test runs with --no-huge).
#
# The test reserves 2 MB pages (nr_hugepages raised by what it needs, put back
# after), mounts a private hugetlbfs, and starts sluice with EAL on it
# (--huge-dir, --huge-unlink: no page file outlives the process) on the
# af_packet veth end of lib_dpdk.sh's topology. It checks that the pages are
# really in use while sluice runs, that mail is relayed byte for byte, and
# that after SIGTERM every page is free again and no file is left in the mount.
# The EXIT trap (dpdk_teardown, then lib_dpdk.sh's) kills sluice and the backend,
# unmounts, restores the reservation and removes the namespaces, whatever
# happens. Exit 0 PASS, 1 FAIL, 77 SKIP.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_dpdk.sh"
need_sluice
need_cmd swaks ethtool
dpdk_need_root

HP=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
PAGES=192            # EAL -m 256 takes 128; the rest is slack for rounding
BK_PORT=2525
HP_OLD=
HUGE_DIR=

hp_free() { awk '/^HugePages_Free:/ { print $2 }' /proc/meminfo; }

# before lib_dpdk.sh's exit: sluice first, it holds the pages
dpdk_teardown() {
	[ -n "$SL_PID" ] && _kill_pid "$SL_PID"
	SL_PID=
	if [ -n "$HUGE_DIR" ] && mountpoint -q "$HUGE_DIR"; then
		rm -f "$HUGE_DIR"/* 2>/dev/null
		umount "$HUGE_DIR"
	fi
	[ -n "$HP_OLD" ] && echo "$HP_OLD" >"$HP" 2>/dev/null
	return 0
}

if [ ! -w "$HP" ]; then
	echo "SKIP $TEST_NAME: no 2 MB hugepage pool in this kernel ($HP)"
	exit 77
fi
HP_OLD=$(cat "$HP")
free0=$(hp_free)
echo $((HP_OLD + PAGES)) >"$HP"
if [ $(( $(hp_free) - free0 )) -lt 128 ]; then
	bad reserve "asked the kernel for $PAGES more 2 MB pages, got $(( $(hp_free) - free0 ))"
	finish
fi
ok reserve
HUGE_DIR=$T/huge
mkdir -p "$HUGE_DIR"
if ! mount -t hugetlbfs -o pagesize=2M nodev "$HUGE_DIR"; then
	bad mount "mount -t hugetlbfs on $HUGE_DIR failed"
	finish
fi

dpdk_ns_up
dpdk_cap_up "$BK_PORT"

DPDK_EAL_MEM="-m 256 --huge-dir=$HUGE_DIR --huge-unlink"
{
	dpdk_conf huge
	cat <<EOF
max_sessions  50
relay_domains example.net
shutdown_grace 5s
backend       cap $BK:$BK_PORT xclient off
EOF
} >"$T/sluice.conf"
free1=$(hp_free)
dpdk_sluice "$T/sluice.conf" "$T/sluice.log"
if ! dpdk_wait_greet; then
	bad start "sluice on hugepages did not greet on $GW:25" "$T/sluice.log"
	finish
fi
ok start
used=$((free1 - $(hp_free)))
if grep -q -- '--no-huge' "$T/sluice.log" || [ "$used" -lt 16 ]; then
	bad hugepages-used "sluice runs, but only $used hugepages are taken" "$T/sluice.log"
else
	log "sluice holds $used 2 MB pages"
	ok hugepages-used
fi

for size in 1024 1048576; do
	dpdk_deliver "deliver-$size" "$size"
done

dpdk_sigterm sigterm "$T/sluice.log"
left=$(find "$HUGE_DIR" -mindepth 1 | wc -l)
if [ -z "$SL_PID" ] && [ "$(hp_free)" -eq "$free1" ] && [ "$left" -eq 0 ]; then
	ok pages-returned
else
	bad pages-returned "after exit: $(hp_free) pages free (before start $free1), $left files in the mount"
fi
finish
