#!/bin/bash
# test_check_examples.sh - `sluice -t` accepts every config/examples/*.conf,
# its printed effective config reads back, and a bad file is named FILE:LINE.
source "$(dirname "$0")/lib.sh"
need_sluice

n=0
for f in "$ROOT"/config/examples/*.conf; do
	[ -f "$f" ] || continue
	n=$((n + 1))
	c=$(basename "$f" .conf)
	if ! timeout 10 "$SLUICE" -t -c "$f" >"$T/$c.eff" 2>"$T/$c.err"; then
		bad "example-$c" "sluice -t -c ${f#"$ROOT"/} exited non-zero" "$T/$c.err" "$T/$c.eff"
	elif [ ! -s "$T/$c.eff" ]; then
		bad "example-$c" "sluice -t printed no effective config" "$T/$c.err"
	elif ! timeout 10 "$SLUICE" -t -c "$T/$c.eff" >"$T/$c.eff2" 2>"$T/$c.err2"; then
		bad "example-$c" "the printed effective config does not read back" "$T/$c.err2" "$T/$c.eff"
	elif ! diff -u "$T/$c.eff" "$T/$c.eff2" >"$T/$c.diff"; then
		bad "example-$c" "effective config changes on a second round trip" "$T/$c.diff"
	else
		ok "example-$c"
	fi
done
[ "$n" -gt 0 ] || bad examples "no config/examples/*.conf"

# An inline Redis password: masked by -t, in clear only with -t -S.
printf 'hostname mx.test.example\nrelay_domains example.net\nbackend b 127.0.0.1:2525\npolicy redis 127.0.0.1:6399 password s3cr3t-Pw\n' >"$T/pw.conf"
if ! timeout 10 "$SLUICE" -t -c "$T/pw.conf" >"$T/pw.eff" 2>"$T/pw.err"; then
	bad secret-masked "sluice -t rejected the config" "$T/pw.err"
elif grep -q 's3cr3t-Pw' "$T/pw.eff" "$T/pw.err" || ! grep -q 'password <hidden>' "$T/pw.eff"; then
	bad secret-masked "sluice -t printed the password, or no '<hidden>'" "$T/pw.eff"
else
	ok secret-masked
fi
if timeout 10 "$SLUICE" -t -S -c "$T/pw.conf" 2>/dev/null | grep -q '^policy .* password s3cr3t-Pw'; then
	ok secret-shown-with-S
else
	bad secret-shown-with-S "sluice -t -S did not print the password"
fi

# Errors name the file and the line.
printf 'hostname mx.test.example\nlisten 127.0.0.1:2525\nno_such_directive 1\n' >"$T/bad1.conf"
printf 'hostname mx.test.example\nrelay_domains example.net\nbackend b 127.0.0.1:99999\n' >"$T/bad2.conf"
for b in bad1 bad2; do
	if timeout 10 "$SLUICE" -t -c "$T/$b.conf" >"$T/$b.out" 2>&1; then
		bad "error-$b" "sluice -t accepted a bad config" "$T/$b.out"
	elif ! grep -q "$T/$b.conf:3: " "$T/$b.out"; then
		bad "error-$b" "no '$T/$b.conf:3: message' line" "$T/$b.out"
	else
		ok "error-$b"
	fi
done
finish
