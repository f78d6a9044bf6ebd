#!/bin/bash
# test_load_source.sh - smtp-source load through sluice: 500 one-message
# sessions, then 500 messages over 10 kept-open sessions; the sink counts them all.
source "$(dirname "$0")/lib.sh"
need_sluice

SL_PORT=$(free_port); SINK=$(free_port)
start_sink sink "$SINK" || { bad start "smtp-sink did not start" "$T/sink.log"; finish; }
{ sluice_common; echo "backend sink 127.0.0.1:$SINK xclient off"; } >"$T/sluice.conf"
sluice_up "$T/sluice.conf"

run_load() { # case expected-total smtp-source options...
	local c=$1 want=$2 t0 t1
	shift 2
	t0=$(date +%s.%N)
	timeout 180 smtp-source -c -l 1024 -s 10 -f a@b.example -t user@example.net -M client.test.example \
		"$@" "127.0.0.1:$SL_PORT" >"$T/source.$c" 2>&1
	local rc=$?
	wait_for 20 sink_has sink "$want"
	t1=$(date +%s.%N)
	local got
	got=$(sink_count sink)
	if [ $rc -ne 0 ]; then
		bad "$c" "smtp-source exit $rc (timeout 180 s?)" "$T/source.$c" "$T/sluice.log"
	elif [ "$got" -ne "$want" ]; then
		bad "$c" "sink has $got dumps, expected $want" "$T/source.$c" "$T/sluice.log"
	else
		ok "$c"
		log "$c: $(awk "BEGIN{printf \"%.1f\", $t1 - $t0}") s"
	fi
}
run_load sessions-500 500 -m 500
run_load kept-open-500 1000 -m 500 -d
if kill -0 "$SL_PID" 2>/dev/null; then ok alive-after-load; else bad alive-after-load "sluice died" "$T/sluice.log"; fi
finish
