# lib.sh - shared helpers of the loopback integration tests (source it).
#
# Everything a test starts (smtp-sink, capture backend, private Postfix,
# sluice) is recorded by PID and killed in the EXIT trap; the temp dir is
# removed (set KEEP=1 to keep it for a post-mortem). Traffic stays on
# 127.0.0.0/8, every wait has a timeout, every load a count.
#
# Conventions: a test calls `ok CASE` / `bad CASE WHY` per case and `finish`
# at the end (exit 0 when nothing failed, 1 otherwise). `need_sluice` exits 77
# with a SKIP line when the daemon is not built; tests/run-all counts that as a
# failure.

set -u
export PATH=$PATH:/usr/sbin:/sbin    # smtp-sink, postfix, ss
IT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$IT_DIR/../.." && pwd)
SLUICE=${SLUICE:-$ROOT/build/dataplane/sluice}
# sluicectl of the same build; SLCTL is the name the dpdk tests once read, still honoured
SLUICECTL=${SLUICECTL:-${SLCTL:-$(dirname "$SLUICE")/../control/sluicectl}}
PY=/usr/bin/python3                  # Debian's python, which has aiosmtpd
TEST_NAME=${TEST_NAME:-$(basename "$0" .sh)}
TEST_NAME=${TEST_NAME#test_}

# Postfix's maillog_file must live under /var (maillog_file_prefixes).
T=$(mktemp -d /var/tmp/sluice-it.XXXXXX)
chmod 755 "$T"
: >"$T/ports"
_PIDS=()
declare -A _NAMED_PID=()   # backend name -> PID
_POSTFIX_DIRS=()
_FAILED=0
_PASSED=0

log() { echo "  [$TEST_NAME] $*" >&2; }

ok()  { echo "PASS $TEST_NAME/$1"; _PASSED=$((_PASSED + 1)); }
bad() {
	echo "FAIL $TEST_NAME/$1: $2"
	_FAILED=$((_FAILED + 1))
	shift 2
	local f
	for f in "$@"; do           # transcripts / logs that explain the failure
		[ -f "$f" ] || continue
		case $f in
		*.eml) echo "    --- $(basename "$f") (first 12 lines)"; head -n 12 "$f" | cut -c1-240 | sed 's/^/    | /' ;;
		*) echo "    --- $(basename "$f") (last 40 lines)"; tail -n 40 "$f" | cut -c1-240 | sed 's/^/    | /' ;;
		esac
	done
}
finish() {
	if [ "$_FAILED" -eq 0 ]; then
		echo "PASS $TEST_NAME ($_PASSED cases)"
		exit 0
	fi
	echo "FAIL $TEST_NAME: $_FAILED of $((_FAILED + _PASSED)) cases failed"
	exit 1
}
need_sluice() {
	if [ ! -x "$SLUICE" ]; then
		echo "SKIP $TEST_NAME: ${SLUICE#"$ROOT"/} is not built"
		exit 77
	fi
}
need_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || { echo "SKIP $TEST_NAME: $c not installed"; exit 77; }
	done
}

_kill_pid() {   # pid: TERM, up to 5 s, then KILL
	local pid=$1 i
	kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null
	for i in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}
_cleanup() {
	local rc=$? d i
	trap - EXIT
	for d in "${_POSTFIX_DIRS[@]}"; do
		timeout 20 postfix -c "$d/etc" stop >/dev/null 2>&1 ||
			timeout 10 postfix -c "$d/etc" abort >/dev/null 2>&1
		[ -f "$d/queue/pid/master.pid" ] && _kill_pid "$(tr -dc 0-9 <"$d/queue/pid/master.pid")"
	done
	for ((i = ${#_PIDS[@]} - 1; i >= 0; i--)); do
		_kill_pid "${_PIDS[$i]}"
	done
	if [ "${KEEP:-0}" = 1 ]; then
		echo "  [$TEST_NAME] kept $T" >&2
	else
		rm -rf "$T"
	fi
	exit "$rc"
}
trap _cleanup EXIT
trap 'exit 1' INT TERM HUP

track_pid() { _PIDS+=("$1"); }

# free_port - print a TCP port free on 127.0.0.1 and not yet handed out here.
free_port() {
	"$PY" - "$T/ports" <<'EOF'
import socket, sys
used = set(open(sys.argv[1]).read().split())
while True:
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = str(s.getsockname()[1]); s.close()
    if p not in used:
        break
open(sys.argv[1], "a").write(p + "\n"); print(p)
EOF
}

# wait_listen PORT [TIMEOUT_S [PID]] - until something listens on 127.0.0.1:PORT
# (checked with ss, so no session is opened); fails early if PID died.
wait_listen() {
	local port=$1 t=${2:-10} pid=${3:-} i
	for i in $(seq $((t * 10))); do
		ss -Htln "sport = :$port" 2>/dev/null | grep -q . && return 0
		if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
			return 1
		fi
		sleep 0.1
	done
	return 1
}

# wait_for TIMEOUT_S CMD... - poll CMD every 0.1 s until it succeeds.
wait_for() {
	local t=$1 i
	shift
	for i in $(seq $((t * 10))); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

# wait_exit PID TIMEOUT_S - wait for a child to exit; its status in WAIT_RC
# (255 when it did not exit in time).
wait_exit() {
	local pid=$1 t=$2 i
	WAIT_RC=255
	for i in $(seq $((t * 10))); do
		if ! kill -0 "$pid" 2>/dev/null; then
			wait "$pid" 2>/dev/null
			WAIT_RC=$?
			return 0
		fi
		sleep 0.1
	done
	return 1
}

count_files() { # DIR GLOB
	find "$1" -maxdepth 1 -name "$2" -type f 2>/dev/null | wc -l
}

# ---------------------------------------------------------------- smtp-sink
# start_sink NAME PORT [smtp-sink options...] - dumps each transaction into
# $T/NAME/m.<hex>; fault options: -f CMD (5xx), -r CMD (4xx), -q CMD (drop
# without reply), -Q CMD (421 and drop), -w SECS (delay DATA reply).
start_sink() {
	local name=$1 port=$2 pid
	shift 2
	mkdir -p "$T/$name"
	chown nobody "$T/$name"
	smtp-sink -u nobody -h "$name.sink.test" -d "$T/$name/m." "$@" "127.0.0.1:$port" 64 \
		>"$T/$name.log" 2>&1 &
	pid=$!
	track_pid "$pid"
	_NAMED_PID[$name]=$pid
	wait_listen "$port" 10 "$pid" || { log "smtp-sink $name did not start"; cat "$T/$name.log" >&2; return 1; }
}
sink_count() { count_files "$T/$1" 'm.*'; }
sink_has() { [ "$(sink_count "$1")" -ge "$2" ]; }   # NAME N: at least N dumps

stop_proc() { # NAME - stop a backend started here
	local pid=${_NAMED_PID[$1]:-}
	[ -n "$pid" ] && _kill_pid "$pid"
	return 0
}
kill9_proc() { # NAME - kill -9 a backend started here (a crash)
	local pid=${_NAMED_PID[$1]:-}
	[ -n "$pid" ] || return 0
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

# ---------------------------------------------------------- capture backend
# start_capture NAME PORT [--data-reply "451 ..."] - messages in
# $T/NAME/msg-N.eml (+ .env), raw connection bytes in $T/NAME/conn-N.raw.
start_capture() {
	local name=$1 port=$2 pid
	shift 2
	mkdir -p "$T/$name"
	"$PY" "$IT_DIR/capture_backend.py" --port "$port" --dir "$T/$name" "$@" \
		>"$T/$name.log" 2>&1 &
	pid=$!
	track_pid "$pid"
	_NAMED_PID[$name]=$pid
	wait_listen "$port" 15 "$pid" || { log "capture $name did not start"; cat "$T/$name.log" >&2; return 1; }
}
capture_count() { count_files "$T/$1" 'msg-*.eml'; }
capture_has() { [ "$(capture_count "$1")" -ge "$2" ]; }   # NAME N: at least N messages

# no_bare_crlf FILE... - every CR is followed by LF and every LF preceded by CR.
no_bare_crlf() {
	"$PY" - "$@" <<'EOF'
import re, sys
bad = 0
for f in sys.argv[1:]:
    b = open(f, "rb").read()
    for m in re.finditer(rb"\r(?!\n)|(?<!\r)\n", b):
        print("%s: bare %s at offset %d: %r" % (f, "CR" if m.group() == b"\r" else "LF",
              m.start(), b[max(0, m.start() - 20):m.start() + 20]))
        bad = 1
        break
sys.exit(bad)
EOF
}

# no_bare_crlf_new STATE FILE... - no_bare_crlf on the bytes added to each FILE
# since the last call with the same STATE file (per-case checks of conn-*.raw).
no_bare_crlf_new() {
	"$PY" - "$@" <<'EOF'
import json, os, re, sys
state, files = sys.argv[1], sys.argv[2:]
seen = json.load(open(state)) if os.path.exists(state) else {}
BARE = re.compile(rb"\r(?!\n)|(?<!\r)\n")
bad = 0
for f in files:
    b = open(f, "rb").read()
    start = max(0, seen.get(f, 0) - 1)        # one byte back: a CR at the old end
    m = BARE.search(b, start)                  # the lookbehind sees bytes before start
    if m:
        i = m.start()
        if not bad:
            print("%s: bare %s at offset %d: %r" % (f, "CR" if b[i:i + 1] == b"\r" else "LF", i, b[max(0, i - 30):i + 30]))
        bad = 1
    seen[f] = len(b)
json.dump(seen, open(state, "w"))
sys.exit(bad)
EOF
}

# make_body FILE SIZE - a CRLF message of about SIZE bytes with headers, lines
# of 0..998 characters, and lines made of or starting with dots. FILE is what
# the backend must receive; FILE.send is the same without the last CRLF, for
# `swaks --data @FILE.send` (swaks always appends CRLF . CRLF); FILE.stuffed is
# FILE dot-stuffed, for raw clients (they send it, then ".\r\n").
make_body() {
	"$PY" - "$1" "$2" <<'EOF'
import random, sys
path, size = sys.argv[1], int(sys.argv[2])
r = random.Random(size)
alpha = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 +-=/:;,()<>[]_!?"
out = ["Subject: sluice test body %d bytes" % size, "Message-Id: <body-%d@client.test>" % size,
       "From: <a@b.example>", "To: <user@example.net>", ""]
n = sum(len(l) + 2 for l in out)
specials = [".", "..", "...", ".dot at start", "..two dots", " . not a dot line", ".\t.", ""]
i = 0
while n < size:
    i += 1
    if i % 17 == 0:
        l = specials[(i // 17) % len(specials)]
    else:
        l = "".join(r.choice(alpha) for _ in range(r.choice([1, 10, 72, 76, 200, 998])))
    out.append(l)
    n += len(l) + 2
open(path, "wb").write(("\r\n".join(out) + "\r\n").encode())
open(path + ".send", "wb").write("\r\n".join(out).encode())
open(path + ".stuffed", "wb").write(("\r\n".join("." + l if l.startswith(".") else l for l in out) + "\r\n").encode())
EOF
}

# same_content SENT GOT - GOT is SENT, or SENT preceded only by header lines
# the gateway added (a Received: trace header, say). Prints why not.
same_content() {
	"$PY" - "$1" "$2" <<'EOF'
import re, sys
sent, got = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read()
if got == sent:
    sys.exit(0)
if got.endswith(sent):
    pre = got[:-len(sent)]
    if re.fullmatch(rb"([!-9;-~]+:[^\r\n]*\r\n([ \t][^\r\n]*\r\n)*)+", pre):
        print("note: gateway prepended %d bytes of headers: %r" % (len(pre), pre[:120]))
        sys.exit(0)
i = next((k for k in range(min(len(sent), len(got))) if sent[k] != got[k]), min(len(sent), len(got)))
print("differ: sent %d bytes, got %d; first difference at %d: sent %r got %r" %
      (len(sent), len(got), i, sent[max(0, i - 20):i + 20], got[max(0, i - 20):i + 20]))
sys.exit(1)
EOF
}

# ------------------------------------------------------------- private Postfix
# start_postfix NAME PORT RELAY_PORT - a Postfix instance of its own
# (config, queue, data dirs under $T/NAME) listening on 127.0.0.1:PORT,
# trusting XCLIENT from 127.0.0.0/8, relaying every message to
# 127.0.0.1:RELAY_PORT (a sink or capture backend), logging to $T/NAME/maillog.
# PF_SMTPD_OPTS="-o name=value ..." adds options to its smtpd listener (e.g.
# -o smtpd_upstream_proxy_protocol=haproxy).
start_postfix() {
	local name=$1 port=$2 relay=$3 d="$T/$1" i
	mkdir -p "$d/etc" "$d/queue" "$d/data"
	chown postfix "$d/data"
	cat >"$d/etc/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $d/queue
data_directory = $d/data
mail_owner = postfix
setgid_group = postdrop
myhostname = backend.test
mydomain = backend.test
myorigin = backend.test
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relay_domains =
relayhost = [127.0.0.1]:$relay
smtp_dns_support_level = disabled
smtpd_authorized_xclient_hosts = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_recipient_restrictions =
smtpd_client_restrictions =
message_size_limit = 20480000
maillog_file = $d/maillog
smtputf8_enable = no
local_header_rewrite_clients =
biff = no
alias_maps =
alias_database =
local_recipient_maps =
smtpd_banner = \$myhostname ESMTP backend-postfix
default_process_limit = 20
master_service_disable =
EOF
	cat >"$d/etc/master.cf" <<EOF
127.0.0.1:$port inet n - n - - smtpd ${PF_SMTPD_OPTS:-}
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
	_POSTFIX_DIRS+=("$d")
	if ! timeout 60 postfix -c "$d/etc" start >"$d/start.log" 2>&1; then
		log "postfix $name failed to start"
		cat "$d/start.log" >&2
		return 1
	fi
	wait_listen "$port" 20 || { log "postfix $name does not listen"; cat "$d/start.log" "$d/maillog" >&2 2>/dev/null; return 1; }
}
postfix_log() { cat "$T/$1/maillog" 2>/dev/null; }

# ------------------------------------------------------------------- sluice
SL_PORT=
sluice_common() {   # the lines every test config starts with
	cat <<EOF
hostname      mx.test.example
listen        127.0.0.1:$SL_PORT
transport     kernel
workers       2
relay_domains example.net .example.org
greet_pause   0s
shutdown_grace 5s
control       $T/control.sock mode 0600
health_check  interval 1s timeout 1s rise 1 fall 1
backend_connect_timeout 3s
backend_reply_timeout 10s
backend_data_timeout 20s
EOF
}

# start_sluice CONF [SETTLE_S] - check CONF with -t, start sluice in the
# background (stderr to $T/sluice.log), wait until it listens on $SL_PORT and
# then SETTLE_S (default 1) more, for the first health checks.
start_sluice() {
	local conf=$1 settle=${2:-1}
	if ! timeout 10 "$SLUICE" -t -c "$conf" >"$T/sluice-t.out" 2>&1; then
		log "sluice -t rejected $conf:"
		sed 's/^/    /' "$T/sluice-t.out" >&2
		return 1
	fi
	"$SLUICE" -c "$conf" 2>>"$T/sluice.log" &
	SL_PID=$!
	track_pid "$SL_PID"
	if ! wait_listen "$SL_PORT" 15 "$SL_PID"; then
		log "sluice did not listen on 127.0.0.1:$SL_PORT"
		tail -n 30 "$T/sluice.log" >&2
		return 1
	fi
	sleep "$settle"
}
sluice_log() { cat "$T/sluice.log" 2>/dev/null; }
# sluice_up CONF - start_sluice, or record the failure and finish the test.
sluice_up() {
	start_sluice "$@" && return 0
	bad start "sluice did not start with $(basename "$1")" "$T/sluice-t.out" "$T/sluice.log" "$1"
	finish
}

# ------------------------------------------------------------------ clients
# sw OUT [swaks args...] - swaks to sluice (or --server elsewhere), transcript
# in OUT, exit status of swaks (0: message accepted).
sw() {
	local out=$1
	shift
	timeout 120 swaks --server "127.0.0.1:$SL_PORT" --helo client.test.example \
		--from a@b.example --to user@example.net --timeout 60 --suppress-data "$@" >"$out" 2>&1
}
# first_error OUT - the first error reply ("<** CODE ...") in a swaks transcript.
first_error() { grep -m1 '^<\*\*' "$1" | sed 's/^<\*\* *//'; }

# sc OUT [smtpclient args/steps...] - the raw scripted client (smtpclient.py).
sc() {
	local out=$1
	shift
	timeout 120 "$PY" "$IT_DIR/smtpclient.py" "$@" >"$out" 2>&1
}
