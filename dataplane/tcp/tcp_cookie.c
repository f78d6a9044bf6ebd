/* tcp_cookie.c - SYN cookies (RFC 4987 3.6): when the SYN backlog is full, the SYN-ACK's ISN is the only state. */
#include <string.h>

#include "tcp_priv.h"
#include "tcp_siphash.h"

/*
 * The cookie, before the per-tuple offset is added:
 *
 *   31..27  time counter, low 5 bits (one tick = 2^16 ms, about 65.5 s)
 *   26..24  index into cookie_mss[] (the peer's MSS, rounded down)
 *   23..0   SipHash-2-4 of (tuple, peer ISN, full counter, index) under a
 *           key of its own, truncated
 *
 * The offset is the same keyed per-tuple hash our RFC 6528 ISNs start
 * from, so cookie ISNs look like any other and the fields are hidden.
 * A forger must guess 24 MAC bits per attempt (RFC 4987 3.6 discusses
 * this bound); the counter lets a cookie live COOKIE_MAX_AGE ticks only.
 */
#define COOKIE_TICK_SHIFT 16
#define COOKIE_T_MASK     31u
#define COOKIE_MAX_AGE    1u             /* valid for 65.5 .. 131 s after it was sent */
#define COOKIE_MAC_MASK   0xffffffu

/*
 * With timestamps the low bits of our TSval carry what the cookie has no
 * room for, as Linux does: the peer echoes them in TSecr of its ACK.
 *   4..0: bit 4 SACK-permitted, bits 3..0 the peer's window shift (15: none)
 * Without timestamps window scaling and SACK are not offered (the SYN-ACK
 * has MSS only), so the connection runs unscaled, with at most 64 KB of
 * window, and without SACK.
 */
#define COOKIE_TS_BITS  5
#define COOKIE_TS_MASK  ((1u << COOKIE_TS_BITS) - 1)
#define COOKIE_WS_NONE  0xfu
#define COOKIE_SACK     0x10u

/* Common MSS values, ascending (RFC 4987 3.6: "a small table"): 536 is the
 * IPv4 default, 1220 IPv6 over 1280, 1440-1460 Ethernet and its tunnels,
 * 8960 jumbo frames. The peer gets the largest not above what it asked. */
static const uint16_t cookie_mss[8] = { 536, 1220, 1300, 1380, 1440, 1452, 1460, 8960 };

void tcp_cookie_init(struct tcp_stack *st)
{
	st->cookie_key[0] = tcp_siphash24(st->cfg.key, "sluice-syncookie-0", 18);
	st->cookie_key[1] = tcp_siphash24(st->cfg.key, "sluice-syncookie-1", 18);
}

/* The tuple's ISN offset (and its timestamp offset): tcp_isn()'s hash. */
static inline uint32_t tuple_offset(const struct tcp_stack *st, const struct tcp_tuple *t, uint32_t *ts_offset)
{
	uint64_t h = tcp_siphash24(st->cfg.key, t, 37);

	*ts_offset = (uint32_t)(h >> 32);
	return (uint32_t)h;
}

static uint32_t cookie_mac(const struct tcp_stack *st, const struct tcp_tuple *t, uint32_t irs,
			   uint32_t tick, uint32_t idx)
{
	uint8_t b[48];

	memcpy(b, t, 37);
	memcpy(b + 37, &irs, 4);
	memcpy(b + 41, &tick, 4);
	b[45] = (uint8_t)idx;
	return (uint32_t)tcp_siphash24(st->cookie_key, b, 46) & COOKIE_MAC_MASK;
}

static inline uint32_t tick_now(const struct tcp_stack *st)
{
	return (uint32_t)(st->now >> COOKIE_TICK_SHIFT);
}

/*
 * Answer a SYN the backlog has no room for. Nothing is allocated or kept
 * except the listener's note that cookies are in use (so that only then
 * do bare ACKs cost a hash). The reply is no larger than the SYN: no
 * amplification, so it needs no rate limit of its own.
 */
void tcp_cookie_send(struct tcp_stack *st, struct tcp_listener *l, const struct tcp_seg *s)
{
	const struct tcp_config *cfg = &st->cfg;
	uint32_t peer_mss = s->opt.has_mss ? s->opt.mss : TCP_DEFAULT_MSS;
	uint32_t idx = 0, tick = tick_now(st), ts_offset, off, cookie, tsval = 0;
	bool ts = cfg->timestamps && s->opt.has_ts;
	int ws = -1;

	while (idx + 1 < 8 && cookie_mss[idx + 1] <= peer_mss)
		idx++;
	off = tuple_offset(st, &s->tuple, &ts_offset);
	cookie = off + ((tick & COOKIE_T_MASK) << 27 | idx << 24 | cookie_mac(st, &s->tuple, s->seq, tick, idx));
	if (ts) {
		uint32_t now_ts = (uint32_t)st->now + ts_offset;
		uint32_t bits = COOKIE_WS_NONE;

		if (cfg->window_scale && s->opt.has_ws) {
			bits = SL_MIN(s->opt.wscale, TCP_MAX_WSCALE);
			ws = tcp_rcv_wscale(cfg);
		}
		if (cfg->sack && s->opt.sack_ok)
			bits |= COOKIE_SACK;
		/* never ahead of the clock later segments use, or the peer's
		 * PAWS would drop them as old (RFC 7323 5.3) */
		tsval = (now_ts & ~COOKIE_TS_MASK) | bits;
		if (SEQ_GT(tsval, now_ts))
			tsval -= COOKIE_TS_MASK + 1;
	}
	tcp_send_cookie_synack(st, s, cookie, ws, ts && cfg->sack && s->opt.sack_ok, ts, tsval);
	l->cookie_last = st->now ? st->now : 1;
	st->cnt.syncookies_sent++;
}

/*
 * A bare ACK reached listener l. SL_DECLINED: no cookies were sent lately,
 * not ours to judge. SL_ERROR: the cookie is forged or too old (counted).
 * SL_AGAIN: valid, but the TCB pool is empty (counted as TABLE_FULL).
 * SL_OK: *out is a new ESTABLISHED connection with what the cookie and the
 * timestamp echo recorded; the caller runs the accept and then the rest
 * of the segment (its data) through the normal path.
 */
int tcp_cookie_check(struct tcp_stack *st, struct tcp_listener *l, const struct tcp_seg *s,
		     struct tcp_conn **out)
{
	const struct tcp_config *cfg = &st->cfg;
	uint32_t ts_offset, packed, idx, age, tick = tick_now(st), mss;
	struct tcp_conn *c;

	*out = NULL;
	if (!cfg->syn_cookies || l->cookie_last == 0 ||
	    st->now - l->cookie_last > ((uint64_t)(COOKIE_MAX_AGE + 1) << COOKIE_TICK_SHIFT))
		return SL_DECLINED;
	packed = (s->ack - 1) - tuple_offset(st, &s->tuple, &ts_offset);
	idx = (packed >> 24) & 7;
	age = (tick - (packed >> 27)) & COOKIE_T_MASK;
	if (age > COOKIE_MAX_AGE ||
	    cookie_mac(st, &s->tuple, s->seq - 1, tick - age, idx) != (packed & COOKIE_MAC_MASK)) {
		st->cnt.syncookies_rejected++;
		return SL_ERROR;
	}
	c = tcp_conn_alloc(st, &s->tuple);
	if (c == NULL)
		return SL_AGAIN;      /* valid, but no TCB now: the peer's next segment tries again */
	c->iss = s->ack - 1;
	c->snd_una = c->snd_nxt = c->snd_max = s->ack;
	c->sbuf_seq = s->ack;
	c->irs = s->seq - 1;
	c->rcv_nxt = s->seq;
	c->last_ack_sent = s->seq;
	c->flags |= TF_PASSIVE;
	mss = SL_MIN((uint32_t)cookie_mss[idx], (uint32_t)cfg->mss);
	if (cfg->timestamps && s->opt.has_ts) {
		uint32_t bits = s->opt.tsecr & COOKIE_TS_MASK;

		c->flags |= TF_TS;
		c->ts_recent = s->opt.tsval;
		c->ts_recent_age = st->now;
		mss -= 12;                       /* RFC 6691, as in syn_options() */
		if (cfg->window_scale && (bits & COOKIE_WS_NONE) != COOKIE_WS_NONE) {
			c->flags |= TF_WS;
			c->snd_wscale = (uint8_t)SL_MIN(bits & COOKIE_WS_NONE, (uint32_t)TCP_MAX_WSCALE);
		}
		if (cfg->sack && (bits & COOKIE_SACK))
			c->flags |= TF_SACK_OK;
	}
	if (!(c->flags & TF_WS)) {
		c->snd_wscale = 0;
		c->rcv_space = SL_MIN(c->rcv_space, 65535u);
	}
	c->mss = (uint16_t)SL_MAX(mss, (uint32_t)TCP_MIN_MSS);
	/* what our SYN-ACK offered: an unscaled window (RFC 7323 2.2) */
	c->rcv_adv = c->rcv_nxt + SL_MIN(c->rcv_space, 65535u);
	c->snd_wnd = (uint32_t)s->wnd << c->snd_wscale;
	c->max_snd_wnd = c->snd_wnd;
	c->snd_wl1 = s->seq;
	c->snd_wl2 = s->ack;
	tcp_cc_init(c);
	st->cnt.syncookies_accepted++;
	*out = c;
	return SL_OK;
}
