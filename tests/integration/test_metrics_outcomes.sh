#!/bin/bash
# test_metrics_outcomes.sh - known traffic through sluice (kernel transport,
# smtp-sink backends, swaks clients) and the exact outcome counters it must
# leave in the metrics, through sluicectl and over HTTP: 2 messages relayed,
# 1 recipient refused by relay_domains, 1 client blocklisted at connect, 1
# message the backend refuses with 4xx at the end of DATA.
source "$(dirname "$0")/lib.sh"
need_sluice
need_cmd swaks smtp-sink curl
CTL=${SLUICECTL:-$(dirname "$SLUICE")/../control/sluicectl}
[ -x "$CTL" ] || { echo "SKIP $TEST_NAME: sluicectl is not built"; exit 77; }
PROM_LINT=${PROM_LINT:-$(dirname "$SLUICE")/../tests/unit/ctlsock/prom_lint}

SL_PORT=$(free_port); GOOD=$(free_port); SOFT=$(free_port); MET=$(free_port)
SOCK=$T/control.sock
start_sink good "$GOOD" || { bad start "smtp-sink good did not start"; finish; }
# -r .: a soft (4xx) reject at the end of DATA, the rest accepted
start_sink soft "$SOFT" -r . || { bad start "smtp-sink soft did not start"; finish; }
{
	sluice_common
	echo "backend good 127.0.0.1:$GOOD xclient off"
	echo "backend soft 127.0.0.1:$SOFT xclient off"
	echo "metrics 127.0.0.1:$MET"
	echo "blocklist ip 127.0.0.66/32"
} >"$T/sluice.conf"
sluice_up "$T/sluice.conf" 2

ctl() { timeout 10 "$CTL" -s "$SOCK" "$@"; }

# A fixed message, so the relayed bytes are known: swaks sends it as is
# and ends it with "\r\n.\r\n" (sluice counts DATA's bytes as sent).
printf 'Subject: outcome test\r\nFrom: a@b.example\r\n\r\nline one\r\nline two' >"$T/msg.eml"
MSG_BYTES=$(($(stat -c %s "$T/msg.eml") + 5))

# ---- the traffic
ctl backends drain soft >/dev/null 2>&1 || bad drain-soft "drain failed"
for i in 1 2; do
	if sw "$T/sw.relayed$i" --data "$T/msg.eml"; then ok "relayed-$i"
	else bad "relayed-$i" "not accepted: $(first_error "$T/sw.relayed$i")" "$T/sw.relayed$i" "$T/sluice.log"; fi
done
wait_for 5 sink_has good 2 || bad sink-good "the sink has $(sink_count good) of 2 messages"

if sw "$T/sw.denied" --to x@elsewhere.example; then
	bad relay-denied "accepted a recipient outside relay_domains" "$T/sw.denied"
elif first_error "$T/sw.denied" | grep -q '^554 5.7.1'; then ok relay-denied
else bad relay-denied "want 554 5.7.1, got: $(first_error "$T/sw.denied")" "$T/sw.denied"; fi

if sw "$T/sw.blocked" -li 127.0.0.66; then
	bad blocklisted "a blocklisted client was accepted" "$T/sw.blocked"
elif grep -q '^<\*\* *554' "$T/sw.blocked"; then ok blocklisted
else bad blocklisted "want 554 at connect" "$T/sw.blocked"; fi

# only the soft backend now: its 4xx at the end of DATA reaches the client
ctl backends enable soft >/dev/null 2>&1 && ctl backends drain good >/dev/null 2>&1 ||
	bad switch-backend "enable/drain failed"
if sw "$T/sw.soft" --data "$T/msg.eml"; then
	bad backend-4xx "accepted through the soft-rejecting backend" "$T/sw.soft"
elif first_error "$T/sw.soft" | grep -q '^4'; then ok backend-4xx
else bad backend-4xx "want 4xx, got: $(first_error "$T/sw.soft")" "$T/sw.soft" "$T/sluice.log"; fi

# ---- the counters: every session has ended (swaks waits for the close)
wait_for 5 sh -c "! ss -Htn state established '( sport = :$SL_PORT )' | grep -q ."

# check SOURCE FILE: the exact values of the outcome families in FILE
check() {
	local src=$1 f=$2
	"$PY" - "$f" "$MSG_BYTES" >"$f.check" 2>&1 <<'PYEOF' && ok "$src-values" || bad "$src-values" "wrong counters" "$f.check"
import re, sys
text = open(sys.argv[1]).read()
msg_bytes = int(sys.argv[2])
samples = {}
for line in text.splitlines():
    m = re.match(r'^(sluice_(?:sessions|transactions|relayed_bytes|rejections)_total)(\{[^}]*\})? (\d+)$', line)
    if m:
        samples[m.group(1) + (m.group(2) or '')] = int(m.group(3))
want = {
    'sluice_sessions_total{outcome="quit"}': 4,       # 2 relayed, the denied one, the 4xx one
    'sluice_sessions_total{outcome="rejected_connect"}': 1,
    'sluice_sessions_total{outcome="client_closed"}': 0,
    'sluice_sessions_total{outcome="timeout"}': 0,
    'sluice_sessions_total{outcome="busy"}': 0,
    'sluice_sessions_total{outcome="other"}': 0,
    'sluice_transactions_total{outcome="relayed"}': 2,
    'sluice_transactions_total{outcome="rejected_5xx"}': 1,
    'sluice_transactions_total{outcome="tempfail_4xx"}': 1,
    'sluice_transactions_total{outcome="aborted"}': 0,
    'sluice_relayed_bytes_total': 2 * msg_bytes,
    'sluice_rejections_total{stage="connect",rule="blocklist_ip",class="5xx"}': 1,
    'sluice_rejections_total{stage="rcpt",rule="relay_domains",class="5xx"}': 1,
}
bad = 0
for k, v in want.items():
    if samples.get(k) != v:
        print(f"{k}: got {samples.get(k)}, want {v}")
        bad = 1
for fam in ('sluice_sessions_total', 'sluice_transactions_total', 'sluice_rejections_total'):
    got = sum(v for k, v in samples.items() if k.startswith(fam + '{') and 'busy' not in k)
    exp = sum(v for k, v in want.items() if k.startswith(fam + '{') and 'busy' not in k)
    if got != exp:
        print(f"{fam}: {got} in all, want {exp}: {sorted(k for k in samples if k.startswith(fam))}")
        bad = 1
for fam in ('sluice_sessions_total', 'sluice_transactions_total', 'sluice_relayed_bytes_total',
            'sluice_rejections_total'):
    if f'# TYPE {fam} counter' not in text or f'# HELP {fam} ' not in text:
        print(f"{fam}: no HELP/TYPE")
        bad = 1
sys.exit(bad)
PYEOF
}

if ctl metrics >"$T/met.ctl" 2>&1; then check sluicectl "$T/met.ctl"
else bad sluicectl-values "sluicectl metrics failed" "$T/met.ctl"; fi
if curl -s -m 5 "http://127.0.0.1:$MET/metrics" >"$T/met.http"; then check http "$T/met.http"
else bad http-values "curl failed" "$T/sluice.log"; fi
if [ ! -x "$PROM_LINT" ]; then
	bad exposition "prom_lint not built ($PROM_LINT)"
elif "$PROM_LINT" <"$T/met.http" >"$T/met.lint" 2>&1; then ok exposition
else bad exposition "not a valid exposition" "$T/met.lint"; fi
finish
