#!/bin/bash
# test_relay_denied.sh - never an open relay: recipients outside relay_domains
# get 554 5.7.1 and a NOQUEUE: reject line; inside ones pass.
source "$(dirname "$0")/lib.sh"
need_sluice

SL_PORT=$(free_port); CAP=$(free_port)
start_capture cap "$CAP" || { bad start "capture backend did not start" "$T/cap.log"; finish; }
{ sluice_common; echo "backend cap 127.0.0.1:$CAP xclient off"; } >"$T/sluice.conf"
sluice_up "$T/sluice.conf"

denied() { # case rcpt
	if sw "$T/sw.$1" --to "$2"; then
		bad "$1" "relayed to $2" "$T/sw.$1"
	elif ! first_error "$T/sw.$1" | grep -q '^554 5\.7\.1'; then
		bad "$1" "expected 554 5.7.1, got: $(first_error "$T/sw.$1")" "$T/sw.$1"
	else
		ok "$1"
	fi
}
denied outside x@elsewhere.example
denied suffix-trick user@example.net.evil.example
denied lookalike user@notexample.net
denied bang-path 'user%other.example@example.net.evil'
if wait_for 5 grep -q 'NOQUEUE: reject: RCPT from \[127\.0\.0\.1\]:[0-9]*: 554 5\.7\.1 .*Relay access denied; from=<a@b\.example> to=<x@elsewhere\.example> proto=ESMTP helo=<client\.test\.example>' "$T/sluice.log"; then
	ok reject-log-line
else
	bad reject-log-line "no Postfix-style NOQUEUE: reject line for x@elsewhere.example" "$T/sluice.log"
fi
[ "$(capture_count cap)" -eq 0 ] && ok nothing-relayed || bad nothing-relayed "backend got $(capture_count cap) messages"

for r in user@example.net USER@Example.NET u@sub.example.org u@a.b.example.org; do
	c="allowed-${r//[^a-zA-Z0-9.]/_}"
	if sw "$T/sw.$c" --to "$r"; then ok "$c"; else bad "$c" "rejected: $(first_error "$T/sw.$c")" "$T/sw.$c"; fi
done
finish
