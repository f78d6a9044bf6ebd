/* ctl_stats.c - the transport counters sources, guarded so that main can
 * clear them while the control thread still answers requests, and the JSON
 * shape of the dataplane records. */
#include "ctlsock/ctl_stats.h"

#include <inttypes.h>
#include <pthread.h>
#include <string.h>

#include "ctlsock/ctl_proto.h"
#include "util/sl_status.h"

/* One process, one transport: a global is the honest shape. The mutex makes
 * "cleared" mean "no call in flight" (the callbacks only load atomics). */
static pthread_mutex_t stats_lock = PTHREAD_MUTEX_INITIALIZER;
static ctl_stats_fn stats_fn;
static void *stats_arg;
static ctl_dp_fn dp_fn;
static void *dp_arg;

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

void ctl_dp_register(ctl_dp_fn fn, void *arg)
{
	pthread_mutex_lock(&stats_lock);
	dp_fn = fn;
	dp_arg = arg;
	pthread_mutex_unlock(&stats_lock);
}

unsigned ctl_dp_get(int worker, struct ctl_dp_rec *out, unsigned max)
{
	unsigned n = 0;

	if (max > CTL_DP_REC_MAX)
		max = CTL_DP_REC_MAX;
	pthread_mutex_lock(&stats_lock);
	if (dp_fn != NULL)
		n = dp_fn(dp_arg, worker, out, max);
	pthread_mutex_unlock(&stats_lock);
	return n > max ? max : n;   /* a source past its bound is not trusted further */
}

/* Adjacent records of one name with a label make one nested object. */
void ctl_dp_json(struct ctl_buf *b, const struct ctl_dp_rec *r, unsigned n)
{
	ctl_buf_puts(b, "{");
	for (unsigned i = 0; i < n;) {
		unsigned j = i;

		if (i > 0)
			ctl_buf_puts(b, ",");
		ctl_buf_json_str(b, r[i].name);
		if (r[i].label == NULL) {
			ctl_buf_printf(b, ":%" PRIu64, r[i].value);
			i++;
			continue;
		}
		ctl_buf_puts(b, ":{");
		do {
			if (j > i)
				ctl_buf_puts(b, ",");
			ctl_buf_json_str(b, r[j].lvalue);
			ctl_buf_printf(b, ":%" PRIu64, r[j].value);
			j++;
		} while (j < n && r[j].label != NULL && strcmp(r[j].name, r[i].name) == 0);
		ctl_buf_puts(b, "}");
		i = j;
	}
	ctl_buf_puts(b, "}");
}
