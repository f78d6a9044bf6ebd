#!/bin/bash
# deploy/run-demo.sh - set up, then run sluice in the foreground on
# 127.0.0.1:2525 in front of an smtp-sink backend on 127.0.0.1:2526.
#
# Send it mail from another terminal:
#   swaks --server 127.0.0.1:2525 --to user@example.net --from a@b.example
# Stop it with Ctrl-C (or SIGTERM): sluice drains, then the sink is stopped.
set -euo pipefail
cd "$(dirname "$0")/.."

bash deploy/setup.sh

CONF=${CONF:-config/examples/minimal.conf}
SLUICE=build/dataplane/sluice
[ -x "$SLUICE" ] || { echo "run-demo.sh: $SLUICE was not built" >&2; exit 1; }
[ -f "$CONF" ] || { echo "run-demo.sh: $CONF is missing" >&2; exit 1; }
for port in 2525 2526; do
	if ss -Htln "sport = :$port" | grep -q .; then
		echo "run-demo.sh: 127.0.0.1:$port is already in use" >&2
		exit 1
	fi
done

DUMP=$(mktemp -d /tmp/sluice-demo.XXXXXX)
chmod 755 "$DUMP"
chown nobody "$DUMP" 2>/dev/null || true
sink_pid=
sluice_pid=
cleanup() {
	[ -n "$sluice_pid" ] && kill -TERM "$sluice_pid" 2>/dev/null && wait "$sluice_pid" 2>/dev/null
	[ -n "$sink_pid" ] && kill -TERM "$sink_pid" 2>/dev/null && wait "$sink_pid" 2>/dev/null
	echo "run-demo.sh: the sink received $(find "$DUMP" -type f | wc -l) message(s); dumps were in $DUMP" >&2
	rm -rf "$DUMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The backend: smtp-sink accepts everything and dumps each message.
smtp-sink -u nobody -h backend.demo -d "$DUMP/m." 127.0.0.1:2526 64 &
sink_pid=$!

echo "run-demo.sh: sluice -c $CONF (Ctrl-C to stop); try:" >&2
echo "  swaks --server 127.0.0.1:2525 --to user@example.net --from a@b.example" >&2
"$SLUICE" -c "$CONF" &
sluice_pid=$!
set +e
wait "$sluice_pid"
rc=$?
sluice_pid=
exit $rc
