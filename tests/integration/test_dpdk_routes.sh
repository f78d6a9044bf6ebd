#!/bin/bash
# test_dpdk_routes.sh - sluice-dpdk with a front and a back port: backend legs leave by the port of the longest route, `route PREFIX via GW` reaches backends behind a router.
#
# Topology (198.18.0.0/15 only, inside namespaces this test creates and removes):
#   netns sl-dcPID: veth sdcPID 198.18.0.2/24 (swaks) and 198.18.0.254/24 (the front
#       gateway: a host that forwards nothing)
#     <-> netns sl-dgPID: veth sdgPID, DPDK port net_af_packet0 198.18.0.1/24, default
#         gateway 198.18.0.254; veth sdbgPID, DPDK port net_af_packet1 198.19.0.1/24
#     <-> netns sl-dbPID: veth sdbPID 198.19.0.3/24 (a backend on the back subnet) and
#         198.19.0.254/24 (the back router); 198.19.5.10/32 on lo (a backend behind it)
# capture_backend.py listens on 0.0.0.0 in the backend namespace and records the
# peer address of each message: a backend leg must come from 198.19.0.1.
#
# Cases:
#   onlink-*: backend 198.19.0.3, on port 1's subnet, while port 0 has a default
#     route: the leg leaves by port 1 (the longest match), 1 KB and 1 MB intact.
#   no-route-4xx: backend 198.19.5.10 and no `route`: its SYNs follow port 0's default
#     route into the front namespace, which drops them: the client gets a 4xx.
#   routed-*: the same with `route 198.19.5.0/24 via 198.19.0.254`: the log names the
#     port it went on, 1 KB and 1 MB arrive intact, from 198.19.0.1.
#   bad-route-*: a route whose gateway is on no port's subnet, or on one of ours:
#     sluice refuses to start and says why.
# Exit 0 PASS, 1 FAIL, 77 SKIP.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_dpdk.sh"
need_sluice
need_cmd swaks ethtool
dpdk_need_root

NS_B=sl-db$$
IF_B=sdb$$
IF_G2=sdbg$$
BK_PORT=2525
ONLINK=198.19.0.3
ROUTED=198.19.5.10
DPDK_CAP_NS=$NS_B

# sluice and the capture backend hold the back namespace: end them, then it
dpdk_teardown() {
	[ -n "$SL_PID" ] && _kill_pid "$SL_PID"
	SL_PID=
	[ -n "$CAP_PID" ] && _kill_pid "$CAP_PID"
	CAP_PID=
	ip netns del "$NS_B" 2>/dev/null
	return 0
}

dpdk_ns_up 198.18.0.254
if ! dpdk_ns_add "$NS_B" ||
	! ip link add "$IF_B" netns "$NS_B" type veth peer name "$IF_G2" netns "$NS_G" ||
	! ip -n "$NS_B" addr add 198.19.0.3/24 dev "$IF_B" ||
	! ip -n "$NS_B" addr add 198.19.0.254/24 dev "$IF_B" ||
	! ip -n "$NS_B" addr add "$ROUTED/32" dev lo; then
	bad setup "back namespace or veth pair"
	finish
fi
ip netns exec "$NS_B" ethtool -K "$IF_B" tx off tso off gso off >/dev/null 2>&1
ip netns exec "$NS_G" ethtool -K "$IF_G2" gro off >/dev/null 2>&1
ip -n "$NS_B" link set "$IF_B" up && ip -n "$NS_G" link set "$IF_G2" up
# the front namespace must not forward what reaches its gateway address
ip netns exec "$NS_C" sysctl -qw net.ipv4.ip_forward=0

if ! dpdk_capture_backend "$T/cap" "$BK_PORT" 0.0.0.0; then
	bad start "capture backend did not listen on 0.0.0.0:$BK_PORT in the back namespace" "$T/cap.log"
	finish
fi

# conf NAME BACKEND [ROUTE LINES] - two ports, the front one with a default gateway
conf() {
	{
		dpdk_conf "$1" | sed -e "s|qdisc_bypass=1\"|qdisc_bypass=1 --vdev=net_af_packet1,iface=$IF_G2,qdisc_bypass=1\"|" \
			-e "s|^\tport  0 address $GW/24\$|\tport  net_af_packet0 address $GW/24 gateway 198.18.0.254\n\tport  net_af_packet1 address 198.19.0.1/24${3:+\n$3}|"
		cat <<EOF
max_sessions  10
message_size_limit 20000000
relay_domains example.net
shutdown_grace 5s
backend_connect_timeout 2s
backend_retries 0
backend_reply_timeout 10s
backend_data_timeout 20s
backend       cap $2:$BK_PORT xclient off
EOF
	} >"$T/$1.conf"
}

# run NAME - sluice on $T/NAME.conf, greeting; or the case NAME-start fails
run() {
	dpdk_check_conf "$T/$1.conf"
	dpdk_sluice "$T/$1.conf" "$T/$1.log"
	if dpdk_wait_greet; then
		ok "$1-start"
		return 0
	fi
	bad "$1-start" "sluice did not greet on $GW:25" "$T/$1.log"
	return 1
}

stop() {
	kill -TERM "$SL_PID" 2>/dev/null
	wait_exit "$SL_PID" 20 || _kill_pid "$SL_PID"
	SL_PID=
}

# from_back CASE - the backend's last message came from port 1's address
from_back() {
	if grep -q '^peer 198\.19\.0\.1:' "$T/cap/msg-$CAP_N.env" 2>/dev/null; then
		ok "$1"
	else
		bad "$1" "the backend leg did not come from 198.19.0.1" "$T/cap/msg-$CAP_N.env"
	fi
}

# ---- a backend on the back port's subnet, a default route on the front port
conf onlink "$ONLINK"
if run onlink; then
	dpdk_deliver onlink-1k 1024 && from_back onlink-from-back
	dpdk_deliver onlink-1m 1048576
	stop
fi

# ---- a backend behind the back router, no route to it: nothing may reach it
conf noroute "$ROUTED"
if run noroute; then
	n0=$(capture_count cap)
	[ -f "$T/b1024.send" ] || make_body "$T/b1024" 1024
	if dpdk_swaks "$T/sw.noroute" --data @"$T/b1024.send"; then
		bad no-route-4xx "swaks was answered 250 with no route to the backend" "$T/sw.noroute"
	elif first_error "$T/sw.noroute" | grep -q '^4' && [ "$(capture_count cap)" -eq "$n0" ]; then
		ok no-route-4xx
	else
		bad no-route-4xx "expected a 4xx and nothing at the backend, got: $(first_error "$T/sw.noroute")" "$T/sw.noroute"
	fi
	stop
fi

# ---- the same backend with its route
conf routed "$ROUTED" "\troute 198.19.5.0/24 via 198.19.0.254"
if run routed; then
	if grep -q 'dpdk: route 198.19.5.0/24 via 198.19.0.254 on port 1 (net_af_packet1)' "$T/routed.log"; then
		ok routed-logged
	else
		bad routed-logged "no log line for the route on port 1" "$T/routed.log"
	fi
	dpdk_deliver routed-1k 1024 && from_back routed-from-back
	dpdk_deliver routed-1m 1048576
	stop
fi

# ---- routes sluice must refuse at start
bad_route() {
	local c=$1 line=$2 want=$3
	conf "$c" "$ROUTED" "$line"
	dpdk_sluice "$T/$c.conf" "$T/$c.log"
	if wait_exit "$SL_PID" 30 && [ "$WAIT_RC" -ne 0 ] && grep -qF "$want" "$T/$c.log"; then
		ok "$c"
		SL_PID=
	else
		bad "$c" "sluice should exit non-zero saying '$want' (status $WAIT_RC)" "$T/$c.log"
		stop
	fi
}
bad_route bad-route-off-subnet "\troute 198.19.5.0/24 via 198.18.7.1" \
	"dpdk route 198.19.5.0/24 via 198.18.7.1: 198.18.7.1 is on no port's subnet"
bad_route bad-route-own-address "\troute 198.19.5.0/24 via 198.19.0.1" \
	"dpdk route 198.19.5.0/24 via 198.19.0.1: 198.19.0.1 is our own address"
finish
