/* kt_conn.h - the kernel transport's insides: a worker, a connection (client
 * fd + backend fd), and what its three files call in each other. */
#ifndef KT_CONN_H
#define KT_CONN_H

#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cfg.h"
#include "kt.h"
#include "relay/relay_session.h"
#include "transport.h"
#include "util/sl_slots.h"
#include "util/timer_wheel.h"

#define KT_IN_SIZE      (16u * 1024)     /**< client input buffer: full = stop reading */
#define KT_OUT_MAX      (1024u * 1024)   /**< per-leg output bound: send() fails past it */
#define KT_OUT_MARK     (KT_OUT_MAX / 2) /**< above: reads pause; below again: writable() */
/*
 * relay_session_writable(leg) comes when the leg's output drops below
 * KT_OUT_MARK after passing it, or drains to empty after pending() answered
 * non-zero for it. The second rule makes any threshold a session chooses
 * for its own pausing (the relay stops at 256 KiB) get its wake-up.
 */
#define KT_OUT_MIN_CAP  4096u
#define KT_OUT_KEEP     (64u * 1024)     /**< an empty buffer larger than this is released */
#define KT_RBUF_SIZE    (64u * 1024)     /**< backend reads land in one buffer per worker */
#define KT_CLOSE_MS     5000u            /**< bound on a graceful close (flush + linger) */
#define KT_ACCEPT_BURST 64
#define KT_ACCEPT_PAUSE_MS 100u          /**< listeners rest this long after EMFILE */
#define KT_TICK_MS      1u
#define KT_WHEEL_SLOTS  8192u
#define KT_MIN_WAIT_MS  10               /**< poll granularity when only timers are due */

struct kt_worker;
struct control;
struct control_port;
struct sockaddr_storage;

/* What an epoll event points at. */
enum kt_handle_kind { KT_H_LISTEN = 1, KT_H_KICK, KT_H_CONTROL, KT_H_LEG };

struct kt_handle {
	uint8_t  kind;   /**< enum kt_handle_kind */
	uint8_t  leg;    /**< KT_H_LEG: enum sl_leg */
	uint16_t index;  /**< KT_H_LISTEN: index in cfg->listen */
};

/*
 * A leg's life. Only OPEN (and CONNECTING for the backend) is "open" for the
 * session; DRAINING and LINGER are the transport finishing a graceful close
 * after the session (or the peer) ended the leg.
 */
enum kt_leg_state {
	KT_LEG_NONE = 0,    /* no fd */
	KT_LEG_CONNECTING,  /* backend connect() in progress */
	KT_LEG_OPEN,
	KT_LEG_DRAINING,    /* flushing queued output, then shutdown(SHUT_WR) */
	KT_LEG_LINGER,      /* FIN sent: discard input until the peer's EOF, so an
			     * unread byte does not turn our close into an RST that
			     * could destroy the last reply before the peer reads it */
};

/* Queued output: [off, off + len) inside data. Grows by doubling up to
 * KT_OUT_MAX on demand, so an idle connection holds no output memory. */
struct kt_buf {
	uint8_t *data;
	uint32_t off;
	uint32_t len;
	uint32_t cap;
};

struct kt_leg {
	struct kt_handle h;
	int              fd;
	uint8_t          state;        /**< enum kt_leg_state */
	bool             above_mark;   /**< output passed KT_OUT_MARK: writable() due when it drops */
	bool             watched;      /**< pending() answered non-zero: writable() due once empty */
	bool             peer_eof;     /**< the peer sent FIN: no linger needed */
	uint32_t         events;       /**< epoll mask registered for fd (0 = not registered) */
	uint64_t         opened_iter;  /**< loop iteration that opened fd: that batch's events are stale */
	struct kt_buf    out;
	struct tw_timer  close_timer;  /**< bounds DRAINING + LINGER */
};

struct kt_conn {
	struct kt_worker     *w;
	struct relay_session *session;   /**< NULL once relay_session_free() ran */
	uint64_t              id;        /**< worker | slot | generation */
	uint32_t              slot;
	bool                  resume;    /**< the session asked for its input again */
	bool                  on_again;
	bool                  dead;      /**< on the dead list: freed at the end of the iteration */
	struct kt_conn       *again_next;
	struct kt_conn       *dead_next;
	struct kt_leg         leg[2];
	struct tw_timer       timer[SL_TIMER_COUNT];
	uint32_t              in_len;    /**< unconsumed client bytes at in[0] */
	uint8_t              *in;        /**< KT_IN_SIZE bytes, inside this allocation */
	alignas(max_align_t) unsigned char mem[]; /**< the session, then the input buffer */
};

/* Single-writer counters: the worker stores, anyone loads (relaxed). */
struct kt_wstats {
	_Atomic uint64_t accepted, rejected_busy, conns, policy_sent, policy_full;
	_Atomic uint64_t verdicts, verdicts_stale, forced_closes;
};

#define KT_STAT_INC(w, f) \
	atomic_store_explicit(&(w)->stats.f, atomic_load_explicit(&(w)->stats.f, memory_order_relaxed) + 1, \
			      memory_order_relaxed)

struct kt_worker {
	alignas(64) struct kt *k;
	unsigned              idx;
	pthread_t             thread;
	bool                  started;
	int                   epfd;
	int                   kick_efd;     /**< kt_shutdown() writes it */
	struct kt_handle      kick_h;
	struct kt_handle      ctl_h;
	unsigned              nlisten;
	int                   lfd[CFG_LISTEN_MAX];
	struct kt_handle      lh[CFG_LISTEN_MAX];
	bool                  accept_paused;
	struct tw_timer       accept_timer;
	struct control       *ctl;
	struct control_port  *port;         /**< NULL without a control */
	struct relay_worker   rw;
	struct tw_wheel       wheel;
	uint64_t              iter;
	uint64_t              generation;   /**< newest RELOAD/SNAPSHOT generation seen */
	bool                  wake_control; /**< queries pushed this iteration */
	bool                  draining;
	uint64_t              deadline;     /**< draining: abort what is left then */
	struct sl_slots       slots;        /**< session ids; a freed slot rests long before reuse */
	uint32_t              nconns;
	struct kt_conn       *again;        /**< conns to settle next iteration */
	struct kt_conn       *dead;
	struct kt_wstats      stats;
	uint8_t               rbuf[KT_RBUF_SIZE];
};

struct kt {
	unsigned            n;
	struct kt_worker  **w;
	struct cfg         *cfg;
	struct control     *ctl;
	_Atomic bool        stop;
	uint16_t            port[CFG_LISTEN_MAX];
};

/* kt_listen.c */
int  kt_listen_open(const struct sl_addr *a, uint16_t port, char *err, size_t errlen);
uint16_t kt_listen_bound_port(int fd);
void kt_listen_accept(struct kt_worker *w, unsigned i);
void kt_listen_pause(struct kt_worker *w, bool pause);

/* kt_conn.c */
void kt_conn_accept(struct kt_worker *w, int fd, const struct sockaddr_storage *peer);
void kt_conn_event(struct kt_conn *c, enum sl_leg leg, uint32_t events);
void kt_conn_settle(struct kt_conn *c);
void kt_conn_abort(struct kt_conn *c);
void kt_conn_destroy(struct kt_conn *c);

/* kt_worker.c */
int  kt_worker_slot_alloc(struct kt_worker *w, struct kt_conn *c);
void kt_worker_slot_free(struct kt_worker *w, struct kt_conn *c);
void kt_worker_again(struct kt_worker *w, struct kt_conn *c);
void kt_worker_epoll(struct kt_worker *w, int fd, struct kt_handle *h, uint32_t *cur, uint32_t want);

#endif
