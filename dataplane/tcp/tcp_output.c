/* tcp_output.c - building segments: data from the send buffer, SYNs, ACKs, RSTs, window advertisement. */
#include <string.h>

#include "tcp_priv.h"

static inline uint8_t rcv_shift(const struct tcp_conn *c)
{
	return (c->flags & TF_WS) ? c->rcv_wscale : 0;
}

/*
 * The window we advertise. RFC 9293 3.8.6.2.2 (receiver SWS avoidance):
 * the right edge moves only by at least min(RCV.BUFF / 2, MSS), and it
 * never moves left (RFC 9293 3.8.6.2.2 / RFC 7323 2.4), even when the
 * application shrinks its space: what we offered we accept.
 */
uint16_t tcp_rcv_wnd_field(struct tcp_conn *c, bool force)
{
	uint8_t ws = rcv_shift(c);
	uint32_t avail = c->rcv_space > c->rcv_buffered ? c->rcv_space - c->rcv_buffered : 0;
	uint32_t cur = SEQ_GT(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
	uint32_t thresh = SL_MIN(c->rcv_space / 2, (uint32_t)c->rcv_mss);
	/* Held segments occupy receive-queue entries, not only bytes: offer no
	 * more than the free entries can take at one MSS each, or the peer sends
	 * into a window we must then drop from (TCP_DROP_RCVQ_FULL). */
	uint32_t slots = (uint32_t)(TCP_RQ_MAX - c->rq_n) * c->rcv_mss;

	avail = SL_MIN(avail, slots);
	uint32_t w = cur, field, edge;

	if (avail > cur && (force || avail - cur >= thresh))
		w = avail;
	field = w >> ws;
	if (field > 65535)
		field = 65535;
	edge = c->rcv_nxt + (field << ws);
	if (SEQ_GT(edge, c->rcv_adv))
		c->rcv_adv = edge;
	return (uint16_t)field;
}

/* Would a window update be worth a segment? BSD's rule: the edge would
 * move by two segments, or by half the receive space. */
bool tcp_window_update_due(const struct tcp_conn *c)
{
	uint32_t avail = c->rcv_space > c->rcv_buffered ? c->rcv_space - c->rcv_buffered : 0;
	uint32_t cur = SEQ_GT(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
	uint32_t adv = avail > cur ? avail - cur : 0;

	return adv > 0 && (adv >= 2u * c->rcv_mss || 2 * adv >= c->rcv_space);
}

/*
 * Emit one segment of this connection: seq, flags, and len bytes of the
 * send queue starting at seq (len no more than TCP_SEG_PIECES pieces take). Every segment with ACK carries the current
 * rcv_nxt and window and so replaces a pending delayed ACK.
 */
void tcp_xmit(struct tcp_conn *c, uint32_t seq, uint8_t flags, uint32_t len)
{
	struct tcp_stack *st = c->stack;
	struct tcp_seg_out o;
	uint8_t opts[TCP_OPT_MAX];

	memset(&o, 0, sizeof(o));
	o.tuple = &c->tuple;
	o.seq = seq;
	o.flags = flags;
	o.opts = opts;
	if (flags & TCP_SYN) {
		int ws = (c->flags & TF_WS) ? c->rcv_wscale : -1;
		uint32_t avail = c->rcv_space > c->rcv_buffered ? c->rcv_space - c->rcv_buffered : 0;

		/* a SYN offers SACK by config; a SYN-ACK only if the SYN did */
		bool sack = (flags & TCP_ACK) ? (c->flags & TF_SACK_OK) != 0 : st->cfg.sack;

		o.optlen = (uint8_t)tcp_build_syn_opts(opts, st->cfg.mss, ws, sack, (c->flags & TF_TS) != 0,
						       tcp_ts_now(c), (flags & TCP_ACK) ? c->ts_recent : 0);
		/* RFC 7323 2.2: the window of a SYN is never scaled. */
		o.wnd = (uint16_t)SL_MIN(avail, 65535u);
		if (flags & TCP_ACK) {
			uint32_t edge = c->rcv_nxt + o.wnd;
			if (SEQ_GT(edge, c->rcv_adv))
				c->rcv_adv = edge;
		}
	} else {
		if (c->flags & TF_TS)
			o.optlen = (uint8_t)tcp_build_ts_opt(opts, tcp_ts_now(c), c->ts_recent);
		if (flags & TCP_ACK)
			o.wnd = tcp_rcv_wnd_field(c, false);
		/* RFC 2018 4: every ACK while data sits beyond a hole */
		if ((flags & TCP_ACK) && (c->flags & TF_SACK_OK) && c->rq_ooo > 0 && !(flags & TCP_RST))
			o.optlen = (uint8_t)(o.optlen +
				tcp_build_sack_opt(opts + o.optlen, &c->rq[c->rq_n - c->rq_ooo], c->rq_ooo,
						   c->sack_last, (c->flags & TF_TS) ? TCP_SACK_BLOCKS_TS
										 : TCP_SACK_BLOCKS));
	}
	if (flags & TCP_ACK) {
		o.ack = c->rcv_nxt;
		c->last_ack_sent = c->rcv_nxt;
		c->rcv_unacked = 0;
		c->flags &= (uint16_t)~TF_ACK_NOW;
		tcp_dack_cancel(c);
	}
	if (len > 0) {
		/* callers cut len to what the pieces cover (tcp_sndq_pieces) */
		len = tcp_sndq_pieces(c, seq, len, &o);
		c->last_snd = st->now;
	}
	st->cnt.seg_out++;
	st->cnt.bytes_out += len;
	if (flags & TCP_RST)
		st->cnt.rst_sent++;
	st->ops->output(st->ctx, &o);
}

/* SYN (SYN-SENT) or SYN-ACK (SYN-RCVD), always from ISS. */
void tcp_send_syn(struct tcp_conn *c)
{
	uint8_t flags = c->state == TCP_SYN_SENT ? TCP_SYN : (TCP_SYN | TCP_ACK);

	if (!(c->flags & TF_SYN_RTX)) {
		/* Karn: time the SYN unless it is a retransmission. */
		c->rtt_seq = c->iss;
		c->rtt_start = c->stack->now;
		c->flags |= TF_RTT_TIMING;
	}
	tcp_xmit(c, c->iss, flags, 0);
	c->snd_nxt = c->iss + 1;
	if (SEQ_GT(c->snd_nxt, c->snd_max))
		c->snd_max = c->snd_nxt;
}

/*
 * A pure ACK carries SND.MAX, not SND.NXT: after an RTO rewinds SND.NXT
 * the peer may already hold everything up to SND.MAX, and an ACK whose
 * sequence lies below its RCV.NXT fails the acceptability test (RFC 9293
 * 3.10.7.4), so its acknowledgment would be ignored. With both ends going
 * back at once no ACK would ever get through (BSD does the same).
 */
void tcp_send_ack(struct tcp_conn *c)
{
	tcp_xmit(c, c->snd_max, TCP_ACK, 0);
}

/* RFC 5961 section 7: challenge ACKs are limited per lcore, so an attacker
 * cannot turn the stack into an ACK reflector. */
void tcp_send_challenge_ack(struct tcp_conn *c)
{
	struct tcp_stack *st = c->stack;

	if (!tcp_ratelimit_ok(st, &st->chack_rl)) {
		st->cnt.challenge_acks_limited++;
		return;
	}
	st->cnt.challenge_acks++;
	tcp_send_ack(c);
}

/* RFC 9293 3.10.5 (ABORT): <SEQ=SND.NXT><CTL=RST>; the ACK makes it
 * acceptable to a peer in SYN-SENT-like checks and costs nothing. */
void tcp_send_rst_conn(struct tcp_conn *c)
{
	tcp_xmit(c, c->snd_nxt, TCP_RST | TCP_ACK, 0);
}

/*
 * RST in answer to a segment without a connection (RFC 9293 3.10.7.1):
 * if it had an ACK, <SEQ=SEG.ACK><CTL=RST>; else <SEQ=0><ACK=SEG.SEQ +
 * SEG.LEN><CTL=RST,ACK>. Never in answer to an RST. limit: the per-lcore
 * bound on RSTs to closed ports (scans and floods).
 */
void tcp_send_rst_reply(struct tcp_stack *st, const struct tcp_seg *s, bool limit)
{
	struct tcp_seg_out o;

	if (s->flags & TCP_RST)
		return;
	if (limit && !tcp_ratelimit_ok(st, &st->rst_rl)) {
		st->cnt.rst_limited++;
		return;
	}
	memset(&o, 0, sizeof(o));
	o.tuple = &s->tuple;
	if (s->flags & TCP_ACK) {
		o.seq = s->ack;
		o.flags = TCP_RST;
	} else {
		o.seq = 0;
		o.ack = s->seq + s->len + ((s->flags & TCP_SYN) ? 1 : 0) + ((s->flags & TCP_FIN) ? 1 : 0);
		o.flags = TCP_RST | TCP_ACK;
	}
	st->cnt.seg_out++;
	st->cnt.rst_sent++;
	st->ops->output(st->ctx, &o);
}

void tcp_send_tw_ack(struct tcp_stack *st, const struct tcp_tw_entry *e)
{
	struct tcp_seg_out o;
	uint8_t opts[TCP_OPT_MAX];

	memset(&o, 0, sizeof(o));
	o.tuple = &e->tuple;
	o.seq = e->snd_nxt;
	o.ack = e->rcv_nxt;
	o.flags = TCP_ACK;
	o.wnd = e->wnd;
	o.opts = opts;
	if (e->has_ts)
		o.optlen = (uint8_t)tcp_build_ts_opt(opts, (uint32_t)st->now + e->ts_offset, e->ts_recent);
	st->cnt.seg_out++;
	st->ops->output(st->ctx, &o);
}

/*
 * The SYN-ACK of a SYN cookie (tcp_cookie.c): no TCB, everything from the
 * SYN. Our MSS, our window shift if wscale >= 0, timestamps if ts; the
 * window unscaled, as in every SYN (RFC 7323 2.2).
 */
void tcp_send_cookie_synack(struct tcp_stack *st, const struct tcp_seg *s, uint32_t iss, int wscale,
			    bool sack, bool ts, uint32_t tsval)
{
	struct tcp_seg_out o;
	uint8_t opts[TCP_OPT_MAX];

	memset(&o, 0, sizeof(o));
	o.tuple = &s->tuple;
	o.seq = iss;
	o.ack = s->seq + 1;
	o.flags = TCP_SYN | TCP_ACK;
	o.wnd = (uint16_t)SL_MIN(st->cfg.rcv_space, 65535u);
	o.opts = opts;
	o.optlen = (uint8_t)tcp_build_syn_opts(opts, st->cfg.mss, wscale, sack, ts, tsval, s->opt.tsval);
	st->cnt.seg_out++;
	st->ops->output(st->ctx, &o);
}

/*
 * Send what the windows allow: new data in segments of at most MSS, the
 * FIN once all data is out, or a pending ACK. Nagle is off on purpose: the
 * session writes whole SMTP replies and pipelined clients wait for them.
 * force: skip sender SWS avoidance (persist timer with a small window).
 */
static void output_impl(struct tcp_conn *c, bool force)
{
	struct tcp_stack *st = c->stack;
	uint32_t data_end = c->sbuf_seq + c->sbuf_len;
	uint32_t wnd, avail = 0;
	/* RFC 6691: options beyond the timestamps come out of the payload */
	uint32_t mss = c->mss - tcp_sack_space(c);
	bool sent = false;

	switch (c->state) {
	case TCP_ESTABLISHED:
	case TCP_CLOSE_WAIT:
	case TCP_FIN_WAIT_1:
	case TCP_CLOSING:
	case TCP_LAST_ACK:
		break;
	default:
		if (c->flags & TF_ACK_NOW)
			tcp_send_ack(c);
		return;
	}
	if (c->snd_max == c->snd_una && SEQ_LT(c->snd_nxt, data_end))
		tcp_cc_idle_check(c);
	wnd = SL_MIN(c->snd_wnd, c->cwnd);
	for (;;) {
		uint32_t inflight = c->snd_nxt - c->snd_una;
		uint32_t usable = wnd > inflight ? wnd - inflight : 0;
		uint32_t n;
		bool fin;
		uint8_t fl = TCP_ACK;

		avail = SEQ_LT(c->snd_nxt, data_end) ? data_end - c->snd_nxt : 0;
		n = SL_MIN(SL_MIN(avail, usable), mss);
		fin = (c->flags & TF_FIN_QUEUED) && c->snd_nxt + n == data_end;
		if (n == 0 && !fin)
			break;
		/* Sender SWS avoidance (RFC 9293 3.8.6.2.1): no small segment
		 * while more data waits, unless it is half the peer's largest window. */
		if (!force && n < avail && n < mss && n < c->max_snd_wnd / 2)
			break;
		if (n > 0) {
			/* a segment carries TCP_SEG_PIECES pieces at most: the rest
			 * goes in the next one, and the FIN after it */
			uint32_t fit = tcp_sndq_pieces(c, c->snd_nxt, n, NULL);

			if (fit < n) {
				n = fit;
				fin = false;
			}
		}
		if (n > 0 && c->snd_nxt + n == data_end)
			fl |= TCP_PSH;
		if (fin)
			fl |= TCP_FIN;
		if (SEQ_LT(c->snd_nxt, c->snd_max)) {
			st->cnt.retransmits++;
		} else if (n > 0 && !(c->flags & (TF_TS | TF_RTT_TIMING))) {
			c->rtt_seq = c->snd_nxt;   /* Karn: time only new data */
			c->rtt_start = st->now;
			c->flags |= TF_RTT_TIMING;
		}
		tcp_xmit(c, c->snd_nxt, fl, n);
		c->snd_nxt += n + (fin ? 1 : 0);
		if (SEQ_GT(c->snd_nxt, c->snd_max))
			c->snd_max = c->snd_nxt;
		sent = true;
		if (fin || force)
			break;
	}
	if (!sent && (c->flags & TF_ACK_NOW))
		tcp_send_ack(c);
	avail = SEQ_LT(c->snd_nxt, data_end) ? data_end - c->snd_nxt : 0;
	if (SEQ_GT(c->snd_nxt, c->snd_una)) {
		/* RFC 6298 5.1: start the timer if it is not running. */
		if (c->rtx_mode != TCP_RTX_RTO)
			tcp_rto_arm(c);
	} else if (avail > 0 && c->rtx_mode != TCP_RTX_PERSIST) {
		/* Data waits, nothing is in flight to bring an ACK: zero (or
		 * too small) window, so probe it (RFC 9293 3.8.6.1). */
		tcp_persist_arm(c);
	}
}

void tcp_output(struct tcp_conn *c)
{
	output_impl(c, false);
}

void tcp_output_force(struct tcp_conn *c)
{
	output_impl(c, true);
}
