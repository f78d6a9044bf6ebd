#!/bin/bash
# test_ctl_socket.sh - the control socket end to end: every command through
# sluicectl (tables and --json), bad and oversized requests on the raw socket,
# a peer uid that SO_PEERCRED refuses, runtime block/allow enforced on the
# next session and removed again, TTL expiry, a runtime entry kept across a
# reload, backend drain/enable, metrics over HTTP.
source "$(dirname "$0")/lib.sh"
need_sluice
CTL=${SLUICECTL:-$(dirname "$SLUICE")/../control/sluicectl}
[ -x "$CTL" ] || { echo "SKIP $TEST_NAME: sluicectl is not built"; exit 77; }

SL_PORT=$(free_port); CAP=$(free_port); MET=$(free_port)
SOCK=$T/control.sock
start_capture cap "$CAP" || { bad start "capture backend did not start" "$T/cap.log"; finish; }
{
	# mode 0666: the file lets anyone connect, so a refusal is SO_PEERCRED's doing
	sluice_common | sed "s|^control .*|control $SOCK mode 0666 owner root group 4242|"
	echo "backend cap 127.0.0.1:$CAP xclient off"
	echo "metrics 127.0.0.1:$MET"
	echo "blocklist ip 127.0.0.66/32"
	echo "limit msg_rate ip 1000/hour burst 100"
} >"$T/sluice.conf"
# a socket file left by a crash (nobody listening) is replaced at start-up
"$PY" -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$SOCK"
sluice_up "$T/sluice.conf"

ctl() { "$CTL" -s "$SOCK" "$@"; }
# json CASE FILE PYEXPR - the reply in FILE (one JSON line) satisfies PYEXPR on r
json() {
	"$PY" - "$2" "$3" <<'PYEOF' || { bad "$1" "reply does not satisfy: $3" "$2"; return 1; }
import json, sys
r = json.loads(open(sys.argv[1]).read())
sys.exit(0 if eval(sys.argv[2], {"r": r}) else 1)
PYEOF
	ok "$1"
}
# raw FILE - send stdin as is on the socket (then half-close), all replies to FILE
cat >"$T/raw.py" <<'PYEOF'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect(sys.argv[1])
data = sys.stdin.buffer.read()
try:
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
except OSError:
    pass
out = b""
try:
    while True:
        b = s.recv(65536)
        if not b:
            break
        out += b
except OSError as e:
    out += b"\nERROR " + str(e).encode()
open(sys.argv[2], "wb").write(out)
PYEOF
raw() { "$PY" "$T/raw.py" "$SOCK" "$1"; }

# ---- socket file
[ -S "$SOCK" ] && [ "$(stat -c %a "$SOCK")" = 666 ] && ok socket-mode ||
	bad socket-mode "no socket or wrong mode: $(stat -c %a "$SOCK" 2>&1)" "$T/sluice.log"
[ "$(stat -c %u:%g "$SOCK")" = 0:4242 ] && ok socket-owner ||
	bad socket-owner "want 0:4242, got $(stat -c %u:%g "$SOCK" 2>&1)" "$T/sluice.log"

# a second daemon on the same path does not steal the live socket
SL_PORT2=$(free_port)
sed "s|^listen .*|listen 127.0.0.1:$SL_PORT2|; /^metrics /d" "$T/sluice.conf" >"$T/second.conf"
"$SLUICE" -c "$T/second.conf" 2>"$T/second.log" &
second=$!
track_pid "$second"
wait_listen "$SL_PORT2" 15 "$second"
if grep -q 'control socket .*Address already in use' "$T/second.log" && "$CTL" -s "$SOCK" --json status 2>&1 | grep -q "\"pid\":$SL_PID,"; then
	ok live-socket-kept
else
	bad live-socket-kept "the second daemon took the socket" "$T/second.log"
fi
_kill_pid "$second"
[ -S "$SOCK" ] && ok live-socket-survives-second-exit || bad live-socket-survives-second-exit "socket file gone"

# ---- read-only commands, human and --json
ctl version >"$T/version.out" 2>&1 && grep -q 'control protocol 1' "$T/version.out" && ok version ||
	bad version "version failed" "$T/version.out"
ctl --json status >"$T/status.json" 2>&1 &&
	json status "$T/status.json" "r['ok'] and r['pid'] == $SL_PID and r['workers'] == 2 and r['config'].endswith('sluice.conf')"
ctl status >"$T/status.out" 2>&1 && grep -q "running, pid $SL_PID" "$T/status.out" && ok status-human ||
	bad status-human "no pid line" "$T/status.out"
ctl --json stats >"$T/stats.json" 2>&1 &&
	json stats "$T/stats.json" "r['ok'] and len(r['workers']) == 2 and r['store']['name'] == 'embedded'"
ctl stats >"$T/stats.out" 2>&1 && grep -q '^WORKER' "$T/stats.out" && ok stats-human || bad stats-human "no table" "$T/stats.out"
# the transport's counters: this very connection's sessions so far are counted
sw "$T/sw.count" >/dev/null 2>&1
ctl --json stats >"$T/stats2.json" 2>&1 &&
	json stats-totals "$T/stats2.json" "r['totals'] is not None and r['totals']['accepted'] >= 1"
ctl --json status >"$T/status2.json" 2>&1 &&
	json status-sessions "$T/status2.json" "r['sessions'] is not None"
ctl --json limits list >"$T/limits.json" 2>&1 &&
	json limits "$T/limits.json" "r['limits'][0]['kind'] == 'msg_rate' and r['limits'][0]['count'] == 1000"
ctl --json backends list >"$T/be.json" 2>&1 &&
	json backends-list "$T/be.json" "r['backends'][0]['name'] == 'cap' and r['backends'][0]['up'] and not r['backends'][0]['drained']"
ctl backends list >"$T/be.out" 2>&1 && grep -q '^cap .* up ' "$T/be.out" && ok backends-human || bad backends-human "no row for cap" "$T/be.out"
ctl --json help >"$T/help.json" 2>&1 && json help "$T/help.json" "any(c.startswith('block') for c in r['commands'])"
ctl -c "$T/sluice.conf" --json version >"$T/version-c.json" 2>&1 &&
	json socket-from-config "$T/version-c.json" "r['protocol'] == 1"

# ---- errors: exit status, messages
ctl frobnicate >"$T/unknown.out" 2>&1 && bad unknown-command "exit 0 for an unknown command" ||
	{ grep -q "unknown command 'frobnicate'" "$T/unknown.out" && ok unknown-command || bad unknown-command "message" "$T/unknown.out"; }
ctl block add ip 203.0.113.1/24 >"$T/hostbits.out" 2>&1 && bad bad-cidr "exit 0" ||
	{ grep -q 'host bits' "$T/hostbits.out" && ok bad-cidr || bad bad-cidr "message" "$T/hostbits.out"; }
ctl block add sender nobody >/dev/null 2>&1 && bad bad-sender "exit 0" || ok bad-sender
ctl block add ip 192.0.2.1 ttl soon >/dev/null 2>&1 && bad bad-ttl "exit 0" || ok bad-ttl
ctl block del ip 127.0.0.66 >"$T/delcfg.out" 2>&1 && bad del-config-entry "exit 0" ||
	{ grep -q 'sluice.conf line' "$T/delcfg.out" && ok del-config-entry || bad del-config-entry "message" "$T/delcfg.out"; }
"$CTL" -s "$T/nonexistent.sock" status >/dev/null 2>&1 && bad no-daemon "exit 0 without a socket" || ok no-daemon

printf 'status now\nblock add ip "open\nblock add ip a"b\n\nblock\nversion\n' | raw "$T/bad.out"
if [ "$(wc -l <"$T/bad.out")" -eq 5 ] && grep -q 'usage: status' "$T/bad.out" &&
	grep -q 'unterminated quoted string' "$T/bad.out" && grep -q 'quote in the middle' "$T/bad.out" &&
	grep -q 'usage: block add' "$T/bad.out" && tail -n1 "$T/bad.out" | grep -q '"protocol":1'; then
	ok bad-requests
else
	bad bad-requests "unexpected replies" "$T/bad.out"
fi
printf 'version' | raw "$T/noeol.out"
grep -q '"protocol":1' "$T/noeol.out" && ok request-without-newline || bad request-without-newline "no reply" "$T/noeol.out"
"$PY" -c 'import sys; sys.stdout.write("block add ip 192.0.2.1 reason \"" + "x" * 5000 + "\"\nversion\n")' | raw "$T/big.out"
if [ "$(wc -l <"$T/big.out")" -eq 1 ] && grep -q 'request longer than 4096 bytes' "$T/big.out"; then
	ok oversized-request
else
	bad oversized-request "want one error line and a close" "$T/big.out"
fi
kill -0 "$SL_PID" 2>/dev/null && ctl version >/dev/null 2>&1 && ok alive-after-bad-requests ||
	bad alive-after-bad-requests "sluice died" "$T/sluice.log"

# many clients at once, each with a few pipelined requests
"$PY" - "$SOCK" >"$T/many.out" 2>&1 <<'PYEOF'
import socket, sys
socks = []
for i in range(40):
    s = socket.socket(socket.AF_UNIX); s.settimeout(10); s.connect(sys.argv[1]); socks.append(s)
for s in socks:
    s.sendall(b"version\nstatus\nbackends list\n")
good = 0
for s in socks:
    f = s.makefile("rb")
    lines = [f.readline() for _ in range(3)]
    good += all(l.startswith(b'{"ok":true') for l in lines)
print(good)
PYEOF
[ "$(cat "$T/many.out")" = 40 ] && ok many-clients || bad many-clients "not every client got 3 replies" "$T/many.out"

# ---- a peer whose uid is not allowed (the file mode would let it in)
if id nobody >/dev/null 2>&1 && command -v setpriv >/dev/null; then
	setpriv --reuid=nobody --regid=nogroup --clear-groups "$CTL" -s "$SOCK" status >"$T/nobody.out" 2>&1
	rc=$?
	if [ $rc -ne 0 ] && grep -q 'uid [0-9]* is not allowed' "$T/nobody.out" && grep -q 'refused pid' "$T/sluice.log"; then
		ok peer-uid-refused
	else
		bad peer-uid-refused "exit $rc" "$T/nobody.out" "$T/sluice.log"
	fi
else
	bad peer-uid-refused "no nobody user or no setpriv"
fi
# control_allow, read from the running config at each connect (a reload
# changes who may come in): by uid, by primary gid, by a supplementary gid
as() { local u=$1 g=$2; shift 2; setpriv --reuid="$u" --regid="$g" "$@"; }
{ cat "$T/sluice.conf"; echo "control_allow uid 65000 gid 4243"; echo "control_allow gid 4244"; } >"$T/allow.conf"
cp "$T/sluice.conf" "$T/sluice.conf.noallow"
cp "$T/allow.conf" "$T/sluice.conf"
ctl reload >"$T/allow-reload.out" 2>&1 || bad allow-reload "reload failed" "$T/allow-reload.out"
sleep 0.5
as 65000 65000 --clear-groups "$CTL" -s "$SOCK" --json status >"$T/allow-uid.json" 2>&1 &&
	json peer-allowed-by-uid "$T/allow-uid.json" "r['ok'] and r['pid'] == $SL_PID" ||
	bad peer-allowed-by-uid "uid 65000 refused" "$T/allow-uid.json" "$T/sluice.log"
as 65001 4243 --clear-groups "$CTL" -s "$SOCK" --json version >"$T/allow-gid.json" 2>&1 &&
	json peer-allowed-by-gid "$T/allow-gid.json" "r['protocol'] == 1" ||
	bad peer-allowed-by-gid "primary gid 4243 refused" "$T/allow-gid.json" "$T/sluice.log"
as 65002 65002 --groups=100,4244 "$CTL" -s "$SOCK" --json version >"$T/allow-sgid.json" 2>&1 &&
	json peer-allowed-by-supplementary-gid "$T/allow-sgid.json" "r['protocol'] == 1" ||
	bad peer-allowed-by-supplementary-gid "supplementary gid 4244 refused" "$T/allow-sgid.json" "$T/sluice.log"
as 65003 65003 --groups=100,4245 "$CTL" -s "$SOCK" status >"$T/allow-no.out" 2>&1
rc=$?
if [ $rc -eq 1 ] && grep -q 'uid 65003 is not allowed on this socket' "$T/allow-no.out" &&
	grep -q 'refused pid [0-9]* uid 65003 gid 65003' "$T/sluice.log"; then
	ok peer-unlisted-refused
else
	bad peer-unlisted-refused "exit $rc" "$T/allow-no.out" "$T/sluice.log"
fi
# the raw protocol: one error line, then the close
mkdir -m 1777 "$T/peer"
as 65003 65003 --clear-groups "$PY" "$T/raw.py" "$SOCK" "$T/peer/raw.out" <<<"version" >"$T/allow-raw.err" 2>&1
[ "$(cat "$T/peer/raw.out" 2>/dev/null)" = '{"ok":false,"error":"uid 65003 is not allowed on this socket"}' ] &&
	ok peer-refused-raw || bad peer-refused-raw "unexpected reply" "$T/peer/raw.out" "$T/allow-raw.err"
# and back: without the directive uid 65000 is refused again
cp "$T/sluice.conf.noallow" "$T/sluice.conf"
ctl reload >/dev/null 2>&1 || bad allow-reload "reload failed"
sleep 0.5
as 65000 65000 --clear-groups "$CTL" -s "$SOCK" status >/dev/null 2>&1 &&
	bad peer-allow-reloaded "uid 65000 still allowed after the reload" || ok peer-allow-reloaded

# ---- runtime block: 554 on the next session, gone after del
if sw "$T/sw.pre" -li 127.0.0.77; then ok pre-block; else bad pre-block "clean client rejected" "$T/sw.pre"; fi
ctl block add 127.0.0.77/32 ttl 3600 reason "spam run" >"$T/add.out" 2>&1 && grep -q 'added block ip 127.0.0.77/32' "$T/add.out" &&
	ok block-add || bad block-add "add failed" "$T/add.out"
if sw "$T/sw.blocked" -li 127.0.0.77; then
	bad block-enforced "message accepted" "$T/sw.blocked" "$T/sluice.log"
elif first_error "$T/sw.blocked" | grep -q '^554.*spam run'; then
	ok block-enforced
else
	bad block-enforced "expected 554 with the reason, got: $(first_error "$T/sw.blocked")" "$T/sw.blocked"
fi
ctl --json block list ip >"$T/list.json" 2>&1 &&
	json block-list "$T/list.json" "any(e['value'] == '127.0.0.77/32' and e['source'] == 'runtime' and 3590 <= e['ttl'] <= 3600 and e['reason'] == 'spam run' for e in r['entries']) and any(e['source'] == 'config' for e in r['entries'])"
ctl --json block test ip 127.0.0.77 >"$T/test.json" 2>&1 && json block-test "$T/test.json" "r['result'] == 'blocked'"
ctl block add sender spam@bad.example >/dev/null 2>&1 || bad block-sender "add failed"
if sw "$T/sw.sender" --from Spam@Bad.Example; then bad block-sender "message accepted" "$T/sw.sender"
elif first_error "$T/sw.sender" | grep -q '^554'; then ok block-sender
else bad block-sender "got: $(first_error "$T/sw.sender")" "$T/sw.sender"; fi

# survives a reload (the config file is unchanged: both kinds of entries stay)
ctl reload >"$T/reload.out" 2>&1 && ok reload || bad reload "reload failed" "$T/reload.out"
sleep 1
if ! sw "$T/sw.after-reload" -li 127.0.0.77 && first_error "$T/sw.after-reload" | grep -q '^554'; then
	ok block-survives-reload
else
	bad block-survives-reload "runtime entry lost on reload" "$T/sw.after-reload" "$T/sluice.log"
fi
ctl --json status >"$T/status2.json" 2>&1 && json reload-counted "$T/status2.json" "r['reloads'] >= 1"
cp "$T/sluice.conf" "$T/sluice.conf.good"
echo "no_such_directive 1" >>"$T/sluice.conf"
ctl reload >"$T/badreload.out" 2>&1 && bad bad-reload "exit 0 for a broken file" ||
	{ grep -q 'sluice.conf:[0-9]*:' "$T/badreload.out" && ok bad-reload || bad bad-reload "no FILE:LINE" "$T/badreload.out"; }
cp "$T/sluice.conf.good" "$T/sluice.conf"

ctl block del 127.0.0.77 >/dev/null 2>&1 && ok block-del || bad block-del "del failed"
if sw "$T/sw.unblocked" -li 127.0.0.77; then ok block-removed; else bad block-removed "still rejected: $(first_error "$T/sw.unblocked")" "$T/sw.unblocked"; fi
ctl block del 127.0.0.77 >/dev/null 2>&1 && bad block-del-twice "exit 0" || ok block-del-twice

# allow beats block: a runtime allow for the config's blocked address
ctl allow add ip 127.0.0.66 >/dev/null 2>&1 || bad allow-add "add failed"
if sw "$T/sw.allowed" -li 127.0.0.66; then ok allow-beats-block; else bad allow-beats-block "rejected: $(first_error "$T/sw.allowed")" "$T/sw.allowed"; fi
ctl allow del ip 127.0.0.66 >/dev/null 2>&1 || bad allow-del "del failed"
if sw "$T/sw.reblocked" -li 127.0.0.66; then bad allow-del "still allowed" "$T/sw.reblocked"; else ok allow-del; fi

# ---- TTL expiry
ctl block add ip 127.0.0.78 ttl 2 >/dev/null 2>&1 || bad ttl-add "add failed"
if sw "$T/sw.ttl1" -li 127.0.0.78; then bad ttl-blocked "accepted while listed" "$T/sw.ttl1"; else ok ttl-blocked; fi
sleep 3.2
if sw "$T/sw.ttl2" -li 127.0.0.78; then ok ttl-expired; else bad ttl-expired "still rejected after the TTL: $(first_error "$T/sw.ttl2")" "$T/sw.ttl2" "$T/sluice.log"; fi

# ---- backends drain / enable
ctl backends drain cap >"$T/drain.out" 2>&1 && grep -q 'drained' "$T/drain.out" && ok drain || bad drain "drain failed" "$T/drain.out"
ctl --json backends list >"$T/be2.json" 2>&1 && json drain-listed "$T/be2.json" "r['backends'][0]['drained']"
if sw "$T/sw.drained"; then
	bad drained-451 "accepted with every backend drained" "$T/sw.drained"
elif first_error "$T/sw.drained" | grep -q '^451 4.4.1'; then
	ok drained-451
else
	bad drained-451 "expected 451 4.4.1, got: $(first_error "$T/sw.drained")" "$T/sw.drained"
fi
ctl backends drain nosuch >/dev/null 2>&1 && bad drain-unknown "exit 0" || ok drain-unknown
n0=$(capture_count cap)
ctl backends enable cap >/dev/null 2>&1 && ok enable || bad enable "enable failed"
if sw "$T/sw.enabled" && wait_for 5 capture_has cap $((n0 + 1)); then ok relays-again; else bad relays-again "no relay after enable" "$T/sw.enabled"; fi

# ---- metrics: HTTP and through the socket
if curl -s -m 5 -D "$T/met.hdr" "http://127.0.0.1:$MET/metrics" >"$T/met.txt"; then
	if grep -q '^sluice_up 1$' "$T/met.txt" && grep -q '^# TYPE sluice_backend_up gauge' "$T/met.txt" &&
		grep -q '^sluice_backend_up{backend="cap"} 1$' "$T/met.txt" &&
		grep -q '^sluice_backend_drained{backend="cap"} 0$' "$T/met.txt" &&
		grep -q '^sluice_list_entries{kind="ip"} 1$' "$T/met.txt" &&
		grep -q '^sluice_runtime_list_entries{list="block",kind="sender"} 1$' "$T/met.txt" &&
		grep -qi '^content-type: text/plain; version=0.0.4' "$T/met.hdr"; then
		ok metrics-http
	else
		bad metrics-http "missing lines" "$T/met.hdr" "$T/met.txt"
	fi
	"$PY" - "$T/met.txt" >"$T/met.check" 2>&1 <<'PYEOF' && ok metrics-format || bad metrics-format "bad exposition" "$T/met.check"
import re, sys
seen_type = set()
for line in open(sys.argv[1]):
    line = line.rstrip("\n")
    if line.startswith("# TYPE "):
        seen_type.add(line.split()[2]); continue
    if line.startswith("# HELP "):
        continue
    m = re.fullmatch(r'([a-z_]+)(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? ([0-9.e+-]+)', line)
    if not m or not m.group(1).startswith("sluice_") or m.group(1) not in seen_type:
        print("bad line:", line); sys.exit(1)
PYEOF
else
	bad metrics-http "curl failed" "$T/sluice.log"
fi
code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MET/other")
[ "$code" = 404 ] && ok metrics-404 || bad metrics-404 "got $code"
"$PY" -c 'import sys; sys.stdout.write("GET /metrics HTTP/1.0\r\nX: " + "y" * 9000 + "\r\n\r\n")' |
	timeout 5 "$PY" -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5)
try:
    s.sendall(sys.stdin.buffer.read())
except OSError:
    pass
print(s.recv(100).split(b"\r\n")[0].decode())' "$MET" >"$T/met.big" 2>&1
grep -q '^HTTP/1.0 431' "$T/met.big" && ok metrics-oversized || bad metrics-oversized "want 431" "$T/met.big"
ctl metrics >"$T/met.ctl" 2>&1 && grep -q '^sluice_up 1$' "$T/met.ctl" && ok metrics-sluicectl ||
	bad metrics-sluicectl "no sluice_up" "$T/met.ctl"

# ---- shutdown over the socket
ctl shutdown >"$T/shutdown.out" 2>&1 || bad shutdown "shutdown failed" "$T/shutdown.out"
if wait_for 15 bash -c "! kill -0 $SL_PID 2>/dev/null"; then
	wait "$SL_PID"; rc=$?
	[ "$rc" -eq 0 ] && ok shutdown || bad shutdown "sluice exited $rc" "$T/sluice.log"
	[ ! -e "$SOCK" ] && ok socket-removed || bad socket-removed "socket file left behind"
else
	bad shutdown "sluice still runs" "$T/sluice.log"
fi
finish
