/* main.c - the sluice daemon: options, config check, start-up of the control
 * thread and the transport, and the signals that stop and reload it. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "control.h"
#include "ctlsock/ctl_stats.h"
#include "dpdk/dpdk.h"
#include "dpdk/dpdk_counters.h"
#include "dpdk/dpdk_transport.h"
#include "kernel/kt.h"
#include "relay/backend_pool.h"
#include "util/sl_evloop.h"
#include "util/sl_log.h"

#define DEFAULT_CONFIG "/etc/sluice/sluice.conf"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: sluice [-t [-S]] [-c FILE] [-- EAL ARGS]\n"
		"  -c FILE  configuration file (default " DEFAULT_CONFIG ")\n"
		"  -t       check the configuration, print the effective one, exit\n"
		"  -S       with -t: print secrets (the Redis password) in clear\n"
		"  -h       this help\n"
		"  -V       version\n"
		"  -- ...   transport dpdk: EAL arguments that override the config's dpdk eal\n");
}

static void dump_out(const char *s, size_t n, void *arg)
{
	fwrite(s, 1, n, arg);
}

static void *control_thread(void *arg)
{
	control_run(arg);
	return NULL;
}

static int write_pid_file(const char *path)
{
	FILE *f;

	if (path[0] == '\0')
		return 0;
	f = fopen(path, "w");
	if (f == NULL) {
		sl_err("pid_file %s: %s", path, strerror(errno));
		return -1;
	}
	fprintf(f, "%ld\n", (long)getpid());
	fclose(f);
	return 0;
}

static void wait_signals(const sigset_t *sigs, struct control *ctl, const char *file, const struct cfg *c)
{
	for (;;) {
		int sig;
		if (sigwait(sigs, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			sl_info("SIGHUP: reloading %s", file);
			control_request_reload(ctl);
			continue;
		}
		sl_info("%s: shutting down (grace %u ms)", sig == SIGTERM ? "SIGTERM" : "SIGINT",
			c->shutdown_grace_ms);
		return;
	}
}

/* sluicectl stats / metrics: the kernel transport's counters, summed over its workers. */
static int kt_ctl_stats(void *arg, int worker, struct ctl_wstats *out)
{
	struct kt_stats st;

	if (worker >= 0)
		return SL_DECLINED;
	kt_get_stats(arg, &st);
	out->accepted = st.accepted;
	out->rejected_busy = st.rejected_busy;
	out->conns = st.conns;
	out->policy_sent = st.policy_sent;
	out->policy_full = st.policy_full;
	out->verdicts = st.verdicts;
	out->verdicts_stale = st.verdicts_stale;
	out->forced_closes = st.forced_closes;
	return SL_OK;
}

/* sluicectl stats / metrics: the dpdk transport's session counters, per worker or summed. */
static int dpdk_ctl_stats(void *arg, int worker, struct ctl_wstats *out)
{
	struct dpdk_tp_stats st;

	if (worker >= 0) {
		const struct tcp_counters *tc;

		if (dpdk_tp_worker_stats(arg, (unsigned)worker, &st, &tc) != SL_OK)
			return SL_DECLINED;
	} else {
		dpdk_tp_get_stats(arg, &st);
	}
	out->accepted = st.accepted;
	out->rejected_busy = st.rejected_busy;
	out->conns = st.conns;
	out->policy_sent = st.policy_sent;
	out->policy_full = st.policy_full;
	out->verdicts = st.verdicts;
	out->verdicts_stale = st.verdicts_stale;
	out->forced_closes = st.forced_closes;
	return SL_OK;
}

/* transport dpdk: the ports' links, read once a second on the control
 * thread (dpdk_dp_link_watch: logged, and announced again on link up). */
#define LINK_WATCH_MS 1000
static struct link_watch {
	struct tw_timer   t;   /* first: the timer's pointer is the struct's */
	struct dpdk_dp   *dp;
	struct sl_evloop *loop;
} link_watch;

static void link_watch_fn(struct tw_timer *t)
{
	struct link_watch *w = (struct link_watch *)(void *)t;

	dpdk_dp_link_watch(w->dp);
	tw_arm(sl_evloop_wheel(w->loop), &w->t, sl_evloop_now(w->loop) + LINK_WATCH_MS);
}

/*
 * transport dpdk: EAL (config words, then the words after `--` on our
 * command line), ports and worker lcores, the control on a thread of the
 * main lcore, the sessions on the workers. SIGTERM: graceful drain bounded
 * by shutdown_grace, then the workers stop.
 */
static int run_dpdk(struct cfg *c, const char *file, const sigset_t *sigs, struct backend_pool *pool,
		    int novr, char **ovr)
{
	struct dpdk_dp *dp = NULL;
	struct control *ctl = NULL;
	pthread_t ctl_thread;
	bool ctl_started = false;
	char err[1024];
	int rc = 1;

	if (dpdk_eal_init("sluice", c->dpdk.eal, novr, ovr, err, sizeof(err)) != SL_OK) {
		sl_err("%s", err);
		return 1;
	}
	if (dpdk_dp_create(&dp, &c->dpdk, err, sizeof(err)) != SL_OK) {
		sl_err("%s", err);
		goto out;
	}
	ctl = control_new(c, dpdk_dp_nworkers(dp), pool);
	if (ctl == NULL)
		goto out;
	if (dpdk_tp_start(dp, c, ctl, pool, err, sizeof(err)) != SL_OK) {
		sl_err("%s", err);
		goto out;
	}
	if (dpdk_dp_launch(dp, err, sizeof(err)) != SL_OK) {
		sl_err("%s", err);
		goto stop;   /* the transport is attached: free it */
	}
	/* armed before the control thread runs its loop: the wheel is its own from then on */
	link_watch.dp = dp;
	link_watch.loop = control_loop(ctl);
	tw_timer_init(&link_watch.t, link_watch_fn);
	tw_arm(sl_evloop_wheel(link_watch.loop), &link_watch.t, sl_evloop_now(link_watch.loop) + LINK_WATCH_MS);
	/* the control thread is a plain thread of the main lcore: never a worker */
	if (pthread_create(&ctl_thread, NULL, control_thread, ctl) != 0) {
		sl_err("cannot start the control thread");
		dpdk_tp_shutdown(dp);
		goto stop;
	}
	ctl_started = true;
	ctl_stats_register(dpdk_ctl_stats, dp);
	ctl_dp_register(dpdk_counters_get, dp);
	write_pid_file(c->pid_file);
	sl_info("sluice started: %u workers, transport dpdk, %u port(s), %u backends, hostname %s",
		dpdk_dp_nworkers(dp), dpdk_dp_nports(dp), c->nbackends, c->hostname);
	wait_signals(sigs, ctl, file, c);
	dpdk_tp_shutdown(dp);
	/* the workers abort what is left at the grace deadline: wait a little past it */
	for (unsigned ms = 0; !dpdk_tp_idle(dp) && ms < c->shutdown_grace_ms + 2000; ms += 10)
		usleep(10 * 1000);
	rc = 0;
stop:
	ctl_stats_register(NULL, NULL);   /* before the counters go away */
	ctl_dp_register(NULL, NULL);
	dpdk_dp_stop(dp);
	dpdk_tp_free(dp);
out:
	if (ctl_started) {
		control_stop(ctl);
		pthread_join(ctl_thread, NULL);
	}
	dpdk_dp_destroy(dp);
	if (ctl != NULL)
		control_free(ctl);
	dpdk_eal_cleanup();
	if (ctl_started && c->pid_file[0] != '\0')
		unlink(c->pid_file);   /* only ours: written once the control thread ran */
	return rc;
}

int main(int argc, char **argv)
{
	const char *file = DEFAULT_CONFIG;
	bool test_only = false;
	bool show_secrets = false;   /* -t masks the inline Redis password unless -S */
	char err[512];
	struct cfg *c;
	struct backend_pool *pool;
	struct control *ctl;
	struct kt *k;
	pthread_t ctl_thread;
	sigset_t sigs;
	int opt;

	while ((opt = getopt(argc, argv, "c:tShV")) != -1) {
		switch (opt) {
		case 'c':
			file = optarg;
			break;
		case 't':
			test_only = true;
			break;
		case 'S':
			show_secrets = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("sluice 0.1.0\n");
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	/* words after `--` are EAL overrides (transport dpdk); nothing else may follow the options */
	if (optind != argc && strcmp(argv[optind - 1], "--") != 0) {
		usage(stderr);
		return 2;
	}

	c = cfg_load(file, err, sizeof(err));
	if (c == NULL) {
		fprintf(stderr, "sluice: %s\n", err);
		return 1;
	}
	if (test_only) {
		cfg_dump_flags(c, show_secrets ? CFG_DUMP_SECRETS : 0, dump_out, stdout);
		fprintf(stderr, "sluice: the configuration file %s syntax is ok\n", file);
		cfg_unref(c);
		return 0;
	}
	sl_log_set_level((enum sl_log_level)c->log_level);
	if (c->transport == CFG_TRANSPORT_KERNEL && optind != argc) {
		sl_err("EAL arguments after -- need transport dpdk");
		cfg_unref(c);
		return 2;
	}

	/* Every thread inherits this mask: signals are taken only by sigwait below. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	pool = calloc(1, sizeof(*pool));
	if (pool == NULL) {
		sl_err("no memory");
		return 1;
	}
	backend_pool_init(pool);
	if (backend_pool_apply(pool, c) != SL_OK) {
		sl_err("%s: cannot set up the backends", file);
		return 1;
	}
	if (c->transport == CFG_TRANSPORT_DPDK) {
		int rc = run_dpdk(c, file, &sigs, pool, argc - optind, argv + optind);

		cfg_unref(c);
		free(pool);
		sl_info("sluice stopped");
		return rc;
	}
	ctl = control_new(c, kt_workers_for(c), pool);
	if (ctl == NULL)
		return 1;
	k = kt_start(c, ctl, pool, err, sizeof(err));
	if (k == NULL) {
		sl_err("%s", err);
		control_free(ctl);
		return 1;
	}
	ctl_stats_register(kt_ctl_stats, k);
	if (pthread_create(&ctl_thread, NULL, control_thread, ctl) != 0) {
		sl_err("cannot start the control thread");
		return 1;
	}
	write_pid_file(c->pid_file);
	sl_info("sluice started: %u workers, transport kernel, %u backends, hostname %s",
		kt_nworkers(k), c->nbackends, c->hostname);

	wait_signals(&sigs, ctl, file, c);
	kt_shutdown(k);
	ctl_stats_register(NULL, NULL);   /* before the counters go away */
	kt_join(k);
	control_stop(ctl);
	pthread_join(ctl_thread, NULL);
	control_free(ctl);
	if (c->pid_file[0] != '\0')
		unlink(c->pid_file);
	cfg_unref(c);
	free(pool);
	sl_info("sluice stopped");
	return 0;
}
