/* tcp_input.c - SEGMENT ARRIVES (RFC 9293 3.10.7) with RFC 5961, RFC 7323 PAWS and reassembly. */
#include <string.h>

#include "tcp_priv.h"
#include "util/sl_addr.h"

static inline void drop(struct tcp_stack *st, enum tcp_drop why)
{
	st->cnt.drops[why]++;
}

static inline uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Negotiate from the peer's SYN or SYN-ACK (RFC 9293 3.7.1, RFC 7323 1.3, 2.2). */
static void syn_options(struct tcp_conn *c, const struct tcp_seg *s)
{
	const struct tcp_config *cfg = &c->stack->cfg;
	uint32_t mss = s->opt.has_mss ? s->opt.mss : TCP_DEFAULT_MSS;

	mss = SL_MIN(mss, (uint32_t)cfg->mss);
	mss = SL_MAX(mss, (uint32_t)TCP_MIN_MSS);
	if (cfg->window_scale && s->opt.has_ws) {
		c->flags |= TF_WS;
		c->snd_wscale = SL_MIN(s->opt.wscale, TCP_MAX_WSCALE);
	} else {
		c->flags &= (uint16_t)~TF_WS;
		c->snd_wscale = 0;
		c->rcv_space = SL_MIN(c->rcv_space, 65535u);
	}
	if (cfg->timestamps && s->opt.has_ts) {
		c->flags |= TF_TS;
		c->ts_recent = s->opt.tsval;
		c->ts_recent_age = c->stack->now;
		mss -= 12;          /* RFC 6691: options come out of the MSS */
	} else {
		c->flags &= (uint16_t)~TF_TS;
	}
	/* RFC 2018 2: only if the SYN carried it (and, active, if we offered) */
	if (cfg->sack && s->opt.sack_ok)
		c->flags |= TF_SACK_OK;
	else
		c->flags &= (uint16_t)~TF_SACK_OK;
	c->mss = (uint16_t)mss;
	tcp_cc_init(c);
	/* The window of a SYN is never scaled (RFC 7323 2.2). */
	c->snd_wnd = s->wnd;
	c->max_snd_wnd = s->wnd;
	c->snd_wl1 = s->seq;
	c->snd_wl2 = s->ack;
}

/* RTT from an ACK of new data: the echoed timestamp when we have them
 * (unambiguous even for retransmissions), else Karn's timed segment. */
static void rtt_from_ack(struct tcp_conn *c, const struct tcp_seg *s)
{
	if ((c->flags & TF_TS) && s->opt.has_ts && s->opt.tsecr != 0) {
		tcp_rtt_sample(c, tcp_ts_now(c) - s->opt.tsecr);
		c->flags &= (uint16_t)~TF_RTT_TIMING;
	} else if ((c->flags & TF_RTT_TIMING) && SEQ_GT(s->ack, c->rtt_seq)) {
		tcp_rtt_sample(c, (uint32_t)(c->stack->now - c->rtt_start));
		c->flags &= (uint16_t)~TF_RTT_TIMING;
	}
}

/* RFC 6298 5.7: a SYN that needed retransmitting leaves RTO at 3 s if no
 * sample came to replace the backed-off value. */
static void syn_rtx_rule(struct tcp_conn *c)
{
	if ((c->flags & TF_SYN_RTX) && c->srtt8 == 0 && c->rttvar4 == 0)
		c->rto = c->rto_cur = SL_MAX(3000u, c->stack->cfg.rto_min_ms);
	else
		c->rto_cur = c->rto;
	c->retries = 0;
	tcp_cc_init(c);     /* the IW depends on whether the SYN was lost */
}

static void established(struct tcp_conn *c)
{
	tcp_set_state(c, TCP_ESTABLISHED);
	c->last_rcv = c->stack->now;   /* the SYN-ACK: keepalive's idle time counts from it */
	if (c->ka_max != 0)            /* set while the open was in progress */
		tcp_ka_arm(c, c->last_rcv + c->ka_idle_ms);
	if (c->cbs != NULL && c->cbs->established != NULL)
		c->cbs->established(c, c->user);
}

/* --- listener and TIME-WAIT --- */

static void conn_input(struct tcp_conn *c, struct tcp_seg *s);

/*
 * A passive open is complete (the handshake's ACK, or a valid SYN cookie):
 * the listener's accept decides. Returns false if c is gone (refused, or
 * closed from a callback).
 */
static bool passive_established(struct tcp_stack *st, struct tcp_conn *c, struct tcp_listener *l)
{
	tcp_set_state(c, TCP_ESTABLISHED);
	st->cnt.accepted++;
	c->flags |= TF_ACCEPTED;
	if (l == NULL || l->accept(l->lctx, c) != SL_OK) {
		c->flags &= (uint16_t)~TF_ACCEPTED;   /* refused: no callbacks */
		tcp_abort(c);
		return false;
	}
	if (c->cbs != NULL && c->cbs->established != NULL)
		c->cbs->established(c, c->user);
	return c->state != TCP_CLOSED;
}

/* RFC 4987: the ACK of a cookie SYN-ACK. True if it was one (valid or not). */
static bool cookie_ack_input(struct tcp_stack *st, struct tcp_listener *l, struct tcp_seg *s)
{
	struct tcp_conn *c;
	int rc = tcp_cookie_check(st, l, s, &c);

	if (rc == SL_DECLINED)
		return false;
	if (rc == SL_AGAIN)
		return true;               /* no RST: the client's connection is fine */
	if (rc != SL_OK) {
		drop(st, TCP_DROP_LISTEN);
		tcp_send_rst_reply(st, s, true);
		return true;
	}
	if (passive_established(st, c, l))
		conn_input(c, s);          /* the ACK's own data, FIN and window */
	return true;
}

/* RFC 9293 3.10.7.2. iss_floor: a TIME-WAIT being reused needs an ISS
 * beyond the old incarnation's sequence space. */
static void listen_input(struct tcp_stack *st, struct tcp_listener *l, struct tcp_seg *s,
			 bool has_floor, uint32_t iss_floor)
{
	struct tcp_conn *c;

	if (s->flags & TCP_RST) {
		drop(st, TCP_DROP_LISTEN);
		return;
	}
	if (s->flags & TCP_ACK) {
		if (!(s->flags & TCP_SYN) && cookie_ack_input(st, l, s))
			return;
		drop(st, TCP_DROP_LISTEN);
		tcp_send_rst_reply(st, s, true);
		return;
	}
	if (!(s->flags & TCP_SYN)) {
		drop(st, TCP_DROP_LISTEN);
		return;
	}
	/* A bounded SYN queue; beyond it SYN cookies (RFC 4987 3.6) keep
	 * serving real clients through a flood, with no state at all. With
	 * cookies, half-open connections also never hold more than half of
	 * the TCB pool: a flood that filled it would leave no TCB for the
	 * cookie ACKs of real clients, nor for their sessions' backend legs. */
	if (l->syn_count >= st->cfg.syn_backlog ||
	    (st->cfg.syn_cookies && 2 * st->cnt.conns[TCP_SYN_RCVD] >= st->cfg.max_conns)) {
		if (st->cfg.syn_cookies)
			tcp_cookie_send(st, l, s);
		else
			drop(st, TCP_DROP_SYN_BACKLOG);
		return;
	}
	c = tcp_conn_alloc(st, &s->tuple);
	if (c == NULL)
		return;
	if (has_floor && SEQ_LEQ(c->iss, iss_floor)) {
		c->iss = iss_floor + 1;
		c->snd_una = c->snd_nxt = c->snd_max = c->iss;
		c->sbuf_seq = c->iss + 1;
	}
	c->listener = l;
	l->syn_count++;
	c->flags |= TF_PASSIVE;
	c->irs = s->seq;
	c->rcv_nxt = s->seq + 1;
	c->rcv_adv = c->rcv_nxt;
	syn_options(c, s);
	c->snd_wl2 = c->iss;
	tcp_set_state(c, TCP_SYN_RCVD);
	tcp_send_syn(c);
	tcp_rto_arm(c);
}

/*
 * A segment for a TIME-WAIT tuple. Returns true when absorbed, false when
 * it is a SYN that may reuse the tuple (the entry is gone and *floor set).
 */
static bool tw_input(struct tcp_stack *st, struct tcp_tw_entry *e, struct tcp_seg *s, uint32_t *floor)
{
	/*
	 * RFC 1337: RSTs in TIME-WAIT are ignored, or an old duplicate could
	 * end it early ("TIME-WAIT assassination"). One is taken: the RST a
	 * client sends, exactly at RCV.NXT, in answer to the ACK we gave its
	 * new SYN that could not reopen the tuple (below). Our TIME-WAITs are
	 * on the server side, one per client connection for up to 2 MSL, and
	 * a client that reuses its port with an ISN and no timestamps we
	 * cannot call newer (a NAT, a small stack) would otherwise be shut out
	 * that long. Linux ends its TIME-WAIT on any RST by default
	 * (tcp_rfc1337 = 0); this is the narrow case of it.
	 */
	if (s->flags & TCP_RST) {
		if (e->challenged && s->seq == e->rcv_nxt) {
			tcp_tw_remove(st, e);
			st->cnt.tw_reset++;
			return true;
		}
		drop(st, TCP_DROP_TIME_WAIT);
		return true;
	}
	if ((s->flags & (TCP_SYN | TCP_ACK)) == TCP_SYN) {
		/* RFC 9293 3.10.7.4 / RFC 6191: a new SYN may reopen the tuple if
		 * its timestamp (or, without them, its sequence) is beyond the
		 * old connection's, so no old duplicate can be taken as new. */
		bool newer = (e->has_ts && s->opt.has_ts) ? SEQ_GT(s->opt.tsval, e->ts_recent)
							 : SEQ_GT(s->seq, e->rcv_nxt);
		if (newer && tcp_listener_find(st, s->tuple.lport) != NULL) {
			/* the new ISS must be beyond anything the old one sent */
			*floor = e->snd_nxt + 65535u;
			tcp_tw_remove(st, e);
			st->cnt.tw_reused++;
			return false;
		}
		drop(st, TCP_DROP_TIME_WAIT);
		if (tcp_ratelimit_ok(st, &st->chack_rl)) {
			st->cnt.challenge_acks++;
			e->challenged = 1;
			tcp_send_tw_ack(st, e);
		} else {
			st->cnt.challenge_acks_limited++;
		}
		return true;
	}
	drop(st, TCP_DROP_TIME_WAIT);
	if (s->flags & TCP_FIN) {
		/* The peer did not get our last ACK: again, and restart 2 MSL. */
		e = tcp_tw_restart(st, e);
		tcp_send_tw_ack(st, e);
	} else if (s->len > 0) {
		tcp_send_tw_ack(st, e);
	}
	return true;
}

/* --- SYN-SENT (RFC 9293 3.10.7.3) --- */

static void syn_sent_input(struct tcp_conn *c, struct tcp_seg *s)
{
	struct tcp_stack *st = c->stack;

	if (s->flags & TCP_ACK) {
		if (SEQ_LEQ(s->ack, c->iss) || SEQ_GT(s->ack, c->snd_max)) {
			drop(st, TCP_DROP_SYN_SENT);
			tcp_send_rst_reply(st, s, true);
			/*
			 * The peer answered our SYN with the ACK of an older
			 * incarnation of this tuple: it holds it in TIME-WAIT
			 * (it closed first, after its 221) and our ISN did not
			 * pass it, or it still has a connection we lost (RFC
			 * 5961 4's challenge ACK). The RST just sent ends that
			 * on Linux and the BSDs (RFC 1337 protection is off by
			 * default), so the SYN goes again now rather than after
			 * the first RTO, a whole second; once per open, since a
			 * peer that ignores the RST answers the same again.
			 */
			if (!(s->flags & TCP_RST) && !(c->flags & TF_SYN_RETRY)) {
				c->flags |= TF_SYN_RETRY;
				c->flags &= (uint16_t)~TF_RTT_TIMING;   /* Karn: which SYN a SYN-ACK answers is unclear */
				st->cnt.retransmits++;
				tcp_send_syn(c);
			}
			return;
		}
	}
	if (s->flags & TCP_RST) {
		/* RFC 5961 3.2: in SYN-SENT an RST counts only if it acknowledges our SYN. */
		if (s->flags & TCP_ACK)
			tcp_conn_release(c, TCP_CLOSE_REFUSED);
		else
			drop(st, TCP_DROP_SYN_SENT);
		return;
	}
	if (!(s->flags & TCP_SYN)) {
		drop(st, TCP_DROP_SYN_SENT);
		return;
	}
	c->irs = s->seq;
	c->rcv_nxt = s->seq + 1;
	c->rcv_adv = c->rcv_nxt;
	syn_options(c, s);
	if (s->flags & TCP_ACK) {
		c->snd_una = s->ack;
		rtt_from_ack(c, s);
		tcp_rtx_stop(c);
		syn_rtx_rule(c);
		c->flags |= TF_ACK_NOW;
		st->cnt.connected++;
		/* Data on a SYN-ACK is not taken: it stays unacknowledged and
		 * the peer sends it again. */
		established(c);
		if (c->state != TCP_CLOSED)
			tcp_output(c);
		return;
	}
	/* Simultaneous open (RFC 9293 figure 8): SYN-ACK from the same ISS. */
	c->snd_wl2 = c->iss;
	tcp_set_state(c, TCP_SYN_RCVD);
	tcp_send_syn(c);
	tcp_rto_arm(c);
}

/* --- receive queue --- */

static inline void hold(struct tcp_stack *st, void *owner)
{
	if (st->ops->hold != NULL)
		st->ops->hold(st->ctx, owner);
}

static inline void release(struct tcp_stack *st, void *owner)
{
	if (st->ops->release != NULL)
		st->ops->release(st->ctx, owner);
}

static void rq_remove(struct tcp_conn *c, unsigned i)
{
	c->rq_n--;
	memmove(&c->rq[i], &c->rq[i + 1], (c->rq_n - i) * sizeof(c->rq[0]));
}

static void rq_insert(struct tcp_conn *c, unsigned i, uint32_t seq, const uint8_t *p,
		      uint32_t len, void *owner)
{
	memmove(&c->rq[i + 1], &c->rq[i], (c->rq_n - i) * sizeof(c->rq[0]));
	c->rq[i].seq = seq;
	c->rq[i].data = p;
	c->rq[i].len = len;
	c->rq[i].owner = owner;
	c->rq_n++;
	hold(c->stack, owner);
}

/*
 * Queue a piece beyond RCV.NXT. The out-of-order entries are sorted and
 * never overlap: the new piece is trimmed against them, duplicates
 * vanish, and entries it covers completely are replaced. Bounded by
 * TCP_OOO_MAX entries. Returns false if the piece could not be kept.
 */
static bool ooo_insert(struct tcp_conn *c, uint32_t seq, const uint8_t *p, uint32_t len, void *owner)
{
	struct tcp_stack *st = c->stack;
	unsigned i = c->rq_n - c->rq_ooo;
	uint32_t end = seq + len;

	while (i < c->rq_n && len > 0) {
		struct tcp_rq_ent *e = &c->rq[i];
		uint32_t eend = e->seq + e->len;

		if (SEQ_LEQ(eend, seq)) {
			i++;
			continue;
		}
		if (SEQ_GEQ(e->seq, end))
			break;
		if (SEQ_LEQ(e->seq, seq) && SEQ_GEQ(eend, end))
			return true;                  /* all of it is already queued */
		if (SEQ_LT(seq, e->seq)) {
			if (SEQ_GT(end, eend)) {      /* covers e: e goes */
				release(st, e->owner);
				rq_remove(c, i);
				c->rq_ooo--;
				continue;
			}
			end = e->seq;                 /* keep only what precedes e */
			len = end - seq;
			break;
		}
		p += eend - seq;                      /* drop the head e already has */
		seq = eend;
		len = end - seq;
		i++;
	}
	if (len == 0)
		return true;
	if (c->rq_ooo >= TCP_OOO_MAX || c->rq_n >= TCP_RQ_MAX) {
		drop(st, TCP_DROP_OOO_FULL);
		return false;
	}
	rq_insert(c, i, seq, p, len, owner);
	c->rq_ooo++;
	st->cnt.ooo_queued++;
	return true;
}

/* The hole before the first out-of-order entry may be filled now: entries
 * at or below RCV.NXT join the in-order part (they already sit right
 * after it). Returns true if the queued FIN became in order. */
static bool reassemble(struct tcp_conn *c)
{
	while (c->rq_ooo > 0) {
		unsigned i = c->rq_n - c->rq_ooo;
		struct tcp_rq_ent *e = &c->rq[i];
		uint32_t trim;

		if (SEQ_GT(e->seq, c->rcv_nxt))
			break;
		if (SEQ_LEQ(e->seq + e->len, c->rcv_nxt)) {
			release(c->stack, e->owner);
			rq_remove(c, i);
			c->rq_ooo--;
			continue;
		}
		trim = c->rcv_nxt - e->seq;
		e->data += trim;
		e->seq += trim;
		e->len -= trim;
		c->rq_ooo--;
		c->rcv_nxt += e->len;
		c->rcv_buffered += e->len;
	}
	if ((c->flags & TF_OOO_FIN) && c->ooo_fin_seq == c->rcv_nxt) {
		c->flags &= (uint16_t)~TF_OOO_FIN;
		return true;
	}
	return false;
}

/* RFC 9293 3.10.7.4 "eighth, check the FIN bit", once it is in order. */
static void fin_state(struct tcp_conn *c)
{
	switch (c->state) {
	case TCP_SYN_RCVD:
	case TCP_ESTABLISHED:
		tcp_set_state(c, TCP_CLOSE_WAIT);
		break;
	case TCP_FIN_WAIT_1:
		/* our FIN not yet acknowledged (else we would be in FIN-WAIT-2) */
		tcp_set_state(c, TCP_CLOSING);
		break;
	case TCP_FIN_WAIT_2:
		tcp_rtx_stop(c);
		tcp_send_ack(c);
		tcp_enter_time_wait(c);
		break;
	default:
		break;
	}
}

/*
 * RFC 9293 3.10.7.4 "seventh, process the segment text": trim to the
 * window, hand in-order bytes to the application (directly when nothing
 * is queued before them: the common case holds no buffer at all), queue
 * out-of-order ones, then decide between an immediate and a delayed ACK.
 */
static void data_input(struct tcp_conn *c, struct tcp_seg *s)
{
	struct tcp_stack *st = c->stack;
	const struct tcp_conn_cbs *cbs = c->cbs;
	uint32_t seq = s->seq, len = s->len, wnd;
	const uint8_t *p = s->data;
	bool fin = (s->flags & TCP_FIN) != 0, fin_now = false, filled = false;

	if (SEQ_LT(seq, c->rcv_nxt)) {
		uint32_t d = c->rcv_nxt - seq;
		if (d > len || (d == len && !fin)) {
			c->flags |= TF_ACK_NOW;       /* all old: a duplicate */
			return;
		}
		p += d;
		len -= d;
		seq = c->rcv_nxt;
	}
	wnd = SEQ_GT(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
	if (SEQ_GT(seq + len, c->rcv_nxt + wnd)) {
		uint32_t room = SEQ_GT(c->rcv_nxt + wnd, seq) ? c->rcv_nxt + wnd - seq : 0;
		len = room;                            /* beyond the window: cut, and the FIN with it */
		fin = false;
		c->flags |= TF_ACK_NOW;
	}
	if (SEQ_GT(seq, c->rcv_nxt)) {
		/* Out of order: an immediate duplicate ACK (RFC 5681 4.2). */
		c->sack_last = seq;
		if (ooo_insert(c, seq, p, len, s->owner) && fin) {
			c->flags |= TF_OOO_FIN;
			c->ooo_fin_seq = seq + len;
		}
		c->flags |= TF_ACK_NOW;
		return;
	}
	if (len > 0) {
		unsigned inq = c->rq_n - c->rq_ooo;

		if (c->rq_ooo > 0)
			filled = true;             /* it fills (part of) the hole */

		if (inq == 0 && c->rq_n < TCP_RQ_MAX && (c->flags & TF_ACCEPTED) &&
		    !(c->flags & TF_IN_DELIVER) && cbs != NULL && cbs->data != NULL) {
			uint32_t n;

			c->rcv_nxt += len;
			c->rcv_unacked += len;
			c->flags |= TF_IN_DELIVER;
			n = cbs->data(c, c->user, p, len, s->owner);
			c->flags &= (uint16_t)~TF_IN_DELIVER;
			if (c->state == TCP_CLOSED)
				return;
			if (n < len) {
				/* keep the rest in front of any out-of-order entries */
				rq_insert(c, c->rq_n - c->rq_ooo, seq + n, p + n, len - n, s->owner);
				c->rcv_buffered += len - n;
			}
		} else {
			if (c->rq_n >= TCP_RQ_MAX) {
				drop(st, TCP_DROP_RCVQ_FULL);
				c->flags |= TF_ACK_NOW;
				return;
			}
			rq_insert(c, inq, seq, p, len, s->owner);
			c->rcv_nxt += len;
			c->rcv_unacked += len;
			c->rcv_buffered += len;
		}
		if (len > c->rcv_mss)
			c->rcv_mss = (uint16_t)SL_MIN(len, 65535u);
	}
	if (fin) {
		fin_now = true;
	} else if (c->rq_ooo > 0) {
		uint32_t before = c->rcv_nxt;
		fin_now = reassemble(c);
		if (c->rcv_nxt != before)
			filled = true;
	}
	if (filled)
		c->flags |= TF_ACK_NOW;                /* RFC 5681 4.2: a filled hole is ACKed at once */
	if (fin_now) {
		c->rcv_nxt++;
		c->flags |= TF_FIN_RCVD | TF_ACK_NOW;
	}
	tcp_deliver(c);
	if (c->state == TCP_CLOSED)
		return;
	if (fin_now) {
		fin_state(c);
		if (c->state == TCP_CLOSED)
			return;
	}
	/* Delayed ACK (RFC 9293 3.8.6.3, RFC 5681 4.2): at least every second
	 * full-sized segment, else within delack_ms. */
	if (!(c->flags & TF_ACK_NOW) && c->rcv_unacked > 0) {
		if (c->rcv_unacked >= 2u * c->rcv_mss)
			c->flags |= TF_ACK_NOW;
		else
			tcp_dack_arm(c);
	}
}

/* New data acknowledged, window updates, and the states an ACK of our FIN
 * moves (RFC 9293 3.10.7.4 "fifth"). Returns false if c is gone. */
static bool ack_input(struct tcp_conn *c, struct tcp_seg *s)
{
	uint32_t ack = s->ack;
	uint32_t new_wnd = (uint32_t)s->wnd << c->snd_wscale;
	/* RFC 5681 section 2, DUPLICATE ACKNOWLEDGMENT: data outstanding, no
	 * payload, no SYN/FIN, same ACK and same window as before. Not while
	 * probing a zero window: probe answers look just like these. */
	bool dup = ack == c->snd_una && s->len == 0 && !(s->flags & (TCP_SYN | TCP_FIN)) &&
		   SEQ_GT(c->snd_max, c->snd_una) && new_wnd == c->snd_wnd &&
		   c->rtx_mode != TCP_RTX_PERSIST;

	if (SEQ_GEQ(ack, c->snd_una) &&
	    (SEQ_LT(c->snd_wl1, s->seq) || (c->snd_wl1 == s->seq && SEQ_LEQ(c->snd_wl2, ack)))) {
		c->snd_wnd = new_wnd;
		c->snd_wl1 = s->seq;
		c->snd_wl2 = ack;
		if (c->snd_wnd > c->max_snd_wnd)
			c->max_snd_wnd = c->snd_wnd;
		if (c->snd_wnd > 0 && c->rtx_mode == TCP_RTX_PERSIST) {
			tcp_rtx_stop(c);
			c->persist_cur = 0;
		}
	}
	if (SEQ_GT(ack, c->snd_una)) {
		uint32_t data_end = c->sbuf_seq + c->sbuf_len;
		bool fin_acked = (c->flags & TF_FIN_QUEUED) && SEQ_GT(ack, data_end);
		uint32_t acked = ack - c->snd_una, flight = c->snd_max - c->snd_una;
		bool rearm;

		if (c->snd_una == c->iss) {
			/* the SYN's sequence number is not data: it grows no window */
			acked--;
			flight--;
		}

		rtt_from_ack(c, s);
		if (SEQ_GT(ack, c->sbuf_seq))
			tcp_sndq_ack(c, SL_MIN(ack - c->sbuf_seq, c->sbuf_len));
		c->snd_una = ack;
		if (SEQ_LT(c->snd_nxt, ack))
			c->snd_nxt = ack;
		c->retries = 0;
		c->rto_cur = c->rto;
		c->persist_cur = 0;
		rearm = tcp_cc_ack(c, acked, flight);
		/* RFC 6298 5.2 / 5.3 */
		if (c->snd_una == c->snd_max) {
			if (c->rtx_mode == TCP_RTX_RTO)
				tcp_rtx_stop(c);
		} else if (c->rtx_mode != TCP_RTX_PERSIST && rearm) {
			tcp_rto_arm(c);
		}
		if (fin_acked) {
			c->flags |= TF_FIN_ACKED;
			switch (c->state) {
			case TCP_FIN_WAIT_1:
				tcp_set_state(c, TCP_FIN_WAIT_2);
				tcp_fw2_arm(c);
				break;
			case TCP_CLOSING:
				tcp_enter_time_wait(c);
				return false;
			case TCP_LAST_ACK:
				tcp_conn_release(c, TCP_CLOSE_NORMAL);
				return false;
			default:
				break;
			}
		}
		if ((c->flags & TF_WANT_WRITE) && tcp_send_space(c) >= c->want_space) {
			c->flags &= (uint16_t)~TF_WANT_WRITE;
			if (c->cbs != NULL && c->cbs->writable != NULL)
				c->cbs->writable(c, c->user);
			if (c->state == TCP_CLOSED)
				return false;
		}
	} else if (dup) {
		tcp_cc_dupack(c);
	}
	return true;
}

/* RFC 9293 3.10.7.4, the segment acceptability test (table of four cases). */
static bool acceptable(const struct tcp_conn *c, uint32_t seq, uint32_t seglen)
{
	uint32_t wnd = SEQ_GT(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;

	if (seglen == 0) {
		if (wnd == 0)
			return seq == c->rcv_nxt;
		return tcp_seq_in(seq, c->rcv_nxt, c->rcv_nxt + wnd);
	}
	if (wnd == 0)
		/* RFC 9293: "special allowance should be made to accept valid
		 * ACKs, URGs, and RSTs" - the text is cut later, the ACK taken. */
		return seq == c->rcv_nxt;
	return tcp_seq_in(seq, c->rcv_nxt, c->rcv_nxt + wnd) ||
	       tcp_seq_in(seq + seglen - 1, c->rcv_nxt, c->rcv_nxt + wnd);
}

static void conn_input(struct tcp_conn *c, struct tcp_seg *s)
{
	struct tcp_stack *st = c->stack;
	uint32_t seglen;

	if (c->state == TCP_SYN_SENT) {
		syn_sent_input(c, s);
		return;
	}
	if (s->flags & TCP_SYN) {
		if (c->state == TCP_SYN_RCVD && s->seq == c->irs) {
			if (!(s->flags & TCP_ACK)) {
				/* the peer's SYN again: our SYN-ACK was lost */
				tcp_send_syn(c);
				return;
			}
			/* simultaneous open: the SYN-ACK; its SYN is the one we have */
			s->seq++;
			s->flags &= (uint8_t)~TCP_SYN;
		} else {
			/* RFC 5961 4.2: a SYN in a synchronized state, whatever its
			 * sequence number, gets a challenge ACK and is dropped. */
			drop(st, TCP_DROP_SYN_SYNCED);
			tcp_send_challenge_ack(c);
			return;
		}
	}
	/* PAWS, RFC 7323 5.3 R1 (not applied to RSTs). */
	if ((c->flags & TF_TS) && s->opt.has_ts && !(s->flags & TCP_RST) &&
	    SEQ_LT(s->opt.tsval, c->ts_recent) && st->now - c->ts_recent_age < TCP_PAWS_IDLE_MS) {
		drop(st, TCP_DROP_PAWS);
		tcp_send_ack(c);
		return;
	}
	seglen = s->len + ((s->flags & TCP_FIN) ? 1 : 0);
	if (!acceptable(c, s->seq, seglen)) {
		drop(st, TCP_DROP_NOT_ACCEPTABLE);
		if (!(s->flags & TCP_RST))
			tcp_send_ack(c);
		return;
	}
	c->last_rcv = st->now;      /* the peer is alive (keepalive) */
	c->ka_sent = 0;             /* and its answer ends a round of probes, however soon it came */
	/* RFC 7323 4.3: TS.Recent from a segment covering Last.ACK.sent. */
	if ((c->flags & TF_TS) && s->opt.has_ts && SEQ_LEQ(s->seq, c->last_ack_sent) &&
	    SEQ_GEQ(s->opt.tsval, c->ts_recent)) {
		c->ts_recent = s->opt.tsval;
		c->ts_recent_age = st->now;
	}
	if (s->flags & TCP_RST) {
		/* RFC 5961 3.2: only an RST at exactly RCV.NXT resets; one that
		 * is merely in the window gets a challenge ACK. */
		if (s->seq != c->rcv_nxt) {
			drop(st, TCP_DROP_RST_WINDOW);
			tcp_send_challenge_ack(c);
			return;
		}
		if (c->state == TCP_SYN_RCVD && !(c->flags & TF_PASSIVE))
			tcp_conn_release(c, TCP_CLOSE_REFUSED);
		else
			tcp_conn_release(c, TCP_CLOSE_RESET);   /* passive SYN-RCVD: silently gone */
		return;
	}
	if (!(s->flags & TCP_ACK)) {
		drop(st, TCP_DROP_NO_ACK);
		return;
	}
	if (c->state == TCP_SYN_RCVD) {
		if (!SEQ_GT(s->ack, c->snd_una) || SEQ_GT(s->ack, c->snd_max)) {
			drop(st, TCP_DROP_BAD_ACK);
			tcp_send_rst_reply(st, s, true);
			return;
		}
		syn_rtx_rule(c);
		if (c->flags & TF_PASSIVE) {
			struct tcp_listener *l = c->listener;

			if (l != NULL) {
				l->syn_count--;
				c->listener = NULL;
			}
			if (!passive_established(st, c, l))
				return;
		} else {
			st->cnt.connected++;
			established(c);
		}
		if (c->state == TCP_CLOSED)
			return;
	}
	/* RFC 5961 5.2: acceptable ACKs lie in [SND.UNA - MAX.SND.WND, SND.NXT]
	 * (SND.MAX here, as SND.NXT goes back after an RTO). */
	if (SEQ_GT(s->ack, c->snd_max) || SEQ_LT(s->ack, c->snd_una - c->max_snd_wnd)) {
		drop(st, TCP_DROP_BAD_ACK);
		tcp_send_challenge_ack(c);
		return;
	}
	if (!ack_input(c, s))
		return;
	/* URG is not supported (RFC 6093 discourages it): the text is data. */
	if ((s->len > 0 || (s->flags & TCP_FIN)) &&
	    (c->state == TCP_ESTABLISHED || c->state == TCP_FIN_WAIT_1 || c->state == TCP_FIN_WAIT_2)) {
		data_input(c, s);
		if (c->state == TCP_CLOSED)
			return;
	}
	tcp_output(c);
}

void tcp_input_seg(struct tcp_stack *st, struct tcp_seg *s)
{
	struct tcp_conn *c = tcp_conn_lookup(st, &s->tuple);
	struct tcp_tw_entry *e;
	struct tcp_listener *l;
	uint32_t floor = 0;
	bool has_floor = false;

	if (c != NULL) {
		conn_input(c, s);
		return;
	}
	e = tcp_tw_lookup(st, &s->tuple);
	if (e != NULL) {
		if (tw_input(st, e, s, &floor))
			return;
		has_floor = true;
	}
	l = tcp_listener_find(st, s->tuple.lport);
	if (l != NULL) {
		listen_input(st, l, s, has_floor, floor);
		return;
	}
	drop(st, TCP_DROP_NO_CONN);
	tcp_send_rst_reply(st, s, true);
}

void tcp_input(struct tcp_stack *st, const struct tcp_seg_in *in)
{
	const uint8_t *h = in->tcp;
	struct tcp_seg s;
	uint32_t hl;
	size_t alen;

	st->cnt.seg_in++;
	if (in->len < TCP_HDR_LEN) {
		drop(st, TCP_DROP_SHORT);
		return;
	}
	hl = (uint32_t)(h[12] >> 4) * 4;
	if (hl < TCP_HDR_LEN || hl > in->len) {
		drop(st, TCP_DROP_SHORT);
		return;
	}
	s.flags = h[13] & 0x3f;    /* ECN bits (RFC 3168) are not used yet */
	if ((s.flags & (TCP_SYN | TCP_RST)) == (TCP_SYN | TCP_RST) ||
	    (s.flags & (TCP_SYN | TCP_FIN)) == (TCP_SYN | TCP_FIN) ||
	    (s.flags & (TCP_SYN | TCP_RST | TCP_ACK | TCP_FIN)) == 0) {
		drop(st, TCP_DROP_BAD_FLAGS);
		return;
	}
	if (tcp_parse_opts(h + TCP_HDR_LEN, hl - TCP_HDR_LEN, (s.flags & TCP_SYN) != 0, &s.opt) != 0) {
		drop(st, TCP_DROP_BAD_OPT);
		return;
	}
	alen = in->family == SL_AF_INET6 ? 16 : 4;
	memset(&s.tuple, 0, sizeof(s.tuple));
	memcpy(s.tuple.laddr, in->daddr, alen);
	memcpy(s.tuple.raddr, in->saddr, alen);
	s.tuple.rport = (uint16_t)(h[0] << 8 | h[1]);
	s.tuple.lport = (uint16_t)(h[2] << 8 | h[3]);
	s.tuple.family = in->family;
	s.seq = get32(h + 4);
	s.ack = get32(h + 8);
	s.wnd = (uint16_t)(h[14] << 8 | h[15]);
	s.len = in->len - hl;
	s.data = h + hl;
	s.owner = in->owner;
	st->cnt.bytes_in += s.len;
	tcp_enter(st);
	tcp_input_seg(st, &s);
	tcp_leave(st);
}
