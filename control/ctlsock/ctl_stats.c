/* ctl_stats.c - the transport counters source, guarded so that main can
 * clear it while the control thread still answers requests. */
#include "ctlsock/ctl_stats.h"

#include <pthread.h>
#include <string.h>

#include "util/sl_status.h"

/* One process, one transport: a global is the honest shape. The mutex makes
 * "cleared" mean "no call in flight" (the callback only loads atomics). */
static pthread_mutex_t stats_lock = PTHREAD_MUTEX_INITIALIZER;
static ctl_stats_fn stats_fn;
static void *stats_arg;

void ctl_stats_register(ctl_stats_fn fn, void *arg)
{
	pthread_mutex_lock(&stats_lock);
	stats_fn = fn;
	stats_arg = arg;
	pthread_mutex_unlock(&stats_lock);
}

bool ctl_stats_get(int worker, struct ctl_wstats *out)
{
	int rc = SL_DECLINED;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&stats_lock);
	if (stats_fn != NULL)
		rc = stats_fn(stats_arg, worker, out);
	pthread_mutex_unlock(&stats_lock);
	return rc == SL_OK;
}
