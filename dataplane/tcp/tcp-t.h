/* tcp-t.h - types of the per-lcore userspace TCP stack (TCB, segments, counters, stack). */
#ifndef TCP_T_H
#define TCP_T_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/timer_wheel.h"

/* RFC 9293 section 3.3.2. The order is used by tcp_state_synced(). */
enum tcp_state {
	TCP_CLOSED = 0,
	TCP_LISTEN,
	TCP_SYN_SENT,
	TCP_SYN_RCVD,
	TCP_ESTABLISHED,
	TCP_FIN_WAIT_1,
	TCP_FIN_WAIT_2,
	TCP_CLOSE_WAIT,
	TCP_CLOSING,
	TCP_LAST_ACK,
	TCP_TIME_WAIT,   /**< only in counters: TIME-WAIT lives in struct tcp_tw_entry */
	TCP_STATE_COUNT
};

/* Header flags (RFC 9293 section 3.1). */
#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_URG 0x20

#define TCP_HDR_LEN     20
#define TCP_OPT_MAX     40

/* Why a connection ended, passed to the closed callback. */
enum tcp_close_reason {
	TCP_CLOSE_NORMAL = 0,  /**< both FINs exchanged and acknowledged */
	TCP_CLOSE_RESET,       /**< the peer sent an acceptable RST */
	TCP_CLOSE_REFUSED,     /**< RST in answer to our SYN */
	TCP_CLOSE_TIMEOUT,     /**< retransmissions exhausted, or FIN-WAIT-2 timeout */
	TCP_CLOSE_ABORTED,     /**< tcp_abort(), or tcp_close() before established */
};

/* Why a segment was dropped (counters). */
enum tcp_drop {
	TCP_DROP_SHORT = 0,     /**< shorter than the header, or bad data offset */
	TCP_DROP_BAD_OPT,       /**< option length 0/1, or running past the header */
	TCP_DROP_BAD_FLAGS,     /**< SYN+RST, SYN+FIN, no flags at all */
	TCP_DROP_NO_CONN,       /**< closed port (an RST may be sent) */
	TCP_DROP_NOT_ACCEPTABLE,/**< outside the receive window */
	TCP_DROP_PAWS,          /**< RFC 7323 PAWS: timestamp older than TS.Recent */
	TCP_DROP_BAD_ACK,       /**< RFC 5961 5.2: ACK outside the acceptable range */
	TCP_DROP_RST_WINDOW,    /**< RST in window but not exact (challenge ACK sent) */
	TCP_DROP_SYN_SYNCED,    /**< SYN in a synchronized state (challenge ACK sent) */
	TCP_DROP_NO_ACK,        /**< no ACK bit in a synchronized state */
	TCP_DROP_SYN_BACKLOG,   /**< listener's SYN-RCVD count at its bound */
	TCP_DROP_TABLE_FULL,    /**< no free TCB */
	TCP_DROP_OOO_FULL,      /**< out-of-order queue at its bound */
	TCP_DROP_RCVQ_FULL,     /**< no receive queue slot for unconsumed data */
	TCP_DROP_LISTEN,        /**< segment to a listener that is not a SYN */
	TCP_DROP_SYN_SENT,      /**< unacceptable segment in SYN-SENT */
	TCP_DROP_TIME_WAIT,     /**< absorbed by a TIME-WAIT entry */
	TCP_DROP_COUNT
};

struct tcp_counters {
	uint64_t seg_in, seg_out;
	uint64_t bytes_in, bytes_out;     /**< payload bytes, retransmissions included */
	uint64_t retransmits;             /**< segments sent again (RTO, go-back) */
	uint64_t rto_fired, persist_probes;
	uint64_t delayed_acks;            /**< ACKs sent by the delayed-ACK timer */
	uint64_t challenge_acks, challenge_acks_limited;
	uint64_t rst_sent, rst_limited;
	uint64_t ooo_queued;
	uint64_t accepted, connected;     /**< passive and active opens completed */
	uint64_t timeouts;                /**< connections ended by TCP_CLOSE_TIMEOUT */
	uint64_t tw_reused, tw_recycled;  /**< TIME-WAIT reused by a new SYN / evicted early */
	uint64_t tw_reset;                /**< TIME-WAIT ended by the RST answering our ACK to a refused SYN */
	uint64_t rtt_samples;
	uint64_t fast_retransmits;        /**< segments sent again on dupacks / partial ACKs (RFC 5681 3.2, RFC 6582) */
	uint64_t fast_recoveries;         /**< entries into NewReno fast recovery */
	uint64_t cwnd_idle_resets;        /**< RFC 5681 4.1 restarts after idle */
	uint64_t syncookies_sent;         /**< RFC 4987 SYN-ACKs sent with a cookie (backlog full) */
	uint64_t syncookies_accepted;     /**< ACKs whose cookie validated: connection created */
	uint64_t syncookies_rejected;     /**< ACKs to a listener with a bad or expired cookie */
	uint64_t keepalive_probes;        /**< keepalive probes sent */
	uint64_t snd_ref_bytes;           /**< bytes queued by reference (tcp_send_ref) */
	uint64_t snd_copy_bytes;          /**< bytes copied into send chunks (tcp_send, refs past a bound) */
	uint64_t drops[TCP_DROP_COUNT];
	uint64_t conns[TCP_STATE_COUNT];  /**< connections now in each state */
};

/*
 * The 4-tuple, local first. Addresses are 16 bytes whatever the family
 * (IPv4 in the first 4, the rest zero) so one compare and one hash cover
 * both families without branches.
 */
struct tcp_tuple {
	uint8_t  laddr[16];
	uint8_t  raddr[16];
	uint16_t lport, rport;   /**< host byte order */
	uint8_t  family;         /**< SL_AF_INET or SL_AF_INET6 */
	uint8_t  pad[3];
};

/* What the IP layer hands the stack: one received segment. */
struct tcp_seg_in {
	uint8_t        family;     /**< SL_AF_INET or SL_AF_INET6 */
	const uint8_t *saddr;      /**< remote address (4 or 16 bytes, network order) */
	const uint8_t *daddr;      /**< local address */
	const uint8_t *tcp;        /**< TCP header; its checksum was checked below us */
	uint32_t       len;        /**< header + payload */
	void          *owner;      /**< the buffer holding it (an rte_mbuf); see ops.hold */
};

/* Most payload pieces one output segment carries (see struct tcp_seg_out). */
#define TCP_SEG_PIECES 8

/*
 * What the stack hands the port layer: one segment to build and send. The
 * payload is npieces pieces of the send queue, in order. A piece with an
 * owner lies in a buffer the application gave with tcp_send_ref() (an rx
 * mbuf): the port layer may reference it (an indirect mbuf) instead of
 * copying it, taking its own reference, since the stack drops its one on
 * the ACK. A piece without an owner is in the stack's chunk pool. Pointers
 * are valid only during the output call. Bytes queued with tcp_send() alone
 * come in at most two pieces (a chunk is at least one MSS).
 */
struct tcp_seg_out {
	const struct tcp_tuple *tuple;  /**< source = local, destination = remote */
	uint32_t       seq, ack;
	uint16_t       wnd;             /**< the header's window field, already scaled */
	uint8_t        flags;
	uint8_t        optlen;          /**< multiple of 4, <= TCP_OPT_MAX */
	const uint8_t *opts;
	uint8_t        npieces;
	const uint8_t *data[TCP_SEG_PIECES];
	uint32_t       dlen[TCP_SEG_PIECES];
	void          *owner[TCP_SEG_PIECES]; /**< NULL: bytes of the stack's own */
	uint32_t       len;             /**< sum of dlen[] */
};

struct tcp_conn;
struct tcp_stack;

/*
 * The application's side of one connection. All are optional. They run
 * from inside tcp_input(), tcp_advance() or an API call; they may call
 * tcp_send/close/abort/recv_resume on this or other connections.
 *
 * data: `len` in-order bytes at p, held by `owner`. Returns how many it
 * consumed (0..len). What it leaves stays queued in the stack (the owner is
 * held), shrinks the receive window, and is offered again after
 * tcp_recv_resume() or the next arrival. p is valid only during the call.
 */
struct tcp_conn_cbs {
	void     (*established)(struct tcp_conn *c, void *user);
	uint32_t (*data)(struct tcp_conn *c, void *user, const uint8_t *p, uint32_t len, void *owner);
	void     (*eof)(struct tcp_conn *c, void *user);       /**< peer's FIN, after all its data */
	void     (*writable)(struct tcp_conn *c, void *user);  /**< send space came back after SL_AGAIN */
	/* Called exactly once per connection the application knows; c is
	 * invalid once it returns. */
	void     (*closed)(struct tcp_conn *c, void *user, enum tcp_close_reason why);
};

/*
 * The port layer's side of the stack.
 * output:  send one segment (see struct tcp_seg_out).
 * hold:    the stack keeps a reference to a received buffer past the input
 *          call (unconsumed or out-of-order data): take a reference
 *          (rte_mbuf_refcnt_update(m, 1)).
 * release: the stack drops one such reference.
 * The caller of tcp_input() keeps and frees its own reference as usual.
 * The same pair serves the send queue: tcp_send_ref() holds its owner once
 * and releases it when the bytes are acknowledged or the connection ends.
 */
struct tcp_stack_ops {
	void (*output)(void *ctx, const struct tcp_seg_out *s);
	void (*hold)(void *ctx, void *owner);
	void (*release)(void *ctx, void *owner);
};

/* Listener: accept() is called when a passive open completes; it calls
 * tcp_conn_set_cbs() and returns SL_OK, or anything else to reset it. */
typedef int (*tcp_accept_fn)(void *lctx, struct tcp_conn *c);

struct tcp_config {
	uint32_t max_conns;        /**< TCBs in the pool (fixed at init) */
	uint32_t max_tw;           /**< TIME-WAIT entries */
	uint32_t snd_buf;          /**< send buffer per connection, bytes (power of two): the flow-control bound */
	uint32_t snd_chunk;        /**< bytes per send-pool chunk (0: 2048); raised to mss */
	uint32_t ref_min;          /**< tcp_send_ref() copies pieces shorter than this (0: 256) */
	uint32_t ref_max_conn;     /**< owners one connection's send queue may hold (0: 32) */
	uint32_t ref_max;          /**< owners the whole stack may hold (0: no bound but the above) */
	uint32_t rcv_space;        /**< default receive space per connection, bytes */
	uint32_t rcv_space_max;    /**< the most tcp_set_rcv_space() may grant: sets the window scale */
	uint16_t mss;              /**< MSS we advertise (MTU - 40 for IPv4) */
	uint16_t init_cwnd_segs;   /**< fixed initial window, in segments (RFC 6928: 10) */
	uint32_t rto_init_ms, rto_min_ms, rto_max_ms;
	uint32_t max_retries;      /**< RTO expiries of one segment before abort */
	uint32_t syn_retries;      /**< the same for SYN and SYN-ACK */
	uint32_t delack_ms;
	uint32_t msl_ms;           /**< TIME-WAIT lasts 2 * MSL */
	uint32_t fin_wait2_ms;
	uint32_t persist_min_ms, persist_max_ms;
	uint32_t syn_backlog;      /**< SYN-RCVD connections per listener */
	uint32_t challenge_acks_per_s; /**< RFC 5961 section 7 */
	uint32_t rsts_per_s;       /**< RSTs to closed ports */
	uint32_t wheel_slots;
	uint64_t key[2];           /**< secret for ISNs, timestamps and the table hash */
	bool     timestamps;       /**< offer RFC 7323 timestamps on active opens */
	bool     window_scale;     /**< offer RFC 7323 window scaling */
	bool     syn_cookies;      /**< RFC 4987 SYN cookies when a listener's SYN backlog is full */
	bool     sack;             /**< offer / accept SACK-permitted; we then send SACK blocks (RFC 2018) */
};

/* One piece of received data the stack keeps (zero copy: a view into an owner). */
struct tcp_rq_ent {
	const uint8_t *data;
	void          *owner;
	uint32_t       seq;
	uint32_t       len;
};

/* Receive queue bound: in-order unconsumed pieces plus out-of-order ones. */
#define TCP_RQ_MAX  16
#define TCP_OOO_MAX 8

/* tcp_conn.flags */
#define TF_TS           0x0001u  /**< timestamps negotiated */
#define TF_WS           0x0002u  /**< window scaling negotiated */
#define TF_SACK_OK      0x0004u  /**< SACK-permitted both ways: our ACKs carry SACK blocks (RFC 2018) */
#define TF_PASSIVE      0x0008u  /**< opened by a listener */
#define TF_FIN_QUEUED   0x0010u  /**< tcp_close(): FIN follows the queued data */
#define TF_FIN_ACKED    0x0020u
#define TF_FIN_RCVD     0x0040u  /**< peer's FIN consumed in sequence */
#define TF_EOF_DONE     0x0080u  /**< eof callback delivered */
#define TF_WANT_WRITE   0x0100u  /**< tcp_send() said SL_AGAIN */
#define TF_ACK_NOW      0x0200u
#define TF_RTT_TIMING   0x0400u  /**< Karn: timing rtt_seq (no timestamps) */
#define TF_SYN_RTX      0x0800u  /**< our SYN was retransmitted (RFC 6298 5.7) */
#define TF_OOO_FIN      0x1000u  /**< a FIN arrived beyond a hole, at ooo_fin_seq */
#define TF_ACCEPTED     0x2000u  /**< the application knows this connection */
#define TF_IN_DELIVER   0x4000u  /**< inside the data callback loop */
#define TF_SYN_RETRY    0x8000u  /**< SYN-SENT: an old incarnation's ACK was reset and the SYN sent again */

/* tcp_conn.cc_flags (congestion control, tcp_cc.c) */
#define TCC_RECOVERY     0x01u  /**< in NewReno fast recovery (RFC 6582 3.2) */
#define TCC_RECOVER_SET  0x02u  /**< recover is meaningful: ACKs up to it may not start recovery */
#define TCC_AFTER_RTO    0x04u  /**< slow start after an RTO: ABC limit L = 1 SMSS (RFC 3465 2.3) */
#define TCC_PARTIAL_SEEN 0x08u  /**< a partial ACK already restarted the RTO (RFC 6582 3.2 step 5) */

enum tcp_rtx_mode { TCP_RTX_NONE = 0, TCP_RTX_RTO, TCP_RTX_PERSIST, TCP_RTX_FW2 };

/*
 * The TCB. Laid out for the per-segment path: the first cache line holds
 * what the acceptability test, ACK processing and output read on every
 * segment; the tuple (compared on lookup) is the second; timers, callbacks
 * and the receive queue, touched less often, come after.
 */
struct tcp_conn {
	/* --- cache line 0: per-segment state --- */
	struct tcp_conn *hnext;       /**< hash chain / free list / zombie list */
	uint32_t snd_una, snd_nxt;
	uint32_t snd_max;             /**< highest sequence sent (snd_nxt rewinds on RTO) */
	uint32_t snd_wnd;             /**< peer's window, bytes (scaled) */
	uint32_t snd_wl1, snd_wl2;    /**< segment seq/ack of the last window update */
	uint32_t rcv_nxt;
	uint32_t rcv_adv;             /**< right edge we advertised: never moves left */
	uint32_t ts_recent;           /**< RFC 7323 TS.Recent */
	uint32_t ts_offset;           /**< per-connection TSval offset (RFC 7323 5.4) */
	uint32_t last_ack_sent;
	uint32_t cwnd;                /**< RFC 5681 congestion window, bytes (tcp_cc.c) */
	uint16_t flags;
	uint16_t mss;                 /**< payload per segment we send (options excluded) */
	uint8_t  state;
	uint8_t  snd_wscale, rcv_wscale;
	uint8_t  retries;             /**< RTO expiries since the last progress */

	/* --- cache line 1: identity --- */
	struct tcp_tuple tuple;
	uint32_t sbuf_seq;            /**< sequence of the first byte in the send buffer */
	uint32_t sbuf_len;            /**< bytes in it (unacked + unsent) */
	uint32_t rcv_space;           /**< bytes the application lets us hold */
	uint32_t rcv_buffered;        /**< in-order bytes held, not yet consumed */
	uint32_t rcv_unacked;         /**< bytes received since our last ACK (delayed ACK) */
	uint16_t rcv_mss;             /**< largest payload seen: "full-sized" for delayed ACK */
	uint8_t  rq_n;                /**< entries in rq (in-order first, then out-of-order) */
	uint8_t  rtx_mode;            /**< what rtx_timer is armed for */

	/* --- RTT and congestion state --- */
	uint32_t srtt8, rttvar4;      /**< RFC 6298 SRTT * 8, RTTVAR * 4, milliseconds */
	uint32_t rto;                 /**< ms, before backoff */
	uint32_t rto_cur;             /**< ms, with backoff */
	uint32_t rtt_seq;             /**< Karn: segment being timed */
	uint32_t max_snd_wnd;         /**< RFC 5961 5.2 MAX.SND.WND */
	uint32_t ssthresh;            /**< RFC 5681 slow start threshold, bytes */
	uint16_t dupacks;             /**< RFC 5681 duplicate ACKs in a row */
	uint16_t rq_ooo;              /**< out-of-order entries among rq */
	uint64_t rtt_start;           /**< Karn: when rtt_seq was sent */
	uint64_t ts_recent_age;       /**< when ts_recent was set (PAWS 24-day rule) */
	uint32_t iss, irs;
	uint32_t want_space;          /**< writable fires when this much is free */
	uint32_t ooo_fin_seq;
	uint32_t persist_cur;         /**< persist interval, ms, with backoff */
	uint32_t recover;             /**< RFC 6582 "recover": SND.MAX when recovery (or an RTO) began */
	uint32_t bytes_acked;         /**< RFC 3465 congestion-avoidance byte counter */
	uint64_t last_snd;            /**< when data last left (RFC 5681 4.1 restart after idle) */
	uint8_t  cc_flags;            /**< TCC_* */
	uint8_t  ka_max;              /**< keepalive: unanswered probes before giving up (0: off) */
	uint8_t  ka_sent;             /**< keepalive: probes sent since the peer was last heard */
	uint8_t  out_pending;         /**< on the stack's out_list: output due when the outermost call returns */
	uint32_t ka_idle_ms;          /**< keepalive: quiet time before the first probe */
	uint32_t ka_intvl_ms;         /**< keepalive: time between probes */
	uint64_t last_rcv;            /**< when an acceptable segment last arrived (keepalive) */
	uint32_t sack_last;           /**< a sequence number of the latest out-of-order arrival (RFC 2018 4) */

	/* --- send queue (tcp_sndq.c): extents from sbuf_seq on --- */
	struct tcp_sx             *sx_head, *sx_tail;
	struct tcp_sx             *sx_cur;    /**< output cursor: an extent at or before snd_nxt's */
	uint32_t                   sx_cur_seq;/**< sequence of sx_cur's first byte */
	uint32_t                   sx_fill;   /**< chunk that copies go into (TCP_CHUNK_NONE) */
	uint32_t                   sx_fill_off;
	uint16_t                   sx_held;   /**< extents holding an owner */
	struct tcp_conn           *out_next;  /**< the stack's out_list */

	/* --- cold --- */
	struct tw_timer            rtx_timer; /**< RTO, persist or FIN-WAIT-2 (exclusive) */
	struct tw_timer            dack_timer;
	struct tw_timer            ka_timer;  /**< keepalive (RFC 9293 3.8.4), armed only when enabled */
	const struct tcp_conn_cbs *cbs;
	void                      *user;
	struct tcp_stack          *stack;
	struct tcp_listener       *listener;  /**< SYN-RCVD of a passive open */
	struct tcp_rq_ent          rq[TCP_RQ_MAX];
};

/* A compact TIME-WAIT record (RFC 9293 3.10.7.4): what answering a
 * retransmitted FIN and judging a new SYN need, nothing more. */
struct tcp_tw_entry {
	struct tcp_tuple tuple;
	uint32_t snd_nxt, rcv_nxt;
	uint32_t ts_recent, ts_offset;
	uint64_t expire;
	uint32_t hnext;    /**< index in the hash chain, TCP_TW_NONE at the end */
	uint16_t wnd;      /**< window field to put in our ACKs */
	uint8_t  has_ts : 1;
	uint8_t  challenged : 1; /**< a SYN that could not reopen it was answered with our ACK */
	uint8_t  live;     /**< 0: slot dead (expired, reused, or moved to the tail) */
};

#define TCP_TW_NONE UINT32_MAX

/*
 * TIME-WAIT table: every entry lasts exactly 2 MSL from its (re)start, so
 * insertion order is expiry order and a ring of entries needs no timers:
 * tcp_advance() pops the head while it is due. A full ring evicts its
 * oldest entry early (counted), so the bound holds under any close rate.
 */
struct tcp_tw_table {
	struct tcp_tw_entry *ents;
	uint32_t *buckets;
	uint32_t  bmask;
	uint32_t  cap, head, count;  /**< ring: [head, head + count) */
	uint32_t  live;
};

struct tcp_listener {
	uint16_t      port;      /**< 0: free slot */
	uint32_t      syn_count; /**< SYN-RCVD connections */
	tcp_accept_fn accept;
	void         *lctx;
	uint64_t      cookie_last; /**< when a SYN cookie was last sent (0: never): ACKs are checked for one */
};

/* Few listening ports on an SMTP edge (25, 587, 465): a linear scan of a
 * small array beats a hash here and costs nothing for established flows. */
#define TCP_LISTEN_MAX 8

/* A token bucket refilled once a second: RFC 5961 7 challenge ACKs, RSTs. */
struct tcp_ratelimit {
	uint64_t window_start;
	uint32_t count;
	uint32_t limit;
};

/*
 * One extent of a send queue: len bytes at p, either in a chunk of the
 * stack's pool (owner NULL, chunk its index) or in an application buffer
 * the stack holds a reference on (owner). Queues are singly linked, oldest
 * first; ACKs free whole extents from the head and trim a partial one.
 */
struct tcp_sx {
	struct tcp_sx *next;
	const uint8_t *p;
	void          *owner;
	uint32_t       len;
	uint32_t       chunk;
};

#define TCP_CHUNK_NONE UINT32_MAX

/*
 * The send pool of one stack: chunks for copied bytes and the extents of
 * every queue. Both regions are reserved (address space, MAP_NORESERVE) for
 * the worst case at start and handed out by a bump index, then recycled
 * LIFO through free lists: only pages that held bytes in flight are ever
 * touched, and the hottest are reused first, so the resident set follows
 * the peak of bytes in flight, not max_conns * snd_buf.
 */
struct tcp_sndpool {
	uint8_t       *mem;        /**< nchunks * chunk bytes */
	uint32_t      *refs;       /**< per chunk: extents on it, + 1 while it is a fill chunk */
	uint32_t      *next;       /**< per chunk: free list link */
	uint32_t       chunk, nchunks;
	uint32_t       bump, free_head;
	uint32_t       in_use;     /**< chunks handed out now */
	uint32_t       peak;       /**< most in use at once */
	struct tcp_sx *sx;         /**< nsx extents */
	struct tcp_sx *sx_free;
	uint32_t       nsx, sx_bump;
	uint32_t       held;       /**< owners held by send queues now */
	size_t         mem_len, refs_len, sx_len;
};

struct tcp_stack {
	struct tcp_config        cfg;
	const struct tcp_stack_ops *ops;
	void                    *ctx;
	uint64_t                 now;       /**< ms, virtual or real: set by tcp_advance() */
	struct tw_wheel          wheel;
	struct tcp_conn        **buckets;
	uint32_t                 bmask;
	uint32_t                 depth;     /**< nested API entries; zombies freed at 0 */
	struct tcp_conn         *pool;
	struct tcp_sndpool       sp;
	struct tcp_conn         *free_list;
	struct tcp_conn         *zombies;
	struct tcp_conn         *out_list;  /**< sent to or closed inside a callback: output at depth 0 */
	struct tcp_tw_table      tw;
	struct tcp_listener      listeners[TCP_LISTEN_MAX];
	struct tcp_ratelimit     chack_rl, rst_rl;
	uint64_t                 hash_seed;
	uint64_t                 cookie_key[2]; /**< SYN cookie MAC key, derived from cfg.key */
	struct tcp_counters      cnt;
};

#endif
