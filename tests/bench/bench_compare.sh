#!/bin/bash
# bench_compare.sh - sessions/s of sluice `transport dpdk`, sluice `transport kernel` and smtp-sink alone, smtp-source as the client, in one run.
#
# The namespace test's topology (tests/integration/test_dpdk_smtp.sh: sluice's
# DPDK port is net_af_packet on a veth end alone in its namespace, one port
# carrying both legs), with the backend in a namespace of its own so that the
# generator's ceiling crosses the same veths as the relayed sessions do:
#
#   sl-bc-cPID  veth 198.18.0.2/24: smtp-source           \
#   sl-bc-bPID  veth 198.18.0.3/24: smtp-sink :2525        >-- bridge in sl-bc-sPID
#   sl-bc-gPID  veth: sluice on 198.18.0.1:25             /
#               (dpdk: net_af_packet on the veth, no kernel address;
#                kernel: the kernel's 198.18.0.1/24 on the same veth)
#
# Three systems, same smtp-source command (SESSIONS one-message sessions of
# 1 KB, CONC at a time): (a) sluice dpdk -> sink, (b) sluice kernel -> sink,
# (c) smtp-source straight into smtp-sink (the generator's ceiling). Each
# round starts each system afresh, runs a discarded warm-up, then one measured
# run; the order rotates every round. A run counts only if smtp-source exits 0
# (it stops at the first unexpected reply) and the sink's message counter grew
# by exactly SESSIONS; otherwise it says FAIL and no figure is printed.
# With PIN=1, smtp-source and smtp-sink run on CPU 0 and the system under test
# on CPU 1 (sluice dpdk: EAL -l 0-1, its worker lcore on CPU 1, its control
# thread on CPU 0). Namespaces, veths and processes go in the EXIT trap,
# whatever happens. Everything is bounded: RUN_TIMEOUT per smtp-source run,
# DEADLINE for the whole script.
#
#   SESSIONS=3000 CONC=20 ROUNDS=5 WARM=SESSIONS/5 WORKERS=1 (kernel transport)
#   PIN=1 LOG_LEVEL=info RUN_TIMEOUT=60 DEADLINE=240 KEEP=0 (keep the temp dir)
#   BUILD=build (or SLUICE=path/to/sluice, SLUICECTL=path/to/sluicectl)
# After each measured or warm-up run, `sluicectl stats` of sluice goes to
# $T/stats-SYSTEM-SESSIONS-TIME.txt (retransmits, drops; kept with KEEP=1).
# Exit 0: all runs clean, table printed; 1: a failure; 77: cannot run here.
set -u
export PATH=$PATH:/usr/sbin:/sbin
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=${BUILD:-$ROOT/build}
SLUICE=${SLUICE:-$BUILD/dataplane/sluice}
SLUICECTL=${SLUICECTL:-$BUILD/control/sluicectl}
SESSIONS=${SESSIONS:-3000}
CONC=${CONC:-20}
ROUNDS=${ROUNDS:-5}
WARM=${WARM:-$((SESSIONS / 5))}
WORKERS=${WORKERS:-1}
PIN=${PIN:-1}
LOG_LEVEL=${LOG_LEVEL:-info}
RUN_TIMEOUT=${RUN_TIMEOUT:-60}
DEADLINE=${DEADLINE:-240}

NS_C=sl-bc-c$$
NS_B=sl-bc-b$$
NS_G=sl-bc-g$$
NS_S=sl-bc-s$$
IF_C=bcc$$
IF_B=bcb$$
IF_G=bcg$$
GW=198.18.0.1
CL=198.18.0.2
BK=198.18.0.3
BK_PORT=2525
SL_PID=
SINK_PID=
T=
START=$(date +%s)
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)

say() { echo "bench_compare: $*" >&2; }
skip() { echo "SKIP bench_compare: $*"; exit 77; }

[ "$(id -u)" = 0 ] || skip "needs root (namespaces, af_packet)"
for c in ip ethtool smtp-source smtp-sink timeout awk; do
	command -v "$c" >/dev/null 2>&1 || skip "$c not installed"
done
[ -x "$SLUICE" ] || skip "${SLUICE#"$ROOT"/} is not built"
NCPU=$(nproc)
if [ "$PIN" = 1 ] && { [ "$NCPU" -lt 2 ] || ! command -v taskset >/dev/null 2>&1; }; then
	say "fewer than 2 CPUs or no taskset: not pinning"
	PIN=0
fi
if [ "$PIN" = 1 ]; then GEN_CPU="taskset -c 0"; SUT_CPU="taskset -c 1"; else GEN_CPU=; SUT_CPU=; fi

# kill_pid PID: TERM, up to 5 s, then KILL; reaps it.
kill_pid() {
	local pid=$1 i
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null
	for i in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

cleanup() {
	local rc=$?
	trap - EXIT
	kill_pid "$SL_PID"
	kill_pid "$SINK_PID"
	for ns in "$NS_C" "$NS_B" "$NS_G" "$NS_S"; do
		ip netns pids "$ns" 2>/dev/null | while read -r p; do kill -KILL "$p" 2>/dev/null; done
		ip netns del "$ns" 2>/dev/null   # deletes its veth ends, and so the pairs
	done
	for i in "$IF_C" "$IF_B" "$IF_G"; do ip link del "$i" 2>/dev/null; done
	if [ -n "$T" ]; then
		if [ "${KEEP:-0}" = 1 ]; then say "kept $T"; else rm -rf "$T"; fi
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

T=$(mktemp -d /var/tmp/sluice-bench.XXXXXX)
chmod 755 "$T"

# ---- the namespaces
set -e
for ns in "$NS_C" "$NS_B" "$NS_G" "$NS_S"; do
	ip netns add "$ns"
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
	ip -n "$ns" link set lo up
done
ip -n "$NS_S" link add br0 type bridge
ip -n "$NS_S" link set br0 up
for x in C B G; do
	ns_var=NS_$x if_var=IF_$x
	ip link add "${!if_var}" netns "${!ns_var}" type veth peer name "${!if_var}s" netns "$NS_S"
	ip -n "$NS_S" link set "${!if_var}s" master br0
	ip netns exec "$NS_S" ethtool -K "${!if_var}s" gro off >/dev/null 2>&1 || true
	ip -n "$NS_S" link set "${!if_var}s" up
done
ip -n "$NS_C" addr add "$CL/24" dev "$IF_C"
ip -n "$NS_B" addr add "$BK/24" dev "$IF_B"
# Linux leaves TCP checksums to the (absent) hardware on a veth and may send
# 64 KB segments: fill them and segment before the wire, so af_packet hands
# our stack real frames (the namespace test does the same).
for x in C B; do
	ns_var=NS_$x if_var=IF_$x
	ip netns exec "${!ns_var}" ethtool -K "${!if_var}" tx off tso off gso off >/dev/null 2>&1
done
ip netns exec "$NS_G" ethtool -K "$IF_G" gro off >/dev/null 2>&1 || true
for x in C B G; do
	ns_var=NS_$x if_var=IF_$x
	ip -n "${!ns_var}" link set "${!if_var}" up
done
# many short sessions from one address: wide port range, TIME-WAIT reuse on the client
ip netns exec "$NS_C" sysctl -qw net.ipv4.ip_local_port_range="1024 65000" net.ipv4.tcp_tw_reuse=1
ip netns exec "$NS_G" sysctl -qw net.ipv4.ip_local_port_range="1024 65000" net.ipv4.tcp_tw_reuse=1
set +e

# ---- the sink, for the whole run; its -c counter says how many messages it took
ip netns exec "$NS_B" $GEN_CPU smtp-sink -u nobody -c -h sink.test -m $((4 * CONC + 64)) "$BK:$BK_PORT" 1024 \
	>"$T/sink.out" 2>"$T/sink.err" &
SINK_PID=$!
sink_msgs() { tr '\r' '\n' <"$T/sink.out" | awk -F'mesg=' 'NF > 1 { n = $2 + 0 } END { print n + 0 }'; }
listens() { ip netns exec "$1" ss -Htln "sport = :$2" 2>/dev/null | grep -q .; }
for _ in $(seq 50); do listens "$NS_B" "$BK_PORT" && break; sleep 0.1; done
if ! listens "$NS_B" "$BK_PORT"; then
	echo "FAIL bench_compare: smtp-sink did not listen on $BK:$BK_PORT"; cat "$T/sink.err"; exit 1
fi

# ---- the systems
sluice_conf() { # TRANSPORT
	local max=$((2 * CONC + 16))
	cat <<EOF
hostname      mx.test.example
listen        $GW:25
relay_domains example.net
greet_pause   0s
max_sessions  $max
shutdown_grace 1s
log_level     $LOG_LEVEL
health_check  interval 0s
control       $T/control.sock
backend_connect_timeout 3s
backend       sink $BK:$BK_PORT xclient off
EOF
	if [ "$1" = dpdk ]; then
		cat <<EOF
transport     dpdk
dpdk {
	eal   "-l 0-1 --no-huge -m 512 --no-pci --no-shconf --no-telemetry --file-prefix=sl_bc_$$ --vdev=net_af_packet0,iface=$IF_G,qdisc_bypass=1"
	port  0 address $GW/24
	mbufs 16383
	tcp_secret $T/tcp.secret
}
EOF
	else
		echo "transport     kernel"
		echo "workers       $WORKERS"
	fi
}

# greets: a TCP connection to sluice gets its 220 (bash's /dev/tcp, from the client namespace)
greets() {
	ip netns exec "$NS_C" timeout 3 bash -c "exec 3<>/dev/tcp/$GW/25 && head -c 3 <&3" 2>/dev/null | grep -q 220
}

start_sut() { # SYSTEM
	local sys=$1 cpu=
	case $sys in
	direct*) return 0 ;;
	kernel) ip -n "$NS_G" addr add "$GW/24" dev "$IF_G"; cpu=$SUT_CPU ;;
	esac
	sluice_conf "$sys" >"$T/$sys.conf"
	if ! timeout 10 "$SLUICE" -t -c "$T/$sys.conf" >"$T/$sys-t.out" 2>&1; then
		echo "FAIL bench_compare: sluice -t rejected the $sys config"; cat "$T/$sys-t.out"; return 1
	fi
	# dpdk: EAL pins its lcores itself (-l 0-1)
	ip netns exec "$NS_G" $cpu "$SLUICE" -c "$T/$sys.conf" 2>>"$T/sluice-$sys.log" &
	SL_PID=$!
	for _ in $(seq 60); do
		kill -0 "$SL_PID" 2>/dev/null || break
		greets && return 0
		sleep 0.5
	done
	echo "FAIL bench_compare: sluice ($sys) did not greet on $GW:25"
	tail -n 20 "$T/sluice-$sys.log"
	return 1
}

stop_sut() { # SYSTEM
	case $1 in direct*) return 0 ;; esac
	kill_pid "$SL_PID"
	SL_PID=
	[ "$1" = kernel ] && ip -n "$NS_G" addr del "$GW/24" dev "$IF_G" 2>/dev/null
	return 0
}

target_of() { case $1 in direct*) echo "$BK:$BK_PORT" ;; *) echo "$GW:25" ;; esac; }
# cpu_ticks PID: utime + stime of a process, in clock ticks
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
# wait_ns PID: time its threads spent runnable without a CPU (schedstat), ns
wait_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ w += $2 } END { printf "%.0f\n", w }'; }

# run SYSTEM N: one smtp-source run; prints "SECS CPU_S WAIT_S" (sluice's CPU seconds and the
# seconds its threads waited for a CPU, summed; 0 for direct), or fails.
run() {
	local sys=$1 n=$2 before after t0 t1 rc c0=0 c1=0 w0=0 w1=0 i cpu=$GEN_CPU
	[ "$sys" = direct-any ] && cpu=   # the generator's ceiling with every CPU
	before=$(sink_msgs)
	[ -n "$SL_PID" ] && c0=$(cpu_ticks "$SL_PID") && w0=$(wait_ns "$SL_PID")
	t0=$(date +%s%N)
	ip netns exec "$NS_C" $cpu timeout "$RUN_TIMEOUT" smtp-source -s "$CONC" -m "$n" -l 1024 \
		-f a@b.example -t user@example.net -M client.test.example "$(target_of "$sys")" >"$T/source.out" 2>&1
	rc=$?
	t1=$(date +%s%N)
	[ -n "$SL_PID" ] && c1=$(cpu_ticks "$SL_PID") && w1=$(wait_ns "$SL_PID")
	# the counters after each run (retransmits, drops): one file per run, kept with KEEP=1
	if [ -n "$SL_PID" ] && [ -x "$SLUICECTL" ]; then
		timeout 5 "$SLUICECTL" -s "$T/control.sock" stats >"$T/stats-$sys-$n-$(date +%s%N).txt" 2>&1
	fi
	for i in $(seq 50); do
		after=$(sink_msgs)
		[ "$after" -ge $((before + n)) ] && break
		sleep 0.1
	done
	if [ $rc -ne 0 ] || [ $((after - before)) -ne "$n" ]; then
		echo "FAIL bench_compare: $sys: smtp-source exit $rc$([ $rc -eq 124 ] && echo " (timed out after ${RUN_TIMEOUT}s)"), the sink took $((after - before)) of $n messages" >&2
		sed 's/^/    | /' "$T/source.out" | tail -n 5 >&2
		return 1
	fi
	awk -v a="$t0" -v b="$t1" -v c="$((c1 - c0))" -v w="$((w1 - w0))" -v hz="$(getconf CLK_TCK)" \
		'BEGIN { printf "%.6f %.3f %.6f\n", (b - a) / 1e9, c / hz, w / 1e9 }'
}

SYSTEMS=(direct kernel dpdk)
[ "$PIN" = 1 ] && SYSTEMS+=(direct-any)
NSYS=${#SYSTEMS[@]}
declare -A RATES CPUS WAITS
say "smtp-source -s $CONC -m $SESSIONS -l 1024, $ROUNDS rounds (warm-up $WARM discarded after each start)"
fail=0
for r in $(seq "$ROUNDS"); do
	for k in $(seq 0 $((NSYS - 1))); do
		sys=${SYSTEMS[$(((k + r) % NSYS))]}
		if [ $(($(date +%s) - START)) -gt "$DEADLINE" ]; then
			echo "FAIL bench_compare: past DEADLINE=${DEADLINE}s in round $r"; fail=1; break 2
		fi
		if ! start_sut "$sys"; then fail=1; break 2; fi
		if [ "$WARM" -gt 0 ] && ! run "$sys" "$WARM" >/dev/null; then stop_sut "$sys"; fail=1; break 2; fi
		if ! out=$(run "$sys" "$SESSIONS"); then stop_sut "$sys"; fail=1; break 2; fi
		stop_sut "$sys"
		read -r secs cpu wait <<<"$out"
		rate=$(awk -v n="$SESSIONS" -v s="$secs" 'BEGIN { printf "%.0f", n / s }')
		RATES[$sys]+="$rate "
		CPUS[$sys]+="$(awk -v n="$SESSIONS" -v c="$cpu" 'BEGIN { printf "%.1f", c * 1e6 / n }') "
		WAITS[$sys]+="$(awk -v s="$secs" -v w="$wait" 'BEGIN { printf "%.0f", 100 * w / s }') "
		say "round $r: $sys $rate sessions/s"
	done
done
[ $fail -eq 0 ] || exit 1

# median MIN MAX of a list of numbers
stats() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{ v[NR] = $1 } END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.0f %.0f %.0f\n", m, v[1], v[NR] }'; }
read -r m_direct lo_direct hi_direct <<<"$(stats "${RATES[direct]}")"
read -r m_kernel lo_kernel hi_kernel <<<"$(stats "${RATES[kernel]}")"
read -r m_dpdk lo_dpdk hi_dpdk <<<"$(stats "${RATES[dpdk]}")"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "-" }'; }
cpu_med() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{ v[NR] = $1 } END { printf "%.0f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "bench_compare: smtp-source -> system -> smtp-sink over veths and a bridge (namespaces), $SESSIONS sessions of 1 KB per run, $CONC at a time, median of $ROUNDS rounds"
echo "machine: $NCPU CPUs ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)); load average before: $LOAD0; $([ "$PIN" = 1 ] && echo "smtp-source and smtp-sink on CPU 0, the system under test on CPU 1" || echo "not pinned")"
printf '| %-44s | %10s | %-15s | %9s | %9s | %12s | %9s |\n' "system" "sessions/s" "min .. max" "vs direct" "vs kernel" "CPU us/sess" "CPU wait"
printf '|%s|%s|%s|%s|%s|%s|%s|\n' "----------------------------------------------" "------------" "-----------------" "-----------" "-----------" "--------------" "-----------"
printf '| %-44s | %10s | %-15s | %9s | %9s | %12s | %9s |\n' "smtp-source -> smtp-sink (direct$([ "$PIN" = 1 ] && echo ", CPU 0"))" "$m_direct" "$lo_direct .. $hi_direct" "1.00" "$(ratio "$m_direct" "$m_kernel")" "-" "-"
printf '| %-44s | %10s | %-15s | %9s | %9s | %12s | %9s |\n' "sluice transport kernel ($WORKERS worker)" "$m_kernel" "$lo_kernel .. $hi_kernel" "$(ratio "$m_kernel" "$m_direct")" "1.00" "$(cpu_med "${CPUS[kernel]}")" "$(cpu_med "${WAITS[kernel]}")%"
printf '| %-44s | %10s | %-15s | %9s | %9s | %12s | %9s |\n' "sluice transport dpdk (1 lcore, af_packet)" "$m_dpdk" "$lo_dpdk .. $hi_dpdk" "$(ratio "$m_dpdk" "$m_direct")" "$(ratio "$m_dpdk" "$m_kernel")" "$(cpu_med "${CPUS[dpdk]}")" "$(cpu_med "${WAITS[dpdk]}")%"
if [ "$PIN" = 1 ]; then
	read -r m_any lo_any hi_any <<<"$(stats "${RATES[direct-any]}")"
	printf '| %-44s | %10s | %-15s | %9s | %9s | %12s | %9s |\n' "smtp-source -> smtp-sink, not pinned" "$m_any" "$lo_any .. $hi_any" "$(ratio "$m_any" "$m_direct")" "$(ratio "$m_any" "$m_kernel")" "-" "-"
fi
echo "per round (sessions/s): direct ${RATES[direct]}| kernel ${RATES[kernel]}| dpdk ${RATES[dpdk]}$([ "$PIN" = 1 ] && echo "| not pinned ${RATES[direct-any]}")"
echo "CPU us/sess: sluice's user+system time over the run / sessions; dpdk's worker polls without pause, so its figure is about one core's time, not its work"
echo "CPU wait: time sluice's threads were runnable without a CPU, summed, % of the run (median); more than a few % means its CPU was shared with other work and its figures understate it"
echo "per round CPU wait (%): kernel ${WAITS[kernel]}| dpdk ${WAITS[dpdk]}"
exit 0
