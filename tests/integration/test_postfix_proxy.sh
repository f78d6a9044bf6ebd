#!/bin/bash
# test_postfix_proxy.sh - sluice in front of a private Postfix that expects
# the PROXY protocol (smtpd_upstream_proxy_protocol = haproxy), v1 and v2,
# with health checks off and on: Postfix sees the original client address,
# the message arrives intact, and health checks (which must send the PROXY
# header too, or Postfix never greets them) keep the backend up.
source "$(dirname "$0")/lib.sh"
need_sluice
need_cmd postfix

for v in v1 v2 v1-health v2-health; do
	SL_PORT=$(free_port); PF=$(free_port); CAP=$(free_port)
	start_capture "cap$v" "$CAP" || { bad "$v-start" "capture backend did not start" "$T/cap$v.log"; continue; }
	PF_SMTPD_OPTS="-o smtpd_upstream_proxy_protocol=haproxy" start_postfix "pf$v" "$PF" "$CAP" ||
		{ bad "$v-start" "private postfix did not start" "$T/pf$v/start.log"; continue; }
	{ sluice_common; echo "backend pf 127.0.0.1:$PF xclient off proxy_protocol ${v%-health}"; } >"$T/sluice-$v.conf"
	case $v in
	*-health) ;;   # sluice_common's health_check interval 1s
	*) sed -i 's/^health_check .*/health_check interval 0/' "$T/sluice-$v.conf" ;;
	esac
	# -health: wait past the first health check (interval 1 s, timeout 1 s)
	start_sluice "$T/sluice-$v.conf" 3 || { bad "$v-start" "sluice did not start" "$T/sluice.log"; continue; }
	make_body "$T/b$v" 30000
	if sw "$T/sw.$v" -li 127.0.0.9 --data @"$T/b$v.send"; then
		ok "$v-relay"
	else
		bad "$v-relay" "swaks failed: $(first_error "$T/sw.$v")" "$T/sw.$v" "$T/sluice.log" "$T/pf$v/maillog"
		kill -TERM "$SL_PID" 2>/dev/null; wait "$SL_PID" 2>/dev/null
		continue
	fi
	if wait_for 30 capture_has "cap$v" 1; then
		"$PY" - "$T/b$v" "$T/cap$v/msg-1.eml" <<'PY' && ok "$v-body" || bad "$v-body" "the body relayed by Postfix differs from what was sent"
import sys
sent, got = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read()
sys.exit(0 if got.endswith(sent) else 1)
PY
	else
		bad "$v-body" "Postfix did not relay the message on" "$T/pf$v/maillog"
	fi
	if grep -q ': client=[^ ]*\[127\.0\.0\.9\]' "$T/pf$v/maillog"; then
		ok "$v-client-addr"
	else
		bad "$v-client-addr" "Postfix did not log client=...[127.0.0.9]: the PROXY header was not applied" "$T/pf$v/maillog"
	fi
	if grep -q 'haproxy' "$T/pf$v/maillog"; then
		bad "$v-clean" "Postfix logged PROXY protocol errors (a connection without a header?)" "$T/pf$v/maillog"
	else
		ok "$v-clean"
	fi
	kill -TERM "$SL_PID" 2>/dev/null; wait "$SL_PID" 2>/dev/null
done
finish
