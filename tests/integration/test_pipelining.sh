#!/bin/bash
# test_pipelining.sh - pipelining_enforce: a client that pipelines after HELO
# (no PIPELINING offered) or before the EHLO reply is rejected and nothing is
# relayed; pipelining after EHLO's PIPELINING is fine.
source "$(dirname "$0")/lib.sh"
need_sluice

SL_PORT=$(free_port); CAP=$(free_port)
start_capture cap "$CAP" || { bad start "capture backend did not start" "$T/cap.log"; finish; }
{ sluice_common; echo "backend cap 127.0.0.1:$CAP xclient off"; echo "pipelining_enforce on"; } >"$T/sluice.conf"
sluice_up "$T/sluice.conf"

TXN='MAIL FROM:<a@b.example>\r\nRCPT TO:<user@example.net>\r\nDATA\r\n'
BODY='Subject: pipelined\r\n\r\nx\r\n.\r\n'
rejected() { # case transcript
	if grep -q '^S: 5[0-9][0-9]' "$2" && [ "$(capture_count cap)" -eq 0 ]; then
		ok "$1"
	else
		bad "$1" "not rejected with 5xx, or the message was relayed ($(capture_count cap) at the backend)" "$2" "$T/sluice.log"
	fi
}
sc "$T/helo" --port "$SL_PORT" --timeout 10 '>HELO client.test\r\n' '<250' ">$TXN" '<' '<' '<' ">$BODY" '<' '>QUIT\r\n' '*'
rejected after-helo "$T/helo"
sc "$T/early" --port "$SL_PORT" --timeout 10 ">EHLO client.test\\r\\n$TXN" '<' '<' '<' '<' ">$BODY" '<' '>QUIT\r\n' '*'
rejected before-ehlo-reply "$T/early"

if sc "$T/good" --port "$SL_PORT" --src 127.0.0.41 '>EHLO client.test\r\n' '<250' ">$TXN" '<250' '<250' '<354' \
	">$BODY" '<250' '>QUIT\r\n' '<221' && grep -q '^S: 250[ -]PIPELINING' "$T/good" && wait_for 5 capture_has cap 1; then
	ok after-ehlo-pipelining
else
	bad after-ehlo-pipelining "pipelining after EHLO/PIPELINING failed" "$T/good" "$T/sluice.log"
fi
finish
