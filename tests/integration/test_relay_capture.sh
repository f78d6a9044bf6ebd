#!/bin/bash
# test_relay_capture.sh - swaks (plain and --pipeline) through sluice to the
# capture backend: each message arrives once, byte for byte (1 KB .. 5 MB,
# with dot lines), with its envelope, and no bare CR/LF on the backend leg.
source "$(dirname "$0")/lib.sh"
need_sluice

SL_PORT=$(free_port); CAP=$(free_port)
start_capture cap "$CAP" || { bad start "capture backend did not start" "$T/cap.log"; finish; }
{ sluice_common; echo "backend cap 127.0.0.1:$CAP xclient off"; } >"$T/sluice.conf"
sluice_up "$T/sluice.conf"

n=0
for size in 1024 65536 1048576 5242880; do
	make_body "$T/b$size" "$size"
	for mode in plain pipeline; do
		c="$mode-$size"
		extra=(); [ $mode = pipeline ] && extra=(--pipeline)
		if ! sw "$T/sw.$c" --data @"$T/b$size.send" "${extra[@]}"; then
			bad "$c" "swaks failed: $(first_error "$T/sw.$c")" "$T/sw.$c" "$T/sluice.log"
			continue
		fi
		n=$((n + 1))
		if ! wait_for 10 capture_has cap "$n"; then
			bad "$c" "sluice said 250 but the backend has $(capture_count cap) of $n messages" "$T/sw.$c"
			n=$(capture_count cap)
		elif [ "$(capture_count cap)" -ne "$n" ]; then
			bad "$c" "backend has $(capture_count cap) messages, expected $n (duplicate?)"
			n=$(capture_count cap)
		elif ! why=$(same_content "$T/b$size" "$T/cap/msg-$n.eml"); then
			bad "$c" "$why"
		elif ! grep -qx 'mail_from a@b.example' "$T/cap/msg-$n.env" ||
			! grep -qx 'rcpt user@example.net' "$T/cap/msg-$n.env"; then
			bad "$c" "wrong envelope at the backend" "$T/cap/msg-$n.env"
		else
			[ -n "$why" ] && log "$c: $why"
			ok "$c"
		fi
	done
done

# Two recipients, one of them outside relay_domains: only the good one relayed.
if sw "$T/sw.rcpts" --to user@example.net,other@sub.example.org,x@elsewhere.example; then
	n=$((n + 1))
	if wait_for 10 capture_has cap "$n" && grep -qx 'rcpt user@example.net' "$T/cap/msg-$n.env" &&
		grep -qx 'rcpt other@sub.example.org' "$T/cap/msg-$n.env" &&
		! grep -q 'elsewhere' "$T/cap/msg-$n.env"; then
		ok two-recipients
	else
		bad two-recipients "envelope at the backend is wrong" "$T/cap/msg-$n.env" "$T/sw.rcpts"
	fi
else
	bad two-recipients "swaks failed: $(first_error "$T/sw.rcpts")" "$T/sw.rcpts"
fi

if no_bare_crlf "$T"/cap/conn-*.raw >"$T/bare.out"; then ok no-bare-crlf-backend-leg
else bad no-bare-crlf-backend-leg "$(head -1 "$T/bare.out")"; fi

if grep -q 'disconnect from \[127.0.0.1\]:[0-9]* ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5' "$T/sluice.log"; then
	ok log-disconnect-line
else
	bad log-disconnect-line "no 'disconnect from [127.0.0.1]:PORT ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5' line" "$T/sluice.log"
fi
finish
