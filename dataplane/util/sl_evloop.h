/* sl_evloop.h - a small epoll loop with a timer wheel, for the control
 * thread (health checks, and later Redis, the control socket, metrics). */
#ifndef SL_EVLOOP_H
#define SL_EVLOOP_H

#include <stdbool.h>
#include <stdint.h>

#include "timer_wheel.h"

#define SL_EV_READ  0x1
#define SL_EV_WRITE 0x2
#define SL_EV_ERROR 0x4   /* reported only: EPOLLERR / EPOLLHUP */

struct sl_evloop;
typedef void (*sl_ev_fn)(struct sl_evloop *l, int fd, unsigned events, void *arg);

struct sl_evloop *sl_evloop_new(void);
void sl_evloop_free(struct sl_evloop *l);

/* Watch fd for events (SL_EV_READ | SL_EV_WRITE); one handler per fd. */
int  sl_evloop_add(struct sl_evloop *l, int fd, unsigned events, sl_ev_fn fn, void *arg);
int  sl_evloop_mod(struct sl_evloop *l, int fd, unsigned events);
void sl_evloop_del(struct sl_evloop *l, int fd);

/* Timers: arm with tw_arm(sl_evloop_wheel(l), t, sl_evloop_now(l) + ms). */
struct tw_wheel *sl_evloop_wheel(struct sl_evloop *l);
uint64_t sl_evloop_now(const struct sl_evloop *l);

/* Wait up to max_wait_ms (or the next timer), dispatch events and timers.
 * Returns the number of fd events handled, -1 on an epoll error. */
int sl_evloop_run_once(struct sl_evloop *l, int max_wait_ms);

#endif
