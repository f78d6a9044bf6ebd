#!/bin/bash
# test_dpdk_health.sh - under `transport dpdk` the workers check the backends on their own TCP stack: a killed backend is marked down within the interval, sessions go to the other, a restarted one comes back up.
#
# Topology (198.18.0.0/15 only, inside namespaces this test creates), lib_dpdk.sh's:
#   netns sl-dcPID: veth sdcPID 198.18.0.2/24 (swaks), 198.18.0.3/24 and 198.18.0.4/24
#        (capture_backend.py :2525 each: backends b1 and b2)
#        <->  netns sl-dgPID: veth sdgPID, no address: sluice's DPDK port 0 (net_af_packet), 198.18.0.1/24.
# The gateway namespace has no route anywhere: a check made with a kernel socket
# there could never pass, so every "up" below is a check through our stack.
# health_check interval 1s timeout 1s rise 1 fall 1: down or up within about 2 s.
# First one worker lcore, then two (af_packet qpairs=2, checks alternate between
# the workers: each one's source-port steering must bring the replies home).
# Last, two PROXY-protocol backends (198.18.0.5 v1, 198.18.0.6 v2) that greet only
# after a valid header: up means the check sent it, and each header is checked.
# Everything is removed in the EXIT trap, whatever happens. Exit 0 PASS, 1 FAIL, 77 SKIP.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_dpdk.sh"
need_sluice
need_cmd swaks ethtool
dpdk_need_root

BK1=$BK
BK2=198.18.0.4
PX1=198.18.0.5
PX2=198.18.0.6
BK_PORT=2525
declare -A CAP=()   # backend name -> PID of its capture_backend.py
declare -A RUNS=()  # backend name -> how many times it was started

if [ ! -x "$SLUICECTL" ]; then
	echo "SKIP $TEST_NAME: sluicectl is not built"
	exit 77
fi

dpdk_teardown() {
	local p
	[ -n "$SL_PID" ] && _kill_pid "$SL_PID"
	for p in "${CAP[@]}"; do _kill_pid "$p"; done
	return 0
}

dpdk_ns_up "$BK2" "$PX1" "$PX2"

# cap_start NAME ADDR - a capture backend in the client namespace; its files in
# $T/NAME-RUN (its output in $T/NAME-RUN.log), a new directory each start (a
# restarted one numbers from 1 again)
cap_start() {
	local name=$1 addr=$2
	RUNS[$name]=$((${RUNS[$name]:-0} + 1))
	dpdk_capture_backend "$T/$name-${RUNS[$name]}" "$BK_PORT" "$addr"
	local rc=$?
	CAP[$name]=$CAP_PID
	CAP_PID=
	[ $rc -eq 0 ] || log "capture backend $name did not listen on $addr:$BK_PORT"
	return $rc
}
cap_stop() { # NAME: kill -9, a crash; the kernel then refuses the checks' SYNs
	kill -KILL "${CAP[$1]}" 2>/dev/null
	wait "${CAP[$1]}" 2>/dev/null
	unset "CAP[$1]"
}
# msgs NAME - messages NAME received, over all its runs
msgs() { find "$T" -mindepth 2 -maxdepth 2 -path "$T/$1-*/msg-*.eml" -type f | wc -l; }
# health_conns NAME - connections to NAME that were health checks: nothing but QUIT
health_conns() {
	local f n=0
	for f in "$T/$1"-*/conn-*.raw; do
		[ -f "$f" ] && [ "$(tr -d '\r\n' <"$f")" = QUIT ] && n=$((n + 1))
	done
	echo "$n"
}

# backend_up SOCK NAME - prints true/false from `sluicectl backends list`
backend_up() {
	timeout 5 "$SLUICECTL" -s "$1" --json backends list 2>/dev/null | "$PY" -c '
import json, sys
for b in json.load(sys.stdin).get("backends", []):
    if b["name"] == sys.argv[1]:
        print("true" if b["up"] else "false")' "$2"
}
is_state() { [ "$(backend_up "$1" "$2")" = "$3" ]; }   # SOCK NAME true|false

cap_start b1 "$BK1" && cap_start b2 "$BK2" || { bad start "capture backends did not start" "$T/b1-1.log" "$T/b2-1.log"; finish; }

{
	dpdk_conf health
	cat <<EOF
max_sessions  20
relay_domains example.net
shutdown_grace 3s
health_check  interval 1s timeout 1s rise 1 fall 1
backend_connect_timeout 3s
backend_reply_timeout 10s
backend_data_timeout 20s
backend       b1 $BK1:$BK_PORT xclient off
backend       b2 $BK2:$BK_PORT xclient off
EOF
} >"$T/sluice.conf"
dpdk_check_conf "$T/sluice.conf"

# run_phase TAG CONF LOG SOCK - the whole story on one sluice
run_phase() {
	local tag=$1 conf=$2 slog=$3 sock=$4 t0 took i n1 n2 h1 h2
	dpdk_sluice "$conf" "$slog"
	if ! dpdk_wait_greet; then
		bad "$tag-start" "sluice did not greet on $GW:25" "$slog"
		_kill_pid "$SL_PID"
		SL_PID=
		return 1
	fi
	ok "$tag-start"

	# checks run on the workers: connections to both backends carrying only QUIT
	h1=$(health_conns b1) h2=$(health_conns b2)
	if wait_for 10 eval '[ $(health_conns b1) -ge $((h1 + 2)) ] && [ $(health_conns b2) -ge $((h2 + 2)) ]' &&
		is_state "$sock" b1 true && is_state "$sock" b2 true &&
		! grep -q 'not run with transport dpdk' "$slog"; then
		ok "$tag-checks-run"
	else
		bad "$tag-checks-run" "health-check connections b1 $(health_conns b1) (was $h1), b2 $(health_conns b2) (was $h2); up: b1 $(backend_up "$sock" b1) b2 $(backend_up "$sock" b2)" "$slog"
	fi
	# steady: passes every second, never a flap (with two workers the checks
	# alternate: a worker whose replies went astray would fail every other one)
	sleep 4
	if ! grep -q 'is down' "$slog" && is_state "$sock" b1 true && is_state "$sock" b2 true; then
		ok "$tag-steady-up"
	else
		bad "$tag-steady-up" "a backend went down while both answer" "$slog"
	fi

	# b1 crashes: down within interval + timeout (2 s; 5 s allowed for a busy machine)
	cap_stop b1
	t0=$(date +%s%N)
	if wait_for 8 is_state "$sock" b1 false; then
		took=$((($(date +%s%N) - t0) / 1000000))
		log "$tag: b1 down after $took ms"
		# refused, most likely; reset or closed when the kill caught a check in flight
		if [ "$took" -le 5000 ] && grep -Eq "backend b1 $BK1:$BK_PORT is down: 1 health check failed \(last: (connect refused|reset by the backend|closed before the greeting)\)" "$slog"; then
			ok "$tag-down"
		else
			bad "$tag-down" "down after $took ms; log: $(grep -m1 'b1.*is down' "$slog")" "$slog"
		fi
	else
		bad "$tag-down" "b1 still up 8 s after it was killed" "$slog"
	fi
	# every session now goes to b2, and each is delivered
	n2=$(msgs b2)
	for i in $(seq 6); do dpdk_swaks "$T/sw.$tag.down$i"; done
	if wait_for 10 eval '[ $(msgs b2) -ge $((n2 + 6)) ]' && [ "$(msgs b2)" -eq $((n2 + 6)) ]; then
		ok "$tag-sessions-to-b2"
	else
		bad "$tag-sessions-to-b2" "b2 has $(( $(msgs b2) - n2 )) of 6 messages" "$T/sw.$tag.down6" "$slog"
	fi

	# b1 back: up again within about 2 s, and it takes sessions again
	cap_start b1 "$BK1" || bad "$tag-restart" "b1 did not restart" "$T/b1-${RUNS[b1]}.log"
	t0=$(date +%s%N)
	if wait_for 8 is_state "$sock" b1 true; then
		took=$((($(date +%s%N) - t0) / 1000000))
		log "$tag: b1 up after $took ms"
		if [ "$took" -le 5000 ] && grep -q "backend b1 $BK1:$BK_PORT is up: 1 health check passed" "$slog"; then
			ok "$tag-up-again"
		else
			bad "$tag-up-again" "up after $took ms" "$slog"
		fi
	else
		bad "$tag-up-again" "b1 still down 8 s after it came back" "$slog"
	fi
	n1=$(msgs b1) n2=$(msgs b2)
	for i in $(seq 6); do dpdk_swaks "$T/sw.$tag.up$i"; done
	wait_for 10 eval '[ $(( $(msgs b1) + $(msgs b2) )) -ge $((n1 + n2 + 6)) ]'
	if [ "$(msgs b1)" -gt "$n1" ] && [ $(( $(msgs b1) + $(msgs b2) )) -eq $((n1 + n2 + 6)) ]; then
		ok "$tag-sessions-to-b1-again"
	else
		bad "$tag-sessions-to-b1-again" "of 6 sessions b1 got $(( $(msgs b1) - n1 )), b2 $(( $(msgs b2) - n2 ))" "$slog"
	fi

	dpdk_sigterm "$tag-sigterm" "$slog" 15
}

run_phase one-worker "$T/sluice.conf" "$T/sluice.log" "$T/control.sock"

# Two workers on two queues (three lcores on two CPUs: control on 0, both workers on 1).
sed -e "s/-l 0-1 /--lcores=0@0,1@1,2@1 /" -e "s/sl_health_$$/sl_health2_$$/" \
	-e "s/qdisc_bypass=1\"/qdisc_bypass=1,qpairs=2\"/" -e "s#control.sock#control2.sock#" \
	"$T/sluice.conf" >"$T/sluice2.conf"
run_phase two-workers "$T/sluice2.conf" "$T/sluice2.log" "$T/control2.sock"

# ---- PROXY backends: one line per header received, then "quit" when the check said QUIT
cat >"$T/proxy_backend.py" <<'PY'
import asyncio, sys
host, port, log = sys.argv[1], int(sys.argv[2]), sys.argv[3]
SIG = b"\r\n\r\n\x00\r\nQUIT\n"
def note(s):
    with open(log, "a") as f:
        f.write(s + "\n")
async def conn(r, w):
    try:
        first = await asyncio.wait_for(r.readexactly(5), 5)
        if first == SIG[:5]:
            hdr = first + await asyncio.wait_for(r.readexactly(7), 5)
            if hdr != SIG:
                raise ValueError("bad v2 signature")
            vfl = await r.readexactly(4)
            n = int.from_bytes(vfl[2:4], "big")
            await r.readexactly(n)
            note("v2 ver_cmd=%02x fam=%02x len=%d" % (vfl[0], vfl[1], n))
        elif first == b"PROXY":
            note("v1 " + (first + await asyncio.wait_for(r.readuntil(b"\r\n"), 5)).decode().strip())
        else:
            raise ValueError("no PROXY header: %r" % first)
        w.write(b"220 proxy-backend.test ESMTP\r\n")
        await w.drain()
        cmd = await asyncio.wait_for(r.readline(), 5)
        if cmd.strip().upper() == b"QUIT":
            note("quit")
            w.write(b"221 bye\r\n")
            await w.drain()
    except Exception as e:
        note("error %r" % e)
    w.close()
async def main():
    s = await asyncio.start_server(conn, host, port)
    async with s:
        await s.serve_forever()
asyncio.run(main())
PY
for px in p1:$PX1 p2:$PX2; do
	name=${px%%:*} addr=${px#*:}
	ip netns exec "$NS_C" "$PY" "$T/proxy_backend.py" "$addr" "$BK_PORT" "$T/$name.hdr" >"$T/$name.log" 2>&1 &
	CAP[$name]=$!
	track_pid "${CAP[$name]}"
	wait_for 15 dpdk_listens "$addr" "$BK_PORT" || bad proxy-start "PROXY backend $name did not listen" "$T/$name.log"
done
sed -e "s/sl_health_$$/sl_health3_$$/" -e "s#control.sock#control3.sock#" -e '/^backend /d' "$T/sluice.conf" >"$T/sluice3.conf"
echo "backend       p1 $PX1:$BK_PORT xclient off proxy_protocol v1" >>"$T/sluice3.conf"
echo "backend       p2 $PX2:$BK_PORT xclient off proxy_protocol v2" >>"$T/sluice3.conf"
dpdk_sluice "$T/sluice3.conf" "$T/sluice3.log"
quits() { grep -c '^quit$' "$T/$1.hdr" 2>/dev/null || echo 0; }
if ! dpdk_wait_greet; then
	bad proxy-start "sluice did not greet on $GW:25" "$T/sluice3.log"
elif wait_for 10 eval '[ $(quits p1) -ge 2 ] && [ $(quits p2) -ge 2 ]' && sleep 2 &&
	is_state "$T/control3.sock" p1 true && is_state "$T/control3.sock" p2 true &&
	! grep -q 'is down' "$T/sluice3.log"; then
	ok proxy-checks-pass
	# v1 names this very connection, our address to the backend's; v2 is LOCAL (0x20), no addresses
	if grep -v '^quit$' "$T/p1.hdr" | grep -Evq "^v1 PROXY TCP4 $GW $PX1 [0-9]+ $BK_PORT\$"; then
		bad proxy-v1-header "$(grep -v '^quit$' "$T/p1.hdr" | sort | uniq -c | head -3)"
	else
		ok proxy-v1-header
	fi
	if grep -v '^quit$' "$T/p2.hdr" | grep -vqx 'v2 ver_cmd=20 fam=00 len=0'; then
		bad proxy-v2-header "$(grep -v '^quit$' "$T/p2.hdr" | sort | uniq -c | head -3)"
	else
		ok proxy-v2-header
	fi
else
	bad proxy-checks-pass "p1 $(quits p1) / p2 $(quits p2) checks said QUIT; up: p1 $(backend_up "$T/control3.sock" p1) p2 $(backend_up "$T/control3.sock" p2)" \
		"$T/p1.hdr" "$T/p2.hdr" "$T/sluice3.log"
fi
dpdk_sigterm proxy-sigterm "$T/sluice3.log" 15
finish
