#!/bin/bash
# test_smuggling.sh - SMTP smuggling vectors (TESTING.md) with bare_newline
# reject and normalize: the backend never receives a bare CR or LF nor a
# smuggled second message; reject gives the client a 5xx, normalize relays
# exactly one message. Also the real end of DATA split at every byte offset.
source "$(dirname "$0")/lib.sh"
need_sluice

VECTORS=('\n.\n' '\n.\r' '\r.\n' '\r.\r' '\n.\r\n' '\r.\r\n' '\r\n\x00.\r\n' '\r\n.\r\r\n' '\r\r\n.\r\r\n')
SMUGGLED='MAIL FROM:<evil@smuggler.example>\r\nRCPT TO:<victim@example.net>\r\nDATA\r\nSubject: smuggled\r\n\r\nsmuggled body\r\n.\r\n'

for mode in reject normalize; do
	SL_PORT=$(free_port); CAP=$(free_port)
	start_capture "cap-$mode" "$CAP" || { bad "$mode" "capture backend did not start"; continue; }
	{ sluice_common; echo "backend cap 127.0.0.1:$CAP xclient off"; echo "bare_newline $mode"; } >"$T/sluice-$mode.conf"
	[ -n "${SL_PID:-}" ] && _kill_pid "$SL_PID"
	start_sluice "$T/sluice-$mode.conf" || { bad "$mode" "sluice did not start" "$T/sluice-t.out" "$T/sluice.log"; continue; }
	i=0
	for v in "${VECTORS[@]}"; do
		i=$((i + 1))
		c="$mode-$i-$(printf '%s' "$v" | tr -d '\\')"
		before=$(capture_count "cap-$mode")
		sc "$T/sm.$c" --port "$SL_PORT" '>EHLO client.test\r\n' '<250' '>MAIL FROM:<a@b.example>\r\n' '<250' \
			'>RCPT TO:<user@example.net>\r\n' '<250' '>DATA\r\n' '<354' \
			">Subject: case $c\\r\\n\\r\\nhello${v}${SMUGGLED}" '<' '>QUIT\r\n' '*'
		sleep 0.3
		after=$(capture_count "cap-$mode")
		reply=$(awk '/^C: Subject: case/{f=1; next} f && /^S: /{print; exit}' "$T/sm.$c")
		new=$((after - before))
		why=
		if grep -lqx 'mail_from evil@smuggler.example' "$T/cap-$mode"/msg-*.env 2>/dev/null ||
			head -qn1 "$T/cap-$mode"/msg-*.eml 2>/dev/null | grep -q '^Subject: smuggled'; then
			why="a smuggled message reached the backend"
		elif [ $new -gt 1 ]; then
			why="$new messages reached the backend for one transaction"
		elif ! no_bare_crlf_new "$T/bare-state-$mode" "$T/cap-$mode"/conn-*.raw >"$T/bare.$c"; then
			why="bare CR/LF on the backend leg: $(head -1 "$T/bare.$c")"
		elif [ "$v" != '\r\n\x00.\r\n' ]; then   # every other vector has a bare CR or LF
			if [ $mode = reject ]; then
				echo "$reply" | grep -q '^S: 5' || why="expected a 5xx for a bare CR/LF, got '${reply#S: }'"
				[ $new -eq 0 ] || why="rejected, yet $new message(s) reached the backend"
			else
				echo "$reply" | grep -q '^S: 250' || why="expected 250 (normalized), got '${reply#S: }'"
				[ $new -eq 1 ] || why="normalized, yet $new message(s) reached the backend"
			fi
		else
			if echo "$reply" | grep -q '^S: 250' && [ $new -ne 1 ]; then
				why="250 but $new messages at the backend"
			fi
		fi
		if [ -n "$why" ]; then bad "$c" "$why" "$T/sm.$c"; else ok "$c"; fi
	done

	# The real end of DATA split in two segments at every offset.
	if [ $mode = normalize ]; then
		END=('\r' '\n' '.' '\r' '\n')
		for k in 1 2 3 4; do
			c="split-end-at-$k"
			before=$(capture_count "cap-$mode")
			a=$(printf '%s' "${END[@]:0:$k}"); b=$(printf '%s' "${END[@]:$k}")
			printf 'Subject: %s\r\n\r\nbody of %s' "$c" "$c" >"$T/split.a"
			printf "$a" >>"$T/split.a"
			printf "$b" >"$T/split.b"
			printf 'Subject: %s\r\n\r\nbody of %s\r\n' "$c" "$c" >"$T/split.want"
			sc "$T/sm.$c" --port "$SL_PORT" '>EHLO client.test\r\n' '<250' '>MAIL FROM:<a@b.example>\r\n' '<250' \
				'>RCPT TO:<user@example.net>\r\n' '<250' '>DATA\r\n' '<354' ">@$T/split.a" '~0.3' ">@$T/split.b" \
				'<250' '>QUIT\r\n' '<221'
			rc=$?
			wait_for 5 capture_has "cap-$mode" $((before + 1))
			m=$(capture_count "cap-$mode")
			if [ $rc -ne 0 ]; then
				bad "$c" "transcript unexpected" "$T/sm.$c"
			elif [ $((m - before)) -ne 1 ]; then
				bad "$c" "$((m - before)) messages at the backend"
			elif ! cmp -s "$T/split.want" "$T/cap-$mode/msg-$m.eml"; then
				bad "$c" "content differs: $(od -c "$T/cap-$mode/msg-$m.eml" | head -3)"
			else
				ok "$c"
			fi
		done
	fi
done
finish
