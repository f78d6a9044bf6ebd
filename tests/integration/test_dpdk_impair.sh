#!/bin/bash
# test_dpdk_impair.sh - mail through sluice-dpdk over an impaired wire (loss, reordering, duplication, delay) arrives byte for byte.
#
# Topology (198.18.0.0/15 only, inside namespaces this test creates and removes):
# lib_dpdk.sh's, with a namespace in the middle of the wire:
#   netns sl-dcPID: veth sdcPID 198.18.0.2/24 (swaks) and 198.18.0.3/24 (capture_backend.py :2525)
#     <-> netns sl-dmPID: veth sdmcPID ... `impair` ... veth sdmgPID (no addresses: a wire)
#     <-> netns sl-dgPID: veth sdgPID, no kernel address: sluice `transport dpdk` on
#         net_af_packet, port 0 at 198.18.0.1/24.
# Both legs of every session (client -> sluice and sluice -> backend) cross the middle
# namespace, so our TCP stack meets the impairments on each, with Linux as its peer.
#
# The netem stand-in: this machine's kernel has no sch_netem (`tc qdisc add ... netem`
# fails), so tests/tools/impair.c is the impairment: a userspace bridge between the two
# middle veth ends (AF_PACKET) that drops, reorders, duplicates and delays frames from a
# seeded generator (bounded: at most 3 losses in a row). Where `tc ... netem` does work,
# the same messages are also sent once through a real netem on the client's veth.
#
# Cases: for each of loss 2%, reorder 5% (+10 ms), duplicate 2%, delay 20 ms each way,
# and all together (loss 1%, reorder 5%, duplicate 2%, delay 10 ms + 2 ms jitter: at 2%
# and 20 ms the 10 MB message alone takes over a minute here), messages of 1 KB, 1 MB and 10 MB sent with swaks must reach
# the backend byte for byte. Printed, not asserted: impair's counters, the Linux peers'
# TCP retransmissions (/proc/net/snmp of the client namespace) and sluice's, when
# `sluicectl --json stats` carries them. Time bounded (each swaks --timeout 120 s, 180 s in all).
# Exit 0 PASS, 1 FAIL, 77 SKIP.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_dpdk.sh"
need_sluice
need_cmd swaks ethtool

IMPAIR=${IMPAIR:-$(dirname "$SLUICE")/../tests/tools/impair}
if [ ! -x "$IMPAIR" ]; then
	echo "SKIP $TEST_NAME: ${IMPAIR#"$ROOT"/} is not built"
	exit 77
fi
dpdk_need_root

NS_M=sl-dm$$
IF_MC=sdmc$$
IF_MG=sdmg$$
BK_PORT=2525
SIZES=${SIZES:-"1024 1048576 10485760"}
IM_PID=
DPDK_SWAKS_TIMEOUT=120   # 10 MB over a lossy, slow wire

# impair and sluice, then the middle namespace; lib_dpdk.sh's exit does the rest
dpdk_teardown() {
	[ -n "$IM_PID" ] && _kill_pid "$IM_PID"
	[ -n "$SL_PID" ] && _kill_pid "$SL_PID"
	SL_PID=
	ip netns del "$NS_M" 2>/dev/null
	return 0
}

in_c() { ip netns exec "$NS_C" "$@"; }

if ! dpdk_ns_add "$NS_C" "$NS_M" "$NS_G" ||
	! ip link add "$IF_C" netns "$NS_C" type veth peer name "$IF_MC" netns "$NS_M" ||
	! ip link add "$IF_MG" netns "$NS_M" type veth peer name "$IF_G" netns "$NS_G" ||
	! dpdk_ns_client_addrs; then
	bad setup "namespaces or veth pairs"
	finish
fi
# checksums filled and segments cut by the sender: the wire carries real frames, no
# receiver coalesces them (impair forwards what it reads, up to the MTU)
in_c ethtool -K "$IF_C" tx off tso off gso off gro off >/dev/null 2>&1
for i in "$IF_MC" "$IF_MG"; do
	ip netns exec "$NS_M" ethtool -K "$i" tx off tso off gso off gro off >/dev/null 2>&1 || true
done
ip netns exec "$NS_G" ethtool -K "$IF_G" gro off >/dev/null 2>&1 || true
for l in "$NS_C:$IF_C" "$NS_M:$IF_MC" "$NS_M:$IF_MG" "$NS_G:$IF_G"; do
	ip -n "${l%%:*}" link set "${l#*:}" up
done

# impair_start CASE [impair options...]: a fresh wire with these impairments
impair_start() {
	local c=$1
	shift
	[ -n "$IM_PID" ] && impair_stop
	ip netns exec "$NS_M" "$IMPAIR" -a "$IF_MC" -b "$IF_MG" "$@" >"$T/impair.$c.log" 2>&1 &
	IM_PID=$!
	track_pid "$IM_PID"
	wait_for 5 grep -q '^impair:' "$T/impair.$c.log"
}
impair_stop() {
	[ -n "$IM_PID" ] || return 0
	kill -TERM "$IM_PID" 2>/dev/null
	wait_exit "$IM_PID" 10 || _kill_pid "$IM_PID"
	IM_PID=
}

impair_start setup --seed 1
dpdk_cap_up "$BK_PORT"

{
	dpdk_conf im
	cat <<EOF
max_sessions  10
message_size_limit 20480000
relay_domains example.net
shutdown_grace 5s
backend_connect_timeout 5s
backend_reply_timeout 30s
backend_data_timeout 60s
backend       cap $BK:$BK_PORT xclient off
EOF
} >"$T/sluice.conf"
dpdk_check_conf "$T/sluice.conf"
dpdk_sluice "$T/sluice.conf" "$T/sluice.log"
if ! dpdk_wait_greet "$SL_PID" 4; then
	bad start "sluice (transport dpdk) did not greet on $GW:25 through impair" "$T/sluice.log" "$T/impair.setup.log"
	finish
fi
ok start

# sluice_retrans: sluice's TCP retransmissions from sluicectl, "" when it has none to give
sluice_retrans() {
	dpdk_stats "$T/retrans.json" && dpdk_jsum "$T/retrans.json" tcp_retransmits
}
# the Linux peers' (swaks and the backend) TCP retransmissions: their namespace's counter
linux_retrans() {
	in_c awk '/^Tcp:/ { if (!h) { for (i = 1; i <= NF; i++) if ($i == "RetransSegs") c = i; h = 1 } else print $c }' /proc/net/snmp
}

for s in $SIZES; do make_body "$T/b$s" "$s"; done

# impaired CASE COUNTER: the sum of impair's COUNTER over both directions
impaired() {
	awk -v k="$2" '/^impair [ab]->[ab]:/ { for (i = 1; i < NF; i++) if ($i == k) s += $(i + 1) } END { print s + 0 }' \
		"$T/impair.$1.log"
}
# min_rtt_ms: the smallest of a few ping round trips, client namespace to sluice (our ICMP echo)
min_rtt_ms() {
	in_c ping -n -q -c 5 -i 0.2 -W 2 "$GW" >"$T/ping.out" 2>&1
	sed -n 's|^rtt [^=]*= *\([0-9]*\)[.0-9]*/.*|\1|p' "$T/ping.out"
}

# run_case CASE WANT [impair options...]: the messages through this wire, then the
# counters; WANT is what must show the wire really was impaired (impair's counter, or
# "delay MS": the ping round trip through the wire at least MS)
run_case() {
	local c=$1 want=$2 s lr0 lr1 sr0 sr1 sr rtt=
	shift 2
	impair_start "$c" "$@" || { bad "$c" "impair did not start" "$T/impair.$c.log"; return; }
	lr0=$(linux_retrans)
	sr0=$(sluice_retrans)
	case $want in *delay*) rtt=$(min_rtt_ms) ;; esac
	for s in $SIZES; do dpdk_deliver "$c/$s" "$s"; done
	lr1=$(linux_retrans)
	sr1=$(sluice_retrans)
	impair_stop
	sr="not in sluicectl stats"
	[ -n "$sr0" ] && [ -n "$sr1" ] && sr=$((sr1 - sr0))
	log "$c: Linux peers retransmitted $((lr1 - lr0)) segments; sluice: $sr"
	grep '^impair ' "$T/impair.$c.log" | sed "s/^/  [$TEST_NAME] $c: /" >&2
	for w in $want; do
		case $w in
		delay) ;;
		[0-9]*)
			log "$c: ping round trip through the wire ${rtt:-?} ms (want >= $w)"
			if [ "${rtt:-0}" -ge "$w" ]; then ok "$c/impaired-rtt"
			else bad "$c/impaired-rtt" "ping through the wire took ${rtt:-no} ms, want >= $w ms"; fi ;;
		*)
			if [ "$(impaired "$c" "$w")" -gt 0 ]; then ok "$c/impaired-$w"
			else bad "$c/impaired-$w" "impair counted no '$w' frames" "$T/impair.$c.log"; fi ;;
		esac
	done
}

run_case loss    lost       --seed 11 --loss 2
run_case reorder reordered  --seed 12 --reorder 5 --reorder-ms 10
run_case dup     duplicated --seed 13 --dup 2
run_case delay   "delay 40" --seed 14 --delay 20
run_case all     "lost reordered duplicated delay 20" \
	--seed 15 --loss 1 --reorder 5 --reorder-ms 10 --dup 2 --delay 10 --jitter 2

# A real netem too, where the kernel has one (on the client's veth, the same mix)
impair_start netem-wire --seed 16
if in_c tc qdisc add dev "$IF_C" root netem loss 1% delay 10ms reorder 5% duplicate 2% 2>"$T/tc.err"; then
	for s in $SIZES; do dpdk_deliver "netem/$s" "$s"; done
	in_c tc qdisc del dev "$IF_C" root 2>/dev/null
else
	log "no sch_netem in this kernel ($(head -c 200 "$T/tc.err")): impair was the netem stand-in"
fi
impair_stop

if kill -0 "$SL_PID" 2>/dev/null; then ok sluice-alive; else bad sluice-alive "sluice died" "$T/sluice.log"; fi
finish
