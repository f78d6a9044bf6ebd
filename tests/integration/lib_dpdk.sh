# lib_dpdk.sh - the namespace topology the `transport dpdk` tests share; source after lib.sh.
#
#   netns $NS_C: veth $IF_C 198.18.0.2/24 (clients) and $BK/24 (backends)
#        <->  netns $NS_G: veth $IF_G, no kernel address: sluice's DPDK port, $GW/24.
#
# The gateway end is alone in its namespace so no kernel stack answers for
# $GW; Linux is the TCP peer of our stack on both legs. Names carry the
# test's PID, so two tests side by side never touch each other's.
#
# Sourcing this file sets the EXIT trap (in lib.sh's stead, which it still
# runs last, with the test's status): the test's own dpdk_teardown if it
# defines one, then sluice ($SL_PID) and the capture backend ($CAP_PID),
# which hold the af_packet socket and the addresses, then the namespaces.
# Besides: a config skeleton (dpdk_conf), sluice in the gateway namespace
# (dpdk_check_conf, dpdk_sluice, dpdk_wait_greet), swaks and a capture
# backend on the client side, one message checked byte for byte at the
# backend (dpdk_deliver), and a figure of sluicectl --json stats (dpdk_jsum).

NS_C=sl-dc$$
NS_G=sl-dg$$
IF_C=sdc$$
IF_G=sdg$$
GW=198.18.0.1
BK=198.18.0.3
SL_PID=
CAP_PID=
CAP_N=0   # messages the capture backend of $T/cap holds, as dpdk_deliver counts them

_dpdk_exit() {
	local rc=$?
	declare -F dpdk_teardown >/dev/null && dpdk_teardown
	[ -n "$SL_PID" ] && _kill_pid "$SL_PID"
	[ -n "$CAP_PID" ] && _kill_pid "$CAP_PID"
	dpdk_ns_cleanup
	(exit "$rc")
	_cleanup
}
trap _dpdk_exit EXIT

dpdk_need_root() {
	if [ "$(id -u)" != 0 ]; then
		echo "SKIP $TEST_NAME: needs root (namespaces, af_packet)"
		exit 77
	fi
}

# dpdk_ns_add NS... - new namespaces, IPv6 off, loopback up.
dpdk_ns_add() {
	local ns
	for ns in "$@"; do
		ip netns add "$ns" || return 1
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
		ip -n "$ns" link set lo up
	done
}

# dpdk_ns_client_addrs [ADDR...] - 198.18.0.2 (clients), $BK (backends) and
# the ADDRs, each a /24, on the client veth $IF_C.
dpdk_ns_client_addrs() {
	local a
	for a in 198.18.0.2 "$BK" "$@"; do
		ip -n "$NS_C" addr add "$a/24" dev "$IF_C" || return 1
	done
}

# dpdk_ns_setup [ADDR...] - the two namespaces and the veth pair between
# them, the ADDRs as more client-side addresses.
dpdk_ns_setup() {
	dpdk_ns_cleanup
	dpdk_ns_add "$NS_C" "$NS_G" &&
		ip link add "$IF_C" netns "$NS_C" type veth peer name "$IF_G" netns "$NS_G" &&
		dpdk_ns_client_addrs "$@" || return 1
	# Linux leaves TCP checksums to the (absent) hardware on a veth: fill them, and
	# segment before the wire, so af_packet hands our stack real MTU-sized frames.
	ip netns exec "$NS_C" ethtool -K "$IF_C" tx off tso off gso off >/dev/null 2>&1
	ip netns exec "$NS_G" ethtool -K "$IF_G" gro off >/dev/null 2>&1
	ip -n "$NS_C" link set "$IF_C" up && ip -n "$NS_G" link set "$IF_G" up
}

# dpdk_ns_up [ADDR...] - dpdk_ns_setup, or the case setup fails and the test finishes.
dpdk_ns_up() {
	dpdk_ns_setup "$@" && return 0
	bad setup "namespaces or veth pair"
	finish
}

dpdk_ns_cleanup() {
	ip netns del "$NS_C" 2>/dev/null   # deleting a namespace deletes its veth end, and so the pair
	ip netns del "$NS_G" 2>/dev/null
	ip link del "$IF_C" 2>/dev/null
	ip link del "$IF_G" 2>/dev/null
	return 0
}

# dpdk_greets PID [TIMEOUT_S] - a TCP connection from the client namespace
# through our stack gets the 220 greeting within TIMEOUT_S (2). 0 yes, 1 not
# yet, 2 PID is gone.
dpdk_greets() {
	local t=${2:-2}
	kill -0 "$1" 2>/dev/null || return 2
	ip netns exec "$NS_C" timeout $((t + 1)) "$PY" - "$GW" "$t" <<'PY' >/dev/null 2>&1
import socket, sys
s = socket.create_connection((sys.argv[1], 25), timeout=float(sys.argv[2]))
sys.exit(0 if s.recv(512).startswith(b"220") else 1)
PY
}

# dpdk_wait_greet [PID [TIMEOUT_S]] - until PID ($SL_PID) greets (30 tries a
# second apart, each of TIMEOUT_S as dpdk_greets) or exits.
dpdk_wait_greet() {
	local pid=${1:-$SL_PID}
	for _ in $(seq 30); do
		dpdk_greets "$pid" "${2:-2}"
		case $? in
		0) return 0 ;;
		2) return 1 ;;
		esac
		sleep 1
	done
	return 1
}

# dpdk_swaks OUT [swaks args...] - swaks from the client namespace to
# sluice-dpdk: --timeout DPDK_SWAKS_TIMEOUT (60 s), a minute more in all.
dpdk_swaks() {
	local out=$1 t=${DPDK_SWAKS_TIMEOUT:-60}
	shift
	ip netns exec "$NS_C" timeout $((t + 60)) swaks --server "$GW:25" --helo client.test.example \
		--from a@b.example --to user@example.net --timeout "$t" --suppress-data "$@" >"$out" 2>&1
}

# dpdk_capture_backend DIR PORT [ADDR] - capture_backend.py on ADDR ($BK):PORT
# in the client namespace (or DPDK_CAP_NS), writing messages to DIR and its
# output to DIR.log; sets CAP_PID (tracked). 0 once it listens.
dpdk_capture_backend() {
	local dir=$1 port=$2 addr=${3:-$BK}
	mkdir -p "$dir"
	ip netns exec "${DPDK_CAP_NS:-$NS_C}" "$PY" "$IT_DIR/capture_backend.py" --host "$addr" --port "$port" --dir "$dir" \
		>"$dir.log" 2>&1 &
	CAP_PID=$!
	track_pid "$CAP_PID"
	wait_for 15 dpdk_listens "$addr" "$port"
}
# dpdk_cap_up PORT - dpdk_capture_backend $T/cap PORT (on $BK), or the case
# start fails and the test finishes.
dpdk_cap_up() {
	dpdk_capture_backend "$T/cap" "$1" && return 0
	bad start "capture backend did not listen on $BK:$1" "$T/cap.log"
	finish
}
# dpdk_listens ADDR PORT - something listens on ADDR:PORT in the client
# namespace (or DPDK_CAP_NS).
dpdk_listens() { ip netns exec "${DPDK_CAP_NS:-$NS_C}" ss -Htln "sport = :$2" 2>/dev/null | grep -qF "$1:$2"; }

# dpdk_conf NAME - the start of a sluice config on this topology: `transport
# dpdk` on $GW:25, port ${DPDK_PORT:-0} (EAL's number, or the device's name:
# net_af_packet0) the af_packet end $IF_G (EAL on lcores 0-1,
# --file-prefix=sl_NAME_PID, memory words DPDK_EAL_MEM: 512 MB without
# hugepages by default), the TCP secret in $T/tcp.secret, greet_pause 0s,
# the control socket $T/control.sock.
# The test appends the rest (limits, relay_domains, timeouts, backends).
dpdk_conf() {
	cat <<EOF
hostname      mx.test.example
listen        $GW:25
transport     dpdk
dpdk {
	eal   "-l 0-1 ${DPDK_EAL_MEM:---no-huge -m 512} --no-pci --no-shconf --no-telemetry --file-prefix=sl_$1_$$ --vdev=net_af_packet0,iface=$IF_G,qdisc_bypass=1"
	port  ${DPDK_PORT:-0} address $GW/24
	mbufs 16383
	tcp_secret $T/tcp.secret
}
greet_pause   0s
control       $T/control.sock mode 0600
EOF
}

# dpdk_conf_cap PORT - config lines: the capture backend on $BK:PORT as the
# one backend, "cap", with the backend leg's timeouts of a clean wire.
dpdk_conf_cap() {
	cat <<EOF
backend_connect_timeout 3s
backend_reply_timeout 10s
backend_data_timeout 20s
backend       cap $BK:$1 xclient off
EOF
}

# dpdk_check_conf CONF - sluice -t accepts CONF, or the case config fails and the test finishes.
dpdk_check_conf() {
	timeout 10 "$SLUICE" -t -c "$1" >"$T/sluice-t.out" 2>&1 && return 0
	bad config "sluice -t rejected the config" "$T/sluice-t.out"
	finish
}

# dpdk_sluice CONF LOG [ARGS...] - sluice -c CONF [ARGS...] in the gateway
# namespace, stderr appended to LOG; sets SL_PID (tracked).
dpdk_sluice() {
	local conf=$1 slog=$2
	shift 2
	ip netns exec "$NS_G" "$SLUICE" -c "$conf" "$@" 2>>"$slog" &
	SL_PID=$!
	track_pid "$SL_PID"
}

# dpdk_sigterm CASE LOG [TIMEOUT_S] - SIGTERM to $SL_PID: ok CASE when it
# exits 0 within TIMEOUT_S (20), else bad CASE (LOG attached) and it is
# killed. SL_PID is cleared either way.
dpdk_sigterm() {
	kill -TERM "$SL_PID" 2>/dev/null
	if wait_exit "$SL_PID" "${3:-20}" && [ "$WAIT_RC" -eq 0 ]; then
		ok "$1"
	else
		bad "$1" "exit status $WAIT_RC" "$2"
		_kill_pid "$SL_PID"
	fi
	SL_PID=
}

# dpdk_deliver CASE SIZE [swaks args...] - a message of SIZE bytes (make_body
# $T/bSIZE) with dpdk_swaks (transcript $T/sw.CASE, a / in CASE as a .); the
# capture backend of $T/cap must then hold it byte for byte as its message
# CAP_N + 1, with swaks' envelope. ok or bad CASE (status 0 or 1); CAP_N
# follows what the backend holds.
dpdk_deliver() {
	local c=$1 size=$2 sw="$T/sw.${1//\//.}" t0 why
	shift 2
	[ -f "$T/b$size" ] || make_body "$T/b$size" "$size"
	t0=$(date +%s)
	if ! dpdk_swaks "$sw" --data @"$T/b$size.send" "$@"; then
		bad "$c" "swaks failed after $(($(date +%s) - t0)) s: $(first_error "$sw")" "$sw" "$T/sluice.log"
		CAP_N=$(capture_count cap)
		return 1
	fi
	CAP_N=$((CAP_N + 1))
	if ! wait_for 30 capture_has cap "$CAP_N"; then
		bad "$c" "sluice said 250 but the backend has $(capture_count cap) of $CAP_N messages" "$sw"
		CAP_N=$(capture_count cap)
	elif ! why=$(same_content "$T/b$size" "$T/cap/msg-$CAP_N.eml"); then
		bad "$c" "$why"
	elif ! grep -qx 'mail_from a@b.example' "$T/cap/msg-$CAP_N.env" ||
		! grep -qx 'rcpt user@example.net' "$T/cap/msg-$CAP_N.env"; then
		bad "$c" "wrong envelope at the backend" "$T/cap/msg-$CAP_N.env"
	else
		log "$c: $size bytes intact in $(($(date +%s) - t0)) s"
		ok "$c"
		return 0
	fi
	return 1
}

# dpdk_stats OUT [SOCK] - sluicectl --json stats of SOCK ($T/control.sock) into OUT.
dpdk_stats() {
	[ -x "$SLUICECTL" ] && timeout 10 "$SLUICECTL" -s "${2:-$T/control.sock}" --json stats >"$1" 2>&1
}

# dpdk_jsum FILE KEY - in a sluicectl --json stats reply: KEY of the totals,
# else the sum of KEY over the rest (the totals repeat the workers' figures);
# "" when no number has that name.
dpdk_jsum() {
	"$PY" - "$1" "$2" <<'PY' 2>/dev/null
import json, sys
found, total = False, 0
def walk(v):
    global found, total
    if isinstance(v, dict):
        for k, x in v.items():
            if k == sys.argv[2] and isinstance(x, (int, float)):
                found, total = True, total + x
            elif k != "totals":
                walk(x)
    elif isinstance(v, list):
        for x in v:
            walk(x)
try:
    j = json.load(open(sys.argv[1]))
    t = j.get("totals", {}) if isinstance(j, dict) else {}
    if isinstance(t.get(sys.argv[2]), (int, float)):
        found, total = True, t[sys.argv[2]]
    else:
        walk(j)
except Exception:
    pass
print(int(total) if found else "")
PY
}
