#!/bin/bash
# test_postfix_proxy.sh - sluice in front of a private Postfix that expects
# the PROXY protocol (smtpd_upstream_proxy_protocol = haproxy), with
# `proxy_protocol v1` and `v2`, with health checks on and off: Postfix sees
# the original client 127.0.0.7, health checks (which must send the header
# too) keep the backend up, the message arrives.
source "$(dirname "$0")/lib.sh"
need_sluice
need_cmd postfix

CAP=$(free_port)
start_capture cap "$CAP" || { bad start "capture backend did not start" "$T/cap.log"; finish; }
n=0
for v in v1 v2 v1-nohealth v2-nohealth; do
	SL_PORT=$(free_port); PF=$(free_port)
	PF_SMTPD_OPTS="-o smtpd_upstream_proxy_protocol=haproxy" start_postfix "pf$v" "$PF" "$CAP" ||
		{ bad "$v" "private postfix did not start" "$T/pf$v/start.log" "$T/pf$v/maillog"; continue; }
	{
		case $v in
		*-nohealth) sluice_common | sed 's/^health_check .*/health_check interval 0s/' ;;
		*) sluice_common ;;
		esac
		echo "backend pf 127.0.0.1:$PF xclient off proxy_protocol ${v%-*}"
	} >"$T/sluice-$v.conf"
	[ -n "${SL_PID:-}" ] && _kill_pid "$SL_PID"
	start_sluice "$T/sluice-$v.conf" 2 || { bad "$v" "sluice did not start" "$T/sluice-t.out" "$T/sluice.log"; continue; }
	if ! sw "$T/sw.$v" -li 127.0.0.7 --helo proxy.orig.test --body "proxy $v"; then
		bad "relay-$v" "swaks failed: $(first_error "$T/sw.$v")" "$T/sw.$v" "$T/sluice.log" "$T/pf$v/maillog"
		continue
	fi
	n=$((n + 1))
	ok "relay-$v"
	if wait_for 30 capture_has cap "$n" && wait_for 5 grep -q ': client=[^ ]*\[127\.0\.0\.7\]' "$T/pf$v/maillog"; then
		ok "client-addr-$v"
	else
		bad "client-addr-$v" "Postfix did not log client=...[127.0.0.7] (PROXY header not applied?)" "$T/pf$v/maillog"
	fi
	if grep -Eq 'haproxy|proxy.*(error|lost|timeout)' "$T/pf$v/maillog"; then
		bad "clean-proxy-$v" "Postfix logged PROXY protocol errors (health checks without a header?)" "$T/pf$v/maillog"
	else
		ok "clean-proxy-$v"
	fi
done
finish
