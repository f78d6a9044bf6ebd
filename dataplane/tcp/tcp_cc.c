/* tcp_cc.c - congestion control: RFC 5681 slow start / avoidance with RFC 3465 ABC, fast retransmit, RFC 6582 NewReno. */
#include "tcp_priv.h"

/* RFC 3465 2.2: during slow start an ACK may grow cwnd by at most L bytes;
 * L = 2 SMSS makes up for delayed ACKs without allowing big bursts. */
#define TCP_ABC_L 2u

/* Never larger than the biggest window RFC 7323 lets a peer offer (2^30):
 * keeps the byte arithmetic far from wrapping. */
#define TCP_CWND_MAX (1u << 30)

/*
 * RFC 6928 section 2: IW = min(10 * MSS, max(2 * MSS, 14600)). The
 * configured segment count replaces the 10 (a smaller IW is always allowed).
 */
uint32_t tcp_cc_iw(const struct tcp_conn *c)
{
	uint32_t mss = c->mss;
	uint32_t segs = c->stack->cfg.init_cwnd_segs ? c->stack->cfg.init_cwnd_segs : 1;

	return SL_MIN(segs * mss, SL_MAX(2 * mss, 14600u));
}

/*
 * After the handshake. RFC 6928 section 2 / RFC 5681 3.1: if our SYN or
 * SYN-ACK had to be retransmitted, the window starts at one segment.
 */
void tcp_cc_init(struct tcp_conn *c)
{
	c->cwnd = (c->flags & TF_SYN_RTX) ? c->mss : tcp_cc_iw(c);
	c->ssthresh = UINT32_MAX;     /* RFC 5681 3.1: "arbitrarily high" */
	c->dupacks = 0;
	c->bytes_acked = 0;
	c->cc_flags = 0;
}

/* RFC 5681 eq. (4): half the data in flight, at least two segments. */
static inline uint32_t half_flight(const struct tcp_conn *c)
{
	return SL_MAX((c->snd_max - c->snd_una) / 2, 2u * c->mss);
}

/*
 * Send one segment again from seq (SND.UNA) without moving SND.NXT: the
 * fast retransmit of RFC 5681 3.2 step 3 and RFC 6582's partial-ACK hole.
 * The FIN rides along if it was sent and this is the last data.
 */
static void retransmit_at(struct tcp_conn *c, uint32_t seq)
{
	struct tcp_stack *st = c->stack;
	uint32_t data_end = c->sbuf_seq + c->sbuf_len;
	uint32_t mss = c->mss - tcp_sack_space(c);
	uint32_t n = SEQ_LT(seq, data_end) ? SL_MIN(data_end - seq, mss) : 0;
	bool fin;
	uint8_t fl = TCP_ACK;

	n = tcp_sndq_pieces(c, seq, n, NULL);   /* what one segment's pieces cover */
	fin = (c->flags & TF_FIN_QUEUED) && seq + n == data_end && SEQ_GT(c->snd_max, data_end);

	if (n == 0 && !fin)
		return;
	if (n > 0 && seq + n == data_end)
		fl |= TCP_PSH;
	if (fin)
		fl |= TCP_FIN;
	/* Karn: whatever was being timed may now be acknowledged by either copy. */
	c->flags &= (uint16_t)~TF_RTT_TIMING;
	st->cnt.retransmits++;
	st->cnt.fast_retransmits++;
	tcp_xmit(c, seq, fl, n);
}

/*
 * An ACK that acknowledged `acked` new bytes; `flight` was SND.MAX - SND.UNA
 * before it. SND.UNA has already moved. Returns false when the RTO must not
 * be restarted (later partial ACKs in recovery, RFC 6582 3.2 step 5: the
 * "Impatient" variant, so many holes do not stretch recovery out forever).
 */
bool tcp_cc_ack(struct tcp_conn *c, uint32_t acked, uint32_t flight)
{
	uint32_t mss = c->mss;

	c->dupacks = 0;
	if (c->cc_flags & TCC_RECOVERY) {
		if (SEQ_GEQ(c->snd_una, c->recover)) {
			/* Full ACK (RFC 6582 3.2 step 3, first option): deflate to
			 * ssthresh, but never release more than one segment at once. */
			uint32_t fs = c->snd_max - c->snd_una;

			c->cwnd = SL_MIN(c->ssthresh, SL_MAX(fs, mss) + mss);
			c->cc_flags &= (uint8_t)~(TCC_RECOVERY | TCC_PARTIAL_SEEN);
			c->bytes_acked = 0;
			return true;
		}
		/* Partial ACK (step 3, second case): the next hole is lost too.
		 * Retransmit it, deflate by what was acknowledged, and add back
		 * one SMSS if at least that much was, so about ssthresh bytes
		 * stay in flight when recovery ends. */
		retransmit_at(c, c->snd_una);
		c->cwnd -= SL_MIN(acked, c->cwnd - mss);
		if (acked >= mss)
			c->cwnd += mss;
		if (c->cc_flags & TCC_PARTIAL_SEEN)
			return false;
		c->cc_flags |= TCC_PARTIAL_SEEN;
		return true;
	}
	if ((c->cc_flags & (TCC_RECOVER_SET | TCC_AFTER_RTO)) && SEQ_GT(c->snd_una, c->recover)) {
		/* Past recover: everything from before the loss is acknowledged.
		 * Dropping the mark also keeps a stale recover from ever being
		 * compared across a sequence-space wrap. */
		c->cc_flags &= (uint8_t)~(TCC_RECOVER_SET | TCC_AFTER_RTO);
	}
	/* RFC 7661's concern, RFC 5681 4.1's spirit: grow only a window that
	 * was in use (application- or receiver-limited flows keep theirs). */
	if (flight + mss <= c->cwnd)
		return true;
	if (c->cwnd < c->ssthresh) {
		/* Slow start with ABC (RFC 3465 2.2); L = 1 SMSS after an RTO (2.3),
		 * where ACKs for data the peer already held can cover a lot. */
		uint32_t limit = (c->cc_flags & TCC_AFTER_RTO) ? mss : TCP_ABC_L * mss;

		c->cwnd += SL_MIN(acked, limit);
		/* RFC 5681 3.1: slow start ends at ssthresh */
		if (c->cwnd > c->ssthresh)
			c->cwnd = c->ssthresh;
	} else {
		/* Congestion avoidance with byte counting (RFC 3465 2.1): one
		 * SMSS per window's worth of acknowledged bytes. */
		c->bytes_acked += acked;
		if (c->bytes_acked >= c->cwnd) {
			c->bytes_acked -= c->cwnd;
			c->cwnd += mss;
		}
	}
	if (c->cwnd > TCP_CWND_MAX)
		c->cwnd = TCP_CWND_MAX;
	return true;
}

/*
 * A duplicate ACK as RFC 5681 section 2 defines it (the caller checked).
 * The third one starts fast retransmit and NewReno recovery (RFC 6582 3.2
 * step 2) unless it does not cover more than recover: then the dupacks
 * are echoes of data from before an earlier loss and RTO, not a new loss.
 * In recovery each one means a segment left the network: inflate (step 4).
 */
void tcp_cc_dupack(struct tcp_conn *c)
{
	struct tcp_stack *st = c->stack;

	if (c->dupacks < UINT16_MAX)
		c->dupacks++;
	if (c->cc_flags & TCC_RECOVERY) {
		if (c->cwnd <= TCP_CWND_MAX - c->mss)
			c->cwnd += c->mss;
		return;
	}
	if (c->dupacks != 3)
		return;
	if ((c->cc_flags & TCC_RECOVER_SET) && !SEQ_GT(c->snd_una, c->recover))
		return;
	c->ssthresh = half_flight(c);
	c->recover = c->snd_max;
	c->cc_flags |= TCC_RECOVERY | TCC_RECOVER_SET;
	c->cc_flags &= (uint8_t)~(TCC_PARTIAL_SEEN | TCC_AFTER_RTO);
	st->cnt.fast_recoveries++;
	retransmit_at(c, c->snd_una);
	/* RFC 5681 3.2 step 3: the three segments that left the network */
	c->cwnd = c->ssthresh + 3u * c->mss;
	c->bytes_acked = 0;
}

/*
 * RFC 5681 3.1 after an RTO: cwnd = LW = 1 SMSS; ssthresh = eq. (4), but
 * held when the same segment times out again (FlightSize would no longer
 * mean anything). RFC 6582 3.2: recovery ends and recover = SND.MAX, so
 * dupacks for data sent before the timeout do not start another one.
 */
void tcp_cc_rto(struct tcp_conn *c)
{
	if (c->retries <= 1)
		c->ssthresh = half_flight(c);
	c->cwnd = c->mss;
	c->recover = c->snd_max;
	c->cc_flags = TCC_RECOVER_SET | TCC_AFTER_RTO;
	c->dupacks = 0;
	c->bytes_acked = 0;
}

/*
 * RFC 5681 4.1: a connection that sent nothing for longer than an RTO
 * restarts from RW = min(IW, cwnd): its ACK clock is gone, and a full old
 * window sent at once would be a burst into a path it no longer knows.
 * Called before sending, only when nothing is in flight.
 */
void tcp_cc_idle_check(struct tcp_conn *c)
{
	uint32_t iw;

	if (c->last_snd == 0 || c->stack->now - c->last_snd <= c->rto)
		return;
	iw = tcp_cc_iw(c);
	if (c->cwnd > iw) {
		c->cwnd = iw;
		c->bytes_acked = 0;
		c->stack->cnt.cwnd_idle_resets++;
	}
}
