#!/bin/bash
# test_postfix_xclient.sh - sluice in front of a private Postfix with
# `xclient on`: Postfix sees the original client (address 127.0.0.7, its HELO),
# not sluice, and the message is relayed on intact.
source "$(dirname "$0")/lib.sh"
need_sluice
need_cmd postfix

SL_PORT=$(free_port); PF=$(free_port); CAP=$(free_port)
start_capture cap "$CAP" || { bad start "capture backend did not start" "$T/cap.log"; finish; }
start_postfix pf "$PF" "$CAP" || { bad start "private postfix did not start" "$T/pf/start.log" "$T/pf/maillog"; finish; }
{ sluice_common; echo "backend pf 127.0.0.1:$PF xclient on"; } >"$T/sluice.conf"
sluice_up "$T/sluice.conf"

make_body "$T/b" 20000
if ! sw "$T/sw.1" -li 127.0.0.7 --helo client.orig.test --data @"$T/b.send"; then
	bad relay "swaks failed: $(first_error "$T/sw.1")" "$T/sw.1" "$T/sluice.log" "$T/pf/maillog"
	finish
fi
ok relay
if wait_for 30 capture_has cap 1; then
	# Postfix prepends its Received: header; the rest must be what was sent.
	"$PY" - "$T/b" "$T/cap/msg-1.eml" <<'PY' && ok body || bad body "the body relayed by Postfix differs from what was sent"
import sys
sent, got = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read()
sys.exit(0 if got.endswith(sent) and got.startswith(b"Received: ") else 1)
PY
else
	bad body "Postfix did not relay the message on" "$T/pf/maillog"
fi
if wait_for 10 grep -q ': client=[^ ]*\[127\.0\.0\.7\]' "$T/pf/maillog"; then
	ok xclient-addr
else
	bad xclient-addr "Postfix logged no client=...[127.0.0.7]: XCLIENT ADDR not applied" "$T/pf/maillog"
fi
if [ -f "$T/cap/msg-1.eml" ] && grep -q '^Received: from client\.orig\.test ' "$T/cap/msg-1.eml"; then
	ok xclient-helo
else
	bad xclient-helo "Postfix's Received header does not name the client's HELO client.orig.test" "$T/cap/msg-1.eml"
fi
# Postfix restarts the dialog after a good XCLIENT (a longjmp), so it never
# counts it as a success: "xclient=0/1" is what an accepted XCLIENT looks
# like. A refused one is logged as an error reply, and ADDR would not apply.
if grep -q 'xclient=0/1 ' "$T/pf/maillog" && ! grep -qi 'xclient.*\(denied\|rejected\|5[0-9][0-9] \)' "$T/pf/maillog"; then
	ok xclient-accepted
else
	bad xclient-accepted "Postfix did not accept XCLIENT exactly (see its disconnect line)" "$T/pf/maillog"
fi
finish
