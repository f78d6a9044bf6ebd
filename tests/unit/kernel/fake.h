/* fake.h - a stand-in session and control thread for testing the kernel transport alone. */
#ifndef KT_TEST_FAKE_H
#define KT_TEST_FAKE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "cfg.h"
#include "control.h"
#include "control_msg.h"

/*
 * The fake session speaks lines (LF or CRLF). It greets "220 fake" and knows:
 *   PING              -> 250 pong
 *   BACKEND ip:port   -> connect; 250 backend up | 451 backend down
 *   CLOSEBE           -> close the backend gracefully; 250 backend closed
 *   POLICY            -> a query on the ring; input waits for the verdict,
 *                        then 250 verdict SEQ ACTION CODE
 *   TIMER c|b MS      -> 250 armed; later 250 timer c|b (MS 0 cancels)
 *   BUSY              -> a "transaction": shutdown waits for QUIT
 *   QUIT              -> 221 bye, close both legs
 *   ABORT             -> reset both legs
 *   anything else     -> forwarded to the backend when it is up, else 500
 * Backend bytes are forwarded to the client. Backend lost: 421 backend lost R.
 * Shutdown when not BUSY: 421 4.3.2 shutting down, close.
 */
struct fake_counters {
	_Atomic unsigned starts, frees, shutdowns;
	_Atomic unsigned client_eof, client_reset, backend_eof, backend_reset;
	_Atomic unsigned blocks;          /* forwarding paused on backend pending */
	_Atomic unsigned forward_errors;
	_Atomic unsigned wrong_worker;    /* a session called on a thread not its own */
	_Atomic size_t   max_pending;     /* highest ops->pending(BACKEND) seen */
	_Atomic size_t   max_pending_client;
};
extern struct fake_counters fake;
void fake_reset(void);

/* The fake control: rings per worker, wake counted, no thread of its own —
 * the test pops queries and pushes verdicts itself. */
struct control *fake_control_new(struct cfg *c, unsigned nworkers, uint32_t ring_size);
void fake_control_free(struct control *ctl);
/* Wait up to ms for a message from worker w. */
bool fake_control_pop(struct control *ctl, unsigned w, struct ctl_msg *m, int ms);
/* Wait up to ms for a message from any worker. */
bool fake_control_pop_any(struct control *ctl, struct ctl_msg *m, int ms);
void fake_control_push(struct control *ctl, unsigned w, const struct ctl_msg *m);
/* What control_cfg_ref() hands out next (the test's reload). */
void fake_control_set_cfg(struct control *ctl, struct cfg *c);
uint64_t fake_control_quiescent(struct control *ctl, unsigned w);
unsigned fake_control_wakes(struct control *ctl);

#endif
