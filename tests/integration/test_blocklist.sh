#!/bin/bash
# test_blocklist.sh - blocklisted sender / client address get 554, nothing is
# relayed; a clean client passes.
source "$(dirname "$0")/lib.sh"
need_sluice

SL_PORT=$(free_port); CAP=$(free_port)
start_capture cap "$CAP" || { bad start "capture backend did not start" "$T/cap.log"; finish; }
{
	sluice_common
	echo "backend cap 127.0.0.1:$CAP xclient off"
	echo "blocklist sender spam@bad.example"
	echo "blocklist ip 127.0.0.66/32"
	echo "blocklist domain .worse.example"
} >"$T/sluice.conf"
sluice_up "$T/sluice.conf"

blocked() { # case swaks-args...
	local c=$1
	shift
	if sw "$T/sw.$c" "$@"; then
		bad "$c" "message accepted" "$T/sw.$c"
	elif ! first_error "$T/sw.$c" | grep -q '^554'; then
		bad "$c" "expected 554, got: $(first_error "$T/sw.$c")" "$T/sw.$c" "$T/sluice.log"
	else
		ok "$c"
	fi
}
blocked sender --from spam@bad.example
blocked sender-case --from SPAM@Bad.Example
blocked sender-domain --from x@mail.worse.example
blocked client-ip -li 127.0.0.66
[ "$(capture_count cap)" -eq 0 ] && ok nothing-relayed || bad nothing-relayed "backend got $(capture_count cap) messages"
if sw "$T/sw.clean" -li 127.0.0.67 --from ham@good.example; then ok clean-client
else bad clean-client "a clean client was rejected: $(first_error "$T/sw.clean")" "$T/sw.clean"; fi
grep -q 'reject' "$T/sluice.log" && ok reject-logged || bad reject-logged "no reject line in the log" "$T/sluice.log"
finish
