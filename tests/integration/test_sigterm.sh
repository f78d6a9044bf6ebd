#!/bin/bash
# test_sigterm.sh - SIGTERM: an idle session gets 421 4.3.2 at its next
# command, a transaction in DATA still completes (250, delivered once), new
# connections are not served, and sluice exits 0 within shutdown_grace.
source "$(dirname "$0")/lib.sh"
need_sluice

SL_PORT=$(free_port); CAP=$(free_port)
start_capture cap "$CAP" || { bad start "capture backend did not start" "$T/cap.log"; finish; }
{ sluice_common; echo "backend cap 127.0.0.1:$CAP xclient off"; } >"$T/sluice.conf"
sluice_up "$T/sluice.conf"

sc "$T/idle" --port "$SL_PORT" '>EHLO idle.test\r\n' '<250' "+$T/idle.ready" "@$T/go" '>NOOP\r\n' '<421 4.3.2' '*' &
idle=$!; track_pid $idle
make_body "$T/half" 100000
sc "$T/busy" --port "$SL_PORT" '>EHLO busy.test\r\n' '<250' '>MAIL FROM:<a@b.example>\r\n' '<250' \
	'>RCPT TO:<user@example.net>\r\n' '<250' '>DATA\r\n' '<354' ">@$T/half.stuffed" "+$T/busy.ready" "@$T/go" \
	'>TERM-MARKER\r\n.\r\n' '<250' '>QUIT\r\n' '<' &
busy=$!; track_pid $busy
if ! wait_for 15 test -e "$T/idle.ready" -a -e "$T/busy.ready"; then
	bad setup "sessions did not get ready" "$T/idle" "$T/busy" "$T/sluice.log"
	finish
fi
t0=$(date +%s)
kill -TERM "$SL_PID"
sleep 0.5
sc "$T/new" --port "$SL_PORT" --timeout 3 '>EHLO new.test\r\n' '<'
if grep -q '^S: 220' "$T/new" && ! grep -q '^S: 421' "$T/new"; then
	bad no-new-sessions "a new connection was greeted with 220 after SIGTERM" "$T/new"
else
	ok no-new-sessions
fi
touch "$T/go"
wait $idle && ok idle-421 || bad idle-421 "the idle session did not get 421 4.3.2" "$T/idle" "$T/sluice.log"
if wait $busy && grep -q '^S: 250' <(awk '/TERM-MARKER/{f=1} f' "$T/busy") && wait_for 5 capture_has cap 1 &&
	grep -q TERM-MARKER "$T/cap/msg-1.eml" && [ "$(capture_count cap)" -eq 1 ]; then
	ok transaction-finishes
else
	bad transaction-finishes "the transaction in DATA did not complete once" "$T/busy" "$T/sluice.log"
fi
if wait_exit "$SL_PID" 15; then
	if [ "$WAIT_RC" -eq 0 ]; then ok exit-0; else bad exit-0 "sluice exited $WAIT_RC" "$T/sluice.log"; fi
	dt=$(($(date +%s) - t0))
	[ $dt -le 8 ] && ok within-grace || bad within-grace "took $dt s (grace 5 s)"
else
	bad exit-0 "sluice still runs 15 s after SIGTERM" "$T/sluice.log"
fi
finish
