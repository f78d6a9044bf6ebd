/* redis_lists.c - the lists mirror: write-through with Lua, SUBSCRIBE on a
 * second connection, HSCAN resyncs in bounded batches (see redis_lists.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "redis/redis_lists.h"
#include "redis/redis_priv.h"
#include "redis/redis_store.h"
#include "util/sl_clock.h"
#include "util/sl_evloop.h"
#include "util/sl_log.h"
#include "util/sl_status.h"

#define NLISTS     (2 * CFG_LIST_KIND_COUNT)  /* one hash per list and kind */
#define PURGE_MAX  1000                       /* expired entries dropped per list per resync */
#define DELETES_KEPT_MS (10 * 60 * 1000)        /* how long Redis remembers a delete (re-seeding) */

static const char *const list_names[2] = { "block", "allow" };

enum rq_type { RQ_LOAD, RQ_SET, RQ_DEL, RQ_BEGIN, RQ_SCAN };

/* What a reply belongs to: a write names its entry by value (entry
 * pointers do not survive changes of the store). */
struct rl_req {
	struct redis_lists *rl;
	uint8_t type;
	uint8_t kind, allow;
	uint8_t script;
	char    value[];
};

enum phase { PH_IDLE = 0, PH_FLUSH, PH_BEGIN, PH_SEED, PH_SCAN };

struct redis_lists {
	struct redis_conn cmd;        /**< writes and resyncs */
	struct redis_conn sub;        /**< SUBSCRIBE only */
	struct ctl_lists *l;
	redis_lists_changed_fn changed;
	void    *arg;
	char    *prefix;
	char    *hash[NLISTS], *zset[NLISTS], *dels[NLISTS];
	char    *epoch_key, *version_key, *channel;
	uint32_t resync_ms;
	uint32_t scan_count;
	bool     closing;
	unsigned loads;               /**< SCRIPT LOADs not yet answered */

	char     epoch[40];           /**< Redis' epoch as last seen; "" = not yet */
	char     new_epoch[40];       /**< ours, should Redis have none */
	int64_t  offset_ms;           /**< Redis' clock minus our monotonic one */
	uint64_t last_version;        /**< highest version seen */
	uint64_t version_sent;        /**< last_version when the resync's first step went out */

	enum phase phase;
	bool     again;               /**< another resync once this one is done */
	bool     seeding;             /**< writing the mirror back (Redis lost it) */
	unsigned seed_cursor;         /**< walks down: entries moved by a removal were seen */
	unsigned list;                /**< hash being scanned */
	char     cursor[24];
	uint64_t v_start;             /**< the version when the scan began */
	uint64_t started;
	uint64_t scanned;
	unsigned added, updated, removed;
	struct tw_timer resync_timer;
	struct tw_timer soon_timer;

	unsigned inflight;            /**< writes sent, replies not yet in */
	unsigned flush_cursor;
	struct cfg_list_entry *scratch;
	bool     warned_full;
	struct redis_lists_stats st;
};

#define RL_OF(t, field) ((struct redis_lists *)((char *)(t) - offsetof(struct redis_lists, field)))

static unsigned list_of(unsigned kind, bool allow)
{
	return (allow ? CFG_LIST_KIND_COUNT : 0) + kind;
}

static bool cmd_up(const struct redis_lists *rl)
{
	return !rl->closing && rl->cmd.ac != NULL && rl->cmd.state == REDIS_UP;
}

static void notify(struct redis_lists *rl)
{
	if (rl->changed != NULL && !rl->closing)
		rl->changed(rl->arg);
}

/* Rate-limited complaint: 1, 2, 4, 8... */
static bool log_now(uint64_t n)
{
	return (n & (n - 1)) == 0;
}

static struct rl_req *req_new(struct redis_lists *rl, enum rq_type type, const char *value)
{
	size_t n = value != NULL ? strlen(value) + 1 : 0;
	struct rl_req *rq = calloc(1, sizeof(*rq) + n);

	if (rq == NULL)
		return NULL;
	rq->rl = rl;
	rq->type = (uint8_t)type;
	if (n > 0)
		memcpy(rq->value, value, n);
	return rq;
}

static void on_reply(redisAsyncContext *ac, void *r, void *priv);
static void new_epoch(struct redis_lists *rl);

static bool send_argv(struct redis_lists *rl, struct rl_req *rq, int argc, const char **argv,
		      const size_t *argvlen)
{
	if (rl->cmd.ac == NULL ||
	    redisAsyncCommandArgv(rl->cmd.ac, on_reply, rq, argc, argv, argvlen) != REDIS_OK) {
		free(rq);
		return false;
	}
	return true;
}

#define ARG(s) argv[argc] = (s), argvlen[argc] = strlen(argv[argc]), argc++

/* ---- writes */

/*
 * send_entry - write x as it is now: a live entry with its reason and the
 * rest of its TTL, a tombstone as a delete. nx: only where Redis has none
 * (re-seeding). false when nothing went out (expired, no memory).
 */
static bool send_entry(struct redis_lists *rl, struct ctl_list_entry *x, bool nx)
{
	struct ctl_lists *l = rl->l;
	char buf[SL_PATH_MAX + 1], ttl[24];
	const char *argv[16], *value;
	size_t argvlen[16];
	unsigned li = list_of(x->kind, x->allow);
	struct rl_req *rq;
	bool dead = !ctl_lists_live(x);
	int argc = 0;

	value = ctl_lists_value(x, buf, sizeof(buf));
	if (!dead && x->expires_ms != 0) {
		uint64_t now = sl_clock_ms();
		if (x->expires_ms <= now) {
			ctl_lists_set_dirty(l, x, false); /* about to expire here and in Redis */
			return false;
		}
		snprintf(ttl, sizeof(ttl), "%" PRIu64, x->expires_ms - now);
	} else {
		snprintf(ttl, sizeof(ttl), "0");
	}
	rq = req_new(rl, dead ? RQ_DEL : RQ_SET, value);
	if (rq == NULL)
		return false;
	rq->kind = x->kind;
	rq->allow = x->allow;
	ARG("EVALSHA");
	ARG(redis_script(dead ? REDIS_SCRIPT_LISTS_DEL : REDIS_SCRIPT_LISTS_SET)->sha);
	ARG("4");
	ARG(rl->hash[li]);
	ARG(rl->zset[li]);
	ARG(rl->dels[li]);
	ARG(rl->version_key);
	ARG(value);
	if (!dead) {
		ARG(ttl);
		ARG(ctl_lists_reason(l, x));
	}
	ARG(rl->channel);
	ARG(list_names[x->allow != 0]);
	ARG(ctl_lists_kind_name((enum cfg_list_kind)x->kind));
	if (!dead)
		ARG(nx ? "nx" : "");
	if (!send_argv(rl, rq, argc, argv, argvlen))
		return false;
	ctl_lists_set_dirty(l, x, false);
	ctl_lists_set_inflight(x, ctl_lists_inflight(x) + 1);
	rl->inflight++;
	rl->st.writes++;
	return true;
}

/* Send DIRTY entries while the window has room. true when none is left
 * that could be sent now. */
static bool flush_dirty(struct redis_lists *rl)
{
	struct ctl_lists *l = rl->l;

	if (!cmd_up(rl))
		return false;
	for (unsigned n = 0; n < l->nent && l->ndirty > 0; n++) {
		struct ctl_list_entry *x;
		if (rl->inflight >= REDIS_LISTS_WRITES_MAX)
			return false;
		if (rl->flush_cursor >= l->nent)
			rl->flush_cursor = 0;
		x = &l->ent[rl->flush_cursor++];
		if ((x->flags & CTL_E_DIRTY) && ctl_lists_inflight(x) < CTL_E_INFLIGHT_MAX)
			send_entry(rl, x, false);
	}
	return true;
}

/* Re-seeding: every live entry once, "nx", walking down from the end. */
static bool seed_more(struct redis_lists *rl)
{
	struct ctl_lists *l = rl->l;

	while (rl->seed_cursor > 0) {
		struct ctl_list_entry *x;
		if (rl->inflight >= REDIS_LISTS_WRITES_MAX)
			return false;
		if (--rl->seed_cursor >= l->nent)
			continue;
		x = &l->ent[rl->seed_cursor];
		if (ctl_lists_live(x) && !(x->flags & CTL_E_DIRTY) && ctl_lists_inflight(x) < CTL_E_INFLIGHT_MAX)
			send_entry(rl, x, true);
	}
	return true;
}

/* ---- resync */

static void send_begin(struct redis_lists *rl)
{
	const char *argv[10 + 3 * NLISTS];
	size_t argvlen[10 + 3 * NLISTS];
	char nkeys[8], purge[12], kept[16];
	struct rl_req *rq = req_new(rl, RQ_BEGIN, NULL);
	int argc = 0;

	if (rq == NULL) {
		rl->phase = PH_IDLE;
		return;
	}
	snprintf(nkeys, sizeof(nkeys), "%d", 2 + 3 * NLISTS);
	snprintf(purge, sizeof(purge), "%d", PURGE_MAX);
	snprintf(kept, sizeof(kept), "%d", DELETES_KEPT_MS);
	ARG("EVALSHA");
	ARG(redis_script(REDIS_SCRIPT_LISTS_BEGIN)->sha);
	ARG(nkeys);
	ARG(rl->epoch_key);
	ARG(rl->version_key);
	for (unsigned i = 0; i < NLISTS; i++) {
		ARG(rl->hash[i]);
		ARG(rl->zset[i]);
		ARG(rl->dels[i]);
	}
	ARG(rl->new_epoch);
	ARG(purge);
	ARG(kept);
	rl->phase = PH_BEGIN;
	/* what a version below this means: Redis went back (a message newer
	 * than the first step may arrive before its reply, on the other
	 * connection, so only what came before it counts) */
	rl->version_sent = rl->last_version;
	if (!send_argv(rl, rq, argc, argv, argvlen))
		rl->phase = PH_IDLE;
}

static void send_scan(struct redis_lists *rl)
{
	const char *argv[6];
	size_t argvlen[6];
	char count[12];
	struct rl_req *rq = req_new(rl, RQ_SCAN, NULL);
	int argc = 0;

	if (rq == NULL) {
		rl->phase = PH_IDLE;
		return;
	}
	snprintf(count, sizeof(count), "%u", rl->scan_count);
	ARG("HSCAN");
	ARG(rl->hash[rl->list]);
	ARG(rl->cursor);
	ARG("COUNT");
	ARG(count);
	if (!send_argv(rl, rq, argc, argv, argvlen))
		rl->phase = PH_IDLE;
}

/* Move the resync on as far as the write window lets it. */
static void pump(struct redis_lists *rl)
{
	bool flushed;

	if (!cmd_up(rl))
		return;
	flushed = flush_dirty(rl);
	if (rl->phase == PH_FLUSH && flushed) {
		/* local changes go first: the scan then reads them back */
		send_begin(rl);
	} else if (rl->phase == PH_SEED && seed_more(rl)) {
		rl->seeding = false;
		rl->phase = PH_SCAN;
		send_scan(rl);
		/* our entries are on their way: ask the other nodes to look too */
		redisAsyncCommand(rl->cmd.ac, NULL, NULL, "PUBLISH %s %s", rl->channel, "0\tresync");
	}
}

static void start_resync(struct redis_lists *rl)
{
	if (!cmd_up(rl))
		return; /* the connect starts one */
	if (rl->phase != PH_IDLE) {
		rl->again = true;
		return;
	}
	rl->again = false;
	rl->seeding = false;
	rl->phase = PH_FLUSH;
	rl->started = sl_clock_ms();
	rl->scanned = 0;
	rl->added = rl->updated = rl->removed = 0;
	pump(rl);
}

void redis_lists_resync(struct redis_lists *rl)
{
	if (rl == NULL || rl->closing)
		return;
	/* from a timer: callers may be inside a hiredis callback or the store */
	if (!tw_armed(&rl->soon_timer))
		tw_arm(sl_evloop_wheel(rl->cmd.loop), &rl->soon_timer, sl_evloop_now(rl->cmd.loop));
}

static void on_soon(struct tw_timer *t)
{
	start_resync(RL_OF(t, soon_timer));
}

static void on_resync_timer(struct tw_timer *t)
{
	struct redis_lists *rl = RL_OF(t, resync_timer);

	start_resync(rl);
	tw_arm(sl_evloop_wheel(rl->cmd.loop), &rl->resync_timer, sl_evloop_now(rl->cmd.loop) + rl->resync_ms);
}

static uint64_t parse_u64(const char *s, size_t n, bool *ok)
{
	uint64_t v = 0;
	size_t i;

	*ok = n > 0 && n <= 19;
	for (i = 0; i < n && *ok; i++) {
		if (s[i] < '0' || s[i] > '9')
			*ok = false;
		else
			v = v * 10 + (uint64_t)(s[i] - '0');
	}
	return *ok ? v : 0;
}

/* "<expires_ms>|<reason>" into *exp (our clock; 0 = none) and e->reason.
 * Anything else is a reason without expiry (an entry written by hand). */
static void parse_payload(struct redis_lists *rl, const char *p, size_t n, uint64_t *exp,
			  struct cfg_list_entry *e)
{
	const char *bar = memchr(p, '|', n);
	bool ok = false;
	uint64_t v = bar != NULL ? parse_u64(p, (size_t)(bar - p), &ok) : 0;
	size_t rn;

	*exp = 0;
	if (ok) {
		if (v != 0) {
			int64_t mono = (int64_t)v - rl->offset_ms;
			*exp = mono > 1 ? (uint64_t)mono : 1; /* past: expires at once */
		}
		n -= (size_t)(bar + 1 - p);
		p = bar + 1;
	}
	rn = SL_MIN(n, sizeof(e->reason) - 1);
	memcpy(e->reason, p, rn);
	e->reason[rn] = '\0';
}

/* The value of a field in list li into rl->scratch; false if not valid. */
static bool parse_value(struct redis_lists *rl, unsigned kind, bool allow, const char *v, size_t n)
{
	char buf[SL_PATH_MAX + 1], err[160];

	if (n >= sizeof(buf) || kind >= CFG_LIST_KIND_COUNT)
		return false;
	memcpy(buf, v, n);
	buf[n] = '\0';
	if (ctl_lists_parse_value((enum cfg_list_kind)kind, buf, rl->scratch, err, sizeof(err)) != SL_OK) {
		if (log_now(++rl->st.bad_values))
			sl_warn("redis lists: skipping %s %s '%.64s' from Redis: %s (%" PRIu64 " so far)",
				list_names[allow], ctl_lists_kind_name((enum cfg_list_kind)kind), buf, err,
				rl->st.bad_values);
		return false;
	}
	rl->scratch->allow = allow;
	return true;
}

static void store_full(struct redis_lists *rl)
{
	rl->st.dropped++;
	if (!rl->warned_full) {
		rl->warned_full = true;
		sl_err("redis lists: the runtime lists are full (%u entries) or out of memory: "
		       "entries from Redis are dropped", CTL_LISTS_MAX);
	}
}

static void scan_batch(struct redis_lists *rl, const redisReply *arr)
{
	struct ctl_lists *l = rl->l;
	unsigned kind = rl->list % CFG_LIST_KIND_COUNT;
	bool allow = rl->list >= CFG_LIST_KIND_COUNT, any = false;
	uint64_t now = sl_clock_ms();

	for (size_t i = 0; i + 1 < arr->elements; i += 2) {
		const redisReply *f = arr->element[i], *v = arr->element[i + 1];
		struct ctl_list_entry *x;
		uint64_t exp;
		bool ch = false;

		if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
			continue;
		rl->scanned++;
		if (!parse_value(rl, kind, allow, f->str, f->len))
			continue;
		parse_payload(rl, v->str, v->len, &exp, rl->scratch);
		if (exp != 0 && exp <= now)
			continue; /* expired: Redis drops it soon, and so do we */
		x = ctl_lists_find(l, rl->scratch);
		if (x != NULL && ((x->flags & CTL_E_DIRTY) || ctl_lists_inflight(x) > 0 ||
				  x->version > rl->v_start)) {
			/* a local change on its way, or a message newer than the scan */
			x->flags |= CTL_E_SEEN;
			continue;
		}
		if (x == NULL)
			rl->added++;
		x = ctl_lists_set(l, rl->scratch, exp, rl->v_start, &ch);
		if (x == NULL) {
			store_full(rl);
			continue;
		}
		x->flags |= CTL_E_SEEN;
		if (ch) {
			any = true;
			rl->updated++;
		}
	}
	if (any)
		notify(rl);
}

/* The scan is over: what Redis did not have (and no local change keeps) goes. */
static void finish_resync(struct redis_lists *rl)
{
	struct ctl_lists *l = rl->l;
	unsigned i = 0;
	bool any = false;

	while (i < l->nent) {
		struct ctl_list_entry *x = &l->ent[i];
		bool seen = (x->flags & CTL_E_SEEN) != 0;
		bool busy = (x->flags & CTL_E_DIRTY) || ctl_lists_inflight(x) > 0;

		x->flags &= (uint8_t)~CTL_E_SEEN;
		if (!busy && (!ctl_lists_live(x) || (!seen && x->version <= rl->v_start))) {
			if (ctl_lists_live(x)) {
				any = true;
				rl->removed++;
			}
			ctl_lists_remove(l, x);
			continue; /* the last entry moved here */
		}
		i++;
	}
	rl->st.resyncs++;
	rl->st.last_resync_ms = sl_clock_ms() - rl->started;
	rl->st.last_resync_entries = rl->scanned;
	rl->updated -= SL_MIN(rl->updated, rl->added);
	if (rl->added + rl->updated + rl->removed > 0 || rl->st.resyncs == 1)
		sl_info("redis lists: resync: %" PRIu64 " entries in Redis, %u runtime here, +%u ~%u -%u, %" PRIu64 " ms",
			rl->scanned, l->n, rl->added, rl->updated, rl->removed, rl->st.last_resync_ms);
	rl->phase = PH_IDLE;
	if (any)
		notify(rl);
	if (rl->again)
		redis_lists_resync(rl);
}

static void begin_reply(struct redis_lists *rl, const redisReply *r)
{
	struct ctl_lists *l = rl->l;
	uint64_t v, now;
	bool ok1, ok2, lost;

	if (r->type != REDIS_REPLY_ARRAY || r->elements < 4 || r->element[0]->type != REDIS_REPLY_STRING ||
	    r->element[1]->type != REDIS_REPLY_STRING || r->element[2]->type != REDIS_REPLY_STRING) {
		sl_warn("redis lists: resync: unexpected reply to the first step%s%s",
			r->type == REDIS_REPLY_ERROR ? ": " : "", r->type == REDIS_REPLY_ERROR ? r->str : "");
		rl->phase = PH_IDLE;
		if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0)
			redis_conn_drop(&rl->cmd, "lists scripts gone");
		return;
	}
	v = parse_u64(r->element[1]->str, r->element[1]->len, &ok1);
	now = parse_u64(r->element[2]->str, r->element[2]->len, &ok2);
	if (!ok1 || !ok2) {
		sl_warn("redis lists: resync: %s is not a counter", rl->version_key);
		rl->phase = PH_IDLE;
		return;
	}
	rl->offset_ms = (int64_t)now - (int64_t)sl_clock_ms();
	lost = (rl->epoch[0] != '\0' && strcmp(rl->epoch, r->element[0]->str) != 0) || v < rl->version_sent;
	if (lost) {
		/* restarted empty or from an older dump, or flushed: what it had
		 * since is gone; put back what this node has */
		sl_warn("redis lists: Redis lost the lists (epoch %s -> %s, version %" PRIu64 " -> %" PRIu64
			"): writing this node's %u runtime entries back", rl->epoch[0] ? rl->epoch : "-",
			r->element[0]->str, rl->last_version, v, l->n);
		rl->st.reseeds++;
		for (unsigned i = 0; i < l->nent; i++)
			l->ent[i].version = 0;
		rl->last_version = v;
		rl->seeding = true;
		rl->seed_cursor = l->nent;
	}
	snprintf(rl->epoch, sizeof(rl->epoch), "%s", r->element[0]->str);
	if (strcmp(rl->new_epoch, rl->epoch) == 0)
		new_epoch(rl); /* ours was taken: a Redis that loses it again must show another */
	rl->v_start = v;
	if (v > rl->last_version)
		rl->last_version = v;
	for (unsigned i = 0; i < l->nent; i++)
		l->ent[i].flags &= (uint8_t)~CTL_E_SEEN;
	rl->list = 0;
	snprintf(rl->cursor, sizeof(rl->cursor), "0");
	rl->phase = rl->seeding ? PH_SEED : PH_SCAN;
	if (rl->seeding)
		pump(rl);
	else
		send_scan(rl);
}

static void scan_reply(struct redis_lists *rl, const redisReply *r)
{
	if (r->type == REDIS_REPLY_ERROR) {
		/* e.g. WRONGTYPE: someone wrote another type under our name */
		sl_warn("redis lists: HSCAN %s: %s (skipping that list)", rl->hash[rl->list], r->str);
		snprintf(rl->cursor, sizeof(rl->cursor), "0");
	} else if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
		   r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_ARRAY ||
		   r->element[0]->len >= sizeof(rl->cursor)) {
		sl_warn("redis lists: HSCAN %s: unexpected reply", rl->hash[rl->list]);
		snprintf(rl->cursor, sizeof(rl->cursor), "0");
	} else {
		scan_batch(rl, r->element[1]);
		memcpy(rl->cursor, r->element[0]->str, r->element[0]->len);
		rl->cursor[r->element[0]->len] = '\0';
	}
	if (strcmp(rl->cursor, "0") == 0 && ++rl->list == NLISTS) {
		finish_resync(rl);
		return;
	}
	send_scan(rl);
}

/* ---- replies */

static void write_reply(struct redis_lists *rl, struct rl_req *rq, const redisReply *r)
{
	struct ctl_lists *l = rl->l;
	struct ctl_list_entry *x = NULL;

	rl->inflight--;
	if (parse_value(rl, rq->kind, rq->allow, rq->value, strlen(rq->value)))
		x = ctl_lists_find(l, rl->scratch);
	if (x != NULL && ctl_lists_inflight(x) > 0)
		ctl_lists_set_inflight(x, ctl_lists_inflight(x) - 1);
	if (r == NULL || r->type != REDIS_REPLY_INTEGER) {
		/* lost with the connection, or refused (OOM, NOSCRIPT...): again later */
		rl->st.write_errors++;
		if (r != NULL && log_now(rl->st.write_errors))
			sl_warn("redis lists: writing %s %s %s: %s (%" PRIu64 " errors so far; kept here, retried)",
				list_names[rq->allow != 0], ctl_lists_kind_name((enum cfg_list_kind)rq->kind),
				rq->value, r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply",
				rl->st.write_errors);
		if (x != NULL)
			ctl_lists_set_dirty(l, x, true);
		if (r != NULL && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0)
			redis_conn_drop(&rl->cmd, "lists scripts gone"); /* the reconnect loads them */
		return;
	}
	if ((uint64_t)r->integer > rl->last_version)
		rl->last_version = (uint64_t)r->integer;
	if (x == NULL)
		return;
	if ((uint64_t)r->integer > x->version)
		x->version = (uint64_t)r->integer;
	/* Redis has the delete. Scan batches sent before it were answered
	 * before it (one connection, in order), later ones do not see it. */
	if (!ctl_lists_live(x) && !(x->flags & CTL_E_DIRTY) && ctl_lists_inflight(x) == 0)
		ctl_lists_remove(l, x);
}

static void on_reply(redisAsyncContext *ac, void *r, void *priv)
{
	struct rl_req *rq = priv;
	struct redis_lists *rl = rq->rl;
	redisReply *reply = r;

	(void)ac;
	if (rl->closing) {
		free(rq);
		return;
	}
	switch (rq->type) {
	case RQ_LOAD:
		if (reply == NULL) {
			break;
		} else if (reply->type == REDIS_REPLY_ERROR) {
			sl_err("redis lists: SCRIPT LOAD: %s", reply->str);
			redis_conn_drop(&rl->cmd, "SCRIPT LOAD failed");
		} else if (--rl->loads == 0 && rl->cmd.state == REDIS_CONNECTING) {
			redis_conn_ready(&rl->cmd);
			start_resync(rl); /* writes what waited, then reads Redis */
		}
		break;
	case RQ_SET:
	case RQ_DEL:
		write_reply(rl, rq, reply);
		break;
	case RQ_BEGIN:
		if (reply == NULL)
			rl->phase = PH_IDLE; /* the reconnect starts another */
		else
			begin_reply(rl, reply);
		break;
	case RQ_SCAN:
		if (reply == NULL)
			rl->phase = PH_IDLE;
		else
			scan_reply(rl, reply);
		break;
	}
	free(rq);
	if (rl->inflight < REDIS_LISTS_WRITES_MAX / 2 || rl->phase == PH_FLUSH)
		pump(rl);
}

/* ---- messages */

/* "<version>\t<op>\t<list>\t<kind>\t<value>[\t<payload>]" */
static void on_message(struct redis_lists *rl, const char *m, size_t n)
{
	struct ctl_lists *l = rl->l;
	const char *f[6];
	size_t fl[6];
	unsigned nf = 0;
	const char *p = m, *end = m + n;
	struct ctl_list_entry *x;
	uint64_t v, exp = 0;
	bool ok = false, allow, add, ch = false;
	int kind;

	while (nf < 6 && p <= end) {
		const char *tab = nf < 5 ? memchr(p, '\t', (size_t)(end - p)) : NULL;
		f[nf] = p;
		fl[nf] = (size_t)((tab != NULL ? tab : end) - p);
		nf++;
		if (tab == NULL)
			break;
		p = tab + 1;
	}
	if (nf >= 2 && fl[1] == 6 && memcmp(f[1], "resync", 6) == 0) {
		redis_lists_resync(rl);
		return;
	}
	v = nf >= 5 ? parse_u64(f[0], fl[0], &ok) : 0;
	add = nf == 6 && fl[1] == 3 && memcmp(f[1], "add", 3) == 0;
	if (nf < 5 || !ok || (!add && !(fl[1] == 3 && memcmp(f[1], "del", 3) == 0)) ||
	    fl[2] != 5 || (memcmp(f[2], "block", 5) != 0 && memcmp(f[2], "allow", 5) != 0)) {
		if (log_now(++rl->st.bad_values))
			sl_warn("redis lists: unreadable message '%.*s'", (int)SL_MIN(n, (size_t)80), m);
		return;
	}
	allow = f[2][0] == 'a';
	{
		char k[8];
		size_t kn = SL_MIN(fl[3], sizeof(k) - 1);
		memcpy(k, f[3], kn);
		k[kn] = '\0';
		kind = ctl_lists_kind(k);
	}
	if (kind < 0 || !parse_value(rl, (unsigned)kind, allow, f[4], fl[4]))
		return;
	if (rl->last_version != 0 && v > rl->last_version + 1) {
		/* a message we never got (only while the subscription was down,
		 * and its reconnect resyncs; or someone counted by hand) */
		rl->st.gaps++;
		redis_lists_resync(rl);
	}
	if (v > rl->last_version)
		rl->last_version = v;
	if (add)
		parse_payload(rl, f[5], fl[5], &exp, rl->scratch);
	x = ctl_lists_find(l, rl->scratch);
	if (x != NULL && ((x->flags & CTL_E_DIRTY) || ctl_lists_inflight(x) > 0 || x->version >= v)) {
		rl->st.messages_ignored++; /* ours is on its way, or we know better already */
		return;
	}
	rl->st.messages++;
	if (add && (exp == 0 || exp > sl_clock_ms())) {
		if (ctl_lists_set(l, rl->scratch, exp, v, &ch) == NULL)
			store_full(rl);
	} else if (rl->phase == PH_SCAN || rl->phase == PH_BEGIN || rl->phase == PH_SEED) {
		/* a scan batch read before this delete may still come: remember it */
		if (x == NULL && (x = ctl_lists_set(l, rl->scratch, 0, v, NULL)) == NULL)
			return;
		ch = ctl_lists_live(x);
		ctl_lists_kill(l, x);
		x->version = v;
	} else if (x != NULL) {
		ch = ctl_lists_live(x);
		ctl_lists_remove(l, x);
	}
	if (ch)
		notify(rl);
}

static void on_sub(redisAsyncContext *ac, void *r, void *priv)
{
	struct redis_lists *rl = priv;
	redisReply *reply = r;

	if (reply == NULL || rl->closing || rl->sub.ac != ac || reply->type != REDIS_REPLY_ARRAY ||
	    reply->elements < 3 || reply->element[0]->type != REDIS_REPLY_STRING)
		return;
	if (strcmp(reply->element[0]->str, "message") == 0 && reply->element[2]->type == REDIS_REPLY_STRING) {
		on_message(rl, reply->element[2]->str, reply->element[2]->len);
	} else if (strcmp(reply->element[0]->str, "subscribe") == 0 && rl->sub.state == REDIS_CONNECTING) {
		redis_conn_ready(&rl->sub);
		/* messages may have gone by while we were not listening */
		redis_lists_resync(rl);
	}
}

/* ---- connections */

static void cmd_setup(struct redis_conn *rc, void *arg)
{
	struct redis_lists *rl = arg;

	(void)rc;
	rl->loads = 0;
	rl->phase = PH_IDLE;
	for (int id = REDIS_SCRIPT_LISTS_SET; id <= REDIS_SCRIPT_LISTS_BEGIN; id++) {
		const struct redis_script *s = redis_script((enum redis_script_id)id);
		const char *argv[3] = { "SCRIPT", "LOAD", s->body };
		size_t argvlen[3] = { 6, 4, strlen(s->body) };
		struct rl_req *rq = req_new(rl, RQ_LOAD, NULL);

		if (rq != NULL && send_argv(rl, rq, 3, argv, argvlen))
			rl->loads++;
	}
	if (rl->loads == 0)
		redis_conn_drop(&rl->cmd, "cannot send SCRIPT LOAD");
}

static void sub_setup(struct redis_conn *rc, void *arg)
{
	struct redis_lists *rl = arg;

	redisEnableKeepAlive(&rc->ac->c);
	redisAsyncCommand(rc->ac, on_sub, rl, "SUBSCRIBE %s", rl->channel);
}

static void new_epoch(struct redis_lists *rl)
{
	uint8_t rnd[8];

	if (getrandom(rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd)) {
		uint64_t x = (rl->cmd.rng += 0x9e3779b97f4a7c15ull) * 0xbf58476d1ce4e5b9ull;
		memcpy(rnd, &x, sizeof(rnd));
	}
	for (unsigned i = 0; i < sizeof(rnd); i++)
		snprintf(rl->new_epoch + 2 * i, 3, "%02x", rnd[i]);
}

static char *key(const struct redis_lists *rl, const char *fmt, const char *a, const char *b)
{
	size_t n = strlen(rl->prefix) + strlen(fmt) + strlen(a) + strlen(b) + 1;
	char *s = malloc(n);

	if (s != NULL)
		snprintf(s, n, fmt, rl->prefix, a, b);
	return s;
}

static bool conn_target(struct redis_conn *rc, const struct redis_lists_opts *o)
{
	return redis_conn_target(rc, o->host, o->port, o->path, o->password, o->db, o->connect_timeout_ms,
				 o->backoff_min_ms, o->backoff_max_ms);
}

struct redis_lists *redis_lists_new_opts(struct sl_evloop *loop, struct ctl_lists *l,
					 const struct redis_lists_opts *o,
					 redis_lists_changed_fn changed, void *arg)
{
	struct redis_lists *rl = calloc(1, sizeof(*rl));
	struct timespec wall;
	bool ok;

	if (rl == NULL)
		return NULL;
	redis_scripts_init();
	rl->l = l;
	rl->changed = changed;
	rl->arg = arg;
	rl->resync_ms = o->resync_ms ? o->resync_ms : REDIS_LISTS_DEFAULT_RESYNC_MS;
	rl->scan_count = o->scan_count ? o->scan_count : REDIS_LISTS_SCAN_COUNT;
	redis_conn_init(&rl->cmd, loop);
	redis_conn_init(&rl->sub, loop);
	rl->cmd.what = "redis lists";
	rl->sub.what = "redis lists subscription";
	ok = conn_target(&rl->cmd, o);
	ok = conn_target(&rl->sub, o) && ok;
	rl->cmd.on_setup = cmd_setup;
	rl->cmd.arg = rl;
	rl->sub.on_setup = sub_setup;
	rl->sub.arg = rl;
	tw_timer_init(&rl->resync_timer, on_resync_timer);
	tw_timer_init(&rl->soon_timer, on_soon);
	rl->prefix = strdup(o->prefix ? o->prefix : REDIS_DEFAULT_PREFIX);
	rl->scratch = calloc(1, sizeof(*rl->scratch));
	ok = ok && rl->prefix != NULL && rl->scratch != NULL;
	for (unsigned i = 0; ok && i < NLISTS; i++) {
		const char *list = list_names[i >= CFG_LIST_KIND_COUNT];
		const char *kind = ctl_lists_kind_name((enum cfg_list_kind)(i % CFG_LIST_KIND_COUNT));
		rl->hash[i] = key(rl, "%s{lists}:%s:%s", list, kind);
		rl->zset[i] = key(rl, "%s{lists}:%s:%s:expiry", list, kind);
		rl->dels[i] = key(rl, "%s{lists}:%s:%s:deleted", list, kind);
		ok = rl->hash[i] != NULL && rl->zset[i] != NULL && rl->dels[i] != NULL;
	}
	if (ok) {
		rl->epoch_key = key(rl, "%s{lists}:epoch%s%s", "", "");
		rl->version_key = key(rl, "%s{lists}:version%s%s", "", "");
		rl->channel = key(rl, "%s{lists}:changes%s%s", "", "");
		ok = rl->epoch_key != NULL && rl->version_key != NULL && rl->channel != NULL;
	}
	if (!ok) {
		redis_lists_free(rl);
		return NULL;
	}
	new_epoch(rl);
	/* until Redis tells us its clock: ours */
	clock_gettime(CLOCK_REALTIME, &wall);
	rl->offset_ms = (int64_t)wall.tv_sec * 1000 + wall.tv_nsec / 1000000 - (int64_t)sl_clock_ms();
	/* entries from before the mirror (embedded store, or another Redis after
	 * a reload) go to this Redis; versions of another Redis mean nothing here */
	l->mirrored = true;
	for (unsigned i = 0; i < l->nent; i++) {
		struct ctl_list_entry *x = &l->ent[i];
		x->version = 0;
		if (ctl_lists_live(x))
			ctl_lists_set_dirty(l, x, true);
	}
	tw_arm(sl_evloop_wheel(loop), &rl->resync_timer, sl_evloop_now(loop) + rl->resync_ms);
	redis_conn_start(&rl->cmd);
	redis_conn_start(&rl->sub);
	return rl;
}

struct redis_lists *redis_lists_new(const struct cfg *c, struct sl_evloop *loop, struct ctl_lists *l,
				    redis_lists_changed_fn changed, void *arg)
{
	struct redis_lists_opts o = { 0 };
	char host[SL_ADDR_STRLEN];

	if (c->redis_path[0] != '\0') {
		o.path = c->redis_path;
	} else {
		o.host = sl_addr_format(&c->redis_addr, host, sizeof(host), false);
		o.port = c->redis_addr.port;
	}
	o.password = c->redis_password[0] != '\0' ? c->redis_password : NULL;
	o.db = (int)c->redis_db;
	o.prefix = c->redis_prefix[0] != '\0' ? c->redis_prefix : NULL;
	o.connect_timeout_ms = c->redis_connect_timeout_ms;
	o.resync_ms = c->lists_resync_ms;
	return redis_lists_new_opts(loop, l, &o, changed, arg);
}

void redis_lists_free(struct redis_lists *rl)
{
	struct ctl_lists *l;

	if (rl == NULL)
		return;
	l = rl->l;
	rl->closing = true;
	tw_cancel(sl_evloop_wheel(rl->cmd.loop), &rl->resync_timer);
	tw_cancel(sl_evloop_wheel(rl->cmd.loop), &rl->soon_timer);
	/* requests still in hiredis get their callbacks here (freed, nothing done) */
	redis_conn_fini(&rl->cmd);
	redis_conn_fini(&rl->sub);
	/* what stays is plain local entries: no tombstones, nothing waits */
	l->mirrored = false;
	for (unsigned i = 0; i < l->nent;) {
		struct ctl_list_entry *x = &l->ent[i];
		ctl_lists_set_dirty(l, x, false);
		x->flags &= (uint8_t)~CTL_E_SEEN;
		ctl_lists_set_inflight(x, 0);
		if (!ctl_lists_live(x)) {
			ctl_lists_remove(l, x);
			continue;
		}
		i++;
	}
	for (unsigned i = 0; i < NLISTS; i++) {
		free(rl->hash[i]);
		free(rl->zset[i]);
		free(rl->dels[i]);
	}
	free(rl->epoch_key);
	free(rl->version_key);
	free(rl->channel);
	free(rl->prefix);
	free(rl->scratch);
	free(rl);
}

void redis_lists_apply(struct redis_lists *rl, const struct cfg *c)
{
	uint32_t ms = c->lists_resync_ms ? c->lists_resync_ms : REDIS_LISTS_DEFAULT_RESYNC_MS;

	if (rl == NULL || ms == rl->resync_ms)
		return;
	rl->resync_ms = ms;
	tw_arm(sl_evloop_wheel(rl->cmd.loop), &rl->resync_timer, sl_evloop_now(rl->cmd.loop) + ms);
}

bool redis_lists_same_server(const struct cfg *a, const struct cfg *b)
{
	return a->policy_store == CFG_POLICY_REDIS && b->policy_store == CFG_POLICY_REDIS &&
	       redis_store_same_server(a, b);
}

int redis_lists_write(struct redis_lists *rl, const struct cfg_list_entry *e)
{
	struct ctl_list_entry *x;

	if (rl == NULL || (x = ctl_lists_find(rl->l, e)) == NULL)
		return SL_DECLINED;
	if (!cmd_up(rl))
		return SL_DECLINED; /* DIRTY: the connect writes it */
	if (rl->inflight >= REDIS_LISTS_WRITES_MAX || ctl_lists_inflight(x) >= CTL_E_INFLIGHT_MAX)
		return SL_AGAIN;    /* DIRTY: sent as replies come back */
	if (!(x->flags & CTL_E_DIRTY))
		return SL_OK;       /* nothing new */
	return send_entry(rl, x, false) ? SL_OK : SL_AGAIN;
}

void redis_lists_stats(const struct redis_lists *rl, struct redis_lists_stats *out)
{
	*out = rl->st;
	out->up = cmd_up(rl) && rl->sub.state == REDIS_UP;
	out->resyncing = rl->phase != PH_IDLE || rl->again || tw_armed(&rl->soon_timer);
	out->version = rl->last_version;
	out->pending = rl->l->ndirty;
	out->inflight = rl->inflight;
}
