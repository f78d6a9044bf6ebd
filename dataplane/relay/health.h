/* health.h - periodic SMTP health checks of the backends (connect, 220,
 * QUIT), run on the control thread's event loop. */
#ifndef HEALTH_H
#define HEALTH_H

#include "backend_pool.h"
#include "cfg.h"
#include "util/sl_evloop.h"

struct health_checker;

/* Start checking every in-use backend of pool each health_interval_ms. */
struct health_checker *health_checker_new(struct sl_evloop *l, struct backend_pool *pool,
					  const struct cfg *c);
/* New intervals and timeouts after a reload. */
void health_checker_apply(struct health_checker *h, const struct cfg *c);
void health_checker_free(struct health_checker *h);

#endif
