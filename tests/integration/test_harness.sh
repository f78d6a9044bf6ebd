#!/bin/bash
# test_harness.sh - the harness pieces work without sluice: swaks, the raw
# client and smtp-source pointed straight at each backend (capture, smtp-sink
# with faults, private Postfix with XCLIENT).
source "$(dirname "$0")/lib.sh"
need_cmd swaks smtp-sink smtp-source postfix

CAP=$(free_port); SINK=$(free_port); PF=$(free_port)
start_capture cap "$CAP" || { bad capture-start "capture backend did not start" "$T/cap.log"; finish; }
start_sink sink "$SINK" || { bad sink-start "smtp-sink did not start" "$T/sink.log"; finish; }

# 1. swaks -> capture: byte for byte, plain and pipelined, dot lines included.
n=0
for size in 1024 300000; do
	make_body "$T/b$size" "$size"
	for mode in plain pipeline; do
		extra=(); [ $mode = pipeline ] && extra=(--pipeline)
		n=$((n + 1))
		if ! swaks --server "127.0.0.1:$CAP" --from a@b.example --to user@example.net \
			--data @"$T/b$size.send" "${extra[@]}" >"$T/sw.$n" 2>&1; then
			bad "capture-$mode-$size" "swaks failed" "$T/sw.$n"
		elif ! why=$(same_content "$T/b$size" "$T/cap/msg-$n.eml"); then
			bad "capture-$mode-$size" "$why"
		else
			ok "capture-$mode-$size"
		fi
	done
done

# 2. raw client: a bare LF in DATA reaches the capture backend unchanged, and
# no_bare_crlf sees it (so the smuggling tests can trust it).
printf 'Subject: bare\r\n\r\nline one\nline two\r\n.\r\n' >"$T/bare.data"
sc "$T/raw.out" --port "$CAP" '>EHLO raw.test\r\n' '<250' '>MAIL FROM:<a@b.example>\r\n' '<250' \
	'>RCPT TO:<user@example.net>\r\n' '<250' '>DATA\r\n' '<354' ">@$T/bare.data" '<250' '>QUIT\r\n' '<221'
rc=$?
m=$(capture_count cap)
if [ $rc -ne 0 ] || ! grep -q '^S: 250 2.0.0 Ok: captured' "$T/raw.out"; then
	bad raw-client "raw client transcript unexpected" "$T/raw.out"
elif no_bare_crlf "$T/cap/msg-$m.eml" >/dev/null; then
	bad raw-client "no_bare_crlf missed a bare LF in msg-$m.eml"
else
	ok raw-client
fi

# 3. swaks -> smtp-sink, and smtp-source load counted in the sink's dumps.
if swaks --server "127.0.0.1:$SINK" --from a@b.example --to user@example.net --pipeline >"$T/sw.sink" 2>&1 &&
	wait_for 5 sink_has sink 1; then
	ok sink-swaks
else
	bad sink-swaks "swaks to smtp-sink failed or no dump file" "$T/sw.sink"
fi
before=$(sink_count sink)
timeout 120 smtp-source -c -l 1024 -m 200 -s 10 -f a@b.example -t user@example.net "127.0.0.1:$SINK" >"$T/source.out" 2>&1
wait_for 10 sink_has sink $((before + 200))
got=$(($(sink_count sink) - before))
[ "$got" -eq 200 ] && ok sink-source-200 || bad sink-source-200 "sink counted $got of 200" "$T/source.out"

# 4. smtp-sink faults answer as the fault tests expect.
check_fault() { # name option expected-first-error-prefix
	local p
	p=$(free_port)
	start_sink "f$1" "$p" $2 || { bad "fault-$1" "sink did not start"; return; }
	swaks --server "127.0.0.1:$p" --from a@b.example --to user@example.net --timeout 10 >"$T/sw.f$1" 2>&1
	if grep -q "$3" "$T/sw.f$1"; then ok "fault-$1"; else bad "fault-$1" "expected $3" "$T/sw.f$1"; fi
	stop_proc "f$1"
}
check_fault rcpt "-r rcpt" '^<\*\* *4'
check_fault data "-f data" '^<\*\* *5'
check_fault Qdata "-Q data" '^<\*\* *421'
check_fault qdot "-q ." 'Connection closed\|closed\|EOF'

# 5. private Postfix with XCLIENT: the log shows the address given by XCLIENT
# and the relayed message arrives at the capture backend.
if start_postfix pf "$PF" "$CAP"; then
	c0=$(capture_count cap)
	swaks --server "127.0.0.1:$PF" --from a@b.example --to user@example.net -li 127.0.0.9 \
		--xclient-addr 127.0.0.7 --xclient-helo orig.helo.test >"$T/sw.pf" 2>&1
	if wait_for 30 capture_has cap $((c0 + 1)) &&
		wait_for 5 grep -q 'client=unknown\[127.0.0.7\]' "$T/pf/maillog"; then
		ok postfix-xclient
	else
		bad postfix-xclient "no XCLIENT address in maillog or nothing relayed" "$T/sw.pf" "$T/pf/maillog"
	fi
else
	bad postfix-xclient "private postfix did not start" "$T/pf/start.log" "$T/pf/maillog"
fi
finish
