#!/bin/bash
# test_sighup.sh - SIGHUP reload: a blocklist entry added to the file applies
# to new sessions, an open session continues and delivers; a broken file on
# reload keeps the running config; a change only a restart can make is named
# in the log and left as it runs.
source "$(dirname "$0")/lib.sh"
need_sluice

SL_PORT=$(free_port); CAP=$(free_port)
start_capture cap "$CAP" || { bad start "capture backend did not start" "$T/cap.log"; finish; }
{ sluice_common; echo "backend cap 127.0.0.1:$CAP xclient off"; } >"$T/sluice.conf"
sluice_up "$T/sluice.conf"

if sw "$T/sw.before" --from spam@bad.example; then ok before-reload; else bad before-reload "rejected before the blocklist exists" "$T/sw.before"; fi

sc "$T/open" --port "$SL_PORT" '>EHLO open.test\r\n' '<250' "+$T/open.ready" "@$T/go" \
	'>MAIL FROM:<a@b.example>\r\n' '<250' '>RCPT TO:<user@example.net>\r\n' '<250' '>DATA\r\n' '<354' \
	'>Subject: open across reload\r\n\r\nRELOAD-MARKER\r\n.\r\n' '<250' '>QUIT\r\n' '<221' &
open=$!; track_pid $open
wait_for 10 test -e "$T/open.ready" || bad open-session "session did not open" "$T/open"

echo "blocklist sender spam@bad.example" >>"$T/sluice.conf"
kill -HUP "$SL_PID"
sleep 2
if ! kill -0 "$SL_PID" 2>/dev/null; then
	bad reload "sluice died on SIGHUP" "$T/sluice.log"
	finish
fi
if sw "$T/sw.after" --from spam@bad.example; then
	bad new-session-blocked "the new blocklist entry did not apply after SIGHUP" "$T/sw.after" "$T/sluice.log"
elif first_error "$T/sw.after" | grep -q '^554'; then
	ok new-session-blocked
else
	bad new-session-blocked "expected 554, got: $(first_error "$T/sw.after")" "$T/sw.after"
fi
touch "$T/go"
if wait $open && grep -q RELOAD-MARKER "$T"/cap/msg-*.eml; then
	ok open-session-continues
else
	bad open-session-continues "the session opened before the reload did not deliver" "$T/open" "$T/sluice.log"
fi

# A broken file: reload fails, sluice keeps running with the previous config.
echo "this_is_not_a_directive 1" >>"$T/sluice.conf"
kill -HUP "$SL_PID"
sleep 1.5
if kill -0 "$SL_PID" 2>/dev/null && sw "$T/sw.broken-ok" && ! sw "$T/sw.broken-spam" --from spam@bad.example; then
	ok broken-reload-keeps-config
else
	bad broken-reload-keeps-config "after a bad reload sluice died or changed behaviour" "$T/sw.broken-ok" "$T/sw.broken-spam" "$T/sluice.log"
fi
grep -q 'sluice.conf:[0-9]*:' "$T/sluice.log" && ok reload-error-logged || bad reload-error-logged "the reload error does not name FILE:LINE" "$T/sluice.log"

# A reload that changes what only a restart can (listen, workers): the rest
# applies, those stay as they run, and the log says which. A second reload
# of the same file says it again: the comparison is with the start.
NEW_PORT=$(free_port)
sed -i -e '/^this_is_not_a_directive/d' -e "s/^listen .*/listen        127.0.0.1:$NEW_PORT/" -e 's/^workers .*/workers       3/' "$T/sluice.conf"
echo "blocklist sender spam2@bad.example" >>"$T/sluice.conf"
# restart_warnings N: the log holds at least N of them (a function: wait_for re-runs it)
restart_warnings() {
	[ "$(grep -c 'reload: a restart is needed for: workers, listen (the running values stay)' "$T/sluice.log")" -ge "$1" ]
}
for round in 1 2; do
	kill -HUP "$SL_PID"
	if wait_for 5 restart_warnings "$round"; then
		ok "restart-only-logged-$round"
	else
		bad "restart-only-logged-$round" "no warning naming workers and listen" "$T/sluice.log"
	fi
done
if kill -0 "$SL_PID" 2>/dev/null && sw "$T/sw.same-port" && ! sw "$T/sw.same-spam" --from spam2@bad.example; then
	ok restart-only-rest-applies
else
	bad restart-only-rest-applies "after the reload sluice should serve on its start port with the new blocklist entry" "$T/sw.same-port" "$T/sw.same-spam" "$T/sluice.log"
fi
finish
