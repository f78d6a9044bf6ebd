#!/bin/bash
# test_relay_sink.sh - swaks (plain and --pipeline) through sluice to smtp-sink.
source "$(dirname "$0")/lib.sh"
need_sluice

SL_PORT=$(free_port); SINK=$(free_port)
start_sink sink "$SINK" || { bad start "smtp-sink did not start" "$T/sink.log"; finish; }
{ sluice_common; echo "backend sink 127.0.0.1:$SINK xclient off"; } >"$T/sluice.conf"
sluice_up "$T/sluice.conf"

n=0
for size in 1024 1048576; do
	make_body "$T/b$size" "$size"
	for mode in plain pipeline; do
		c="$mode-$size"
		extra=(); [ $mode = pipeline ] && extra=(--pipeline)
		if ! sw "$T/sw.$c" --data @"$T/b$size.send" "${extra[@]}"; then
			bad "$c" "swaks failed: $(first_error "$T/sw.$c")" "$T/sw.$c" "$T/sluice.log"
			continue
		fi
		n=$((n + 1))
		if ! wait_for 10 sink_has sink "$n"; then
			bad "$c" "sluice said 250 but the sink has $(sink_count sink) of $n dumps"
		elif ! grep -lq "Message-Id: <body-$size@client.test>" "$T"/sink/m.*; then
			bad "$c" "no dump holds the message"
		else
			ok "$c"
		fi
	done
done
[ "$(sink_count sink)" -eq "$n" ] && ok no-duplicates || bad no-duplicates "sink has $(sink_count sink) dumps for $n messages"
finish
