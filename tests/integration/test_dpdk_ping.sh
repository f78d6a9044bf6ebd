#!/bin/bash
# test_dpdk_ping.sh - the DPDK dataplane on an af_packet veth end answers ARP and ping from Linux in a namespace.
#
# Topology (198.18.0.0/15 only, inside namespaces this test creates), lib_dpdk.sh's:
#   netns sl-dcPID: veth sdcPID 198.18.0.2/24  <->  netns sl-dgPID: veth sdgPID, no address,
#   attached by dpdk_pingd (EAL --vdev=net_af_packet0,iface=sdgPID --no-huge) as 198.18.0.1/24.
# The gateway end sits in a namespace of its own so no kernel stack answers or forwards for it.
# Everything is removed in the EXIT trap, whatever happens. Exit 0 PASS, 1 FAIL, 77 SKIP.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_dpdk.sh"
BUILD=${BUILD:-$(dirname "$SLUICE")/..}
PINGD=${PINGD:-$BUILD/tests/unit/dpdk/dpdk_pingd}
SECONDS_UP=${SECONDS_UP:-20}
PID=

# ping -c N -W 2 ADDR [SIZE] from the client namespace. Debian's iputils-ping when
# installed; else the same exchange over a raw ICMP socket in python3, so the test
# does not depend on one more package.
cping() {
	local n=$1 addr=$2 size=${3:-56}
	if command -v ping >/dev/null; then
		ip netns exec "$NS_C" ping -c "$n" -W 2 -i 0.2 -s "$size" "$addr"
		return
	fi
	ip netns exec "$NS_C" python3 - "$n" "$addr" "$size" <<'PY'
import os, select, socket, struct, sys, time
n, addr, size = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
def csum(b):
    if len(b) % 2: b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
ident, got = os.getpid() & 0xffff, 0
for seq in range(1, n + 1):
    data = bytes((i & 0xff) for i in range(size))
    h = struct.pack('!BBHHH', 8, 0, 0, ident, seq)
    s.sendto(struct.pack('!BBHHH', 8, 0, csum(h + data), ident, seq) + data, (addr, 0))
    end = time.time() + 2
    while time.time() < end:
        r, _, _ = select.select([s], [], [], end - time.time())
        if not r: break
        pkt, _ = s.recvfrom(65535)
        icmp = pkt[(pkt[0] & 15) * 4:]
        t, _, _, i, q = struct.unpack('!BBHHH', icmp[:8])
        if t == 0 and i == ident and q == seq and icmp[8:] == data:
            got += 1
            print('%d bytes from %s: icmp_seq=%d' % (len(icmp), addr, seq))
            break
    time.sleep(0.2)
print('%d packets transmitted, %d received' % (n, got))
sys.exit(0 if got == n else 1)
PY
}

# the responder first: it holds the af_packet socket
dpdk_teardown() { [ -n "$PID" ] && _kill_pid "$PID"; return 0; }

if [ ! -x "$PINGD" ]; then
	echo "SKIP $TEST_NAME: ${PINGD#"$ROOT"/} is not built"
	exit 77
fi
dpdk_need_root

dpdk_ns_up

# -l 0-1: lcore 0 is the main (control) lcore, lcore 1 the one worker polling the single af_packet queue.
ip netns exec "$NS_G" "$PINGD" -t "$SECONDS_UP" -a 198.18.0.1/24 \
	-e "-l 0-1 --no-huge -m 256 --no-pci --no-shconf --no-telemetry --file-prefix=sl_ping_$$ --vdev=net_af_packet0,iface=$IF_G,qdisc_bypass=1" \
	>"$T/pingd.log" 2>&1 &
PID=$!
track_pid "$PID"
MAC=
for _ in $(seq 100); do
	MAC=$(sed -n 's/^READY .* mac \([0-9a-f:]*\)$/\1/p' "$T/pingd.log")
	[ -n "$MAC" ] && break
	kill -0 "$PID" 2>/dev/null || break
	sleep 0.1
done
if [ -z "$MAC" ]; then
	bad start "dpdk_pingd did not come up" "$T/pingd.log"
	finish
fi
ok start
# the device MAC is the veth's own (af_packet takes the interface's address)
VETH_MAC=$(ip -n "$NS_G" -o link show "$IF_G" | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
if [ "$MAC" = "$VETH_MAC" ]; then ok mac_from_device; else bad mac_from_device "ours $MAC, veth $VETH_MAC"; fi

if cping 3 198.18.0.1 >"$T/ping.out" 2>&1; then
	ok ping
else
	bad ping "$(tail -n 3 "$T/ping.out" | tr '\n' ' ')" "$T/pingd.log"
fi
NEIGH=$(ip -n "$NS_C" neigh show 198.18.0.1 dev "$IF_C")
case $NEIGH in
*"lladdr $MAC "*) ok neigh ;;
*) bad neigh "client neighbour entry '$NEIGH', want lladdr $MAC" ;;
esac
# A larger echo (1400 bytes of data) comes back whole.
if cping 2 198.18.0.1 1400 >"$T/ping2.out" 2>&1; then
	ok ping_1400
else
	bad ping_1400 "$(tail -n 3 "$T/ping2.out" | tr '\n' ' ')" "$T/pingd.log"
fi
# An address of the subnet that nobody holds: we must not answer ARP for it.
cping 1 198.18.0.9 >/dev/null 2>&1
NEIGH9=$(ip -n "$NS_C" neigh show 198.18.0.9 dev "$IF_C")
case $NEIGH9 in
*lladdr*) bad no_proxy_arp "198.18.0.9 resolved: $NEIGH9" ;;
*) ok no_proxy_arp ;;
esac

kill -TERM "$PID"
for _ in $(seq 100); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$PID" 2>/dev/null; then
	bad stop "dpdk_pingd did not stop on SIGTERM" "$T/pingd.log"
else
	wait "$PID"
	rc=$?
	PID=
	if [ $rc -eq 0 ] && grep -q '^STATS' "$T/pingd.log"; then ok stop; else bad stop "exit $rc" "$T/pingd.log"; fi
	grep -E '^(STATS|DROP)' "$T/pingd.log" | sed 's/^/  /'
	ECHO=$(sed -n 's/^STATS .* echo_out \([0-9]*\) .*/\1/p' "$T/pingd.log")
	if [ "${ECHO:-0}" -ge 5 ]; then ok echo_counted; else bad echo_counted "echo_out ${ECHO:-none}, want >= 5" "$T/pingd.log"; fi
fi
finish
