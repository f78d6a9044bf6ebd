#!/bin/bash
# test_dpdk_link.sh - a DPDK port's link going down and up while sluice runs: both are logged, the return is announced with a gratuitous ARP, and mail flows again.
#
# Topology (198.18.0.0/24 only, inside a namespace this test creates and removes):
#   netns sl-dgPID: sluice `transport dpdk` on net_tap (a tap interface sltPID that
#   the PMD makes in this namespace; its link is the interface's up/down state),
#   port net_tap0 at 198.18.0.1/24; the kernel side of the tap is 198.18.0.2/24 and
#   is the client. (af_packet and af_xdp report their link as always up.)
# Cases: start (greets); link-down-logged after `ip link set sltPID down`;
# link-up-logged and link-up-garp (an ARP announcement of 198.18.0.1 seen by
# tcpdump on the tap) after `up`; greet-after (a 220 again).
# Exit 0 PASS, 1 FAIL, 77 SKIP.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_dpdk.sh"
need_sluice
need_cmd tcpdump
dpdk_need_root
[ -c /dev/net/tun ] || { echo "SKIP $TEST_NAME: no /dev/net/tun for net_tap"; exit 77; }

TAP=slt$$
TD_PID=

dpdk_teardown() {
	[ -n "$TD_PID" ] && _kill_pid "$TD_PID"
	return 0
}

# greets: a 220 from sluice, the kernel side of the tap as the client
greets() {
	ip netns exec "$NS_G" timeout 4 "$PY" - "$GW" <<'PY' >/dev/null 2>&1
import socket, sys
s = socket.create_connection((sys.argv[1], 25), timeout=3)
sys.exit(0 if s.recv(512).startswith(b"220") else 1)
PY
}

dpdk_ns_add "$NS_G" || { bad setup "namespace"; finish; }
{
	dpdk_conf link | sed -e "s|--vdev=net_af_packet0,iface=$IF_G,qdisc_bypass=1|--vdev=net_tap0,iface=$TAP|" \
		-e "s|^\tport  0 |\tport  net_tap0 |"
	cat <<EOF
relay_domains example.net
backend       b 198.18.0.3:2525 xclient off
EOF
} >"$T/link.conf"
dpdk_check_conf "$T/link.conf"
dpdk_sluice "$T/link.conf" "$T/link.log"
if ! wait_for 20 ip -n "$NS_G" link show "$TAP" >/dev/null 2>&1; then
	bad start "the tap interface $TAP did not appear" "$T/link.log"
	finish
fi
ip -n "$NS_G" addr add 198.18.0.2/24 dev "$TAP"
ip -n "$NS_G" link set "$TAP" up
if wait_for 20 greets; then
	ok start
else
	bad start "no 220 from $GW through the tap" "$T/link.log"
	finish
fi

ip netns exec "$NS_G" tcpdump -lni "$TAP" -c 20 arp >"$T/arp.txt" 2>"$T/tcpdump.err" &
TD_PID=$!
track_pid "$TD_PID"
wait_for 5 grep -q 'listening on' "$T/tcpdump.err"

ip -n "$NS_G" link set "$TAP" down
if wait_for 5 grep -q "dpdk: port [0-9]* (net_tap0): link down" "$T/link.log"; then
	ok link-down-logged
else
	bad link-down-logged "no 'link down' within 5 s" "$T/link.log"
fi
ip -n "$NS_G" link set "$TAP" up
if wait_for 5 grep -q "dpdk: port [0-9]* (net_tap0): link up" "$T/link.log"; then
	ok link-up-logged
else
	bad link-up-logged "no 'link up' within 5 s" "$T/link.log"
fi
if wait_for 5 grep -Eq 'Request who-has 198\.18\.0\.1 tell 198\.18\.0\.1|Announcement 198\.18\.0\.1' "$T/arp.txt"; then
	ok link-up-garp
else
	bad link-up-garp "no gratuitous ARP for 198.18.0.1 after the link came up" "$T/arp.txt"
fi
if wait_for 10 greets; then
	ok greet-after
else
	bad greet-after "no 220 after the link came back" "$T/link.log"
fi
dpdk_sigterm sigterm "$T/link.log"
finish
