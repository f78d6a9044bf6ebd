/* dpdk_peer.h - an SMTP load generator and backend sink on our own TCP stack, on one DPDK port, in the caller's thread. */
#ifndef DPDK_PEER_H
#define DPDK_PEER_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#include "net/net_eth.h"
#include "tcp/tcp-t.h"

/*
 * The far side of sluice in one process (tests/bench/bench_dpdk_capacity.c;
 * tests/unit/dpdk/test_dpdk_smtp_ring.c does the same by hand and could move
 * onto this): one instance of dataplane/net + dataplane/tcp on queue 0 of a
 * started ethdev, with
 *  - SMTP clients: each connects to cfg.server, expects 220, sends EHLO,
 *    MAIL, RCPT, DATA, the message, QUIT, one command per reply (no
 *    pipelining, as smtp-source), and counts the session good only when
 *    every reply had the expected code (220 250 250 250 354 250 221);
 *  - an SMTP sink listening on cfg.sink_port: 250 to everything, 354 to
 *    DATA, 221 and a close to QUIT; every DATA it receives is compared with
 *    cfg.msg byte for byte as it streams in (memcmp per piece; the slow
 *    byte-by-byte search for the end of DATA only after a difference).
 * Client and sink share the stack, the address and the port. Everything
 * runs from dpdk_peer_poll() on the caller's thread; nothing is locked, so
 * one thread owns a peer. Session objects come from fixed pools sized at
 * creation: no allocation after dpdk_peer_new.
 *
 * cfg.msg is what a client sends after 354 and the sink must receive: a
 * dot-stuffed body that ends with "\r\n.\r\n" (or is ".\r\n") and holds no
 * earlier "\r\n.\r\n". It is not copied: it must outlive the peer.
 */

struct rte_mempool;

struct dpdk_peer_cfg {
	uint16_t            port_id;     /**< started ethdev; the peer uses its queue 0 */
	struct rte_mempool *pool;        /**< mbufs for what the peer sends */
	struct net_mac      mac;         /**< the port's MAC (the ring PMD has none of its own to speak of) */
	const char         *addr;        /**< our IPv4 address, "198.18.0.2" */
	unsigned            plen;        /**< its prefix length */
	const char         *server;      /**< where clients connect, "198.18.0.1:25" (NULL: no clients) */
	uint16_t            sink_port;   /**< where the sink listens (0: no sink) */
	bool                sink_pipelining; /**< the sink's EHLO reply offers PIPELINING (smtp-sink does) */
	uint16_t            client_port_lo, client_port_hi;   /**< clients' source ports (0, 0: 10000..60999) */
	uint32_t            max_sessions;/**< client and sink objects each; TCBs = 2 * this + 64 */
	uint32_t            max_tw;      /**< TIME-WAIT entries (0: 65536) */
	uint32_t            snd_buf;     /**< send buffer per TCB, a power of two (0: 16 KiB) */
	const char         *msg;         /**< see above */
	uint32_t            msg_len;
	unsigned            verbose_fails;/**< print this many unexpected replies to stderr (then count only) */
};

/* Counters, written by the peer's thread; read them from the same thread (or after it stops). */
struct dpdk_peer_stats {
	uint64_t rx_pkts, rx_bytes;      /**< frames taken from the RX queue */
	uint64_t rx_chained;             /**< ... that came in several segments (sluice's DATA by reference) */
	uint64_t rx_drop;                /**< chained frames that could not be made one segment */
	uint64_t tx_pkts, tx_bytes;      /**< frames the TX queue accepted */
	uint64_t tx_drop;                /**< frames freed: TX queue full (TCP retransmits), or no mbuf */
	uint64_t loops;
	uint64_t busy_cycles;            /**< TSC cycles of dpdk_peer_poll calls that moved a frame */
	uint64_t idle_cycles;            /**< of those that did not */
	uint64_t started;                /**< client sessions opened */
	uint64_t done;                   /**< client sessions closed, good or not */
	uint64_t ok;                     /**< ... with every reply as expected (221 at the end) */
	uint64_t failed;                 /**< ... otherwise */
	uint64_t fail_class[6];          /**< unexpected replies by first digit (0: not a number) */
	uint64_t connect_fail;           /**< tcp_connect had no TCB or no free tuple */
	uint64_t sink_sessions;          /**< connections the sink accepted */
	uint64_t sink_msgs;              /**< ends of DATA the sink saw */
	uint64_t sink_good;              /**< ... whose bytes were exactly cfg.msg */
	uint64_t sink_bytes;             /**< DATA bytes of the good ones */
};

struct dpdk_peer;

/* dpdk_peer_new - the stack, the sink's listener, the pools. NULL with err set. */
struct dpdk_peer *dpdk_peer_new(const struct dpdk_peer_cfg *cfg, char *err, size_t errlen);
/* dpdk_peer_free - frees everything; connections are dropped without a word (NULL ok). */
void dpdk_peer_free(struct dpdk_peer *p);

/*
 * dpdk_peer_poll - one iteration: an RX burst into the stack, TCP timers,
 * the ARP timer, one TX burst of what was built. Returns the frames it
 * moved (received + sent); 0 is an idle iteration.
 */
unsigned dpdk_peer_poll(struct dpdk_peer *p);

/* dpdk_peer_resolve - ARP for the server's address until it is REACHABLE, polling; SL_OK or SL_ERROR after ms. */
int dpdk_peer_resolve(struct dpdk_peer *p, unsigned ms);

/* dpdk_peer_start - open one client session. false: no free session object or TCB (counted). */
bool dpdk_peer_start(struct dpdk_peer *p);

/*
 * dpdk_peer_run - n more client sessions, at most `concurrency` open at a
 * time, polling until all n are done or the TSC passes deadline_tsc.
 * yield: sched_yield() on idle iterations (another thread shares the core).
 * SL_OK when all n ended (good or not: see the counters), SL_ERROR on the deadline.
 */
int dpdk_peer_run(struct dpdk_peer *p, uint64_t n, unsigned concurrency, uint64_t deadline_tsc, bool yield);

/* dpdk_peer_settle - poll until no connection is left but TIME-WAIT ones, or ms pass. true: settled. */
bool dpdk_peer_settle(struct dpdk_peer *p, unsigned ms, bool yield);

/* dpdk_peer_sink_listen - stop (false) or start again (true) the sink's listener. SL_OK or SL_ERROR. */
int dpdk_peer_sink_listen(struct dpdk_peer *p, bool on);

const struct dpdk_peer_stats *dpdk_peer_stats(const struct dpdk_peer *p);
/* The TCP stack's counters (retransmits, RTOs, drops by reason, connections by state). */
const struct tcp_counters *dpdk_peer_tcp(const struct dpdk_peer *p);

#endif
