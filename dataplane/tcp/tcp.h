/* tcp.h - the per-lcore userspace TCP stack: what the port/flow layer and the session adapter call. */
#ifndef TCP_H
#define TCP_H

#include "tcp-t.h"

/*
 * One stack per lcore, never shared: no locks. Every TCB, send buffer,
 * TIME-WAIT entry and timer is allocated by tcp_stack_new(); nothing is
 * allocated after that. Sans-IO: segments come in through tcp_input(),
 * go out through ops->output, and time moves only through tcp_advance().
 *
 * Congestion control (tcp_cc.c): RFC 5681 slow start and congestion
 * avoidance with RFC 3465 byte counting, fast retransmit and RFC 6582
 * NewReno recovery, restart after idle. SYN cookies (tcp_cookie.c, RFC
 * 4987) answer SYNs beyond a listener's backlog when cfg.syn_cookies.
 *
 * Keepalive is per connection (tcp_set_keepalive). SACK (RFC 2018) on the
 * receive side: SACK-permitted is negotiated (cfg.sack) and our ACKs carry
 * blocks for out-of-order data.
 *
 * Left for later: using the peer's SACK blocks when we send (RFC 6675
 * loss recovery; until then NewReno repairs one hole per RTT), D-SACK.
 */

void tcp_config_defaults(struct tcp_config *cfg);

/* NULL when out of memory or a bad config (snd_buf not a power of two).
 * Send memory is a pool of chunks reserved for max_conns * snd_buf but
 * touched only by bytes in flight (tcp_sndq.c); snd_buf stays each
 * connection's bound. */
struct tcp_stack *tcp_stack_new(const struct tcp_config *cfg, const struct tcp_stack_ops *ops,
				void *ctx, uint64_t now_ms);
/* Releases every held buffer; no callbacks run. */
void tcp_stack_free(struct tcp_stack *st);

/* Feed one received segment. The stack uses st->now as the time. */
void tcp_input(struct tcp_stack *st, const struct tcp_seg_in *seg);
/* Move time forward: fire RTO, delayed ACK, persist, FIN-WAIT-2 timers and
 * expire TIME-WAIT entries. Call it once per loop iteration. */
void tcp_advance(struct tcp_stack *st, uint64_t now_ms);
/* ms until something may be due, -1 when nothing is (for a poll timeout). */
int64_t tcp_next_timeout(const struct tcp_stack *st);

/* Listen on a local port (any local address). SL_OK, SL_ERROR (table full
 * or port taken). */
int  tcp_listen(struct tcp_stack *st, uint16_t port, tcp_accept_fn accept, void *lctx);
void tcp_unlisten(struct tcp_stack *st, uint16_t port);

/*
 * Active open from local (address and the source port the flow steering
 * layer chose) to remote. NULL when the tuple is in use (or in TIME-WAIT:
 * pick another port) or the pool is empty. cbs->established comes when the
 * handshake completes, cbs->closed(TCP_CLOSE_REFUSED/TIMEOUT) if it fails.
 */
struct tcp_conn *tcp_connect(struct tcp_stack *st, uint8_t family,
			     const uint8_t *laddr, uint16_t lport,
			     const uint8_t *raddr, uint16_t rport,
			     const struct tcp_conn_cbs *cbs, void *user);

void tcp_conn_set_cbs(struct tcp_conn *c, const struct tcp_conn_cbs *cbs, void *user);

/* Queue len bytes (copied into the send queue's chunks), all or nothing.
 * SL_OK; SL_AGAIN: not enough space now (writable comes later);
 * SL_ERROR: the connection cannot send (closing) or len exceeds the buffer. */
int tcp_send(struct tcp_conn *c, const void *buf, uint32_t len);
/*
 * Queue len bytes at p that lie in a buffer held by owner (an rx mbuf),
 * by reference where it pays: the stack takes one reference with ops.hold
 * and drops it with ops.release once the bytes are acknowledged or the
 * connection ends; output then gives the piece with its owner. Short
 * pieces, or past cfg.ref_max_conn / cfg.ref_max held owners, are copied
 * as tcp_send does. The bytes must not change while held. Same answers
 * and the same send-space bound as tcp_send.
 */
int tcp_send_ref(struct tcp_conn *c, const void *p, uint32_t len, void *owner);
uint32_t tcp_send_space(const struct tcp_conn *c);
/* Bytes queued and not yet acknowledged (sl_transport_ops.pending). */
uint32_t tcp_pending(const struct tcp_conn *c);

/* FIN after the queued data (half close: data still arrives). The closed
 * callback comes when the close completes. Before ESTABLISHED it aborts. */
void tcp_close(struct tcp_conn *c);
/* RST now, queued data dropped; the closed callback runs before it returns. */
void tcp_abort(struct tcp_conn *c);

/*
 * Keepalive (RFC 9293 3.8.4, RFC 1122 4.2.3.6), off by default: after
 * idle_ms without hearing from the peer (and with nothing in flight), an
 * empty probe every intvl_ms; `probes` unanswered ones close the connection
 * with TCP_CLOSE_TIMEOUT. idle_ms or probes 0 turns it off. RFC 1122 asks
 * for an idle time of at least two hours by default: the caller chooses.
 */
void tcp_set_keepalive(struct tcp_conn *c, uint32_t idle_ms, uint32_t intvl_ms, uint8_t probes);

/* How many received bytes the application lets the stack hold: the receive
 * window. Clamped to what the window scale of the connection can express. */
void tcp_set_rcv_space(struct tcp_conn *c, uint32_t bytes);
/* Offer queued, unconsumed data again (the application can take more). */
void tcp_recv_resume(struct tcp_conn *c);

static inline enum tcp_state tcp_conn_state(const struct tcp_conn *c) { return (enum tcp_state)c->state; }
static inline const struct tcp_tuple *tcp_conn_tuple(const struct tcp_conn *c) { return &c->tuple; }
const char *tcp_state_name(enum tcp_state s);

/* Write the header of s (20 + optlen bytes) into hdr, checksum zero; the
 * port layer fills the checksum or offloads it. Returns the length. */
uint32_t tcp_build_header(const struct tcp_seg_out *s, uint8_t *hdr);

/*
 * The one's complement sum of that header (checksum field zero), unfolded
 * and below 2^22, its 16-bit words as loaded in host order (net_csum.h's
 * convention), computed from s instead of read back from the frame: the
 * frame was just stored into an mbuf whose lines are rarely in this core's
 * cache, and loads of bytes just stored wait for those stores to complete.
 */
uint32_t tcp_header_sum(const struct tcp_seg_out *s);

#endif
