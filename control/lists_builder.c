/* lists_builder.c - finishes list snapshots on a thread of its own, so a million-entry rebuild does not stall the control loop. */
#include "lists_builder.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "util/sl_clock.h"
#include "util/sl_status.h"

/*
 * The control thread collects a snapshot's entries (a copy: the runtime
 * lists change under it) and hands the builder over; this thread sorts
 * and indexes them (the part that costs: ~100 ms for a million /32s) and
 * posts the result through an eventfd the control loop watches. One job
 * slot: the control never starts a second build before the first is back.
 */
struct lists_builder {
	struct sl_evloop *loop;
	lists_built_fn    done;
	void             *arg;
	int               efd;
	pthread_t         th;
	bool              started;
	bool              busy;      /* control thread only: a job out, its callback not yet run */
	pthread_mutex_t   mu;
	pthread_cond_t    cv;
	/* under mu */
	bool                         stop;
	struct pol_snapshot_builder *job;
	uint64_t                     job_tag;
	bool                         ready;
	struct pol_snapshot         *result;
	uint64_t                     result_tag, result_ns;
};

static void *builder_main(void *arg)
{
	struct lists_builder *lb = arg;

	pthread_mutex_lock(&lb->mu);
	for (;;) {
		struct pol_snapshot_builder *b;
		struct pol_snapshot *s;
		uint64_t tag, t0, one = 1;

		while (!lb->stop && lb->job == NULL)
			pthread_cond_wait(&lb->cv, &lb->mu);
		if (lb->stop)
			break;
		b = lb->job;
		tag = lb->job_tag;
		lb->job = NULL;
		pthread_mutex_unlock(&lb->mu);

		t0 = sl_clock_ns();
		s = pol_snapshot_builder_finish(b);

		pthread_mutex_lock(&lb->mu);
		lb->result = s;
		lb->result_tag = tag;
		lb->result_ns = sl_clock_ns() - t0;
		lb->ready = true;
		/* an eventfd write of 1 cannot block or fail short of a broken fd */
		if (write(lb->efd, &one, sizeof(one)) < 0)
			(void)0;
	}
	pthread_mutex_unlock(&lb->mu);
	return NULL;
}

static void on_ready(struct sl_evloop *l, int fd, unsigned events, void *arg)
{
	struct lists_builder *lb = arg;
	struct pol_snapshot *s;
	uint64_t n, tag, ns;
	bool ready;

	(void)l;
	(void)events;
	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&lb->mu);
	ready = lb->ready;
	s = lb->result;
	tag = lb->result_tag;
	ns = lb->result_ns;
	lb->ready = false;
	lb->result = NULL;
	pthread_mutex_unlock(&lb->mu);
	if (!ready)
		return;
	lb->busy = false;
	lb->done(lb->arg, s, tag, ns);   /* may start the next build */
}

struct lists_builder *lists_builder_new(struct sl_evloop *loop, lists_built_fn done, void *arg)
{
	struct lists_builder *lb = calloc(1, sizeof(*lb));
	sigset_t all, old;
	int err;

	if (lb == NULL)
		return NULL;
	lb->loop = loop;
	lb->done = done;
	lb->arg = arg;
	pthread_mutex_init(&lb->mu, NULL);
	pthread_cond_init(&lb->cv, NULL);
	lb->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (lb->efd < 0 || sl_evloop_add(loop, lb->efd, SL_EV_READ, on_ready, lb) < 0)
		goto fail;
	/* the thread takes no signal: main waits for them with sigwait */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	err = pthread_create(&lb->th, NULL, builder_main, lb);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err != 0) {
		errno = err;
		goto fail;
	}
	lb->started = true;
	return lb;
fail:
	lists_builder_free(lb);
	return NULL;
}

bool lists_builder_busy(const struct lists_builder *lb)
{
	return lb->busy;
}

int lists_builder_start(struct lists_builder *lb, struct pol_snapshot_builder *b, uint64_t tag)
{
	if (lb->busy) {
		pol_snapshot_builder_abort(b);
		return SL_AGAIN;
	}
	pthread_mutex_lock(&lb->mu);
	lb->job = b;
	lb->job_tag = tag;
	pthread_cond_signal(&lb->cv);
	pthread_mutex_unlock(&lb->mu);
	lb->busy = true;
	return SL_OK;
}

void lists_builder_free(struct lists_builder *lb)
{
	if (lb == NULL)
		return;
	if (lb->started) {
		pthread_mutex_lock(&lb->mu);
		lb->stop = true;
		pthread_cond_signal(&lb->cv);
		pthread_mutex_unlock(&lb->mu);
		pthread_join(lb->th, NULL);
	}
	/* what the thread never took, or finished with no one to hear it */
	if (lb->job != NULL)
		pol_snapshot_builder_abort(lb->job);
	pol_snapshot_free(lb->result);
	if (lb->efd >= 0) {
		sl_evloop_del(lb->loop, lb->efd);
		close(lb->efd);
	}
	pthread_cond_destroy(&lb->cv);
	pthread_mutex_destroy(&lb->mu);
	free(lb);
}
