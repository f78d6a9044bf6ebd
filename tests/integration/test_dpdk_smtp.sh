#!/bin/bash
# test_dpdk_smtp.sh - sluice with `transport dpdk` on an af_packet veth end relays swaks' mail to a capture backend.
#
# Topology (198.18.0.0/15 only, inside namespaces this test creates), lib_dpdk.sh's:
#   netns sl-dcPID: veth sdcPID 198.18.0.2/24 (swaks) and 198.18.0.3/24 (capture_backend.py :2525)
#        <->  netns sl-dgPID: veth sdgPID, no address: sluice's DPDK port 0 (net_af_packet), 198.18.0.1/24.
# The backend sits on the client's veth at a second address: one veth pair carries
# both legs (client -> sluice, sluice -> backend), and the Linux kernel is the TCP
# peer of our stack on each. The gateway end is alone in its namespace so no kernel
# stack answers for 198.18.0.1. Health checks run at the default interval,
# through the workers' own stack (test_dpdk_health.sh tests them).
# Then a second sluice on the same veth with two worker lcores and af_packet
# qpairs=2: the kernel's fan-out hash, not ours, picks each frame's queue, so
# the hand-over ring between the lcores is what keeps every session on one.
# After the deliveries of each of those two, sluicectl stats and metrics must show
# every worker's dataplane counters (packets, TCP, cycles, established client legs
# of sessions held open) and the metrics must be a valid exposition (prom_lint).
# Last, a third sluice on the same veth through net_af_xdp, where it starts.
# Everything is removed in the EXIT trap, whatever happens. Exit 0 PASS, 1 FAIL, 77 SKIP.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_dpdk.sh"
need_sluice
need_cmd swaks ethtool
dpdk_need_root

BK_PORT=2525
HOLD_PID=
dpdk_teardown() { [ -n "$HOLD_PID" ] && _kill_pid "$HOLD_PID"; return 0; }

# hold N sessions at their greeting (established client legs) until FLAG exists (bounded: 60 s); OUT says "held N"
hold_sessions() {
	local n=$1 flag=$2 out=$3
	ip netns exec "$NS_C" timeout 90 "$PY" - "$GW" "$n" "$flag" >"$out" 2>&1 <<'PY' &
import os, socket, sys, time
gw, n, flag = sys.argv[1], int(sys.argv[2]), sys.argv[3]
held = []
for i in range(n):
    s = socket.create_connection((gw, 25), timeout=10)
    assert s.recv(512).startswith(b"220")
    held.append(s)
print("held", len(held), flush=True)
for _ in range(600):
    if os.path.exists(flag):
        break
    time.sleep(0.1)
for s in held:
    s.sendall(b"QUIT\r\n")
    s.close()
PY
	HOLD_PID=$!
	track_pid "$HOLD_PID"
	wait_for 20 grep -q "^held $n" "$out"
}

# dp_check CASE SOCKET NWORKERS MIN_ESTABLISHED: after the deliveries, sluicectl --json stats has each
# worker's dataplane counters (and its session counters), the metrics have sluice_dataplane_* for every
# worker and are a valid exposition (prom_lint), and the table of sluicectl stats shows them.
dp_check() {
	local c=$1 sock=$2 nw=$3 est=$4 why
	timeout 10 "$SLUICECTL" -s "$sock" --json stats >"$T/$c.json" 2>&1
	timeout 10 "$SLUICECTL" -s "$sock" metrics >"$T/$c.prom" 2>&1
	timeout 10 "$SLUICECTL" -s "$sock" stats >"$T/$c.txt" 2>&1
	if ! why=$("$PY" - "$T/$c.json" "$T/$c.prom" "$nw" "$est" <<'PY'
import json, re, sys
st, prom = json.load(open(sys.argv[1])), open(sys.argv[2]).read()
nw, est = int(sys.argv[3]), int(sys.argv[4])
def die(m):
    print(m)
    sys.exit(1)
t = st.get("totals") or die("no totals")
tdp = t.get("dataplane") or die("no totals.dataplane")
ws = st.get("workers", [])
if len(ws) != nw:
    die("%d workers, want %d" % (len(ws), nw))
sum_rx = sum_est = sum_acc = 0
for w in ws:
    i = w.get("worker")
    dp = w.get("dataplane") or die("worker %s: no dataplane object" % i)
    if "accepted" not in w:
        die("worker %s: no session counters (accepted)" % i)
    if dp.get("rx_packets", 0) <= 0 or dp.get("tx_packets", 0) <= 0:
        die("worker %s: rx_packets %s tx_packets %s" % (i, dp.get("rx_packets"), dp.get("tx_packets")))
    for k in ("tcp_retransmits", "tcp_fast_retransmits", "tcp_syncookies_sent", "tcp_syncookies_accepted",
              "checksum_errors", "busy_percent", "lcore_id"):
        if not isinstance(dp.get(k), int):
            die("worker %s: no %s" % (i, k))
    if dp.get("busy_cycles", 0) <= 0 or dp.get("idle_cycles", 0) <= 0:
        die("worker %s: busy_cycles %s idle_cycles %s" % (i, dp.get("busy_cycles"), dp.get("idle_cycles")))
    for fam, key in (("net_drops", "tcp_csum"), ("tcp_drops", "no_conn"), ("tcp_connections", "established")):
        if not isinstance(dp.get(fam), dict) or not isinstance(dp[fam].get(key), int):
            die("worker %s: no %s.%s" % (i, fam, key))
    m = re.search(r'^sluice_dataplane_rx_packets_total\{worker="%s"\} (\d+)$' % i, prom, re.M)
    if not m or int(m.group(1)) <= 0:
        die('metrics: sluice_dataplane_rx_packets_total{worker="%s"}: %s' % (i, m and m.group(1)))
    if not re.search(r'^sluice_dataplane_tcp_connections\{worker="%s",state="established"\} \d+$' % i, prom, re.M):
        die('metrics: no sluice_dataplane_tcp_connections{worker="%s",state="established"}' % i)
    sum_rx += dp["rx_packets"]
    sum_est += dp["tcp_connections"]["established"]
    sum_acc += w["accepted"]
# totals are read before the workers in one reply: the workers' sum can only be as large or larger
if tdp.get("rx_packets", 0) <= 0 or sum_rx < tdp["rx_packets"]:
    die("totals rx_packets %s, workers' sum %d" % (tdp.get("rx_packets"), sum_rx))
if sum_acc < t.get("accepted", 0):
    die("workers accepted %d in all, totals %s" % (sum_acc, t.get("accepted")))
e = tdp["tcp_connections"]["established"]
if e < est or sum_est < est:
    die("established: totals %d, workers %d, want at least %d (the held sessions)" % (e, sum_est, est))
print("rx_packets %d, established %d, retransmits %d, busy %d%%" %
      (tdp["rx_packets"], e, tdp["tcp_retransmits"], tdp["busy_percent"]))
PY
	); then
		bad "$c" "$why" "$T/$c.json"
	elif [ ! -x "$PROM_LINT" ]; then
		bad "$c" "prom_lint not built ($PROM_LINT): the exposition is not checked"
	elif ! "$PROM_LINT" <"$T/$c.prom" >"$T/$c.lint" 2>&1; then
		bad "$c" "metrics are not a valid exposition: $(cat "$T/$c.lint")" "$T/$c.prom"
	elif ! grep -q '^dataplane:' "$T/$c.txt" || ! grep -q '^total ' "$T/$c.txt"; then
		bad "$c" "sluicectl stats prints no dataplane table" "$T/$c.txt"
	else
		log "$c: $why"
		ok "$c"
	fi
}

# established client legs in the totals, from sluicectl --json stats
dp_established() {
	timeout 10 "$SLUICECTL" -s "$1" --json stats 2>/dev/null | "$PY" -c \
		'import json,sys; print(json.load(sys.stdin)["totals"]["dataplane"]["tcp_connections"]["established"])' 2>/dev/null
}
dp_none_established() { [ "$(dp_established "$1")" = 0 ]; }

dpdk_ns_up
dpdk_cap_up "$BK_PORT"

# The port by its device's name here (every other dpdk test gives EAL's number;
# the af_xdp sluice below does too).
{
	DPDK_PORT=net_af_packet0 dpdk_conf smtp
	cat <<EOF
max_sessions  3
message_size_limit 20000000
relay_domains example.net .example.org
shutdown_grace 5s
EOF
	dpdk_conf_cap "$BK_PORT"
} >"$T/sluice.conf"
dpdk_check_conf "$T/sluice.conf"
# EAL words after `--` override the config's (here the same lcores: the log must show -l once)
dpdk_sluice "$T/sluice.conf" "$T/sluice.log" -- -l 0-1

# Ready when a TCP connection through our stack gets the 220 greeting (bounded: 30 s).
if ! dpdk_wait_greet; then
	bad start "sluice (transport dpdk) did not greet on $GW:25" "$T/sluice.log"
	finish
fi
ok start
if [ "$(grep -m1 'EAL arguments:' "$T/sluice.log" | grep -o -- ' -l ' | wc -l)" -eq 1 ]; then
	ok eal-override
else
	bad eal-override "EAL argv: $(grep -m1 'EAL arguments:' "$T/sluice.log")"
fi

# one message each, byte for byte at the backend, envelope intact (CAP_N counts them)
dpdk_deliver deliver-1k 1024

# A recipient outside relay_domains: 554 5.7.1, nothing relayed.
dpdk_swaks "$T/sw.denied" --to x@elsewhere.example
if grep -q '^<\*\* *554' "$T/sw.denied" && [ "$(capture_count cap)" -eq "$CAP_N" ]; then
	ok relay-denied-554
else
	bad relay-denied-554 "want 554 and no message at the backend: $(first_error "$T/sw.denied")" "$T/sw.denied"
fi

# Ten sessions in a row, each a message.
good=0
make_body "$T/b2000" 2000
for i in $(seq 10); do
	if dpdk_swaks "$T/sw.row$i" --data @"$T/b2000.send"; then good=$((good + 1)); fi
done
CAP_N=$((CAP_N + good))
if [ $good -eq 10 ] && wait_for 15 capture_has cap "$CAP_N" && [ "$(capture_count cap)" -eq "$CAP_N" ]; then
	ok ten-sessions
else
	bad ten-sessions "$good of 10 accepted, backend has $(capture_count cap) of $CAP_N" "$T/sluice.log"
	CAP_N=$(capture_count cap)
fi

dpdk_deliver deliver-1m 1048576
# past SL_TX_HIGH_WATER on the backend leg: the client's window is what slows it
dpdk_deliver deliver-5m 5242880
dpdk_deliver deliver-10m 10485760
dpdk_deliver pipeline-64k 65536 --pipeline

# sluicectl stats reads the dpdk transport's counters (the control socket is a unix socket: no namespace needed)
PROM_LINT=${PROM_LINT:-$(dirname "$SLUICE")/../tests/unit/ctlsock/prom_lint}
if [ -x "$SLUICECTL" ]; then
	dpdk_stats "$T/stats.json"
	acc=$(dpdk_jsum "$T/stats.json" accepted)
	if [ "${acc:--1}" -ge 14 ] 2>/dev/null; then ok sluicectl-stats
	else bad sluicectl-stats "total accepted '${acc:-}' after 14 sessions" "$T/stats.json"; fi
	# the dataplane's counters, with two client legs held open: at least two established
	if hold_sessions 2 "$T/hold1.flag" "$T/hold1.out"; then
		dp_check dataplane-stats "$T/control.sock" 1 2
	else
		bad dataplane-stats "could not hold 2 sessions" "$T/hold1.out"
	fi
	touch "$T/hold1.flag"
	wait "$HOLD_PID" 2>/dev/null
	HOLD_PID=
	# and none once they are gone (a health check's leg lives a few ms: waited out)
	if wait_for 10 dp_none_established "$T/control.sock"; then ok dataplane-established-0
	else bad dataplane-established-0 "established '$(dp_established "$T/control.sock")' after the held sessions left"; fi
else
	log "sluicectl not built: stats case not run"
fi

# max_sessions 3: three idle sessions hold every slot, the fourth gets 421 4.3.2 and is closed.
ip netns exec "$NS_C" timeout 20 "$PY" - "$GW" >"$T/busy.out" 2>&1 <<'PY'
import socket, sys, time
held = []
for i in range(3):
    s = socket.create_connection((sys.argv[1], 25), timeout=5)
    print("held", i, s.recv(512).decode().strip())
    held.append(s)
s = socket.create_connection((sys.argv[1], 25), timeout=5)
r = s.recv(512).decode()
print("fourth", r.strip())
end = s.recv(512)   # then the gateway closes
print("fourth closed", end == b"")
for h in held:
    h.close()
sys.exit(0 if r.startswith("421 4.3.2") and end == b"" else 1)
PY
if [ $? -eq 0 ]; then ok busy-421; else bad busy-421 "no 421 past max_sessions" "$T/busy.out"; fi
# the slots come back once those sessions end
if wait_for 10 dpdk_swaks "$T/sw.after-busy"; then
	CAP_N=$((CAP_N + 1))
	ok after-busy
else
	bad after-busy "no session after the idle ones closed: $(first_error "$T/sw.after-busy")" "$T/sw.after-busy"
fi

# SIGHUP: a reload on the control thread; the workers take the new generation and go on.
kill -HUP "$SL_PID"
sleep 1
if dpdk_swaks "$T/sw.hup" && grep -q 'SIGHUP: reloading' "$T/sluice.log"; then
	CAP_N=$((CAP_N + 1))
	ok sighup
else
	bad sighup "no message after SIGHUP: $(first_error "$T/sw.hup")" "$T/sw.hup" "$T/sluice.log"
fi

# Both legs over an impaired veth: 1% loss, reordering, 5 ms delay; 1 MB still arrives intact
# (needs sch_netem in the kernel; without it the case is logged and not run).
if ip netns exec "$NS_C" tc qdisc add dev "$IF_C" root netem loss 1% delay 5ms reorder 5% 2>"$T/tc.err"; then
	dpdk_deliver netem-1m 1048576
	ip netns exec "$NS_C" tc qdisc del dev "$IF_C" root 2>/dev/null
else
	log "netem unavailable ($(cat "$T/tc.err")): netem case not run"
fi

# SIGTERM with a transaction in flight: the message still completes (250) before
# the session ends, and sluice exits 0 within the grace period (5 s).
make_body "$T/bterm" 65536
ip netns exec "$NS_C" timeout 30 "$PY" - "$GW" "$T/bterm.stuffed" "$T/term.flag" >"$T/term.out" 2>&1 <<'PY' &
import os, socket, sys, time
gw, body, flag = sys.argv[1], open(sys.argv[2], "rb").read(), sys.argv[3]
s = socket.create_connection((gw, 25), timeout=10)
f = s.makefile("rb")
def reply():
    while True:
        l = f.readline().decode()
        print("<", l.strip(), flush=True)
        if len(l) < 4 or l[3] != "-":
            return l
assert reply().startswith("220")
for cmd, want in ((b"EHLO client.test.example", "250"), (b"MAIL FROM:<a@b.example>", "250"),
                  (b"RCPT TO:<user@example.net>", "250"), (b"DATA", "354")):
    s.sendall(cmd + b"\r\n")
    assert reply().startswith(want), cmd
s.sendall(body[:len(body) // 2])
open(flag, "w").close()              # the test sends SIGTERM now
time.sleep(1.5)
s.sendall(body[len(body) // 2:] + b".\r\n")   # the body is dot-stuffed and ends with CRLF
r = reply()
s.sendall(b"QUIT\r\n")
try:
    q = reply()
except Exception as e:
    q = "closed: %s" % e
print("end", r.strip(), "|", q.strip())
sys.exit(0 if r.startswith("250") else 1)
PY
TERM_CL=$!
wait_for 10 test -f "$T/term.flag"
kill -TERM "$SL_PID"
wait "$TERM_CL"
term_rc=$?
if [ $term_rc -eq 0 ] && wait_for 10 capture_has cap $((CAP_N + 1)) &&
	same_content "$T/bterm" "$T/cap/msg-$((CAP_N + 1)).eml" >/dev/null; then
	CAP_N=$((CAP_N + 1))
	ok sigterm-in-flight
else
	bad sigterm-in-flight "the transaction in flight did not complete (client exit $term_rc)" "$T/term.out" "$T/sluice.log"
fi
if wait_exit "$SL_PID" 15; then
	if [ "$WAIT_RC" -eq 0 ]; then ok sigterm; else bad sigterm "exit status $WAIT_RC" "$T/sluice.log"; fi
	SL_PID=
else
	bad sigterm "sluice still runs 15 s after SIGTERM" "$T/sluice.log"
fi
# The lcore writes no log itself: its records reach stderr through the
# control thread's ring, one disconnect line per session, rejections too.
if grep -q 'disconnect from \[198\.18\.0\.2\]:[0-9]* ehlo=1 mail=1 rcpt=1 data=1 quit=1' "$T/sluice.log" &&
	grep -q 'NOQUEUE: reject: RCPT from \[198\.18\.0\.2\]' "$T/sluice.log"; then
	ok log-lines
else
	bad log-lines "no session or rejection log lines from the lcore" "$T/sluice.log"
fi

# ---- two worker lcores: af_packet with two queue pairs fans frames out by the
# kernel's flow hash, not by our Toeplitz, so about half of each flow's frames
# (and of the backend replies) reach the other lcore first and are handed over.
# Three lcores on two CPUs: the main one (control) on CPU 0, both workers on CPU 1.
sed -e "s/-l 0-1 /--lcores=0@0,1@1,2@1 /" -e "s/sl_smtp_$$/sl_smtp2_$$/" -e "s/qdisc_bypass=1\"/qdisc_bypass=1,qpairs=2\"/" \
	-e "s/^max_sessions .*/max_sessions  50/" -e "s#control.sock#control2.sock#" "$T/sluice.conf" >"$T/sluice2.conf"
dpdk_sluice "$T/sluice2.conf" "$T/sluice2.log"
if ! dpdk_wait_greet || ! grep -q 'worker 1 on lcore 2' "$T/sluice2.log"; then
	bad two-workers-start "sluice with two workers did not greet on $GW:25" "$T/sluice2.log"
	finish
fi
ok two-workers-start
if grep -q 'net_af_packet0) started:.*2 queue pair(s), rss off: software flow steering' "$T/sluice2.log"; then
	ok two-workers-software-steered
else
	bad two-workers-software-steered "port line: $(grep -m1 'started:' "$T/sluice2.log")" "$T/sluice2.log"
fi

# 200 sessions, 10 at a time, each its own message (dot lines, long lines); the
# backend must hold each exactly once, byte for byte (found by its Message-Id).
mkdir -p "$T/w2"
n0=$(capture_count cap)
ip netns exec "$NS_C" timeout 300 "$PY" - "$GW" "$T/w2" 200 10 >"$T/w2.out" 2>&1 <<'PY'
import random, socket, sys, threading
gw, out, total, conc = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
def body(i):
    r = random.Random(i)
    ls = ["Subject: two workers %d" % i, "Message-Id: <w2-%d@client.test>" % i,
          "From: <a@b.example>", "To: <user@example.net>", ""]
    for k in range(r.randint(3, 60)):
        ls.append(".dot line %d" % k if k % 11 == 4 else
                  "".join(r.choice("abcdefghij KLMNOP0123456789=") for _ in range(r.choice([0, 1, 72, 300, 998]))))
    return ("\r\n".join(ls) + "\r\n").encode()
def session(i):
    b = body(i)
    open("%s/exp-%d.eml" % (out, i), "wb").write(b)
    s = socket.create_connection((gw, 25), timeout=60)
    f = s.makefile("rb")
    def reply():
        while True:
            l = f.readline().decode()
            if len(l) < 4 or l[3] != "-":
                return l
    assert reply().startswith("220")
    for cmd, want in ((b"EHLO client.test.example", "250"), (b"MAIL FROM:<a@b.example>", "250"),
                      (b"RCPT TO:<user@example.net>", "250"), (b"DATA", "354")):
        s.sendall(cmd + b"\r\n")
        r = reply()
        assert r.startswith(want), (cmd, r)
    s.sendall(b"".join(b"." + l if l.startswith(b".") else l for l in b.splitlines(True)) + b".\r\n")
    r = reply()
    assert r.startswith("250"), ("end of data", r)
    s.sendall(b"QUIT\r\n")
    assert reply().startswith("221")
    s.close()
lock, todo, fails = threading.Lock(), list(range(total)), []
def worker():
    while True:
        with lock:
            if not todo:
                return
            i = todo.pop(0)
        try:
            session(i)
        except Exception as e:
            with lock:
                fails.append((i, repr(e)))
ts = [threading.Thread(target=worker) for _ in range(conc)]
for t in ts:
    t.start()
for t in ts:
    t.join()
print("sessions %d, failed %d %s" % (total, len(fails), fails[:5]))
sys.exit(1 if fails else 0)
PY
w2_rc=$?
if [ $w2_rc -ne 0 ]; then
	bad two-workers-200 "client: $(tail -1 "$T/w2.out")" "$T/w2.out" "$T/sluice2.log"
elif ! wait_for 20 capture_has cap $((n0 + 200)); then
	bad two-workers-200 "250 for 200 messages, the backend has $(( $(capture_count cap) - n0 ))" "$T/sluice2.log"
elif why=$("$PY" - "$T/cap" "$T/w2" 200 <<'PY'
import glob, re, sys
cap, exp, total = sys.argv[1], sys.argv[2], int(sys.argv[3])
seen = {}
for p in glob.glob(cap + "/msg-*.eml"):
    got = open(p, "rb").read()
    m = re.search(rb"Message-Id: <w2-(\d+)@client\.test>", got)
    if not m:
        continue
    i = int(m.group(1))
    sent = open("%s/exp-%d.eml" % (exp, i), "rb").read()
    pre = got[:-len(sent)] if got.endswith(sent) else None
    if pre is None or not re.fullmatch(rb"([!-9;-~]+:[^\r\n]*\r\n([ \t][^\r\n]*\r\n)*)*", pre):
        print("message %d differs (%s)" % (i, p)); sys.exit(1)
    if i in seen:
        print("message %d twice (%s, %s)" % (i, seen[i], p)); sys.exit(1)
    seen[i] = p
if len(seen) != total:
    print("%d of %d messages at the backend" % (len(seen), total)); sys.exit(1)
PY
); then
	ok two-workers-200
else
	bad two-workers-200 "$why"
fi
CAP_N=$(capture_count cap)
dpdk_deliver two-workers-10m 10485760

if [ -x "$SLUICECTL" ]; then
	dpdk_stats "$T/stats2.json" "$T/control2.sock"
	acc=$(dpdk_jsum "$T/stats2.json" accepted)
	if [ "${acc:--1}" -ge 202 ] 2>/dev/null; then ok two-workers-stats
	else bad two-workers-stats "total accepted '${acc:-}' after 202 sessions" "$T/stats2.json"; fi
	# both workers carried sessions: each has its dataplane counters and samples in the metrics
	if hold_sessions 4 "$T/hold2.flag" "$T/hold2.out"; then
		dp_check two-workers-dataplane "$T/control2.sock" 2 4
	else
		bad two-workers-dataplane "could not hold 4 sessions" "$T/hold2.out"
	fi
	touch "$T/hold2.flag"
	wait "$HOLD_PID" 2>/dev/null
	HOLD_PID=
	if wait_for 10 dp_none_established "$T/control2.sock"; then ok two-workers-established-0
	else bad two-workers-established-0 "established '$(dp_established "$T/control2.sock")' after the held sessions left"; fi
fi

dpdk_sigterm two-workers-sigterm "$T/sluice2.log"
# Each worker's last line counts what it handed to the other lcore and took from it.
ho_ok=1
for w in 0 1; do
	line=$(grep -m1 "dpdk: worker $w on lcore [0-9]* stops:" "$T/sluice2.log")
	log "$line"
	out=$(echo "$line" | sed -n 's/.*handed over \([0-9]*\) to other lcores (\([0-9]*\) dropped.*, \([0-9]*\) from them.*/\1 \2 \3/p')
	set -- $out
	if [ $# -ne 3 ] || [ "$1" -eq 0 ] || [ "$3" -eq 0 ]; then ho_ok=0; fi
done
if [ $ho_ok -eq 1 ]; then ok two-workers-handed-over
else bad two-workers-handed-over "no hand-over counted on both workers" "$T/sluice2.log"; fi

# ---- af_xdp: the same veth end through net_af_xdp (an XDP socket: the kernel
# hands frames to our stack without a copy into a packet socket). The issue asks
# for it "where it starts": a kernel without AF_XDP, or without XDP on veth,
# makes the port fail to start, which is logged and not counted; a port that
# starts must carry mail like af_packet does.
sed -e "s/sl_smtp_$$/sl_smtpx_$$/" -e "s/--vdev=net_af_packet0,iface=$IF_G,qdisc_bypass=1/--vdev=net_af_xdp0,iface=$IF_G,start_queue=0,queue_count=1/" \
	-e "s/^\tport  net_af_packet0 /\tport  0 /" -e "s#control.sock#control3.sock#" "$T/sluice.conf" >"$T/sluice3.conf"
dpdk_sluice "$T/sluice3.conf" "$T/sluice3.log"
if dpdk_wait_greet; then
	ok af-xdp-start
	CAP_N=$(capture_count cap)
	dpdk_deliver af-xdp-1k 1024
	dpdk_deliver af-xdp-1m 1048576
	dpdk_sigterm af-xdp-sigterm "$T/sluice3.log"
elif ! grep -q 'net_af_xdp0) started:' "$T/sluice3.log"; then
	log "af_xdp did not start on this kernel (not counted): $(grep -m1 -i 'error\|fail' "$T/sluice3.log")"
	kill -TERM "$SL_PID" 2>/dev/null
	wait_exit "$SL_PID" 20
	SL_PID=
else
	bad af-xdp-start "the af_xdp port started but sluice did not greet on $GW:25" "$T/sluice3.log"
fi
finish
