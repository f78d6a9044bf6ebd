/* tcp_harness.h - drives one TCP stack with crafted segments and virtual time, recording what it sends. */
#ifndef TCP_HARNESS_H
#define TCP_HARNESS_H

#include <stdbool.h>
#include <stdint.h>

#include "tcp/tcp.h"

#define TH_MAX_OUT 512
#define TH_RX_MAX  (2u * 1024 * 1024)

/* One segment the stack sent, decoded. */
struct th_out {
	uint64_t at;
	uint32_t seq, ack;
	uint16_t wnd;
	uint8_t  flags;
	uint8_t  has_ts, has_mss, has_ws;
	uint32_t tsval, tsecr;
	uint16_t mss;
	uint8_t  ws;
	uint8_t  sack_ok;          /* SACK-permitted option */
	uint8_t  nsack;            /* SACK blocks (RFC 2018), [left, right) */
	uint32_t sack[4][2];
	uint8_t  optlen;
	uint32_t len;
	uint8_t  npieces;
	void    *owner[TCP_SEG_PIECES];  /* per piece: the held buffer, NULL for a chunk */
	uint8_t  data[2048];
	uint8_t  raw[60 + 2048];   /* header + payload as built, for feeding another stack */
	uint32_t rawlen;
	uint16_t sport, dport;
};

/* Test refcounted buffers play the part of mbufs (hold / release). */
struct th_buf {
	int      refs;
	uint32_t len;
	uint8_t  data[];
};

enum th_consume { TH_CONSUME_ALL = 0, TH_CONSUME_NONE, TH_CONSUME_LIMIT };

struct th {
	struct tcp_stack *st;
	uint64_t now;
	struct th_out out[TH_MAX_OUT];
	unsigned n_out, rd;          /* recorded; next unread by th_next() */
	struct tcp_conn *conn;       /* the last accepted or connected */
	int established, closed, eof, writable, accepts, refuse;
	enum tcp_close_reason why;
	enum th_consume consume;
	uint32_t consume_limit;      /* TH_CONSUME_LIMIT: bytes per callback */
	uint8_t *rx;                 /* bytes the application consumed */
	uint32_t rx_len;
	uint32_t remote_ts;          /* TSval our crafted segments carry */
	struct th *peer;             /* back to back: the other stack */
};

extern long th_live_bufs;        /* buffers not yet released: must end at 0 */

/* A buffer of len bytes (copied from data) with one reference, the
 * caller's; th_buf_put drops one (the stack's go through ops.release). */
struct th_buf *th_buf_new(const void *data, uint32_t len);
void th_buf_put(struct th_buf *b);
extern const struct tcp_conn_cbs th_cbs;

/* Local 198.18.0.1:25, remote 198.18.0.2:40000. */
extern const uint8_t th_laddr[4], th_raddr[4];
#define TH_LPORT 25
#define TH_RPORT 40000

void th_config(struct tcp_config *cfg);
void th_init(struct th *h, const struct tcp_config *cfg);   /* cfg NULL: th_config() */
void th_fini(struct th *h);
void th_advance(struct th *h, uint64_t ms);                  /* move time by ms, 1 ms steps */

/* Craft a segment from the remote peer. ts: add a timestamps option with
 * h->remote_ts (tsecr given). */
struct th_opt {
	bool ts;
	uint32_t tsecr;
	int mss, ws;                /* -1: none */
	bool sack_ok;
	const uint8_t *raw;         /* raw options instead (malformed tests) */
	uint32_t rawlen;
};
void th_seg(struct th *h, uint8_t flags, uint32_t seq, uint32_t ack, uint16_t wnd,
	    const void *data, uint32_t len, const struct th_opt *opt);
void th_seg_port(struct th *h, uint16_t sport, uint16_t dport, uint8_t flags, uint32_t seq,
		 uint32_t ack, uint16_t wnd, const void *data, uint32_t len, const struct th_opt *opt);

/* Next unread output segment, or NULL. */
struct th_out *th_next(struct th *h);
unsigned th_pending(const struct th *h);
void th_drain(struct th *h);

/* Passive open to port 25 with timestamps (irs 1000, our ISS from the
 * SYN-ACK); returns the connection, ESTABLISHED. *iss gets our ISS. */
struct tcp_conn *th_open_passive(struct th *h, bool ts, uint32_t *iss);
/* Active open answered by a crafted SYN-ACK (peer ISS 5000). */
struct tcp_conn *th_open_active(struct th *h, bool ts, uint32_t *iss);

/* Feed raw header+payload bytes to h's stack, from saddr to daddr. */
void th_feed(struct th *h, const uint8_t *saddr, const uint8_t *daddr, const uint8_t *seg, uint32_t len);

#endif
