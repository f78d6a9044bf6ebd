#!/bin/bash
# test_redis_limits.sh - two sluice nodes (kernel transport) sharing one
# redis-server: `limit msg_rate ip 5/minute` admits 5 messages in total across
# both, then 450 4.7.1; Redis killed: the fail-open rule passes, the
# fail-closed one gives 451 4.7.0 and nothing hangs; Redis restarted: both
# nodes decide again without a restart; a node killed with sessions open
# frees its concurrency slots once their leases run out.
source "$(dirname "$0")/lib.sh"
need_sluice
need_cmd redis-server redis-cli swaks

RP=$(free_port); CAP=$(free_port); PA=$(free_port); PB=$(free_port)
mkdir -p "$T/redis"
start_redis() {
	redis-server --port "$RP" --bind 127.0.0.1 --save '' --appendonly no --dir "$T/redis" \
		--daemonize no >>"$T/redis.log" 2>&1 &
	REDIS_PID=$!
	track_pid "$REDIS_PID"
	wait_listen "$RP" 10 "$REDIS_PID"
}
start_redis || { bad start "redis-server did not start" "$T/redis.log"; finish; }
start_capture cap "$CAP" || { bad start "capture backend did not start" "$T/cap.log"; finish; }

# node NAME PORT - a config for one node: its own listener and control socket
node_conf() {
	SL_PORT=$2
	sluice_common | sed "s|^control .*|control $T/control-$1.sock mode 0600|"
	echo "backend cap 127.0.0.1:$CAP xclient off"
	echo "policy redis 127.0.0.1:$RP lease 2s"
	echo "limit msg_rate ip 5/minute burst 5"
	echo "limit concurrency ip 2"
	echo "limit rcpt_rate ip 1000/minute fail closed"
}
node_conf a "$PA" >"$T/a.conf"
node_conf b "$PB" >"$T/b.conf"
SL_PORT=$PA; sluice_up "$T/a.conf"; A_PID=$SL_PID
SL_PORT=$PB; sluice_up "$T/b.conf"

# waits for both nodes to be connected: a decision before that takes the fail mode
wait_for 10 grep -q "redis: connected" "$T/sluice.log" || log "no 'redis: connected' in the log yet"
sleep 0.5

good=0; over=0; other=
for i in $(seq 10); do
	if [ $((i % 2)) -eq 1 ]; then SL_PORT=$PA; else SL_PORT=$PB; fi
	if sw "$T/sw.$i" -li 127.0.0.31; then
		good=$((good + 1))
	elif first_error "$T/sw.$i" | grep -q '^450 4\.7\.1'; then
		over=$((over + 1))
	else
		other="$other $i:$(first_error "$T/sw.$i")"
	fi
done
if [ $good -eq 5 ] && [ $over -eq 5 ]; then
	ok shared-limit
else
	bad shared-limit "accepted $good, 450 $over of 10 across two nodes (want 5 and 5)$other" \
		"$T/sw.1" "$T/sw.10" "$T/sluice.log"
fi
[ "$(capture_count cap)" -eq "$good" ] && ok backend-count || bad backend-count "backend has $(capture_count cap), expected $good"
# node A's metrics show the Redis store: up, and the refusals it counted
CTL=${SLUICECTL:-$ROOT/build/control/sluicectl}
if "$CTL" -s "$T/control-a.sock" metrics >"$T/metrics-a" 2>&1 &&
	grep -q '^sluice_redis_up 1$' "$T/metrics-a" &&
	grep -Eq '^sluice_policy_over_limit_total [1-9]' "$T/metrics-a" &&
	grep -Eq '^sluice_redis_round_trips_total [1-9]' "$T/metrics-a"; then
	ok redis-metrics
else
	bad redis-metrics "no Redis store figures in node A's metrics" "$T/metrics-a"
fi
# the round trips as a histogram: as many counted as scripts answered, the +Inf
# bucket equal to the count, and the whole exposition valid
PROM_LINT=${PROM_LINT:-$(dirname "$SLUICE")/../tests/unit/ctlsock/prom_lint}
rtt_n=$(sed -n 's/^sluice_redis_round_trip_seconds_count \([0-9]*\)$/\1/p' "$T/metrics-a")
rtt_inf=$(sed -n 's/^sluice_redis_round_trip_seconds_bucket{le="+Inf"} \([0-9]*\)$/\1/p' "$T/metrics-a")
if [ "${rtt_n:-0}" -ge 5 ] && [ "$rtt_n" = "$rtt_inf" ] && grep -q '^sluice_redis_errors_total 0$' "$T/metrics-a"; then
	ok redis-latency
else
	bad redis-latency "round-trip histogram: count '${rtt_n:-}', +Inf '${rtt_inf:-}' (want >= 5, equal), errors 0" "$T/metrics-a"
fi
if [ ! -x "$PROM_LINT" ]; then
	bad redis-exposition "prom_lint not built ($PROM_LINT)"
elif "$PROM_LINT" <"$T/metrics-a" >"$T/metrics-a.lint" 2>&1; then
	ok redis-exposition
else
	bad redis-exposition "not a valid exposition" "$T/metrics-a.lint"
fi
key='sluice:{ip:127.0.0.31}:msg_rate:5/60000/5'
if [ "$(redis-cli -p "$RP" exists "$key")" = 1 ]; then ok key-schema; else bad key-schema "no $key in Redis: $(redis-cli -p "$RP" --scan | head -5 | tr '\n' ' ')"; fi
SL_PORT=$PB
if sw "$T/sw.other" -li 127.0.0.32; then ok other-ip; else bad other-ip "another address was limited: $(first_error "$T/sw.other")" "$T/sw.other"; fi

# Redis killed: MAIL (fail open) passes, RCPT (fail closed) gets 451 4.7.0, quickly
kill -KILL "$REDIS_PID"; wait "$REDIS_PID" 2>/dev/null
for n in a b; do
	if [ $n = a ]; then SL_PORT=$PA; else SL_PORT=$PB; fi
	t0=$(date +%s%N)
	sw "$T/down.$n" -li 127.0.0.33
	ms=$((($(date +%s%N) - t0) / 1000000))
	if first_error "$T/down.$n" | grep -q '^451 4\.7\.0' && grep -q '^<- *250.*' "$T/down.$n"; then
		if [ $ms -lt 10000 ]; then ok "down-fail-closed-$n"; else bad "down-fail-closed-$n" "took $ms ms"; fi
	else
		bad "down-fail-closed-$n" "expected MAIL 250 then RCPT 451 4.7.0, got: $(first_error "$T/down.$n")" "$T/down.$n"
	fi
done

# Redis restarted: both nodes reconnect (backoff <= 5 s) and decide again
start_redis || bad restart "redis-server did not restart" "$T/redis.log"
back() { sw "$T/back.$1" -li 127.0.0.34; }
for n in a b; do
	if [ $n = a ]; then SL_PORT=$PA; else SL_PORT=$PB; fi
	if wait_for 15 back $n; then ok "recovered-$n"; else bad "recovered-$n" "still refused: $(first_error "$T/back.$n")" "$T/back.$n" "$T/sluice.log"; fi
done

# node A killed with two sessions open from one address: node B refuses a
# third at once, and admits it once A's leases ran out (2 s, never refreshed)
for i in 1 2; do
	sc "$T/hold.$i" --port "$PA" --src 127.0.0.35 '>EHLO c.test\r\n' '<250' "+$T/held.$i" "@$T/never" &
	track_pid $!
done
if wait_for 10 test -e "$T/held.1" -a -e "$T/held.2"; then
	kill -KILL "$A_PID"; wait "$A_PID" 2>/dev/null
	sc "$T/crash.1" --port "$PB" --src 127.0.0.35 --timeout 5 '>EHLO c.test\r\n' '<' '>QUIT\r\n' '<'
	if grep -q '^S: 4[0-9][0-9]' "$T/crash.1" && ! grep -q '^S: 220' "$T/crash.1"; then
		ok crash-slots-held
	else
		bad crash-slots-held "a 3rd session was not refused while the dead node's leases live" "$T/crash.1"
	fi
	SL_PORT=$PB
	crash_free() { sw "$T/crash.2" -li 127.0.0.35; }
	if wait_for 10 crash_free; then ok crash-slots-freed; else bad crash-slots-freed "still refused: $(first_error "$T/crash.2")" "$T/crash.2"; fi
else
	bad crash-slots-held "two sessions could not be opened on node A" "$T/hold.1" "$T/hold.2"
fi
finish
