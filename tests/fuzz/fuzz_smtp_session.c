/* fuzz_smtp_session.c - arbitrary client bytes through relay_session and the
 * in-memory transport with its automatic MTA. The first bytes choose the
 * config and the backend's behaviour; the rest is cut into client segments.
 * Invariants (trap on violation): the backend never receives a bare CR or LF
 * inside DATA; it never ends more messages than the client ended; the client
 * never gets a message accepted that the backend did not accept. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../unit/session/fake_transport.c"
#include "smtp/smtp_session.h"
#include "util/sl_log.h"

/* relay_session begins with its engine (relay_session.c): the engine's count
 * of messages taken is the strongest view of "the client got its 250". */
static void check_taken(const struct fake_conn *c)
{
	const struct smtp_session *ss = (const void *)c->s;

	if (ss != NULL && ss->counts.messages > c->mta.accepted)
		__builtin_trap();
}

static const char *const configs[4] = {
	"hostname gw.example.net\nrelay_domains example.net\nbackend m1 198.18.1.10:25 xclient off\n",
	"hostname gw.example.net\nrelay_domains example.net\nbackend m1 198.18.1.10:25 xclient on\n"
	"bare_newline normalize\npipelining_enforce off\nmessage_size_limit 2000\n",
	"hostname gw.example.net\nrelay_domains example.net .sub.example.org\nbackend m1 198.18.1.10:25 "
	"xclient off proxy_protocol v2\nbackend m2 198.18.1.11:25 xclient off\nlimit msg_rate ip 5/hour\n"
	"blocklist sender bad@example.org\n",
	"hostname gw.example.net\nrelay_domains example.net\nbackend m1 198.18.1.10:25 xclient off proxy_protocol v1\n"
	"bare_newline normalize\ncommand_line_limit 1000\nrecipient_limit 100\n",
};

static struct fake_env *envs[4];

/* Client ends of DATA: "\r\n.\r\n" anywhere (DATA's own CR LF included). */
static unsigned count_ends(const uint8_t *p, size_t n)
{
	unsigned k = 0;
	for (size_t i = 0; i + 5 <= n; i++)
		if (memcmp(p + i, "\r\n.\r\n", 5) == 0)
			k++;
	return k;
}

/* "queued as FAKE" lines the client got: only the MTA's 250 says that. */
static unsigned count_queued(const struct fake_buf *b)
{
	unsigned k = 0;
	const uint8_t *p = b->p, *e = b->p ? b->p + b->len : NULL;
	while (p != NULL && (p = memmem(p, (size_t)(e - p), "queued as FAKE", 14)) != NULL) {
		k++;
		p += 14;
	}
	return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fake_conn *c;
	uint8_t opt;
	size_t off = 2;
	unsigned ends;

	if (size < 2)
		return 0;
	if (envs[0] == NULL) {
		sl_log_set_level(SL_LOG_ERR);
		sl_log_set_sink(NULL, NULL);
		for (int i = 0; i < 4; i++)
			if ((envs[i] = fake_env_new(configs[i])) == NULL)
				abort();
	}
	opt = data[0];
	c = fake_conn_new(envs[opt & 3], "198.18.0.7", 40000, true);
	c->mta.pipelining = opt & 4;
	c->mta.xclient = opt & 8;
	c->mta.dot_code = (opt & 0x30) == 0x10 ? 451 : (opt & 0x30) == 0x20 ? 554 : 250;
	c->mta.reset_in_data = (opt & 0xc0) == 0x40;
	c->mta.silent_dot = (opt & 0xc0) == 0x80;
	c->auto_connect_fail = (opt & 0xc0) == 0xc0 ? 1 : 0;
	envs[opt & 3]->w.now_ms += 3600 * 1000; /* rate limits refill between inputs */
	ends = count_ends(data + 2, size - 2);
	/* segments: data[1] seeds the cut sizes; 0xff in the stream also fires the clock */
	unsigned seed = data[1] | 1;
	while (off < size && c->s != NULL) {
		size_t k = 1 + (seed % 64);
		seed = seed * 1103515245u + 12345u;
		k = SL_MIN(k, size - off);
		/* Segments are cut anywhere, DATA lines included: the engine must
		 * not frame anything after DATA before its answer (regression:
		 * tests/unit/session/test_data_barrier.c). */
		fake_client_send(c, data + off, k);
		off += k;
		check_taken(c);
		if ((seed >> 16) % 31 == 0)
			fake_advance(c, 1000 + (seed >> 8) % 400000);
	}
	if (c->s != NULL)
		fake_advance(c, 700000);
	check_taken(c);
#ifdef FUZZ_DEBUG
	fprintf(stderr, "backend:\n%s\nclient:\n%s\nmessages=%u accepted=%u ends=%u bare=%u\n",
		fake_all(c, SL_LEG_BACKEND), fake_all(c, SL_LEG_CLIENT), c->mta.messages, c->mta.accepted,
		ends, c->mta.bare);
#endif
	if (c->mta.bare != 0)
		__builtin_trap();
	if (c->mta.messages > ends)
		__builtin_trap();
	if (count_queued(&c->out[SL_LEG_CLIENT]) > c->mta.accepted)
		__builtin_trap();
	fake_conn_free(c);
	return 0;
}
