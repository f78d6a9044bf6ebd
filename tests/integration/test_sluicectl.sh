#!/bin/bash
# test_sluicectl.sh - sluicectl status / reload / shutdown / check against a
# running daemon, reached on the control socket named in its config (-c).
# test_ctl_socket.sh covers the other commands.
source "$(dirname "$0")/lib.sh"
need_sluice
CTL=$SLUICECTL
[ -x "$CTL" ] || { echo "SKIP $TEST_NAME: sluicectl is not built"; exit 77; }

SL_PORT=$(free_port); CAP=$(free_port)
start_capture cap "$CAP" || { bad start "capture backend did not start" "$T/cap.log"; finish; }
{ sluice_common; echo "backend cap 127.0.0.1:$CAP xclient off"; echo "pid_file $T/sluice.pid"; } >"$T/sluice.conf"
sluice_up "$T/sluice.conf"
wait_for 5 test -s "$T/sluice.pid" || bad pid-file "no pid file written" "$T/sluice.log"

"$CTL" -c "$T/sluice.conf" check >"$T/ctl.check" 2>&1 && ok check || bad check "check failed" "$T/ctl.check"
"$CTL" -c "$T/sluice.conf" status >"$T/ctl.status" 2>&1 && grep -q "running, pid $SL_PID" "$T/ctl.status" &&
	ok status || bad status "status did not find the daemon" "$T/ctl.status"

# usage and exit status 2, the commands of issue 4 in the help
"$CTL" >"$T/ctl.usage" 2>&1; rc=$?
[ $rc -eq 2 ] && grep -q 'sessions kill ID' "$T/ctl.usage" && grep -q 'limits set KIND KEY' "$T/ctl.usage" &&
	ok usage || bad usage "exit $rc" "$T/ctl.usage"
"$CTL" -c "$T/sluice.conf" --json help >"$T/ctl.help" 2>&1 && grep -q 'sessions \[list' "$T/ctl.help" && grep -q 'limits set' "$T/ctl.help" &&
	ok help-lists-new-commands || bad help-lists-new-commands "no sessions/limits set" "$T/ctl.help"
# sessions and limits through -c: tables, --json, errors exit 1
"$CTL" -c "$T/sluice.conf" sessions >"$T/ctl.sessions" 2>&1 && grep -q '^ID ' "$T/ctl.sessions" && grep -q '(0 shown of 0 live)' "$T/ctl.sessions" &&
	ok sessions-empty || bad sessions-empty "no empty table" "$T/ctl.sessions"
"$CTL" -c "$T/sluice.conf" sessions kill 123abc >"$T/ctl.kill" 2>&1; rc=$?
[ $rc -eq 1 ] && grep -q 'no session 123abc' "$T/ctl.kill" && ok sessions-kill-missing || bad sessions-kill-missing "exit $rc" "$T/ctl.kill"
"$CTL" -c "$T/sluice.conf" --json limits set conn_rate ip 100/minute burst 10 >"$T/ctl.lset" 2>&1 &&
	grep -q '"result":"added"' "$T/ctl.lset" && ok limits-set || bad limits-set "set failed" "$T/ctl.lset"
"$CTL" -c "$T/sluice.conf" limits list >"$T/ctl.llist" 2>&1 && grep -q '^conn_rate .* runtime ' "$T/ctl.llist" &&
	ok limits-list || bad limits-list "no runtime row" "$T/ctl.llist"
"$CTL" -c "$T/sluice.conf" limits set conn_rate sender 1/hour >"$T/ctl.lbad" 2>&1; rc=$?
[ $rc -eq 1 ] && grep -q "key 'sender' is not allowed" "$T/ctl.lbad" && ok limits-set-bad || bad limits-set-bad "exit $rc" "$T/ctl.lbad"
"$CTL" -c "$T/sluice.conf" limits del conn_rate ip >"$T/ctl.ldel" 2>&1 && grep -q '^deleted limit conn_rate ip' "$T/ctl.ldel" &&
	ok limits-del || bad limits-del "del failed" "$T/ctl.ldel"

echo "blocklist rcpt blocked@example.net" >>"$T/sluice.conf"
"$CTL" -c "$T/sluice.conf" reload >"$T/ctl.reload" 2>&1 || bad reload "reload failed" "$T/ctl.reload"
sleep 1.5
if sw "$T/sw.blocked" --to blocked@example.net; then
	bad reload "the reloaded blocklist did not apply" "$T/sw.blocked" "$T/sluice.log"
elif first_error "$T/sw.blocked" | grep -q '^554'; then
	ok reload
else
	bad reload "expected 554, got: $(first_error "$T/sw.blocked")" "$T/sw.blocked"
fi
sw "$T/sw.ok" && ok still-relays || bad still-relays "a normal message failed after reload" "$T/sw.ok"

"$CTL" -c "$T/sluice.conf" shutdown >"$T/ctl.shutdown" 2>&1 || bad shutdown "shutdown failed" "$T/ctl.shutdown"
if wait_for 10 bash -c "! kill -0 $SL_PID 2>/dev/null"; then
	wait "$SL_PID"; rc=$?
	[ "$rc" -eq 0 ] && ok shutdown-exit-0 || bad shutdown-exit-0 "sluice exited $rc" "$T/sluice.log"
	[ ! -e "$T/sluice.pid" ] && ok pid-file-removed || bad pid-file-removed "pid file left behind"
else
	bad shutdown "sluice still runs after sluicectl shutdown" "$T/sluice.log"
fi
"$CTL" -c "$T/sluice.conf" status >/dev/null 2>&1 && bad status-after "status says running after shutdown" || ok status-after
"$CTL" -s /nonexistent/control.sock status >/dev/null 2>&1 && bad bad-socket "status succeeded with no socket" || ok bad-socket
finish
