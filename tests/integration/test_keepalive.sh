#!/bin/bash
# test_keepalive.sh - tcp_keepalive on both legs, under both transports: the kernel's probes are armed on sluice's sockets, our stack's probes keep a quiet session that Linux answers and reset one whose peer is gone.
#
# Kernel transport, on 127.0.0.1: a session held open after MAIL (so its
# backend leg is up); `ss -o` must show a keepalive timer on sluice's
# accepted socket and on its backend leg with `tcp_keepalive`, and none
# without it.
# DPDK transport, in lib_dpdk.sh's namespaces (198.18.0.0/24): with
# `tcp_keepalive idle 1s interval 1s probes 2`, a session idle for 4 s
# (Linux answers every probe) still takes QUIT and its probes are counted; a
# session whose client veth goes down is reset by our stack within idle +
# probes * interval and a margin.
# Exit 0 PASS, 1 FAIL, 77 SKIP.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_dpdk.sh"
need_sluice
need_cmd ss

# ---- kernel transport
SL_PORT=$(free_port); CAP=$(free_port)
start_capture cap "$CAP" || { bad start "capture backend did not start" "$T/cap.log"; finish; }

# timers CASE FILTER - the ss -o lines of established sockets matching FILTER
timers() { ss -Htno state established "$1" 2>/dev/null; }

# kernel_case NAME KEEPALIVE_LINE WANT(yes|no)
kernel_case() {
	local name=$1 line=$2 want=$3 held
	{ sluice_common; echo "$line"; echo "backend cap 127.0.0.1:$CAP xclient off"; } >"$T/$name.conf"
	: >"$T/sluice.log"
	sluice_up "$T/$name.conf"
	rm -f "$T/$name.ready" "$T/$name.go"
	sc "$T/$name.sc" --port "$SL_PORT" --timeout 30 '>EHLO ka.test\r\n' '<250' '>MAIL FROM:<a@b.example>\r\n' '<250' \
		"+$T/$name.ready" "@$T/$name.go" '>QUIT\r\n' '<221' &
	held=$!
	track_pid "$held"
	if ! wait_for 10 test -e "$T/$name.ready"; then
		bad "$name" "the session did not get to MAIL" "$T/$name.sc" "$T/sluice.log"
	else
		local client backend
		client=$(timers "( sport = :$SL_PORT )")
		backend=$(timers "( dport = :$CAP )")
		log "$name: client leg: ${client:-none}; backend leg: ${backend:-none}"
		if [ -z "$client" ] || [ -z "$backend" ]; then
			bad "$name" "no established client or backend leg to look at"
		elif [ "$want" = yes ] && grep -q 'timer:(keepalive' <<<"$client" && grep -q 'timer:(keepalive' <<<"$backend"; then
			ok "$name"
		elif [ "$want" = no ] && ! grep -q 'timer:(keepalive' <<<"$client$backend"; then
			ok "$name"
		else
			bad "$name" "keepalive timers (want $want): client '$client', backend '$backend'"
		fi
	fi
	touch "$T/$name.go"
	wait "$held" 2>/dev/null
	kill -TERM "$SL_PID"
	wait_exit "$SL_PID" 20 || _kill_pid "$SL_PID"
	SL_PID=
}
kernel_case kernel-off "tcp_keepalive off" no
kernel_case kernel-on "tcp_keepalive idle 7s interval 3s probes 4" yes
stop_proc cap

# ---- DPDK transport
if [ "$(id -u)" != 0 ]; then
	bad dpdk "needs root (namespaces, af_packet)"
	finish
fi
need_cmd swaks ethtool
BK_PORT=2525
dpdk_ns_up
dpdk_cap_up "$BK_PORT"
{
	dpdk_conf ka
	cat <<EOF
tcp_keepalive idle 1s interval 1s probes 2
relay_domains example.net
EOF
	dpdk_conf_cap "$BK_PORT"
} >"$T/ka.conf"
dpdk_check_conf "$T/ka.conf"
dpdk_sluice "$T/ka.conf" "$T/ka.log"
if ! dpdk_wait_greet; then
	bad dpdk-start "sluice (transport dpdk) did not greet on $GW:25" "$T/ka.log"
	finish
fi
ok dpdk-start

# established: the TCBs our stack holds in ESTABLISHED, summed over workers
established() {
	dpdk_stats "$T/est.json"
	"$PY" -c 'import json,sys; print(json.load(sys.stdin)["totals"]["dataplane"]["tcp_connections"]["established"])' \
		<"$T/est.json" 2>/dev/null
}
est_is() { [ "$(established)" = "$1" ]; }
probes() { dpdk_stats "$T/probes.json" && dpdk_jsum "$T/probes.json" tcp_keepalive_probes; }

# A quiet session Linux answers for: probes go out, the session lives on.
p0=$(probes)
ip netns exec "$NS_C" timeout 30 "$PY" "$IT_DIR/smtpclient.py" --host "$GW" --port 25 --timeout 20 \
	'>EHLO ka.test\r\n' '<250' '~4' '>QUIT\r\n' '<221' >"$T/quiet.sc" 2>&1
rc=$?
p1=$(probes)
log "keepalive probes before and after the quiet session: ${p0:-?} ${p1:-?}"
if [ $rc -eq 0 ] && [ -n "$p1" ] && [ "$p1" -ge $((${p0:-0} + 2)) ]; then
	ok dpdk-quiet-session-lives
else
	bad dpdk-quiet-session-lives "status $rc, probes ${p0:-?} -> ${p1:-?} (want 2 more)" "$T/quiet.sc"
fi

# A session whose client goes away without a word: reset by our probes.
ip netns exec "$NS_C" timeout 60 "$PY" "$IT_DIR/smtpclient.py" --host "$GW" --port 25 --timeout 50 \
	'>EHLO gone.test\r\n' '<250' "+$T/gone.ready" '~40' >"$T/gone.sc" 2>&1 &
GONE=$!
track_pid "$GONE"
if ! wait_for 10 test -e "$T/gone.ready" || ! wait_for 5 est_is 1; then
	bad dpdk-dead-peer-reset "the session did not open (established: $(established))" "$T/gone.sc"
else
	ip -n "$NS_C" link set "$IF_C" down
	t0=$(date +%s)
	# idle 1 s + 2 probes 1 s apart, and the ~0.5 s the stats poll takes
	if wait_for 8 est_is 0; then
		log "dead peer reset after $(($(date +%s) - t0)) s"
		ok dpdk-dead-peer-reset
	else
		bad dpdk-dead-peer-reset "still established after 8 s with the peer gone" "$T/est.json" "$T/ka.log"
	fi
	ip -n "$NS_C" link set "$IF_C" up
fi
_kill_pid "$GONE"
dpdk_sigterm dpdk-sigterm "$T/ka.log"
finish
