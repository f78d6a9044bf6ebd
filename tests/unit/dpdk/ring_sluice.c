/* ring_sluice.c - sluice (`transport dpdk`, control thread) on port A of a ring pair (see ring_sluice.h). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "control.h"
#include "dpdk/dpdk.h"
#include "dpdk/dpdk_transport.h"
#include "ring_pair.h"
#include "ring_sluice.h"
#include "util/sl_status.h"

static void *control_main(void *arg)
{
	control_run(arg);
	return NULL;
}

int ring_sluice_start(struct ring_sluice *s, const struct ring_pair *rp, const char *name,
		      const char *conf, size_t len, const char *addr, unsigned plen, uint32_t mbufs)
{
	char err[512];

	memset(s, 0, sizeof(*s));
	s->cfg = cfg_parse_string(name, conf, len, err, sizeof(err));
	if (s->cfg == NULL) {
		fprintf(stderr, "config: %s\n", err);
		return -1;
	}
	s->cfg->dpdk.tcp_secret[0] = '\0';   /* tests keep no secret file (the default is under /run) */
	backend_pool_init(&s->pool);
	if (backend_pool_apply(&s->pool, s->cfg) != SL_OK)
		return -1;
	if (ring_pair_dp(rp, addr, plen, mbufs, &s->dp) != 0)
		return -1;
	s->ctl = control_new(s->cfg, dpdk_dp_nworkers(s->dp), &s->pool);
	if (s->ctl == NULL)
		return -1;
	if (dpdk_tp_start(s->dp, s->cfg, s->ctl, &s->pool, err, sizeof(err)) != SL_OK ||
	    dpdk_dp_launch(s->dp, err, sizeof(err)) != SL_OK) {
		fprintf(stderr, "transport: %s\n", err);
		return -1;
	}
	if (pthread_create(&s->ctl_thread, NULL, control_main, s->ctl) != 0)
		return -1;
	s->ctl_started = true;
	return 0;
}

void ring_sluice_stop(struct ring_sluice *s, void (*settle)(void *arg), void *arg)
{
	if (s->dp != NULL) {
		dpdk_tp_shutdown(s->dp);
		for (int i = 0; i < 300 && !dpdk_tp_idle(s->dp); i++) {
			if (settle != NULL)
				settle(arg);
			else
				usleep(10 * 1000);
		}
		dpdk_dp_stop(s->dp);
		dpdk_tp_free(s->dp);
	}
	if (s->ctl_started) {
		control_stop(s->ctl);
		pthread_join(s->ctl_thread, NULL);
	}
	dpdk_dp_destroy(s->dp);
	if (s->ctl != NULL)
		control_free(s->ctl);
	if (s->cfg != NULL)
		cfg_unref(s->cfg);
	memset(s, 0, sizeof(*s));
}
