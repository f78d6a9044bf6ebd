/* tcp_priv.h - what the stack's files share and nobody else calls. */
#ifndef TCP_PRIV_H
#define TCP_PRIV_H

#include "tcp.h"
#include "tcp_seq.h"
#include "util/sl_status.h"

#define TCP_MIN_MSS     64     /* a peer MSS below this is clamped: tiny segments are an attack */
#define TCP_DEFAULT_MSS 536    /* RFC 9293 3.7.1 when the SYN has no MSS option */
#define TCP_MAX_WSCALE  14     /* RFC 7323 2.3 */
#define TCP_PAWS_IDLE_MS (24ull * 24 * 3600 * 1000) /* RFC 7323 5.5: TS.Recent invalid after 24 days */

#define container_of_tcp(p, type, member) ((type *)((char *)(p) - offsetof(type, member)))

/* Parsed options (RFC 9293 3.2, RFC 7323, RFC 2018). */
struct tcp_opts {
	uint16_t mss;
	uint8_t  wscale;
	uint8_t  has_mss, has_ws, has_ts, sack_ok;
	uint32_t tsval, tsecr;
};

/* A parsed incoming segment. */
struct tcp_seg {
	struct tcp_tuple tuple;     /* local = destination of the segment */
	uint32_t seq, ack;
	uint32_t len;               /* payload */
	uint16_t wnd;               /* raw field */
	uint8_t  flags;
	const uint8_t *data;
	void    *owner;
	struct tcp_opts opt;
};

/* tcp_opt.c */
int      tcp_parse_opts(const uint8_t *p, uint32_t len, bool syn, struct tcp_opts *o);
uint32_t tcp_build_syn_opts(uint8_t *p, uint16_t mss, int wscale, bool sack, bool ts, uint32_t tsval,
			    uint32_t tsecr);
uint32_t tcp_build_ts_opt(uint8_t *p, uint32_t tsval, uint32_t tsecr);
uint32_t tcp_build_sack_opt(uint8_t *p, const struct tcp_rq_ent *ooo, unsigned n, uint32_t recent,
			    unsigned max);

/* tcp_table.c */
uint32_t         tcp_tuple_hash(const struct tcp_stack *st, const struct tcp_tuple *t);
struct tcp_conn *tcp_conn_lookup(struct tcp_stack *st, const struct tcp_tuple *t);
void             tcp_conn_insert(struct tcp_stack *st, struct tcp_conn *c);
void             tcp_conn_remove(struct tcp_stack *st, struct tcp_conn *c);
struct tcp_listener *tcp_listener_find(struct tcp_stack *st, uint16_t port);
int              tcp_tw_init(struct tcp_tw_table *tw, uint32_t cap);
void             tcp_tw_fini(struct tcp_tw_table *tw);
struct tcp_tw_entry *tcp_tw_lookup(struct tcp_stack *st, const struct tcp_tuple *t);
struct tcp_tw_entry *tcp_tw_add(struct tcp_stack *st, const struct tcp_tuple *t);
void             tcp_tw_remove(struct tcp_stack *st, struct tcp_tw_entry *e);
struct tcp_tw_entry *tcp_tw_restart(struct tcp_stack *st, struct tcp_tw_entry *e);
void             tcp_tw_expire(struct tcp_stack *st);

/* tcp_stack.c */
void tcp_enter(struct tcp_stack *st);
void tcp_leave(struct tcp_stack *st);
void tcp_set_state(struct tcp_conn *c, enum tcp_state s);
struct tcp_conn *tcp_conn_alloc(struct tcp_stack *st, const struct tcp_tuple *t);
void tcp_conn_release(struct tcp_conn *c, enum tcp_close_reason why);
void tcp_enter_time_wait(struct tcp_conn *c);
uint32_t tcp_isn(struct tcp_stack *st, const struct tcp_tuple *t, uint32_t *ts_offset);
bool tcp_ratelimit_ok(struct tcp_stack *st, struct tcp_ratelimit *rl);
uint8_t tcp_rcv_wscale(const struct tcp_config *cfg);
void tcp_deliver(struct tcp_conn *c);
void tcp_rq_release_all(struct tcp_conn *c);

/* tcp_sndq.c */
int      tcp_sndq_init(struct tcp_stack *st);
void     tcp_sndq_fini(struct tcp_stack *st);
int      tcp_sndq_copy(struct tcp_conn *c, const uint8_t *buf, uint32_t len);
int      tcp_sndq_ref(struct tcp_conn *c, const uint8_t *p, uint32_t len, void *owner);
void     tcp_sndq_ack(struct tcp_conn *c, uint32_t n);
void     tcp_sndq_release_all(struct tcp_conn *c);
uint32_t tcp_sndq_pieces(struct tcp_conn *c, uint32_t seq, uint32_t len, struct tcp_seg_out *o);

/* tcp_output.c */
static inline uint32_t tcp_ts_now(const struct tcp_conn *c) { return (uint32_t)c->stack->now + c->ts_offset; }
void tcp_output(struct tcp_conn *c);
void tcp_output_force(struct tcp_conn *c);
void tcp_send_syn(struct tcp_conn *c);
void tcp_send_ack(struct tcp_conn *c);
void tcp_send_challenge_ack(struct tcp_conn *c);
void tcp_send_rst_conn(struct tcp_conn *c);
void tcp_send_rst_reply(struct tcp_stack *st, const struct tcp_seg *s, bool limit);
void tcp_send_tw_ack(struct tcp_stack *st, const struct tcp_tw_entry *e);
void tcp_send_cookie_synack(struct tcp_stack *st, const struct tcp_seg *s, uint32_t iss, int wscale,
			    bool sack, bool ts, uint32_t tsval);

/* RFC 2018 3: SACK blocks that fit next to the 12 bytes of timestamps, or without them. */
#define TCP_SACK_BLOCKS_TS 3u
#define TCP_SACK_BLOCKS    4u

/*
 * Option bytes the SACK blocks of our next segment may take (an upper
 * bound: adjacent queued pieces merge into one block). Data segments carry
 * that much less payload, so header plus data still fit the peer's MSS.
 */
static inline uint32_t tcp_sack_space(const struct tcp_conn *c)
{
	uint32_t max = (c->flags & TF_TS) ? TCP_SACK_BLOCKS_TS : TCP_SACK_BLOCKS;

	if (!(c->flags & TF_SACK_OK) || c->rq_ooo == 0)
		return 0;
	return 4 + 8 * (c->rq_ooo < max ? c->rq_ooo : max);
}
void tcp_xmit(struct tcp_conn *c, uint32_t seq, uint8_t flags, uint32_t len);
uint16_t tcp_rcv_wnd_field(struct tcp_conn *c, bool force);
bool tcp_window_update_due(const struct tcp_conn *c);

/* tcp_timer.c */
void tcp_timers_init(struct tcp_conn *c);
void tcp_timers_stop(struct tcp_conn *c);
void tcp_rto_arm(struct tcp_conn *c);
void tcp_rtx_stop(struct tcp_conn *c);
void tcp_persist_arm(struct tcp_conn *c);
void tcp_fw2_arm(struct tcp_conn *c);
void tcp_dack_arm(struct tcp_conn *c);
void tcp_dack_cancel(struct tcp_conn *c);
void tcp_rtt_sample(struct tcp_conn *c, uint32_t rtt_ms);
void tcp_ka_arm(struct tcp_conn *c, uint64_t at);

/* tcp_cc.c */
uint32_t tcp_cc_iw(const struct tcp_conn *c);
void tcp_cc_init(struct tcp_conn *c);
bool tcp_cc_ack(struct tcp_conn *c, uint32_t acked, uint32_t flight);
void tcp_cc_dupack(struct tcp_conn *c);
void tcp_cc_rto(struct tcp_conn *c);
void tcp_cc_idle_check(struct tcp_conn *c);

/* tcp_cookie.c */
void tcp_cookie_init(struct tcp_stack *st);
void tcp_cookie_send(struct tcp_stack *st, struct tcp_listener *l, const struct tcp_seg *s);
int  tcp_cookie_check(struct tcp_stack *st, struct tcp_listener *l, const struct tcp_seg *s,
		      struct tcp_conn **out);

/* tcp_input.c */
void tcp_input_seg(struct tcp_stack *st, struct tcp_seg *s);

static inline bool tcp_state_synced(uint8_t s) { return s >= TCP_ESTABLISHED; }

#endif
