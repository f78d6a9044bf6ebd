/* tcp_opt.c - TCP option parsing and building (RFC 9293 3.2, RFC 7323, RFC 2018), and header encoding. */
#include <endian.h>
#include <string.h>

#include "tcp_priv.h"

#define OPT_EOL      0
#define OPT_NOP      1
#define OPT_MSS      2
#define OPT_WS       3
#define OPT_SACK_OK  4
#define OPT_SACK     5
#define OPT_TS       8

/*
 * Parse the options area. The structure is checked strictly: a length byte
 * of 0 or 1, or an option running past the header, makes the whole segment
 * invalid (-1: the caller drops and counts it), since a length we cannot
 * trust means we cannot trust where the options end (RFC 9293 3.1 says a
 * TCP must be prepared to handle illegal lengths without crashing).
 * A known option with the wrong length is ignored rather than fatal, as
 * its content, not the framing, is bad. MSS, window scale and
 * SACK-permitted count only on a SYN (RFC 9293 3.2, RFC 7323 2.2).
 */
int tcp_parse_opts(const uint8_t *p, uint32_t len, bool syn, struct tcp_opts *o)
{
	uint32_t i = 0;

	memset(o, 0, sizeof(*o));
	while (i < len) {
		uint8_t kind = p[i], olen;

		if (kind == OPT_EOL)
			break;
		if (kind == OPT_NOP) {
			i++;
			continue;
		}
		if (i + 1 >= len)
			return -1;              /* no room for the length byte */
		olen = p[i + 1];
		if (olen < 2 || i + olen > len)
			return -1;
		switch (kind) {
		case OPT_MSS:
			if (olen == 4 && syn) {
				o->has_mss = 1;
				o->mss = (uint16_t)(p[i + 2] << 8 | p[i + 3]);
			}
			break;
		case OPT_WS:
			if (olen == 3 && syn) {
				o->has_ws = 1;
				o->wscale = p[i + 2];
			}
			break;
		case OPT_SACK_OK:
			if (olen == 2 && syn)
				o->sack_ok = 1;
			break;
		case OPT_TS:
			if (olen == 10) {
				o->has_ts = 1;
				o->tsval = (uint32_t)p[i + 2] << 24 | (uint32_t)p[i + 3] << 16 |
					   (uint32_t)p[i + 4] << 8 | p[i + 5];
				o->tsecr = (uint32_t)p[i + 6] << 24 | (uint32_t)p[i + 7] << 16 |
					   (uint32_t)p[i + 8] << 8 | p[i + 9];
			}
			break;
		default:
			break;                  /* unknown options are skipped */
		}
		i += olen;
	}
	return 0;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* NOP NOP TS: 12 bytes, keeps the timestamps 4-byte aligned (RFC 7323 App. A). */
uint32_t tcp_build_ts_opt(uint8_t *p, uint32_t tsval, uint32_t tsecr)
{
	p[0] = OPT_NOP;
	p[1] = OPT_NOP;
	p[2] = OPT_TS;
	p[3] = 10;
	put32(p + 4, tsval);
	put32(p + 8, tsecr);
	return 12;
}

/* SYN / SYN-ACK options: MSS, then NOP+WS (wscale < 0: none), then
 * SACK-permitted and TS: together they are 12 aligned bytes, as Linux
 * sends them; alone each is padded with NOPs to 4 or 12. */
uint32_t tcp_build_syn_opts(uint8_t *p, uint16_t mss, int wscale, bool sack, bool ts, uint32_t tsval,
			    uint32_t tsecr)
{
	uint32_t n = 0;

	p[n++] = OPT_MSS;
	p[n++] = 4;
	p[n++] = (uint8_t)(mss >> 8);
	p[n++] = (uint8_t)mss;
	if (wscale >= 0) {
		p[n++] = OPT_NOP;
		p[n++] = OPT_WS;
		p[n++] = 3;
		p[n++] = (uint8_t)wscale;
	}
	if (sack && ts) {
		n += tcp_build_ts_opt(p + n, tsval, tsecr);
		p[n - 12] = OPT_SACK_OK;          /* the two NOPs become SACK-permitted */
		p[n - 11] = 2;
	} else if (ts) {
		n += tcp_build_ts_opt(p + n, tsval, tsecr);
	} else if (sack) {
		p[n++] = OPT_NOP;
		p[n++] = OPT_NOP;
		p[n++] = OPT_SACK_OK;
		p[n++] = 2;
	}
	return n;
}

/*
 * RFC 2018 3/4: NOP NOP SACK with up to max blocks [left, right) from the
 * out-of-order queue (sorted, non-overlapping; touching pieces merge).
 * The first block holds the most recent arrival (`recent`), the rest
 * follow in sequence order. Returns the bytes written (0: none).
 */
uint32_t tcp_build_sack_opt(uint8_t *p, const struct tcp_rq_ent *ooo, unsigned n, uint32_t recent,
			    unsigned max)
{
	uint32_t l[TCP_OOO_MAX], r[TCP_OOO_MAX];
	unsigned nb = 0, first = 0, out = 0;

	for (unsigned i = 0; i < n; i++) {
		if (nb > 0 && r[nb - 1] == ooo[i].seq) {
			r[nb - 1] += ooo[i].len;
		} else if (nb < TCP_OOO_MAX) {
			l[nb] = ooo[i].seq;
			r[nb] = ooo[i].seq + ooo[i].len;
			nb++;
		}
	}
	if (nb == 0 || max == 0)
		return 0;
	for (unsigned b = 0; b < nb; b++)
		if (tcp_seq_in(recent, l[b], r[b]))
			first = b;
	p[0] = OPT_NOP;
	p[1] = OPT_NOP;
	p[2] = OPT_SACK;
	put32(p + 4, l[first]);
	put32(p + 8, r[first]);
	out = 1;
	for (unsigned b = 0; b < nb && out < max; b++) {
		if (b == first)
			continue;
		put32(p + 4 + 8 * out, l[b]);
		put32(p + 8 + 8 * out, r[b]);
		out++;
	}
	p[3] = (uint8_t)(2 + 8 * out);
	return 4 + 8 * out;
}

uint32_t tcp_build_header(const struct tcp_seg_out *s, uint8_t *h)
{
	uint32_t hl = TCP_HDR_LEN + s->optlen;

	h[0] = (uint8_t)(s->tuple->lport >> 8);
	h[1] = (uint8_t)s->tuple->lport;
	h[2] = (uint8_t)(s->tuple->rport >> 8);
	h[3] = (uint8_t)s->tuple->rport;
	put32(h + 4, s->seq);
	put32(h + 8, s->ack);
	h[12] = (uint8_t)((hl / 4) << 4);
	h[13] = s->flags;
	h[14] = (uint8_t)(s->wnd >> 8);
	h[15] = (uint8_t)s->wnd;
	h[16] = h[17] = 0;   /* checksum: the port layer's (or the NIC's) */
	h[18] = h[19] = 0;   /* urgent pointer: we never send urgent data */
	if (s->optlen)
		memcpy(h + TCP_HDR_LEN, s->opts, s->optlen);
	return hl;
}

uint32_t tcp_header_sum(const struct tcp_seg_out *s)
{
	uint32_t hl = TCP_HDR_LEN + s->optlen;
	uint32_t seq = htobe32(s->seq), ack = htobe32(s->ack);
	uint32_t sum;

	/* each field as the 16-bit words it is stored as, loaded in host order */
	sum = (uint32_t)htobe16(s->tuple->lport) + htobe16(s->tuple->rport);
	sum += (seq & 0xffff) + (seq >> 16) + (ack & 0xffff) + (ack >> 16);
	sum += htobe16((uint16_t)((hl / 4) << 12 | s->flags));
	sum += htobe16(s->wnd);
	for (uint32_t i = 0; i + 1 < s->optlen; i += 2) {
		uint16_t w;

		memcpy(&w, s->opts + i, 2);
		sum += w;
	}
	return sum;
}
