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
[ "$(head -n1 "$T/peer/raw.out" 2>/dev/null)" = '{"ok":false,"error":"uid 65003 is not allowed on this socket"}' ] &&
	ok peer-refused-raw || bad peer-refused-raw "unexpected reply" "$T/peer/raw.out" "$T/allow-raw.err"
# and back: without the directive uid 65000 is refused again
cp "$T/sluice.conf.noallow" "$T/sluice.conf"
ctl reload >/dev/null 2>&1 || bad allow-reload "reload failed"
sleep 0.5
as 65000 65000 --clear-groups "$CTL" -s "$SOCK" status >/dev/null 2>&1 &&
	bad peer-allow-reloaded "uid 65000 still allowed after the reload" || ok peer-allow-reloaded

# ---- sessions list / kill: two clients held open in a transaction
# hold.py PORT HELO OUT [data] - MAIL (and with data, RCPT, DATA and a whole
# message), then OUT.ready; what comes next, to EOF, goes to OUT
cat >"$T/hold.py" <<'PYEOF'
import socket, sys, time
port, name, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
s = socket.create_connection(("127.0.0.1", port), 10)
s.settimeout(30)
f = s.makefile("rb")
def reply():
    while True:
        l = f.readline()
        if not l or l[3:4] != b"-":
            return l
reply()
s.sendall(b"EHLO " + name.encode() + b"\r\n"); reply()
s.sendall(b"MAIL FROM:<held@b.example>\r\n"); reply()
if len(sys.argv) > 4 and sys.argv[4] == "data":   # up to the end of a message
    for cmd in (b"RCPT TO:<user@example.net>", b"DATA"):
        s.sendall(cmd + b"\r\n"); reply()
    s.sendall(b"Subject: slow\r\n\r\nbody\r\n.\r\n")
open(out + ".ready", "w").write(str(s.getsockname()[1]))
rest = b""
try:
    while True:
        b = s.recv(4096)
        if not b:
            break
        rest += b
except OSError as e:
    rest += ("\nERROR %s" % e).encode()
open(out, "wb").write(rest)
PYEOF
"$PY" "$T/hold.py" "$SL_PORT" held1.example "$T/held1.out" & h1=$!; track_pid $h1
"$PY" "$T/hold.py" "$SL_PORT" held2.example "$T/held2.out" & h2=$!; track_pid $h2
wait_for 10 test -s "$T/held1.out.ready" && wait_for 10 test -s "$T/held2.out.ready" || bad sessions-hold "clients not in MAIL" "$T/sluice.log"
p1=$(cat "$T/held1.out.ready")
ctl --json sessions list >"$T/sess.json" 2>&1 &&
	json sessions-list "$T/sess.json" "r['complete'] and not r['truncated'] and r['missing_workers'] == [] and r['count'] == r['total'] >= 2 and any(x['client'] == '127.0.0.1:$p1' and x['stage'] == 'mail' and x['helo'] == 'held1.example' and x['sender'] == 'held@b.example' and x['worker'] in (0, 1) and x['age_ms'] >= 0 and x['backend'] in ('', 'cap') for x in r['sessions'])" ||
	bad sessions-list "list failed" "$T/sess.json"
ctl sessions >"$T/sess.out" 2>&1 && grep -q '^ID .*CLIENT.*STAGE' "$T/sess.out" &&
	grep -q "127.0.0.1:$p1 *mail .*held1.example *held@b.example" "$T/sess.out" && grep -q 'shown of' "$T/sess.out" &&
	ok sessions-human || bad sessions-human "no table row" "$T/sess.out"
ctl --json sessions list max 1 >"$T/sess1.json" 2>&1 &&
	json sessions-max "$T/sess1.json" "r['count'] == 1 and r['total'] >= 2 and r['truncated'] and r['max'] == 1"
ctl sessions list max 1 >"$T/sess1.out" 2>&1 && grep -q '^(truncated' "$T/sess1.out" && ok sessions-max-human ||
	bad sessions-max-human "no truncation line" "$T/sess1.out"
# bad_args CMD "ARGS|MESSAGE"... - each `sluicectl CMD ARGS` exits 1 and says MESSAGE
bad_args() {
	local cmd=$1 args a want
	shift
	for args in "$@"; do
		a=${args%%|*}; want=${args#*|}
		# shellcheck disable=SC2086
		if ctl $cmd $a >"$T/bad-args.out" 2>&1; then bad "$cmd-bad-args" "exit 0 for: $cmd $a"
		elif ! grep -qF "$want" "$T/bad-args.out"; then bad "$cmd-bad-args" "$cmd $a: want '$want'" "$T/bad-args.out"
		else ok "$cmd-bad-args:${a// /-}"; fi
	done
}
bad_args sessions "list max 0|bad max '0'" "list max 10001|bad max '10001'" "list max|usage: sessions" "kill|usage: sessions" \
	"kill zz|bad session id 'zz'" "kill 0x|bad session id '0x'" "frob|usage: sessions" "list now|usage: sessions"
ctl sessions kill 7fffffffffff0001 >"$T/kill-none.out" 2>&1 && bad sessions-kill-unknown "exit 0" ||
	{ grep -q 'no session 7fffffffffff0001' "$T/kill-none.out" && ok sessions-kill-unknown || bad sessions-kill-unknown "message" "$T/kill-none.out"; }
# the reply waits for the workers, yet requests pipelined behind it keep their order
printf 'sessions list max 5\nversion\nsessions kill 7fffffffffff0001\nstatus\n' | raw "$T/sess-pipe.out"
"$PY" - "$T/sess-pipe.out" <<'PYEOF' && ok sessions-pipelined || bad sessions-pipelined "replies out of order" "$T/sess-pipe.out"
import json, sys
r = [json.loads(l) for l in open(sys.argv[1])]
sys.exit(0 if len(r) == 4 and "sessions" in r[0] and r[1]["protocol"] == 1 and not r[2]["ok"] and "pid" in r[3] else 1)
PYEOF
id1=$("$PY" -c 'import json,sys; r=json.load(open(sys.argv[1])); print([x["id"] for x in r["sessions"] if x["client"].endswith(":"+sys.argv[2])][0])' "$T/sess.json" "$p1" 2>/dev/null)
ctl --json sessions kill "$id1" >"$T/kill.json" 2>&1 &&
	json sessions-kill "$T/kill.json" "r['result'] == 'closed' and r['session']['id'] == '$id1' and r['session']['helo'] == 'held1.example'" ||
	bad sessions-kill "kill failed" "$T/kill.json"
if wait_for 10 bash -c "! kill -0 $h1 2>/dev/null" && grep -q '^421 4.3.2 ' "$T/held1.out"; then
	ok sessions-kill-421
else
	bad sessions-kill-421 "the client did not get 421 4.3.2 and the close" "$T/held1.out" "$T/sluice.log"
fi
grep -q "session=$id1 closed by the operator" "$T/sluice.log" && ok sessions-kill-logged || bad sessions-kill-logged "no log line" "$T/sluice.log"
wait_for 5 bash -c "! grep -q '\"$id1\"' <(\"$CTL\" -s \"$SOCK\" --json sessions)" && ok sessions-kill-gone ||
	bad sessions-kill-gone "still listed" "$T/sluice.log"
ctl sessions kill "$id1" >/dev/null 2>&1 && bad sessions-kill-twice "exit 0" || ok sessions-kill-twice
id2=$("$PY" -c 'import json,sys; r=json.load(open(sys.argv[1])); print([x["id"] for x in r["sessions"] if x["helo"] == "held2.example"][0])' "$T/sess.json" 2>/dev/null)
ctl sessions kill "0x$id2" >"$T/kill2.out" 2>&1 && grep -q "session $id2 from 127.0.0.1:[0-9]*: closed (421 4.3.2)" "$T/kill2.out" &&
	ok sessions-kill-human || bad sessions-kill-human "kill failed" "$T/kill2.out"
wait_for 10 bash -c "! kill -0 $h2 2>/dev/null" || bad sessions-kill-human "second client still open" "$T/held2.out"
# a session killed between messages does not disturb the next ones
sw "$T/sw.after-kill" && ok relays-after-kill || bad relays-after-kill "message failed" "$T/sw.after-kill"

# kill while the end of a message is at the backend: the client gets the
# backend's 250 first, then the 421; the backend has the message once
cat >"$T/slow.py" <<'PYEOF'
import socket, sys, threading, time
port, out = int(sys.argv[1]), sys.argv[2]
def serve(c):
    f = c.makefile("rb")
    c.sendall(b"220 slow.example ESMTP\r\n")
    while True:
        l = f.readline()
        if not l:
            return
        v = l[:4].upper()
        if v in (b"EHLO", b"HELO"):
            c.sendall(b"250-slow.example\r\n250 8BITMIME\r\n")
        elif v == b"DATA":
            c.sendall(b"354 go\r\n")
            body = b""
            while not body.endswith(b"\r\n.\r\n"):
                b = f.readline()
                if not b:
                    return
                body += b
            time.sleep(2)   # the end of the message waits at the backend
            with open(out, "ab") as o:
                o.write(b"message\n")
            c.sendall(b"250 2.0.0 Ok: slow one\r\n")
        elif v == b"QUIT":
            c.sendall(b"221 bye\r\n")
            return
        else:
            c.sendall(b"250 ok\r\n")
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port)); s.listen(16)
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PYEOF
SLOW=$(free_port)
"$PY" "$T/slow.py" "$SLOW" "$T/slow.msgs" >"$T/slow.log" 2>&1 & track_pid $!
wait_listen "$SLOW" 10 || bad sessions-kill-after-message "slow backend did not start" "$T/slow.log"
cp "$T/sluice.conf" "$T/sluice.conf.noslow"
echo "backend slow 127.0.0.1:$SLOW xclient off" >>"$T/sluice.conf"
ctl reload >/dev/null 2>&1 && sleep 1.5 && ctl backends drain cap >/dev/null 2>&1 ||
	bad sessions-kill-after-message "reload/drain failed" "$T/sluice.log"
"$PY" "$T/hold.py" "$SL_PORT" dot.example "$T/dot.out" data & dp=$!; track_pid $dp
if wait_for 10 test -s "$T/dot.out.ready"; then
	dport=$(cat "$T/dot.out.ready")
	ctl --json sessions >"$T/dot-list.json" 2>&1
	did=$("$PY" -c 'import json,sys; r=json.load(open(sys.argv[1])); print([x["id"] for x in r["sessions"] if x["client"].endswith(":"+sys.argv[2])][0])' "$T/dot-list.json" "$dport" 2>/dev/null)
	ctl --json sessions kill "$did" >"$T/dot-kill.json" 2>&1 &&
		json sessions-kill-after-message "$T/dot-kill.json" "r['result'] == 'after_message' and r['session']['backend'] == 'slow'" ||
		bad sessions-kill-after-message "kill failed" "$T/dot-kill.json" "$T/dot-list.json"
	if wait_for 10 bash -c "! kill -0 $dp 2>/dev/null" && head -n1 "$T/dot.out" | grep -q '^250 2.0.0 Ok: slow one' &&
		sed -n 2p "$T/dot.out" | grep -q '^421 4.3.2 ' && [ "$(wc -l <"$T/slow.msgs")" = 1 ]; then
		ok sessions-kill-250-then-421
	else
		bad sessions-kill-250-then-421 "want the backend's 250, then 421, one message" "$T/dot.out" "$T/sluice.log"
	fi
else
	bad sessions-kill-after-message "client did not reach the end of DATA" "$T/sluice.log"
fi
cp "$T/sluice.conf.noslow" "$T/sluice.conf"
ctl backends enable cap >/dev/null 2>&1; ctl reload >/dev/null 2>&1 || bad sessions-kill-after-message "reload back failed"
sleep 1

# ---- limits set / del at run time
ctl --json limits set msg_rate ip 1000/hour burst 1 >"$T/lset.json" 2>&1 &&
	json limits-set-replace "$T/lset.json" "r['result'] == 'added' and r['limit']['burst'] == 1 and r['limit']['source'] == 'runtime'" ||
	bad limits-set-replace "set failed" "$T/lset.json"
ctl --json limits list >"$T/llist.json" 2>&1 &&
	json limits-list-runtime "$T/llist.json" "len(r['limits']) == 1 and r['limits'][0]['source'] == 'runtime' and r['limits'][0]['replaces_line'] > 0 and r['limits'][0]['burst'] == 1 and r['runtime'] == 1"
sw "$T/sw.l1" -li 127.0.0.88 || bad limits-set-enforced "first message refused: $(first_error "$T/sw.l1")" "$T/sw.l1"
if sw "$T/sw.l2" -li 127.0.0.88; then bad limits-set-enforced "second message accepted with burst 1" "$T/sw.l2"
elif first_error "$T/sw.l2" | grep -q '^450 4.7.1'; then ok limits-set-enforced
else bad limits-set-enforced "want 450 4.7.1, got: $(first_error "$T/sw.l2")" "$T/sw.l2"; fi
# a rule of a kind the file has none of: the workers get it with the new generation
ctl limits set rcpt_rate ip 1/hour burst 1 fail closed >"$T/lset2.out" 2>&1 && grep -q '^added limit rcpt_rate ip 1/3600s burst 1 fail closed' "$T/lset2.out" &&
	ok limits-set-add || bad limits-set-add "set failed" "$T/lset2.out"
ctl limits list >"$T/llist.out" 2>&1 && grep -q '^rcpt_rate .* runtime ' "$T/llist.out" && grep -q '^msg_rate .* runtime\* ' "$T/llist.out" &&
	ok limits-list-human || bad limits-list-human "no runtime rows" "$T/llist.out"
sw "$T/sw.r2" -li 127.0.0.89 --to user@example.net,other@example.net
grep -q 'RCPT TO:<user@example.net>' "$T/sw.r2" && first_error "$T/sw.r2" | grep -q '^450 4.7.1' &&
	ok limits-set-rcpt || bad limits-set-rcpt "no 450 4.7.1 for the second recipient" "$T/sw.r2"
# they survive a reload (as runtime block/allow entries do)
ctl reload >/dev/null 2>&1 || bad limits-reload "reload failed"
sleep 0.5
ctl --json limits list >"$T/llist2.json" 2>&1 &&
	json limits-survive-reload "$T/llist2.json" "r['runtime'] == 2 and sorted(x['kind'] for x in r['limits'] if x['source'] == 'runtime') == ['msg_rate', 'rcpt_rate']"
grep -q 'reload: 2 runtime limits laid over' "$T/sluice.log" && ok limits-reload-logged || bad limits-reload-logged "no log line" "$T/sluice.log"
ctl --json status >"$T/lstatus.json" 2>&1 && json limits-in-status "$T/lstatus.json" "r['runtime_limits'] == 2 and r['limits'] == 2"
if sw "$T/sw.l3" -li 127.0.0.88; then bad limits-enforced-after-reload "accepted" "$T/sw.l3"
else ok limits-enforced-after-reload; fi
# every option at once (17 words): fits the request's word bound
ctl --json limits set byte_rate net 50m/hour burst 100m fail closed prefix4 16 prefix6 48 reply 451 4.7.1 "bytes, slow down" >"$T/lset3.json" 2>&1 &&
	json limits-set-all-options "$T/lset3.json" "r['limit']['prefix4'] == 16 and r['limit']['prefix6'] == 48 and r['limit']['code'] == 451 and r['limit']['text'] == 'bytes, slow down' and r['limit']['burst'] == 100 * 2**20" ||
	bad limits-set-all-options "set failed" "$T/lset3.json"
ctl limits del byte_rate net hour prefix4 16 prefix6 48 >/dev/null 2>&1 && ok limits-del-with-prefixes || bad limits-del-with-prefixes "del failed"
bad_args limits "set msg_rate rcpt 10/hour|key 'rcpt' is not allowed for 'msg_rate'" "set msg_rate ip 0/hour|bad value '0/hour'" \
	"set|usage: limits set" "set msg_rate ip 10/hour fail maybe|expected open or closed" \
	"set msg_rate ip 10/hour reply 550 5.7.1 go|4xx code" "del conn_rate ip|no runtime rule conn_rate ip" \
	"del msg_rate ip 10/minute|no runtime rule msg_rate ip 10/minute" "frob|usage: limits list" "list x|usage: limits list"
ctl limits del rcpt_rate ip >"$T/ldel.out" 2>&1 && grep -q '^deleted limit rcpt_rate ip' "$T/ldel.out" && ok limits-del ||
	bad limits-del "del failed" "$T/ldel.out"
ctl --json limits del msg_rate ip hour >"$T/ldel2.json" 2>&1 && json limits-del-period "$T/ldel2.json" "r['result'] == 'deleted'"
ctl limits del msg_rate ip >"$T/ldel3.out" 2>&1 && bad limits-del-config "exit 0" ||
	{ grep -q 'sluice.conf line [0-9]*: edit it there' "$T/ldel3.out" && ok limits-del-config || bad limits-del-config "message" "$T/ldel3.out"; }
ctl --json limits list >"$T/llist3.json" 2>&1 &&
	json limits-back-to-file "$T/llist3.json" "r['runtime'] == 0 and len(r['limits']) == 1 and r['limits'][0]['source'] == 'config' and r['limits'][0]['burst'] == 100"
sw "$T/sw.l4" -li 127.0.0.88 && ok limits-del-enforced || bad limits-del-enforced "refused after the file's rule came back: $(first_error "$T/sw.l4")" "$T/sw.l4"

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
