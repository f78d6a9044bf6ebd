# lib_dpdk.sh - the namespace topology the `transport dpdk` tests share; source after lib.sh.
#
#   netns $NS_C: veth $IF_C 198.18.0.2/24 (clients) and $BK/24 (backends)
#        <->  netns $NS_G: veth $IF_G, no kernel address: sluice's DPDK port, $GW/24.
#
# The gateway end is alone in its namespace so no kernel stack answers for
# $GW; Linux is the TCP peer of our stack on both legs. Names carry the
# test's PID, so two tests side by side never touch each other's. The
# caller's EXIT trap calls dpdk_ns_cleanup (after killing what it started).

NS_C=sl-dc$$
NS_G=sl-dg$$
IF_C=sdc$$
IF_G=sdg$$
GW=198.18.0.1
BK=198.18.0.3

dpdk_need_root() {
	if [ "$(id -u)" != 0 ]; then
		echo "SKIP $TEST_NAME: needs root (namespaces, af_packet)"
		exit 77
	fi
}

# dpdk_ns_setup - the two namespaces and the veth pair between them.
dpdk_ns_setup() {
	dpdk_ns_cleanup
	ip netns add "$NS_C" && ip netns add "$NS_G" &&
		ip link add "$IF_C" netns "$NS_C" type veth peer name "$IF_G" netns "$NS_G" || return 1
	for ns in "$NS_C" "$NS_G"; do
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
		ip -n "$ns" link set lo up
	done
	ip -n "$NS_C" addr add 198.18.0.2/24 dev "$IF_C"
	ip -n "$NS_C" addr add "$BK/24" dev "$IF_C"
	# Linux leaves TCP checksums to the (absent) hardware on a veth: fill them, and
	# segment before the wire, so af_packet hands our stack real MTU-sized frames.
	ip netns exec "$NS_C" ethtool -K "$IF_C" tx off tso off gso off >/dev/null 2>&1
	ip netns exec "$NS_G" ethtool -K "$IF_G" gro off >/dev/null 2>&1
	ip -n "$NS_C" link set "$IF_C" up && ip -n "$NS_G" link set "$IF_G" up
}

dpdk_ns_cleanup() {
	ip netns del "$NS_C" 2>/dev/null   # deleting a namespace deletes its veth end, and so the pair
	ip netns del "$NS_G" 2>/dev/null
	ip link del "$IF_C" 2>/dev/null
	ip link del "$IF_G" 2>/dev/null
	return 0
}

# dpdk_greets PID - a TCP connection from the client namespace through our
# stack gets the 220 greeting. 0 yes, 1 not yet, 2 PID is gone.
dpdk_greets() {
	kill -0 "$1" 2>/dev/null || return 2
	ip netns exec "$NS_C" timeout 3 "$PY" - "$GW" <<'PY' >/dev/null 2>&1
import socket, sys
s = socket.create_connection((sys.argv[1], 25), timeout=2)
sys.exit(0 if s.recv(512).startswith(b"220") else 1)
PY
}

# dpdk_wait_greet PID - until it greets (bounded: 30 s) or exits.
dpdk_wait_greet() {
	for _ in $(seq 30); do
		dpdk_greets "$1"
		case $? in
		0) return 0 ;;
		2) return 1 ;;
		esac
		sleep 1
	done
	return 1
}

# dpdk_swaks OUT [swaks args...] - swaks from the client namespace to sluice-dpdk.
dpdk_swaks() {
	local out=$1
	shift
	ip netns exec "$NS_C" timeout 120 swaks --server "$GW:25" --helo client.test.example \
		--from a@b.example --to user@example.net --timeout 60 --suppress-data "$@" >"$out" 2>&1
}

# dpdk_capture_backend DIR PORT - capture_backend.py on $BK:PORT in the client
# namespace, writing messages to DIR; sets CAP_PID (tracked). 0 once it listens.
dpdk_capture_backend() {
	local dir=$1 port=$2
	mkdir -p "$dir"
	ip netns exec "$NS_C" "$PY" "$IT_DIR/capture_backend.py" --host "$BK" --port "$port" --dir "$dir" \
		>"$dir.log" 2>&1 &
	CAP_PID=$!
	track_pid "$CAP_PID"
	wait_for 15 _dpdk_listens "$port"
}
_dpdk_listens() { ip netns exec "$NS_C" ss -Htln "sport = :$1" 2>/dev/null | grep -q .; }
