#!/bin/bash
# test_pregreet.sh - greet_pause 2s: a client that talks before the greeting
# is rejected with 554 5.5.1 (logged as PREGREET) and nothing is relayed; a
# client that waits for the greeting passes.
source "$(dirname "$0")/lib.sh"
need_sluice

SL_PORT=$(free_port); CAP=$(free_port)
start_capture cap "$CAP" || { bad start "capture backend did not start" "$T/cap.log"; finish; }
{ sluice_common | sed 's/^greet_pause .*/greet_pause 2s/'; echo "backend cap 127.0.0.1:$CAP xclient off"; } >"$T/sluice.conf"
sluice_up "$T/sluice.conf"

# Talks at once, then tries a whole transaction step by step.
sc "$T/early" --port "$SL_PORT" --no-banner --timeout 10 '>EHLO early.test\r\n' '<' '<' \
	'>MAIL FROM:<a@b.example>\r\n' '<' '>RCPT TO:<user@example.net>\r\n' '<' '>DATA\r\n' '<' \
	'>Subject: pregreet\r\n\r\nx\r\n.\r\n' '<' '>QUIT\r\n' '*'
if ! grep -q '^S: 554[ -]5\.5\.1' "$T/early"; then
	bad pregreet-554 "no 554 5.5.1 reply" "$T/early" "$T/sluice.log"
elif grep -q '^S: 354' "$T/early"; then
	bad pregreet-554 "DATA was accepted (354) for a pre-greet talker" "$T/early"
else
	ok pregreet-554
fi
wait_for 5 grep -q PREGREET "$T/sluice.log" && ok pregreet-logged || bad pregreet-logged "no PREGREET log line" "$T/sluice.log"
[ "$(capture_count cap)" -eq 0 ] && ok nothing-relayed || bad nothing-relayed "backend got $(capture_count cap) messages"

# A patient client: the greeting comes after about 2 s, the message goes through.
t0=$(date +%s%N)
if sw "$T/sw.patient" -li 127.0.0.31; then
	dt=$((($(date +%s%N) - t0) / 1000000))
	if [ "$dt" -ge 1900 ]; then ok patient-client; else bad patient-client "greeting came after $dt ms, greet_pause is 2 s"; fi
else
	bad patient-client "rejected: $(first_error "$T/sw.patient")" "$T/sw.patient" "$T/sluice.log"
fi
finish
