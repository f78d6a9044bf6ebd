/* dpdk_steer.c - software Toeplitz and source-port choice so that backend replies reach the opening lcore. */
#include <string.h>

#include "dpdk/dpdk_steer.h"
#include "util/sl_status.h"

#define DPDK_STEER_RETA_DEFAULT 128

uint32_t dpdk_steer_toeplitz(const uint8_t *key, size_t keylen, const uint8_t *input, size_t len)
{
	uint32_t h = 0, win = 0;
	size_t next;

	/* win holds key bits [i, i + 32) for input bit i; refill a byte at a time */
	for (next = 0; next < 4; next++)
		win = (win << 8) | (next < keylen ? key[next] : 0);
	for (size_t i = 0; i < len; i++) {
		uint8_t kb = next < keylen ? key[next] : 0;

		next++;
		for (int b = 7; b >= 0; b--) {
			if (input[i] & (1u << b))
				h ^= win;
			win = (win << 1) | ((kb >> b) & 1u);
		}
	}
	return h;
}

static void tuple_bytes(uint8_t out[DPDK_STEER_INPUT4], uint32_t src, uint32_t dst, uint16_t sport,
			uint16_t dport)
{
	memcpy(out, &src, 4);   /* already network order */
	memcpy(out + 4, &dst, 4);
	out[8] = (uint8_t)(sport >> 8);
	out[9] = (uint8_t)sport;
	out[10] = (uint8_t)(dport >> 8);
	out[11] = (uint8_t)dport;
}

int dpdk_steer_init(struct dpdk_steer *s, const uint8_t *key, size_t keylen, uint16_t nqueues,
		    uint16_t reta_size)
{
	uint8_t in[DPDK_STEER_INPUT4];

	if (s == NULL || key == NULL || keylen == 0 || keylen > DPDK_STEER_KEY_MAX || nqueues == 0 ||
	    reta_size > DPDK_STEER_RETA_MAX)
		return SL_ERROR;
	memset(s, 0, sizeof(*s));
	memcpy(s->key, key, keylen);
	s->key_len = (uint8_t)keylen;
	s->nqueues = nqueues;
	s->reta_size = reta_size != 0 ? reta_size : DPDK_STEER_RETA_DEFAULT;
	for (unsigned i = 0; i < s->reta_size; i++)
		s->reta[i] = (uint16_t)(i % nqueues);
	/* linearity: each byte's share of the hash, the rest of the input zero */
	memset(in, 0, sizeof(in));
	for (unsigned i = 0; i < DPDK_STEER_INPUT4; i++) {
		for (unsigned v = 0; v < 256; v++) {
			in[i] = (uint8_t)v;
			s->tab[i][v] = dpdk_steer_toeplitz(s->key, s->key_len, in, sizeof(in));
		}
		in[i] = 0;
	}
	return SL_OK;
}

int dpdk_steer_set_reta(struct dpdk_steer *s, const uint16_t *reta, uint16_t n)
{
	if (s == NULL || reta == NULL || n == 0 || n > DPDK_STEER_RETA_MAX)
		return SL_ERROR;
	for (unsigned i = 0; i < n; i++)
		if (reta[i] >= s->nqueues)
			return SL_ERROR;
	memcpy(s->reta, reta, (size_t)n * sizeof(reta[0]));
	s->reta_size = n;
	return SL_OK;
}

static uint32_t hash_bytes(const struct dpdk_steer *s, const uint8_t *in, unsigned n)
{
	uint32_t h = 0;

	for (unsigned i = 0; i < n; i++)
		h ^= s->tab[i][in[i]];
	return h;
}

uint32_t dpdk_steer_hash4(const struct dpdk_steer *s, const struct dpdk_steer_tuple *t)
{
	uint8_t in[DPDK_STEER_INPUT4];

	tuple_bytes(in, t->src, t->dst, t->sport, t->dport);
	return hash_bytes(s, in, DPDK_STEER_INPUT4);
}

int dpdk_steer_pick_port(const struct dpdk_steer *s, uint32_t our_addr, uint32_t backend_addr,
			 uint16_t backend_port, uint16_t want_queue, uint16_t *port_io,
			 uint16_t lo, uint16_t hi)
{
	uint8_t in[DPDK_STEER_INPUT4];
	uint32_t base, span, p;

	if (s == NULL || port_io == NULL || lo > hi || want_queue >= s->nqueues)
		return SL_ERROR;
	/* the reply without its dport; each candidate port XORs in its own share */
	tuple_bytes(in, backend_addr, our_addr, backend_port, 0);
	base = hash_bytes(s, in, DPDK_STEER_INPUT4 - 2);
	span = (uint32_t)hi - lo + 1;
	/* start after *port_io; a start outside the range begins at lo */
	p = (*port_io >= lo && *port_io <= hi) ? *port_io : hi;
	for (uint32_t n = 0; n < span; n++) {
		uint32_t h;

		p = p >= hi ? lo : p + 1;
		h = base ^ s->tab[10][p >> 8] ^ s->tab[11][p & 0xff];
		if (dpdk_steer_queue(s, h) == want_queue) {
			*port_io = (uint16_t)p;
			return SL_OK;
		}
	}
	return SL_ERROR;
}
