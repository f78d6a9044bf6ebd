/* tcp_timer.c - RTO (RFC 6298), persist, FIN-WAIT-2 and delayed-ACK timers on the lcore's wheel. */
#include "tcp_priv.h"

static void rtx_fire(struct tw_timer *t);
static void dack_fire(struct tw_timer *t);
static void ka_fire(struct tw_timer *t);

void tcp_timers_init(struct tcp_conn *c)
{
	tw_timer_init(&c->rtx_timer, rtx_fire);
	tw_timer_init(&c->dack_timer, dack_fire);
	tw_timer_init(&c->ka_timer, ka_fire);
	c->rtx_mode = TCP_RTX_NONE;
}

void tcp_timers_stop(struct tcp_conn *c)
{
	tw_cancel(&c->stack->wheel, &c->rtx_timer);
	tw_cancel(&c->stack->wheel, &c->dack_timer);
	tw_cancel(&c->stack->wheel, &c->ka_timer);
	c->rtx_mode = TCP_RTX_NONE;
}

void tcp_ka_arm(struct tcp_conn *c, uint64_t at)
{
	tw_arm(&c->stack->wheel, &c->ka_timer, at);
}

/*
 * Keepalive. Arrivals only store last_rcv and zero ka_sent (no timer work per segment);
 * the timer, when it fires, re-arms itself for last_rcv + idle if the peer
 * spoke meanwhile. While data is in flight the RTO is the liveness check
 * and the probe waits. A probe is <SEQ=SND.NXT-1><ACK>, no data (RFC 1122
 * 4.2.3.6 allows either): an old sequence number, so the peer must answer
 * with an ACK (RFC 9293 3.10.7.4) and never takes it as data.
 */
static void ka_fire(struct tw_timer *t)
{
	struct tcp_conn *c = container_of_tcp(t, struct tcp_conn, ka_timer);
	struct tcp_stack *st = c->stack;

	if (c->ka_max == 0 || !tcp_state_synced(c->state))
		return;
	if (st->now - c->last_rcv < c->ka_idle_ms) {
		tcp_ka_arm(c, c->last_rcv + c->ka_idle_ms);
		return;
	}
	if (c->snd_una != c->snd_max || c->rtx_mode != TCP_RTX_NONE) {
		c->ka_sent = 0;
		tcp_ka_arm(c, st->now + c->ka_idle_ms);
		return;
	}
	if (c->ka_sent >= c->ka_max) {
		tcp_send_rst_conn(c);
		tcp_conn_release(c, TCP_CLOSE_TIMEOUT);
		return;
	}
	c->ka_sent++;
	st->cnt.keepalive_probes++;
	tcp_xmit(c, c->snd_max - 1, TCP_ACK, 0);
	tcp_ka_arm(c, st->now + c->ka_intvl_ms);
}

/* (Re)start the retransmission timer at the current, backed-off RTO. */
void tcp_rto_arm(struct tcp_conn *c)
{
	c->rtx_mode = TCP_RTX_RTO;
	tw_arm(&c->stack->wheel, &c->rtx_timer, c->stack->now + c->rto_cur);
}

void tcp_rtx_stop(struct tcp_conn *c)
{
	tw_cancel(&c->stack->wheel, &c->rtx_timer);
	c->rtx_mode = TCP_RTX_NONE;
}

/* The persist timer starts at the RTO (bounded) and backs off like it. */
void tcp_persist_arm(struct tcp_conn *c)
{
	const struct tcp_config *cfg = &c->stack->cfg;

	if (c->persist_cur == 0)
		c->persist_cur = SL_MAX(SL_MIN(c->rto_cur, cfg->persist_max_ms), cfg->persist_min_ms);
	c->rtx_mode = TCP_RTX_PERSIST;
	tw_arm(&c->stack->wheel, &c->rtx_timer, c->stack->now + c->persist_cur);
}

/* FIN-WAIT-2 has no timeout in RFC 9293; without one a peer that never
 * sends its FIN would hold a TCB forever. */
void tcp_fw2_arm(struct tcp_conn *c)
{
	c->rtx_mode = TCP_RTX_FW2;
	tw_arm(&c->stack->wheel, &c->rtx_timer, c->stack->now + c->stack->cfg.fin_wait2_ms);
}

void tcp_dack_arm(struct tcp_conn *c)
{
	if (!tw_armed(&c->dack_timer))
		tw_arm(&c->stack->wheel, &c->dack_timer, c->stack->now + c->stack->cfg.delack_ms);
}

void tcp_dack_cancel(struct tcp_conn *c)
{
	tw_cancel(&c->stack->wheel, &c->dack_timer);
}

/*
 * RFC 6298 2.2/2.3 in Jacobson's fixed point: srtt8 = 8 * SRTT,
 * rttvar4 = 4 * RTTVAR, so alpha = 1/8 and beta = 1/4 are shifts.
 * RTO = SRTT + max(G, 4 * RTTVAR), G = 1 ms (our clock), clamped to
 * [rto_min, rto_max] (2.4, 2.5). A new sample also ends any backoff.
 */
void tcp_rtt_sample(struct tcp_conn *c, uint32_t rtt)
{
	const struct tcp_config *cfg = &c->stack->cfg;
	uint32_t rto;

	if (rtt > cfg->rto_max_ms)
		return;     /* a garbage TSecr, not a measurement */
	c->stack->cnt.rtt_samples++;
	if (c->srtt8 == 0 && c->rttvar4 == 0) {
		c->srtt8 = rtt << 3;
		c->rttvar4 = rtt << 1;      /* RTTVAR = R / 2 */
	} else {
		int32_t delta = (int32_t)rtt - (int32_t)(c->srtt8 >> 3);
		uint32_t adelta = delta < 0 ? (uint32_t)-delta : (uint32_t)delta;

		c->srtt8 = (uint32_t)((int32_t)c->srtt8 + delta);
		c->rttvar4 = c->rttvar4 + adelta - (c->rttvar4 >> 2);
	}
	rto = (c->srtt8 >> 3) + SL_MAX(1u, c->rttvar4);
	rto = SL_MAX(rto, cfg->rto_min_ms);
	rto = SL_MIN(rto, cfg->rto_max_ms);
	c->rto = c->rto_cur = rto;
}

static void rto_expired(struct tcp_conn *c)
{
	struct tcp_stack *st = c->stack;
	bool syn = c->state == TCP_SYN_SENT || c->state == TCP_SYN_RCVD;
	uint32_t limit = syn ? st->cfg.syn_retries : st->cfg.max_retries;

	st->cnt.rto_fired++;
	if (++c->retries > limit) {
		if (c->state != TCP_SYN_SENT)
			tcp_send_rst_conn(c);
		tcp_conn_release(c, TCP_CLOSE_TIMEOUT);
		return;
	}
	/* RFC 6298 5.5: back off; 5.6: restart with it. Karn: whatever was
	 * being timed is now ambiguous. */
	c->rto_cur = SL_MIN(c->rto_cur * 2, st->cfg.rto_max_ms);
	c->flags &= (uint16_t)~TF_RTT_TIMING;
	if (syn) {
		c->flags |= TF_SYN_RTX;
		st->cnt.retransmits++;
		tcp_send_syn(c);
		tcp_rto_arm(c);
		return;
	}
	/* RFC 6298 5.4: retransmit the earliest unacknowledged segment. We go
	 * back to SND.UNA with a one-segment loss window (RFC 5681 3.1), so
	 * only that segment leaves now; each ACK then reopens the window. */
	tcp_cc_rto(c);
	c->snd_nxt = c->snd_una;
	c->rtx_mode = TCP_RTX_NONE;
	tcp_output(c);
	if (c->rtx_mode == TCP_RTX_NONE && SEQ_GT(c->snd_max, c->snd_una))
		tcp_rto_arm(c);
}

static void persist_expired(struct tcp_conn *c)
{
	struct tcp_stack *st = c->stack;
	uint32_t data_end = c->sbuf_seq + c->sbuf_len;

	c->rtx_mode = TCP_RTX_NONE;
	if (!SEQ_LT(c->snd_nxt, data_end)) {
		c->persist_cur = 0;    /* nothing left to probe with */
		return;
	}
	st->cnt.persist_probes++;
	if (c->snd_wnd == 0) {
		/* RFC 9293 3.8.6.1: probe a zero window with one byte; it is not
		 * counted in flight (snd_nxt stays), but an ACK for it is valid. */
		tcp_xmit(c, c->snd_nxt, TCP_ACK, 1);
		if (SEQ_GT(c->snd_nxt + 1, c->snd_max))
			c->snd_max = c->snd_nxt + 1;
	} else {
		tcp_output_force(c);
	}
	/* Probes go on while the peer answers: no retry limit (RFC 9293 3.8.6.1). */
	c->persist_cur = SL_MIN(c->persist_cur * 2, st->cfg.persist_max_ms);
	if (c->rtx_mode == TCP_RTX_NONE && c->snd_nxt == c->snd_una)
		tcp_persist_arm(c);
}

static void rtx_fire(struct tw_timer *t)
{
	struct tcp_conn *c = container_of_tcp(t, struct tcp_conn, rtx_timer);

	switch (c->rtx_mode) {
	case TCP_RTX_RTO:
		rto_expired(c);
		break;
	case TCP_RTX_PERSIST:
		persist_expired(c);
		break;
	case TCP_RTX_FW2:
		c->rtx_mode = TCP_RTX_NONE;
		tcp_send_rst_conn(c);
		tcp_conn_release(c, TCP_CLOSE_TIMEOUT);
		break;
	default:
		break;
	}
}

static void dack_fire(struct tw_timer *t)
{
	struct tcp_conn *c = container_of_tcp(t, struct tcp_conn, dack_timer);

	c->stack->cnt.delayed_acks++;
	tcp_send_ack(c);
}
