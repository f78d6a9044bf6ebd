/* transport.h - the seam between a transport (kernel sockets or the DPDK
 * TCP stack) and the sans-IO session that joins a client leg to a backend leg. */
#ifndef TRANSPORT_H
#define TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/sl_addr.h"

enum sl_leg { SL_LEG_CLIENT = 0, SL_LEG_BACKEND = 1 };

/* The session's timers; a transport keeps one of each per session. */
enum sl_timer_id {
	SL_TIMER_CLIENT = 0,   /* the SMTP engine's timeouts */
	SL_TIMER_BACKEND = 1,  /* connect, greeting and reply timeouts of the backend leg */
	SL_TIMER_POLICY = 2,   /* a verdict that never comes back from the control thread */
	SL_TIMER_COUNT
};

/*
 * A read-only view of received bytes. `owner` is the transport's object
 * holding them: an rte_mbuf segment on DPDK (so forward() can attach an
 * indirect mbuf instead of copying), NULL on the kernel transport. The view
 * is valid only during the call it is passed to; bytes the session does not
 * consume stay with the transport and are offered again later.
 */
struct sl_rx {
	const uint8_t *data;
	uint32_t       len;
	void          *owner;
};

struct pol_query;

/*
 * Flow control between the legs: a session stops queueing on a leg once
 * ops->pending() reaches SL_TX_HIGH_WATER; a transport that saw a leg's
 * queue at or above it calls relay_session_writable() when the queue drops
 * below it again. Both sides use this one number, so neither can wait for
 * a notice the other will never send.
 */
#define SL_TX_HIGH_WATER (256u * 1024u)

/*
 * What a session may ask of its transport. `conn` is the transport's handle
 * for the session. None of these blocks; none calls back into the session
 * synchronously (events reach the session later, from the transport's loop),
 * so the session never sees re-entrant calls.
 */
struct sl_transport_ops {
	/* Queue bytes on a leg (copied). SL_ERROR: the leg's send bound is hit. */
	int    (*send)(void *conn, enum sl_leg leg, const void *buf, size_t len);
	/* Queue bytes received on the other leg, unchanged: rx from the current
	 * input call, [off, off + len) inside rx->data. Zero copy where possible. */
	int    (*forward)(void *conn, enum sl_leg to, const struct sl_rx *rx, uint32_t off, uint32_t len);
	/* Bytes queued on a leg and not yet acknowledged/written (back-pressure). */
	size_t (*pending)(void *conn, enum sl_leg leg);
	/* Open the backend leg (non-blocking); the result comes as
	 * relay_session_backend_connected(). SL_ERROR if it failed at once. */
	int    (*connect)(void *conn, const struct sl_addr *dst);
	/* Close a leg: after its queued bytes are sent (abort false), or at once
	 * with a reset, dropping them (abort true). A closed backend leg may be
	 * opened again with connect(). Closing the client leg ends the session:
	 * the transport calls relay_session_free() once both legs are closed. */
	void   (*close)(void *conn, enum sl_leg leg, bool abort);
	/* Arm a timer to fire in ms milliseconds (0 cancels it). */
	void   (*timer)(void *conn, enum sl_timer_id id, uint32_t ms);
	/* Offer unconsumed client input again soon (the session can progress). */
	void   (*resume)(void *conn);
	/* Send a query to the control thread; the verdict comes back through
	 * relay_session_verdict(seq). SL_ERROR when the ring is full. */
	int    (*policy)(void *conn, const struct pol_query *q, uint32_t seq);
};

#endif
