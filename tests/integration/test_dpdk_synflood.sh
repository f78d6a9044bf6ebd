#!/bin/bash
# test_dpdk_synflood.sh - a SYN flood (hping3) at sluice-dpdk does not stop real clients from being served: SYN cookies.
#
# Topology (198.18.0.0/15 only, inside namespaces this test creates and removes), lib_dpdk.sh's:
#   netns sl-dcPID: veth sdcPID with 198.18.0.2/24 (swaks, hping3) and 198.18.0.3/24
#        (capture_backend.py :2525)
#     <-> netns sl-dgPID: veth sdgPID, no kernel address: sluice `transport dpdk` on
#        net_af_packet, port 0 at 198.18.0.1/24.
# The flood's SYNs carry fixed spoofed sources 198.18.0.50-53 (inside the client's /24,
# owned by nobody): hping3 --rand-source is never used, it would pick any address. Our
# stack ARPs for the spoofed hosts and never hears back, so nobody RSTs its SYN-ACKs:
# every flood SYN holds a SYN-RCVD slot until its retransmissions give up (about a
# minute), the listener's SYN backlog (256) fills within the first few hundred SYNs,
# and from then on every SYN, the real clients' included, is answered with a cookie.
# So while the flood runs and for a minute after, a real session can only open through
# a valid SYN cookie. max_sessions 50 gives each worker the smallest TCB pool (256, as
# many as the SYN backlog): the flood must not be able to take every TCB, or the cookie
# ACKs of real clients find none (the stack keeps half-open connections to half the
# pool). Bounded: a fixed count of SYNs per sender and a timeout.
#
# Asserts: N swaks sessions started during the flood all get 250 and each message is at
# the backend byte for byte; every SYN-ACK those clients got carries a SYN cookie's
# timestamp bits (watched on the client's veth); sluice keeps running; `sluicectl --json stats` shows SYN
# cookies sent and accepted > 0 when it carries the TCP counters (it does not yet: the
# case then prints a note, and the served-through-a-full-backlog cases still must pass).
# Exit 0 PASS, 1 FAIL, 77 SKIP.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_dpdk.sh"
need_sluice
need_cmd swaks ethtool hping3
dpdk_need_root

CL=198.18.0.2
BK_PORT=2525
SPOOF=(198.18.0.50 198.18.0.51 198.18.0.52 198.18.0.53)
FLOOD_COUNT=${FLOOD_COUNT:-25000}     # SYNs per spoofed source
FLOOD_TIME=${FLOOD_TIME:-25}          # seconds at most per sender
N=${N:-10}                            # real sessions during the flood
SNIFF_PID=
FLOOD_PIDS=()
SW_PIDS=()

dpdk_teardown() {
	local p
	for p in "${FLOOD_PIDS[@]}"; do _kill_pid "$p"; done
	return 0
}

in_c() { ip netns exec "$NS_C" "$@"; }

# --- the namespaces and the veth pair (198.18.0.2 is $CL), the backend
dpdk_ns_up
dpdk_cap_up "$BK_PORT"

# --- sluice
{
	dpdk_conf sf
	cat <<EOF
max_sessions  ${MAX_SESSIONS:-50}
relay_domains example.net
shutdown_grace 5s
EOF
	dpdk_conf_cap "$BK_PORT"
} >"$T/sluice.conf"
dpdk_check_conf "$T/sluice.conf"
dpdk_sluice "$T/sluice.conf" "$T/sluice.log"
# a kernel TCP connection through our stack reads the 220 (4 s each try)
if ! dpdk_wait_greet "$SL_PID" 4; then
	bad start "sluice (transport dpdk) did not greet on $GW:25" "$T/sluice.log"
	finish
fi
ok start

dpdk_stats "$T/stats0.json"

# sniff OUT: watch the client's veth (AF_PACKET) for the handshakes with sluice; on
# SIGTERM write one line per SYN-ACK sluice sent to 198.18.0.2: "cookie PORT" when its
# TSval's low 5 bits carry what our SYN cookies encode there (bit 4 the client's
# SACK-permitted, bits 3..0 its window shift: tcp_cookie.c), else "plain PORT". A normal
# SYN-ACK matches by chance once in 32, so N sessions all "cookie" is the wire's proof
# that SYN cookies opened them.
sniff() {
	ip netns exec "$NS_C" "$PY" - "$IF_C" "$CL" "$GW" >"$1" 2>&1 <<'PY' &
import select, signal, socket, struct, sys
ifname, cl, gw = sys.argv[1], socket.inet_aton(sys.argv[2]), socket.inet_aton(sys.argv[3])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))   # ETH_P_ALL: outgoing SYNs too
# a classic BPF filter: only IPv4 frames from or to the client (the flood's are neither)
import ctypes
ip = struct.unpack("!I", cl)[0]
insns = [(0x28, 0, 0, 12), (0x15, 0, 5, 0x0800), (0x20, 0, 0, 26), (0x15, 2, 0, ip),
         (0x20, 0, 0, 30), (0x15, 0, 1, ip), (0x06, 0, 0, 65535), (0x06, 0, 0, 0)]
prog = ctypes.create_string_buffer(b"".join(struct.pack("HBBI", *i) for i in insns))
s.setsockopt(socket.SOL_SOCKET, 26, struct.pack("HL", len(insns), ctypes.addressof(prog)))  # SO_ATTACH_FILTER
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
s.bind((ifname, 0))
while select.select([s], [], [], 0)[0]:
    s.recv(65535)        # what queued before the filter
syns, out, stop = {}, [], False
def on_term(*a):
    global stop
    stop = True
signal.signal(signal.SIGTERM, on_term)
def opts(b):
    i, r = 0, {}
    while i < len(b):
        k = b[i]
        if k == 0: break
        if k == 1: i += 1; continue
        if i + 1 >= len(b) or b[i + 1] < 2: break
        r[k] = b[i + 2:i + b[i + 1]]; i += b[i + 1]
    return r
print("ready", flush=True)
while not stop:
    if not select.select([s], [], [], 0.2)[0]:
        continue
    f = s.recv(65535)
    if len(f) < 34 or f[12:14] != b"\x08\x00" or f[23] != 6:
        continue
    ihl = (f[14] & 15) * 4
    t = f[14 + ihl:]
    if len(t) < 20:
        continue
    sport, dport = struct.unpack("!HH", t[:4])
    fl, o = t[13], opts(t[20:(t[12] >> 4) * 4])
    src, dst = f[26:30], f[30:34]
    if src == cl and dst == gw and dport == 25 and fl & 0x12 == 0x02:
        ws = o[3][0] if 3 in o else 15
        syns[sport] = (0x10 if 4 in o else 0) | min(ws, 14 if ws != 15 else 15)
    elif src == gw and dst == cl and sport == 25 and fl & 0x12 == 0x12 and 8 in o:
        tsval = struct.unpack("!I", o[8][:4])[0]
        want = syns.get(dport)
        out.append("%s %d tsbits %#x want %s" % ("cookie" if want is not None and tsval & 0x1f == want else "plain", dport, tsval & 0x1f, "none" if want is None else hex(want)))
for l in out:
    print(l)
PY
	SNIFF_PID=$!
	track_pid "$SNIFF_PID"
	wait_for 5 grep -q ready "$1"
}

# --- one session before the flood: the path works at all
make_body "$T/body" 4096
send_one() { # OUT: one message from the client namespace
	dpdk_swaks "$1" --data @"$T/body.send"
}
sniff "$T/sniff.before"
send_one "$T/sw.before"
rc=$?
kill -TERM "$SNIFF_PID" 2>/dev/null
wait_exit "$SNIFF_PID" 5
# the control: without a flood the SYN-ACK is an ordinary one (its bits match a cookie's once in 32)
log "before the flood, SYN-ACKs: $(grep -c '^cookie ' "$T/sniff.before") cookie-like, $(grep -c '^plain ' "$T/sniff.before") plain"
if [ $rc -eq 0 ] && wait_for 15 capture_has cap 1; then
	ok before-flood
else
	bad before-flood "no message through sluice before the flood: $(first_error "$T/sw.before")" "$T/sw.before" "$T/sluice.log"
	finish
fi

# --- the flood: one hping3 per spoofed source, a fixed count each, bounded in time
for src in "${SPOOF[@]}"; do
	in_c timeout "$FLOOD_TIME" hping3 -q -S -p 25 -a "$src" --faster -c "$FLOOD_COUNT" "$GW" \
		>"$T/hping.$src.log" 2>&1 &
	FLOOD_PIDS+=($!)
done
tx0=$(ip netns exec "$NS_C" cat "/sys/class/net/$IF_C/statistics/tx_packets")
sleep 2   # the backlog fills within the first few hundred SYNs

# --- N real sessions while the flood goes on, four at a time
sniff "$T/sniff.out"
start=$(date +%s.%N)
for i in $(seq "$N"); do
	( send_one "$T/sw.flood$i"; echo $? >"$T/rc.flood$i" ) &
	SW_PIDS+=($!)
	if [ $((i % 4)) -eq 0 ] || [ "$i" -eq "$N" ]; then
		wait "${SW_PIDS[@]}"
		SW_PIDS=()
	fi
done
okn=$(cat "$T"/rc.flood* 2>/dev/null | grep -cx 0)
took=$("$PY" -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$start" "$(date +%s.%N)")
flood_alive=0
for p in "${FLOOD_PIDS[@]}"; do kill -0 "$p" 2>/dev/null && flood_alive=$((flood_alive + 1)); done
tx1=$(ip netns exec "$NS_C" cat "/sys/class/net/$IF_C/statistics/tx_packets")
log "$N sessions during the flood in ${took}s; $flood_alive of ${#SPOOF[@]} flooders still sending at the end; $((tx1 - tx0)) frames left the client veth meanwhile"
dpdk_stats "$T/stats1.json"
kill -TERM "$SNIFF_PID" 2>/dev/null
wait_exit "$SNIFF_PID" 5
for p in "${FLOOD_PIDS[@]}"; do wait "$p" 2>/dev/null; done
FLOOD_PIDS=()
tx2=$(ip netns exec "$NS_C" cat "/sys/class/net/$IF_C/statistics/tx_packets")
log "flood over: $((tx2 - tx0)) frames sent from the client namespace in all"

if [ $((tx1 - tx0)) -lt 1000 ]; then
	bad flood "only $((tx1 - tx0)) frames were sent while the sessions ran: no flood" "$T/hping.${SPOOF[0]}.log"
else
	ok flood
fi
if [ "$okn" -eq "$N" ]; then
	ok sessions-during-flood
else
	bad sessions-during-flood "$okn of $N swaks sessions got 250 during the flood" "$T/sw.flood1" "$T/sluice.log"
fi
# every message at the backend, byte for byte
want=$((N + 1))
wait_for 20 capture_has cap "$want"
got=$(capture_count cap)
badc=0
for f in "$T"/cap/msg-*.eml; do
	[ -f "$f" ] || continue
	same_content "$T/body" "$f" >"$T/same.out" || { badc=$((badc + 1)); cp "$T/same.out" "$T/same.bad"; }
done
if [ "$got" -eq "$want" ] && [ $badc -eq 0 ]; then
	ok delivered-intact
else
	bad delivered-intact "backend has $got of $want messages, $badc differ" "$T/same.bad"
fi
if kill -0 "$SL_PID" 2>/dev/null; then ok sluice-alive; else bad sluice-alive "sluice died under the flood" "$T/sluice.log"; fi

# --- the real sessions' SYN-ACKs, on the wire: every one a cookie
ncookie=$(grep -c '^cookie ' "$T/sniff.out")
nplain=$(grep -c '^plain ' "$T/sniff.out")
log "SYN-ACKs to the real clients during the flood: $ncookie with a SYN cookie's timestamp bits, $nplain without"
if [ "$ncookie" -ge "$N" ] && [ "$nplain" -eq 0 ]; then
	ok syncookies-on-the-wire
else
	bad syncookies-on-the-wire "want >= $N cookie SYN-ACKs and no other: $ncookie cookie, $nplain plain" "$T/sniff.out"
fi

# --- SYN cookie counters
sent=$(dpdk_jsum "$T/stats1.json" tcp_syncookies_sent)
acc=$(dpdk_jsum "$T/stats1.json" tcp_syncookies_accepted)
if [ ! -x "$SLUICECTL" ]; then
	bad syncookie-counters "sluicectl is not built: ${SLUICECTL#"$ROOT"/}"
elif [ -z "$sent" ] || [ -z "$acc" ]; then
	bad syncookie-counters "sluicectl --json stats has no tcp_syncookies_sent/tcp_syncookies_accepted" "$T/stats1.json"
elif [ "$sent" -gt 0 ] && [ "$acc" -gt 0 ]; then
	log "syncookies sent $sent, accepted $acc"
	ok syncookie-counters
else
	bad syncookie-counters "syncookies sent '$sent', accepted '$acc': want both > 0" "$T/stats1.json"
fi

# --- and after the flood, an ordinary session still works
if send_one "$T/sw.after" && wait_for 15 capture_has cap $((want + 1)); then
	ok after-flood
else
	bad after-flood "no message after the flood: $(first_error "$T/sw.after")" "$T/sw.after" "$T/sluice.log"
fi
finish
