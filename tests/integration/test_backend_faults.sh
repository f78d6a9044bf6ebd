#!/bin/bash
# test_backend_faults.sh - a failing backend never turns into a 250: smtp-sink
# with -r rcpt, -f data, -q data, -q ., -Q data, -Q ., a backend killed before
# the session and one killed in the middle of DATA. The client gets 4xx (or the
# backend's own 5xx for -f), and nothing arrives twice.
source "$(dirname "$0")/lib.sh"
need_sluice

SL_PORT=$(free_port)
run_sluice_for() { # backend-port
	[ -n "${SL_PID:-}" ] && _kill_pid "$SL_PID"
	{ sluice_common; echo "backend be 127.0.0.1:$1 xclient off"; } >"$T/sluice.conf"
	start_sluice "$T/sluice.conf"
}

fault() { # case sink-options expected-code-regex max-dumps
	local c=$1 opts=$2 want=$3 maxd=$4 p
	p=$(free_port)
	start_sink "$c" "$p" $opts || { bad "$c" "smtp-sink did not start" "$T/$c.log"; return; }
	run_sluice_for "$p" || { bad "$c" "sluice did not start" "$T/sluice-t.out" "$T/sluice.log"; stop_proc "$c"; return; }
	if sw "$T/sw.$c" --body "fault case $c"; then
		bad "$c" "client got 250 for a message the backend did not accept" "$T/sw.$c" "$T/sluice.log"
	elif ! first_error "$T/sw.$c" | grep -Eq "$want"; then
		bad "$c" "expected /$want/, got: $(first_error "$T/sw.$c")" "$T/sw.$c" "$T/sluice.log"
	elif [ "$(sink_count "$c")" -gt "$maxd" ]; then
		bad "$c" "backend stored $(sink_count "$c") messages (at most $maxd)"
	else
		ok "$c"
	fi
	stop_proc "$c"
}
fault rcpt-4xx  "-r rcpt"  '^4[0-9][0-9] ' 0
fault data-5xx  "-f data"  '^[45][0-9][0-9] ' 0
fault drop-data "-q data"  '^4[0-9][0-9] ' 0
fault drop-dot  "-q ."     '^4[0-9][0-9] ' 1
fault 421-data  "-Q data"  '^4[0-9][0-9] ' 0
fault 421-dot   "-Q ."     '^4[0-9][0-9] ' 1
fault 4xx-dot   "-r ."     '^4[0-9][0-9] ' 1
fault 5xx-mail  "-f mail"  '^[45][0-9][0-9] ' 0

# A backend that is gone before the session: 4xx, never 5xx.
p=$(free_port)
start_sink dead "$p" && run_sluice_for "$p" || bad dead-backend "setup failed" "$T/sluice.log"
kill9_proc dead
sleep 1.5
if sw "$T/sw.dead"; then
	bad dead-backend "client got 250 with no backend" "$T/sw.dead"
elif first_error "$T/sw.dead" | grep -q '^4'; then
	ok dead-backend
else
	bad dead-backend "expected 4xx, got: $(first_error "$T/sw.dead")" "$T/sw.dead" "$T/sluice.log"
fi

# A backend killed in the middle of DATA.
p=$(free_port)
start_sink mid "$p" && run_sluice_for "$p" || bad killed-mid-data "setup failed" "$T/sluice.log"
make_body "$T/half" 200000
# sent raw, so the dot-stuffed copy (swaks stuffs for the other cases): a
# lone "." line of the body would otherwise end the message early
printf 'END-OF-MESSAGE-MARKER\r\n.\r\n' >"$T/rest"
sc "$T/mid.out" --port "$SL_PORT" '>EHLO client.test\r\n' '<250' '>MAIL FROM:<a@b.example>\r\n' '<250' \
	'>RCPT TO:<user@example.net>\r\n' '<250' '>DATA\r\n' '<354' ">@$T/half.stuffed" "+$T/mid.sent" "@$T/mid.go" \
	">@$T/rest" '<4' '>QUIT\r\n' '<' &
cpid=$!
track_pid $cpid
if wait_for 20 test -e "$T/mid.sent"; then
	sleep 0.5
	kill9_proc mid
	touch "$T/mid.go"
	wait $cpid
	rc=$?
	if [ $rc -ne 0 ]; then
		bad killed-mid-data "the client did not get 4xx after the backend died" "$T/mid.out" "$T/sluice.log"
	elif grep -lq END-OF-MESSAGE-MARKER "$T"/mid/m.* 2>/dev/null; then
		bad killed-mid-data "the message's end reached a killed backend?"
	else
		ok killed-mid-data
	fi
else
	bad killed-mid-data "the client did not reach DATA" "$T/mid.out" "$T/sluice.log"
fi

# After all that, sluice is alive and relays to a healthy backend exactly once.
p=$(free_port)
start_sink good "$p" && run_sluice_for "$p" || bad recovery "setup failed" "$T/sluice.log"
if sw "$T/sw.good" && wait_for 10 sink_has good 1 && [ "$(sink_count good)" -eq 1 ]; then
	ok recovery
else
	bad recovery "a healthy backend did not get exactly one message" "$T/sw.good" "$T/sluice.log"
fi
finish
