#!/bin/bash
# test_redis_cluster.sh - one sluice node (kernel transport) on a one-node
# Redis Cluster (every slot on one redis-server, which still refuses any
# script whose keys span slots): a MAIL stage with ip and sender rules
# decides without CROSSSLOT (the rules fail closed: an error would be 451
# 4.7.0), the sender rule refuses with its own reply, and what it refused did
# not charge the ip rule; a concurrency lease is taken and given back.
source "$(dirname "$0")/lib.sh"
need_sluice
need_cmd redis-server redis-cli swaks

RP=$(free_port); BUS=$(free_port); CAP=$(free_port); SL_PORT=$(free_port)
mkdir -p "$T/redis"
redis-server --port "$RP" --bind 127.0.0.1 --save '' --appendonly no --dir "$T/redis" \
	--daemonize no --cluster-enabled yes --cluster-config-file "$T/redis/nodes.conf" \
	--cluster-port "$BUS" >>"$T/redis.log" 2>&1 &
REDIS_PID=$!
track_pid "$REDIS_PID"
wait_listen "$RP" 10 "$REDIS_PID" || { bad start "redis-server did not start" "$T/redis.log"; finish; }
redis-cli -p "$RP" cluster addslotsrange 0 16383 >/dev/null
cluster_ok() { redis-cli -p "$RP" cluster info | grep -q '^cluster_state:ok'; }
wait_for 10 cluster_ok || { bad start "the cluster did not come up" "$T/redis.log"; finish; }
start_capture cap "$CAP" || { bad start "capture backend did not start" "$T/cap.log"; finish; }

{
	sluice_common
	echo "backend cap 127.0.0.1:$CAP xclient off"
	echo "policy redis 127.0.0.1:$RP lease 2s"
	echo "limit msg_rate ip 3/minute burst 3 fail closed"
	echo "limit msg_rate sender 2/minute fail closed reply 450 4.7.1 \"sender over\""
	echo "limit concurrency ip 2 fail closed"
} >"$T/sluice.conf"
sluice_up "$T/sluice.conf"
wait_for 10 grep -q "redis: connected" "$T/sluice.log" || log "no 'redis: connected' in the log yet"
sleep 0.5

# the server is strict: the two counters of one MAIL are in different slots
ipk='sluice:{ip:127.0.0.41}:msg_rate:3/60000/3'
sk='sluice:{sender:s1@b.example}:msg_rate:2/60000/2'
if [ "$(redis-cli -p "$RP" cluster keyslot "$ipk")" != "$(redis-cli -p "$RP" cluster keyslot "$sk")" ] &&
	redis-cli -p "$RP" eval 'return 1' 2 "$ipk" "$sk" 2>&1 | grep -q CROSSSLOT; then
	ok cluster-strict
else
	bad cluster-strict "the keys share a slot, or the server took a cross-slot script"
fi

# s1: 2 pass, the 3rd is the sender rule's 450; s2: the ip has one left
res=
for f in s1 s1 s1 s2 s3; do
	n=$(( ${#res} / 2 + 1 ))
	if sw "$T/sw.$n" -li 127.0.0.41 --from "$f@b.example"; then
		res="${res}A "
	elif first_error "$T/sw.$n" | grep -q '^450 4\.7\.1 sender over'; then
		res="${res}S "
	elif first_error "$T/sw.$n" | grep -q '^450 4\.7\.1'; then
		res="${res}I "
	else
		res="${res}? "
		log "session $n: $(first_error "$T/sw.$n")"
	fi
done
if [ "$res" = "A A S A I " ]; then
	ok mixed-stage
else
	bad mixed-stage "got '$res', want 'A A S A I ' (A passed, S sender 450, I ip 450)" \
		"$T/sw.3" "$T/sw.4" "$T/sluice.log"
fi
[ "$(capture_count cap)" -eq 3 ] && ok backend-count || bad backend-count "backend has $(capture_count cap), expected 3"
if grep -q "CROSSSLOT\|decision failed" "$T/sluice.log"; then
	bad no-errors "Redis refused a decision" "$T/sluice.log"
else
	ok no-errors
fi
if [ "$(redis-cli -p "$RP" exists "$ipk")" = 1 ] && [ "$(redis-cli -p "$RP" exists "$sk")" = 1 ]; then
	ok key-schema
else
	bad key-schema "no $ipk or $sk: $(redis-cli -p "$RP" --scan | head -5 | tr '\n' ' ')"
fi

# a session held open holds one lease; once it ends, none is left
ck='sluice:{ip:127.0.0.42}:concurrency:2'
sc "$T/hold" --port "$SL_PORT" --src 127.0.0.42 '>EHLO c.test\r\n' '<250' "+$T/held" "@$T/go" '>QUIT\r\n' '<' &
HOLD=$!
track_pid "$HOLD"
if wait_for 10 test -e "$T/held" && [ "$(redis-cli -p "$RP" zcard "$ck")" = 1 ]; then
	touch "$T/go"
	wait "$HOLD" 2>/dev/null
	zero() { [ "$(redis-cli -p "$RP" zcard "$ck")" = 0 ]; }
	if wait_for 5 zero; then ok lease; else bad lease "the lease stayed after the session ended" "$T/hold"; fi
else
	bad lease "no lease while the session is open: $(redis-cli -p "$RP" zcard "$ck")" "$T/hold" "$T/sluice.log"
fi
finish
