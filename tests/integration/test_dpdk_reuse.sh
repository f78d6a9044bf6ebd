#!/bin/bash
# test_dpdk_reuse.sh - a restarted sluice-dpdk reuses its backend tuples: ISNs go on from the kept secret, and a tuple Linux still holds gets its SYN through at once.
#
# Topology (198.18.0.0/15 only, inside namespaces this test creates and removes):
# lib_dpdk.sh's: smtp-source, a Python client and the capture backend
# (aiosmtpd, on 198.18.0.3:2525) in the client namespace, sluice `transport dpdk` on
# net_af_packet at 198.18.0.1 in its own. tcpdump in the client namespace
# records every SYN of our backend legs.
#
# sluice's backend legs take source ports from `source_ports 40000-40007`:
# eight, so eight sessions one after another use each port once, and eight
# more after a restart reuse every tuple.
#
# Cases:
#  - first: eight sessions with `tcp_secret FILE`; the file is made (mode 600).
#  - kept: restarted with the same file, eight more: for every port, the new
#    SYN's ISN is a little above the old one (RFC 6528's clock moved on, the
#    keyed part is the same), so a backend still holding the old connection in
#    TIME-WAIT takes the new SYN (RFC 6191). With a new key each ISN would be
#    anywhere: 8 small positive steps by chance are a 1 in 2^64 event.
#  - crash: eight sessions held open mid-transaction (backend legs open), sluice
#    killed with SIGKILL, started again with `tcp_secret none`. Linux still has
#    all eight backend connections, so each new SYN on those tuples draws its
#    challenge ACK (RFC 5961 4). Our stack answers with an RST, which ends the
#    stale connection, and sends the SYN again at once: eight sessions in well
#    under the second one RTO would take each, every message at the backend, one
#    SYN-SENT drop and one retransmit per stale ACK, no RTO.
# Each client run is bounded (60 s), the whole test by lib.sh's timeouts.
# Exit 0 PASS, 1 FAIL, 77 SKIP.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_dpdk.sh"
need_sluice
need_cmd smtp-source ethtool tcpdump
dpdk_need_root

SINK_PORT=2525
PORTS_LO=40000
PORTS_HI=40007
NSESS=$((PORTS_HI - PORTS_LO + 1))
DUMP_PID=
HOLD_PID=

dpdk_teardown() {
	[ -n "$HOLD_PID" ] && _kill_pid "$HOLD_PID"
	[ -n "$DUMP_PID" ] && _kill_pid "$DUMP_PID"
	return 0
}

dpdk_ns_up
dpdk_cap_up "$SINK_PORT"
# our SYNs to the backend, all of them, for the ISNs
ip netns exec "$NS_C" timeout 300 tcpdump -i "$IF_C" -nn -U --immediate-mode -w "$T/syn.pcap" \
	"src host $GW and dst port $SINK_PORT and tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn" >"$T/tcpdump.log" 2>&1 &
DUMP_PID=$!
track_pid "$DUMP_PID"
wait_for 10 grep -q 'listening on' "$T/tcpdump.log" || log "tcpdump did not say it listens"

# conf SECRET - the config, with `tcp_secret SECRET` and the eight source ports in the dpdk block
conf() {
	dpdk_conf reuse | sed "s|^\ttcp_secret .*\$|\ttcp_secret $1\n\tsource_ports $PORTS_LO-$PORTS_HI|"
	cat <<EOF
relay_domains example.net
health_check  interval 0s
backend_connect_timeout 5s
backend       cap $BK:$SINK_PORT xclient off
EOF
}

start() { # SECRET
	conf "$1" >"$T/sluice.conf"
	dpdk_check_conf "$T/sluice.conf"
	dpdk_sluice "$T/sluice.conf" "$T/sluice.log"
	if ! dpdk_wait_greet; then
		bad start "sluice-dpdk did not greet" "$T/sluice.log"
		finish
	fi
}

stop() { # [KILL]
	if [ "${1:-}" = KILL ]; then
		kill -KILL "$SL_PID" 2>/dev/null
		wait "$SL_PID" 2>/dev/null
	else
		_kill_pid "$SL_PID"
	fi
	SL_PID=
}

backend_msgs() { capture_count cap; }
backend_has_n() { [ "$(backend_msgs)" -ge "$1" ]; }

# run CASE - eight one-message sessions, one at a time; sets SECS (wall clock). 0 when all reached the backend.
run() {
	local c=$1 before t0 rc
	before=$(backend_msgs)
	t0=$(date +%s%N)
	ip netns exec "$NS_C" timeout 60 smtp-source -s 1 -m "$NSESS" -l 512 -f a@b.example -t user@example.net \
		-M client.test.example "$GW:25" >"$T/source.$c" 2>&1
	rc=$?
	SECS=$(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')
	if [ $rc -ne 0 ]; then
		bad "$c" "smtp-source exit $rc after $SECS s" "$T/source.$c" "$T/sluice.log"
		return 1
	fi
	if ! wait_for 10 backend_has_n $((before + NSESS)); then
		bad "$c" "the backend has $(($(backend_msgs) - before)) of $NSESS messages" "$T/sluice.log"
		return 1
	fi
	return 0
}

# figures CASE - SYN-SENT drops, retransmits and RTO expiries of the running sluice: sets DROPS RTX RTO
figures() {
	dpdk_stats "$T/stats.$1"
	DROPS=$(dpdk_jsum "$T/stats.$1" syn_sent)
	RTX=$(dpdk_jsum "$T/stats.$1" tcp_retransmits)
	RTO=$(dpdk_jsum "$T/stats.$1" tcp_rto_fired)
	log "$1: $NSESS sessions in $SECS s; SYN-SENT drops ${DROPS:-?}, retransmits ${RTX:-?}, RTO expiries ${RTO:-?}"
}

# syns - "PORT ISN" of every SYN captured so far, in order
syns() {
	tcpdump -nn -r "$T/syn.pcap" 2>/dev/null |
		awk '{ for (i = 1; i <= NF; i++) { if ($i == ">") { n = split($(i - 1), a, "."); port = a[n] }
			if ($i == "seq") { s = $(i + 1); sub(/,$/, "", s); print port, s } } }'
}

# ---- first: eight sessions, the secret made
rm -f "$T/tcp.secret"
start "$T/tcp.secret"
if run first; then
	figures first
	if [ ! -s "$T/tcp.secret" ] || ! grep -q "TCP secret made and kept in $T/tcp.secret" "$T/sluice.log"; then
		bad first "no secret kept in $T/tcp.secret" "$T/sluice.log"
	elif [ "$(stat -c %a "$T/tcp.secret")" != 600 ]; then
		bad first "$T/tcp.secret has mode $(stat -c %a "$T/tcp.secret"), want 600"
	else
		ok first
	fi
fi
cp "$T/tcp.secret" "$T/tcp.secret.first" 2>/dev/null
stop
sleep 0.5   # tcpdump writes what it has (-U: per packet)
syns >"$T/syns.first"

# ---- kept: same secret; each port's new ISN a small step above its old one
start "$T/tcp.secret"
if run kept; then
	figures kept
	sleep 0.5
	syns | tail -n +$(($(wc -l <"$T/syns.first") + 1)) >"$T/syns.kept"
	# per port: (new - old) mod 2^32, the last SYN of each run
	steps=$(awk 'NR == FNR { old[$1] = $2; next } { if ($1 in old) { d = ($2 - old[$1]) % 4294967296;
		if (d < 0) d += 4294967296; printf "%s %.0f\n", $1, d } }' "$T/syns.first" "$T/syns.kept" | sort -u)
	nports=$(awk 'END { print NR }' <<<"$steps")
	nsmall=$(awk '$2 > 0 && $2 < 16777216' <<<"$steps" | wc -l)
	log "kept: ISN steps per port (mod 2^32): $(tr '\n' ' ' <<<"$steps")"
	if ! grep -q "TCP secret from $T/tcp.secret (kept until reboot)" "$T/sluice.log"; then
		bad kept "sluice did not say it read the kept secret" "$T/sluice.log"
	elif ! cmp -s "$T/tcp.secret" "$T/tcp.secret.first"; then
		bad kept "the secret file changed across the restart"
	elif [ "$nports" -ne "$NSESS" ]; then
		bad kept "SYNs of $nports ports seen in both runs, want $NSESS" "$T/syns.first" "$T/syns.kept"
	elif [ "$nsmall" -ne "$NSESS" ]; then
		bad kept "only $nsmall of $NSESS ports' ISNs went on from the old ones" "$T/syns.first" "$T/syns.kept"
	else
		ok kept
	fi
fi

# ---- crash: eight backend legs left open in Linux, sluice killed, a new one reuses the tuples
# (the hold sessions' backend legs take over our own TIME-WAITs of the run before: tcp_connect)
ip netns exec "$NS_C" timeout 120 "$PY" - "$GW" "$NSESS" >"$T/hold.log" 2>&1 <<'PY' &
import socket, sys, time
# Open sessions through MAIL and RCPT (the backend leg is open then) and hold them.
held = []
for i in range(int(sys.argv[2])):
    s = socket.create_connection((sys.argv[1], 25), timeout=10)
    f = s.makefile("rb")
    def reply():
        while True:
            line = f.readline()
            if not line or line[3:4] != b"-":
                return line
    reply()
    for cmd in (b"EHLO hold.test.example", b"MAIL FROM:<a@b.example>", b"RCPT TO:<user@example.net>"):
        s.sendall(cmd + b"\r\n")
        r = reply()
        if not r.startswith(b"250"):
            print("no 250 to", cmd, r, flush=True)
            sys.exit(1)
    held.append((s, f))
print("held", len(held), flush=True)
time.sleep(110)
PY
HOLD_PID=$!
track_pid "$HOLD_PID"
estab() { ip netns exec "$NS_C" ss -Htan state established "( sport = :$SINK_PORT )" | awk -v lo="$PORTS_LO" -v hi="$PORTS_HI" \
	'{ n = split($NF, a, ":"); p = a[n] + 0; if (p >= lo && p <= hi) c++ } END { print c + 0 }'; }
if ! wait_for 20 grep -q "^held $NSESS" "$T/hold.log"; then
	bad crash "could not hold $NSESS sessions open" "$T/hold.log" "$T/sluice.log"
else
	stop KILL
	held=$(estab)
	_kill_pid "$HOLD_PID"
	HOLD_PID=
	start none
	if [ "$held" -ne "$NSESS" ]; then
		bad crash "Linux holds $held backend connections of our ports after the kill, want $NSESS"
	elif run crash; then
		figures crash
		if [ -z "$DROPS" ] || [ -z "$RTX" ] || [ -z "$RTO" ]; then
			bad crash "no counters in sluicectl stats" "$T/stats.crash"
		elif [ "$DROPS" -lt 1 ]; then
			bad crash "no stale ACK met: the tuples were not reused?" "$T/stats.crash"
		elif [ "$RTO" != 0 ]; then
			bad crash "$RTO RTO expiries: a SYN waited for its timer" "$T/stats.crash"
		elif [ "$RTX" != "$DROPS" ]; then
			bad crash "$DROPS stale ACKs but $RTX SYNs sent again" "$T/stats.crash"
		elif ! awk -v s="$SECS" 'BEGIN { exit !(s < 0.9) }'; then
			bad crash "$NSESS sessions took $SECS s" "$T/stats.crash"
		else
			ok crash
		fi
	fi
fi
stop
finish
