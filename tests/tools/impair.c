/* impair.c - a userspace netem: bridges two interfaces with AF_PACKET and forwards frames with seeded loss, reordering, duplication and delay. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/*
 * For the integration tests on kernels without sch_netem: run in a middle
 * namespace holding one end of each of two veth pairs, it copies every
 * frame received on one interface to the other, each direction on its own:
 *
 *   loss      drop a frame with probability P% (never more than --max-burst
 *             in a row, so a test's time stays bounded);
 *   duplicate send a frame twice;
 *   delay     hold every frame D ms (+ up to J ms of jitter, which reorders
 *             by itself when J is large);
 *   reorder   hold a frame R% of the time an extra --reorder-ms, so the
 *             frames behind it overtake it (netem's "reorder" needs a delay
 *             too; here the held-back frame is the one that moves).
 *
 * Decisions come from one xorshift64* generator seeded by --seed, drawn in
 * a fixed order per frame, so a run with the same traffic is the same run.
 * At most --queue frames wait per direction (more are dropped, counted).
 * SIGTERM or SIGINT (or --duration) ends it; the counters go to stdout, one
 * line per direction, and on SIGUSR1 at any time.
 */

#define FRAME_MAX 65536

struct opts {
	const char *ifname[2];
	double loss, dup, reorder;     /* percent */
	unsigned delay_ms, jitter_ms, reorder_ms;
	unsigned max_burst;
	unsigned queue;
	unsigned duration_s;
	uint64_t seed;
};

struct pkt {
	uint64_t due_us;
	uint64_t order;                /* FIFO among equal due times */
	uint32_t len;
	uint8_t data[];
};

struct dir {
	const char *name;
	int in, out;                   /* socket indexes */
	struct pkt **heap;             /* min-heap by (due, order) */
	unsigned n;
	unsigned burst;                /* losses in a row now */
	uint64_t rx, tx, lost, duplicated, reordered, queue_drops, too_big, send_errors;
};

static volatile sig_atomic_t stop, dump;
static uint64_t rng;
static uint64_t order_seq;

static void on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

static void on_dump(int sig)
{
	(void)sig;
	dump = 1;
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* xorshift64* (Vigna): small, fast and good enough to draw percentages. */
static uint64_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dULL;
}

/* True with probability pct percent. */
static bool chance(double pct)
{
	return pct > 0 && (double)(rnd() >> 11) * (1.0 / 9007199254740992.0) * 100.0 < pct;
}

static bool before(const struct pkt *a, const struct pkt *b)
{
	return a->due_us != b->due_us ? a->due_us < b->due_us : a->order < b->order;
}

static void heap_push(struct dir *d, struct pkt *p)
{
	unsigned i = d->n++;

	while (i > 0 && before(p, d->heap[(i - 1) / 2])) {
		d->heap[i] = d->heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	d->heap[i] = p;
}

static struct pkt *heap_pop(struct dir *d)
{
	struct pkt *top = d->heap[0], *last = d->heap[--d->n];
	unsigned i = 0;

	for (;;) {
		unsigned c = 2 * i + 1;

		if (c >= d->n)
			break;
		if (c + 1 < d->n && before(d->heap[c + 1], d->heap[c]))
			c++;
		if (!before(d->heap[c], last))
			break;
		d->heap[i] = d->heap[c];
		i = c;
	}
	if (d->n > 0)
		d->heap[i] = last;
	return top;
}

static int open_if(const char *name, int *ifindex)
{
	struct sockaddr_ll sll;
	struct packet_mreq mr;
	int fd, one = 1, buf = 4 << 20;
	unsigned idx = if_nametoindex(name);

	if (idx == 0) {
		fprintf(stderr, "impair: no interface %s: %s\n", name, strerror(errno));
		return -1;
	}
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL));
	if (fd < 0) {
		fprintf(stderr, "impair: AF_PACKET socket: %s\n", strerror(errno));
		return -1;
	}
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = (int)idx;
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) != 0) {
		fprintf(stderr, "impair: bind to %s: %s\n", name, strerror(errno));
		close(fd);
		return -1;
	}
	/* frames for any MAC: we are a wire, not a host */
	memset(&mr, 0, sizeof(mr));
	mr.mr_ifindex = (int)idx;
	mr.mr_type = PACKET_MR_PROMISC;
	if (setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr)) != 0)
		fprintf(stderr, "impair: promiscuous mode on %s: %s\n", name, strerror(errno));
	/* what we send on this interface must not come back to us as received */
#ifdef PACKET_IGNORE_OUTGOING
	setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one));
#endif
	(void)one;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	*ifindex = (int)idx;
	return fd;
}

static void print_counters(const struct dir *d, unsigned nd)
{
	for (unsigned i = 0; i < nd; i++)
		printf("impair %s: rx %" PRIu64 " tx %" PRIu64 " lost %" PRIu64 " duplicated %" PRIu64
		       " reordered %" PRIu64 " queue_drops %" PRIu64 " too_big %" PRIu64 " send_errors %" PRIu64
		       " waiting %u\n",
		       d[i].name, d[i].rx, d[i].tx, d[i].lost, d[i].duplicated, d[i].reordered,
		       d[i].queue_drops, d[i].too_big, d[i].send_errors, d[i].n);
	fflush(stdout);
}

/* Queue one copy of a received frame, due at due_us. */
static void enqueue(struct dir *d, const struct opts *o, const uint8_t *f, uint32_t len, uint64_t due_us)
{
	struct pkt *p;

	if (d->n >= o->queue) {
		d->queue_drops++;
		return;
	}
	p = malloc(sizeof(*p) + len);
	if (p == NULL) {
		d->queue_drops++;
		return;
	}
	p->due_us = due_us;
	p->order = order_seq++;
	p->len = len;
	memcpy(p->data, f, len);
	heap_push(d, p);
}

/* A frame arrived on d's input: decide its fate, in a fixed draw order. */
static void arrive(struct dir *d, const struct opts *o, const uint8_t *f, uint32_t len, uint64_t t)
{
	bool lose = chance(o->loss), twice = chance(o->dup), late = chance(o->reorder);
	uint64_t jitter = o->jitter_ms ? rnd() % ((uint64_t)o->jitter_ms * 1000u + 1) : 0;
	uint64_t due = t + (uint64_t)o->delay_ms * 1000u + jitter;

	d->rx++;
	if (lose && d->burst < o->max_burst) {
		d->burst++;
		d->lost++;
		return;
	}
	d->burst = 0;
	if (late) {
		due += (uint64_t)o->reorder_ms * 1000u;
		d->reordered++;
	}
	enqueue(d, o, f, len, due);
	if (twice) {
		d->duplicated++;
		enqueue(d, o, f, len, due);
	}
}

/* Send what is due; returns the µs until the next frame is (or -1). */
static int64_t depart(struct dir *d, const int *fds, const int *ifx, uint64_t t)
{
	while (d->n > 0 && d->heap[0]->due_us <= t) {
		struct pkt *p = d->heap[0];
		struct sockaddr_ll sll;
		ssize_t w;

		memset(&sll, 0, sizeof(sll));
		sll.sll_family = AF_PACKET;
		sll.sll_ifindex = ifx[d->out];
		sll.sll_halen = ETH_ALEN;
		memcpy(sll.sll_addr, p->data, ETH_ALEN);
		w = sendto(fds[d->out], p->data, p->len, 0, (struct sockaddr *)&sll, sizeof(sll));
		if (w < 0 && (errno == EAGAIN || errno == ENOBUFS))
			return 200;   /* the device queue is full: retry this frame shortly */
		heap_pop(d);
		if (w == (ssize_t)p->len)
			d->tx++;
		else if (w < 0 && errno == EMSGSIZE)
			d->too_big++;
		else
			d->send_errors++;
		free(p);
	}
	return d->n > 0 ? (int64_t)(d->heap[0]->due_us - t) : -1;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: impair -a IF -b IF [--loss PCT] [--dup PCT] [--reorder PCT] [--reorder-ms MS]\n"
		"              [--delay MS] [--jitter MS] [--max-burst N] [--queue N] [--seed N]\n"
		"              [--duration S]\n"
		"  forwards frames between IF a and IF b (both ways), impaired; counters at exit.\n");
}

static int parse(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "loss", required_argument, NULL, 'l' },
		{ "dup", required_argument, NULL, 'u' },
		{ "reorder", required_argument, NULL, 'r' },
		{ "reorder-ms", required_argument, NULL, 'R' },
		{ "delay", required_argument, NULL, 'd' },
		{ "jitter", required_argument, NULL, 'j' },
		{ "max-burst", required_argument, NULL, 'B' },
		{ "queue", required_argument, NULL, 'q' },
		{ "seed", required_argument, NULL, 's' },
		{ "duration", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->reorder_ms = 10;
	o->max_burst = 3;
	o->queue = 8192;
	o->seed = 1;
	while ((c = getopt_long(argc, argv, "a:b:h", lo, NULL)) != -1) {
		switch (c) {
		case 'a': o->ifname[0] = optarg; break;
		case 'b': o->ifname[1] = optarg; break;
		case 'l': o->loss = atof(optarg); break;
		case 'u': o->dup = atof(optarg); break;
		case 'r': o->reorder = atof(optarg); break;
		case 'R': o->reorder_ms = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'd': o->delay_ms = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'j': o->jitter_ms = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'B': o->max_burst = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'q': o->queue = (unsigned)strtoul(optarg, NULL, 10); break;
		case 's': o->seed = strtoull(optarg, NULL, 0); break;
		case 't': o->duration_s = (unsigned)strtoul(optarg, NULL, 10); break;
		default: usage(); return -1;
		}
	}
	if (o->ifname[0] == NULL || o->ifname[1] == NULL || optind != argc) {
		usage();
		return -1;
	}
	/* bounded: a "wire" that loses most frames is no test of anything */
	if (o->loss < 0 || o->loss > 50 || o->dup < 0 || o->dup > 50 || o->reorder < 0 || o->reorder > 50 ||
	    o->delay_ms > 10000 || o->jitter_ms > 10000 || o->reorder_ms > 10000 || o->queue == 0 ||
	    o->queue > 1000000) {
		fprintf(stderr, "impair: percentages 0..50, times 0..10000 ms, queue 1..1000000\n");
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o;
	struct dir d[2];
	int fds[2], ifx[2];
	uint8_t *buf;
	uint64_t end_us;
	struct sigaction sa;

	if (parse(argc, argv, &o) != 0)
		return 2;
	rng = o.seed ? o.seed * 0x9e3779b97f4a7c15ULL : 0x9e3779b97f4a7c15ULL;
	for (int i = 0; i < 2; i++)
		if ((fds[i] = open_if(o.ifname[i], &ifx[i])) < 0)
			return 1;
	memset(d, 0, sizeof(d));
	d[0].name = "a->b";
	d[0].in = 0;
	d[0].out = 1;
	d[1].name = "b->a";
	d[1].in = 1;
	d[1].out = 0;
	buf = malloc(FRAME_MAX);
	d[0].heap = calloc(o.queue, sizeof(struct pkt *));
	d[1].heap = calloc(o.queue, sizeof(struct pkt *));
	if (buf == NULL || d[0].heap == NULL || d[1].heap == NULL) {
		fprintf(stderr, "impair: no memory\n");
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_dump;
	sigaction(SIGUSR1, &sa, NULL);
	end_us = o.duration_s ? now_us() + (uint64_t)o.duration_s * 1000000u : 0;
	printf("impair: %s <-> %s loss %.2f%% dup %.2f%% reorder %.2f%% (+%u ms) delay %u ms jitter %u ms "
	       "max-burst %u queue %u seed %" PRIu64 "\n",
	       o.ifname[0], o.ifname[1], o.loss, o.dup, o.reorder, o.reorder_ms, o.delay_ms, o.jitter_ms,
	       o.max_burst, o.queue, o.seed);
	fflush(stdout);

	while (!stop) {
		struct pollfd pfd[2] = { { fds[0], POLLIN, 0 }, { fds[1], POLLIN, 0 } };
		uint64_t t = now_us();
		int64_t wait_us = -1;
		int timeout;

		for (int i = 0; i < 2; i++) {
			int64_t w = depart(&d[i], fds, ifx, t);
			if (w >= 0 && (wait_us < 0 || w < wait_us))
				wait_us = w;
		}
		if (end_us && t >= end_us)
			break;
		if (dump) {
			dump = 0;
			print_counters(d, 2);
		}
		timeout = wait_us < 0 ? 100 : (int)((wait_us + 999) / 1000);
		if (timeout > 100)
			timeout = 100;
		if (poll(pfd, 2, timeout) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "impair: poll: %s\n", strerror(errno));
			break;
		}
		t = now_us();
		for (int i = 0; i < 2; i++) {
			/* a burst at a time, so one busy direction cannot starve the other for long */
			for (int k = 0; k < 64 && (pfd[i].revents & POLLIN); k++) {
				struct sockaddr_ll from;
				socklen_t fl = sizeof(from);
				ssize_t n = recvfrom(fds[i], buf, FRAME_MAX, 0, (struct sockaddr *)&from, &fl);

				if (n < 0)
					break;
				if (from.sll_pkttype == PACKET_OUTGOING || n < ETH_HLEN)
					continue;
				arrive(&d[i], &o, buf, (uint32_t)n, t);
			}
		}
	}
	/* what still waits is not sent: a stopped wire loses it (counted as waiting) */
	print_counters(d, 2);
	for (int i = 0; i < 2; i++) {
		while (d[i].n > 0)
			free(heap_pop(&d[i]));
		free(d[i].heap);
		close(fds[i]);
	}
	free(buf);
	return 0;
}
