#!/bin/bash
# test_rate_limit.sh - `limit msg_rate ip 5/minute burst 5`: the 6th message
# from one address within the minute gets 450 4.7.1; another address is not
# affected. `limit concurrency ip 2`: a third open session from one address is refused.
source "$(dirname "$0")/lib.sh"
need_sluice

SL_PORT=$(free_port); CAP=$(free_port)
start_capture cap "$CAP" || { bad start "capture backend did not start" "$T/cap.log"; finish; }
{
	sluice_common
	echo "backend cap 127.0.0.1:$CAP xclient off"
	echo "limit msg_rate ip 5/minute burst 5"
	echo "limit concurrency ip 2"
} >"$T/sluice.conf"
sluice_up "$T/sluice.conf"

good=0
for i in 1 2 3 4 5; do
	sw "$T/sw.$i" -li 127.0.0.21 && good=$((good + 1))
done
[ $good -eq 5 ] && ok first-five || bad first-five "only $good of the first 5 messages accepted" "$T/sw.5" "$T/sluice.log"
if sw "$T/sw.6" -li 127.0.0.21; then
	bad sixth "the 6th message in a minute was accepted" "$T/sw.6"
elif first_error "$T/sw.6" | grep -q '^450 4\.7\.1'; then
	ok sixth
else
	bad sixth "expected 450 4.7.1, got: $(first_error "$T/sw.6")" "$T/sw.6"
fi
[ "$(capture_count cap)" -eq "$good" ] && ok backend-count || bad backend-count "backend has $(capture_count cap), expected $good"
if sw "$T/sw.other" -li 127.0.0.22; then ok other-ip; else bad other-ip "another address was limited: $(first_error "$T/sw.other")" "$T/sw.other"; fi

# concurrency: two sessions stay open, the third from the same address is refused.
for i in 1 2; do
	sc "$T/conc.$i" --port "$SL_PORT" --src 127.0.0.23 '>EHLO c.test\r\n' '<250' "+$T/open.$i" "@$T/release" '>QUIT\r\n' '<221' &
	track_pid $!
done
if wait_for 10 test -e "$T/open.1" -a -e "$T/open.2"; then
	sc "$T/conc.3" --port "$SL_PORT" --src 127.0.0.23 --timeout 5 '>EHLO c.test\r\n' '<' '>QUIT\r\n' '<'
	if grep -q '^S: 4[0-9][0-9]' "$T/conc.3" && ! grep -q '^S: 220' "$T/conc.3"; then
		ok concurrency
	else
		bad concurrency "the 3rd concurrent session was not refused with 4xx" "$T/conc.3"
	fi
else
	bad concurrency "two sessions could not be opened" "$T/conc.1" "$T/conc.2"
fi
touch "$T/release"
finish
