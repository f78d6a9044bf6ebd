#!/bin/bash
# test_redis_lists.sh - two sluice nodes (kernel transport) sharing one
# redis-server for their runtime lists: a block added through node A's
# socket is enforced by node B within a second (measured), a delete too; a
# TTL runs out on both; the allowlist beats the blocklist across nodes;
# Redis killed: the mirrors stay enforced, a block added on A meanwhile
# applies there and reaches Redis and B once Redis is back; Redis restarted
# from its dump, with an entry written by hand into that dump while the
# nodes were cut off, and restarted empty: the mirrors are whole after the
# resync, and Redis gets the lists back from the nodes; an entry written by
# hand without a message shows up at B's periodic resync.
source "$(dirname "$0")/lib.sh"
need_sluice
need_cmd redis-server redis-cli swaks

CTL=${SLUICECTL:-$ROOT/build/control/sluicectl}
RP=$(free_port); RP2=$(free_port); CAP=$(free_port); PA=$(free_port); PB=$(free_port)
HASH='sluice:{lists}:block:ip'
mkdir -p "$T/redis"
REDIS_PID=
start_redis() { # PORT: the test's Redis keeps its dump in $T/redis
	redis-server --port "$1" --bind 127.0.0.1 --save '' --appendonly no --dir "$T/redis" \
		--dbfilename dump.rdb --daemonize no >>"$T/redis.log" 2>&1 &
	REDIS_PID=$!
	track_pid "$REDIS_PID"
	wait_listen "$1" 10 "$REDIS_PID"
}
kill_redis() { [ -n "$REDIS_PID" ] && { kill -KILL "$REDIS_PID" 2>/dev/null; wait "$REDIS_PID" 2>/dev/null; }; REDIS_PID=; }
rc() { redis-cli -p "$RP" "$@"; }
start_redis "$RP" || { bad start "redis-server did not start" "$T/redis.log"; finish; }
start_capture cap "$CAP" || { bad start "capture backend did not start" "$T/cap.log"; finish; }

# node NAME PORT RESYNC - one node: its own listener, control socket and log
node_conf() {
	SL_PORT=$2
	sluice_common | sed "s|^control .*|control $T/control-$1.sock mode 0600|"
	echo "backend cap 127.0.0.1:$CAP xclient off"
	echo "policy redis 127.0.0.1:$RP"
	echo "lists_resync $3"
}
# B resyncs every 3 s (the hand-written entry below); A hardly ever, so what
# A sees comes from messages and reconnects
node_conf a "$PA" 1h >"$T/a.conf"
node_conf b "$PB" 3s >"$T/b.conf"
SL_PORT=$PA; sluice_up "$T/a.conf"
SL_PORT=$PB; sluice_up "$T/b.conf"
ctl() { local n=$1; shift; timeout 10 "$CTL" -s "$T/control-$n.sock" --json "$@"; }
# result NODE IP: blocked | allowed | none (what that node's workers see)
result() { ctl "$1" block test ip "$2" 2>/dev/null | sed -n 's/.*"result":"\([a-z]*\)".*/\1/p'; }
is() { [ "$(result "$1" "$2")" = "$3" ]; }
# within MS NODE IP WANT: poll every 20 ms; prints the ms it took; fails past MS
within() {
	local ms=$1 t0 now
	shift
	t0=$(date +%s%N)
	while :; do
		is "$@" && { echo $((($(date +%s%N) - t0) / 1000000)); return 0; }
		now=$((($(date +%s%N) - t0) / 1000000))
		[ "$now" -gt "$ms" ] && { echo "$now"; return 1; }
		sleep 0.02
	done
}
wait_for 15 grep -q "redis lists: resync" "$T/sluice.log" || log "no resync logged yet"
sleep 1

# 1. a block through A's socket, enforced by B within one second
ctl a block add ip 127.0.0.41 reason "spam run" >"$T/add.json"
if grep -q '"redis":"sent"' "$T/add.json"; then ok add-written; else bad add-written "reply: $(cat "$T/add.json")"; fi
if ms=$(within 1000 b 127.0.0.41 blocked); then
	ok "add-reaches-b-in-${ms}ms"
else
	bad add-reaches-b "node B did not block 127.0.0.41 within 1 s ($ms ms)" "$T/sluice.log"
fi
SL_PORT=$PB
sw "$T/sw.blocked" -li 127.0.0.41
if first_error "$T/sw.blocked" | grep -q '^554 5\.7\.1.*spam run'; then ok b-enforces; else bad b-enforces "swaks from 127.0.0.41 to B: $(first_error "$T/sw.blocked")" "$T/sw.blocked"; fi
if [ "$(rc hget "$HASH" 127.0.0.41/32)" = "0|spam run" ]; then ok key-schema; else bad key-schema "HGET $HASH 127.0.0.41/32: $(rc hget "$HASH" 127.0.0.41/32)"; fi
ctl b block list ip >"$T/list-b.json"
if grep -q '"value":"127.0.0.41/32".*"reason":"spam run","redis":"synced"' "$T/list-b.json"; then ok b-lists-it; else bad b-lists-it "B's block list: $(cut -c1-300 "$T/list-b.json")"; fi

# 2. deleted on A, gone on B within one second
ctl a block del ip 127.0.0.41 >"$T/del.json"
if ms=$(within 1000 b 127.0.0.41 none); then ok "del-reaches-b-in-${ms}ms"; else bad del-reaches-b "still blocked on B after $ms ms" "$T/del.json"; fi
if sw "$T/sw.unblocked" -li 127.0.0.41; then ok b-lets-through; else bad b-lets-through "$(first_error "$T/sw.unblocked")" "$T/sw.unblocked"; fi
[ "$(rc hexists "$HASH" 127.0.0.41/32)" = 0 ] && ok del-in-redis || bad del-in-redis "still in $HASH"

# 3. a TTL runs out on both nodes
ctl a block add ip 127.0.0.42 ttl 2 >/dev/null
if within 1000 b 127.0.0.42 blocked >/dev/null; then
	s=$(rc zscore "$HASH:expiry" 127.0.0.42/32)
	[ -n "$s" ] && ok ttl-zset || bad ttl-zset "no expiry in $HASH:expiry"
	# each node drops it on its own (a once-a-second sweep): both within 2 s + 2 s
	if within 4000 a 127.0.0.42 none >/dev/null && within 1500 b 127.0.0.42 none >/dev/null; then ok ttl-expires-both; else bad ttl-expires-both "A: $(result a 127.0.0.42), B: $(result b 127.0.0.42)"; fi
else
	bad ttl-expires-both "B never blocked 127.0.0.42"
fi

# 4. allow beats block, whichever node each came from
ctl a allow add ip 127.0.0.43 >/dev/null
ctl b block add ip 127.0.0.43 >/dev/null
if within 1000 a 127.0.0.43 allowed >/dev/null && within 1000 b 127.0.0.43 allowed >/dev/null; then ok allow-beats-block; else bad allow-beats-block "A: $(result a 127.0.0.43), B: $(result b 127.0.0.43)"; fi

# 5. Redis killed: what the mirrors hold stays enforced; a block on A applies
# there at once and waits for Redis
ctl a block add ip 127.0.0.45 reason before >/dev/null
within 1000 b 127.0.0.45 blocked >/dev/null || bad before-kill "B did not get 127.0.0.45"
rc save >/dev/null
kill_redis
sleep 0.5
ctl a block add ip 127.0.0.44 reason "while down" >"$T/down.json"
if grep -q '"redis":"down"' "$T/down.json" && is a 127.0.0.44 blocked; then ok down-applies-locally; else bad down-applies-locally "reply $(cat "$T/down.json"), A: $(result a 127.0.0.44)"; fi
if is b 127.0.0.45 blocked && is a 127.0.0.45 blocked; then ok down-mirrors-kept; else bad down-mirrors-kept "A: $(result a 127.0.0.45), B: $(result b 127.0.0.45)"; fi
ctl a block list ip >"$T/list-down.json"
grep -q '"value":"127.0.0.44/32"[^}]*"redis":"pending"' "$T/list-down.json" && ok down-pending || bad down-pending "$(cut -c1-300 "$T/list-down.json")"

# 6. restarted from its dump, with an entry written into that dump by hand
# while the nodes could not see it (another port, no message)
redis-server --port "$RP2" --bind 127.0.0.1 --save '' --appendonly no --dir "$T/redis" \
	--dbfilename dump.rdb --daemonize no >>"$T/redis.log" 2>&1 &
TMP_PID=$!
track_pid "$TMP_PID"
wait_listen "$RP2" 10 "$TMP_PID"
redis-cli -p "$RP2" hset "$HASH" 127.0.0.46/32 "0|by hand" >/dev/null
redis-cli -p "$RP2" save >/dev/null
redis-cli -p "$RP2" shutdown nosave >/dev/null 2>&1
wait "$TMP_PID" 2>/dev/null
start_redis "$RP" || bad restart "redis-server did not restart" "$T/redis.log"
# reconnect backoff is at most 5 s; A's pending 44 reaches Redis (and B, by
# its message) only once A is back, which may be after B's resync found 46
for n in a b; do
	if within 12000 $n 127.0.0.46 blocked >/dev/null && within 6000 $n 127.0.0.44 blocked >/dev/null &&
		is $n 127.0.0.45 blocked; then
		ok "dump-restart-whole-$n"
	else
		bad "dump-restart-whole-$n" "46: $(result $n 127.0.0.46), 44: $(result $n 127.0.0.44), 45: $(result $n 127.0.0.45)" "$T/sluice.log"
	fi
done
[ "$(rc hget "$HASH" 127.0.0.44/32)" = "0|while down" ] && ok down-write-landed || bad down-write-landed "HGET 127.0.0.44/32: $(rc hget "$HASH" 127.0.0.44/32)"

# 7. restarted empty: the nodes notice (no epoch) and write their mirrors back
kill_redis
rm -f "$T/redis/dump.rdb"
start_redis "$RP" || bad restart-empty "redis-server did not restart" "$T/redis.log"
if wait_for 15 sh -c "[ \"\$(redis-cli -p $RP hexists '$HASH' 127.0.0.46/32)\" = 1 ] && [ \"\$(redis-cli -p $RP hexists '$HASH' 127.0.0.45/32)\" = 1 ]"; then
	ok empty-restart-reseeded
else
	bad empty-restart-reseeded "Redis has: $(rc hkeys "$HASH" | tr '\n' ' ')" "$T/sluice.log"
fi
grep -q "Redis lost the lists" "$T/sluice.log" && ok lost-logged || bad lost-logged "no 'Redis lost the lists' in the log"
for n in a b; do
	if is $n 127.0.0.44 blocked && is $n 127.0.0.45 blocked && is $n 127.0.0.46 blocked; then ok "empty-restart-whole-$n"; else bad "empty-restart-whole-$n" "44 $(result $n 127.0.0.44) 45 $(result $n 127.0.0.45) 46 $(result $n 127.0.0.46)"; fi
done
# after the reseed the nodes talk again
ctl b block add ip 127.0.0.47 >/dev/null
if ms=$(within 1000 a 127.0.0.47 blocked); then ok "after-reseed-b-to-a-in-${ms}ms"; else bad after-reseed-b-to-a "A did not get 127.0.0.47 ($ms ms)" "$T/sluice.log"; fi

# 8. written by hand with no message: B's periodic resync (3 s) finds it
rc hset "$HASH" 127.0.0.48/32 "0|by hand, no message" >/dev/null
if within 5000 b 127.0.0.48 blocked >/dev/null; then ok periodic-resync; else bad periodic-resync "B did not find 127.0.0.48" "$T/sluice.log"; fi

# 9. a burst: 2000 changes written and published as a writer does, in one
# go: both nodes take them all, and no snapshot generation is left behind
# (rebuilds are coalesced, so the workers keep up with the retired ones)
runtime() { ctl "$1" status 2>/dev/null | sed -n 's/.*"runtime_list_entries":\([0-9]*\).*/\1/p'; }
before_a=$(runtime a); before_b=$(runtime b)
for i in $(seq 0 1999); do
	printf 'EVAL "local v = redis.call(%s, KEYS[2]) redis.call(%s, KEYS[1], ARGV[1], %s) redis.call(%s, ARGV[2], v .. %s .. ARGV[1] .. %s) return v" 2 %s sluice:{lists}:version 10.9.%d.%d/32 sluice:{lists}:changes\n' \
		"'INCR'" "'HSET'" "'0|burst'" "'PUBLISH'" "'\\tadd\\tblock\\tip\\t'" "'\\t0|burst'" "$HASH" $((i / 256)) $((i % 256))
done >"$T/burst.redis"
rc <"$T/burst.redis" >/dev/null
burst_ok() { [ "$(runtime a)" -ge $((before_a + 2000)) ] && [ "$(runtime b)" -ge $((before_b + 2000)) ]; }
if wait_for 5 burst_ok; then ok burst-2000; else bad burst-2000 "A has $(runtime a) (was $before_a), B $(runtime b) (was $before_b)" "$T/sluice.log"; fi
if is a 10.9.7.207 blocked && is b 10.9.0.0 blocked; then ok burst-enforced; else bad burst-enforced "A: $(result a 10.9.7.207), B: $(result b 10.9.0.0)"; fi
if grep -q "too many generations" "$T/sluice.log"; then bad burst-generations "a generation was kept: $(grep -m1 'too many generations' "$T/sluice.log")"; else ok burst-generations; fi

# 10. the mirror in B's metrics: up, the burst's messages applied, resyncs done
timeout 10 "$CTL" -s "$T/control-b.sock" metrics >"$T/metrics-b" 2>&1
msgs=$(sed -n 's/^sluice_redis_lists_messages_total \([0-9]*\)$/\1/p' "$T/metrics-b")
if grep -q '^sluice_redis_lists_up 1$' "$T/metrics-b" && [ "${msgs:-0}" -ge 2000 ] &&
	grep -Eq '^sluice_redis_lists_resyncs_total [1-9]' "$T/metrics-b"; then
	ok lists-metrics
else
	bad lists-metrics "lists mirror metrics of B: up, >= 2000 messages ('${msgs:-}'), resyncs" "$T/metrics-b"
fi
finish
