/* tcp_sndq.c - the send queue: extents of copied bytes (in pool chunks) or of held application buffers. */
#include <sys/mman.h>
#include <string.h>

#include "tcp_priv.h"

#define SNDQ_CHUNK_DEFAULT   2048u
#define SNDQ_REF_MIN_DEFAULT 256u
#define SNDQ_REF_CONN_DEFAULT 32u

static void *reserve(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/*
 * Size the pool for the worst case the per-connection bound allows, so a
 * queue never finds the pool empty (a connection waiting for pool space
 * would have no ACK of its own to wake it). Per connection: its copied
 * bytes span at most snd_buf / chunk + 2 chunks (the head chunk partly
 * acknowledged, full ones, the fill chunk); its extents are at most its
 * held ones, one copied extent after each of them, one per chunk, and one.
 * Reserving costs address space only.
 */
int tcp_sndq_init(struct tcp_stack *st)
{
	struct tcp_config *cfg = &st->cfg;
	struct tcp_sndpool *sp = &st->sp;
	uint64_t per_conn_chunks, per_conn_sx;

	if (cfg->snd_chunk == 0)
		cfg->snd_chunk = SNDQ_CHUNK_DEFAULT;
	if (cfg->snd_chunk < cfg->mss)
		cfg->snd_chunk = cfg->mss;  /* a copied-only segment then spans at most two chunks */
	if (cfg->ref_min == 0)
		cfg->ref_min = SNDQ_REF_MIN_DEFAULT;
	if (cfg->ref_max_conn == 0)
		cfg->ref_max_conn = SNDQ_REF_CONN_DEFAULT;
	per_conn_chunks = cfg->snd_buf / cfg->snd_chunk + 3;
	per_conn_sx = 2ull * cfg->ref_max_conn + per_conn_chunks + 1;
	if ((uint64_t)cfg->max_conns * per_conn_chunks > UINT32_MAX - 1 ||
	    (uint64_t)cfg->max_conns * per_conn_sx > UINT32_MAX)
		return SL_ERROR;
	memset(sp, 0, sizeof(*sp));
	sp->chunk = cfg->snd_chunk;
	sp->nchunks = (uint32_t)(cfg->max_conns * per_conn_chunks);
	sp->nsx = (uint32_t)(cfg->max_conns * per_conn_sx);
	sp->free_head = TCP_CHUNK_NONE;
	sp->mem_len = (size_t)sp->nchunks * sp->chunk;
	sp->refs_len = (size_t)sp->nchunks * 2 * sizeof(uint32_t);
	sp->sx_len = (size_t)sp->nsx * sizeof(struct tcp_sx);
	sp->mem = reserve(sp->mem_len);
	sp->refs = reserve(sp->refs_len);
	sp->sx = reserve(sp->sx_len);
	if (sp->mem == NULL || sp->refs == NULL || sp->sx == NULL) {
		tcp_sndq_fini(st);
		return SL_ERROR;
	}
	sp->next = sp->refs + sp->nchunks;
	return SL_OK;
}

void tcp_sndq_fini(struct tcp_stack *st)
{
	struct tcp_sndpool *sp = &st->sp;

	if (sp->mem != NULL)
		munmap(sp->mem, sp->mem_len);
	if (sp->refs != NULL)
		munmap(sp->refs, sp->refs_len);
	if (sp->sx != NULL)
		munmap(sp->sx, sp->sx_len);
	sp->mem = NULL;
	sp->refs = sp->next = NULL;
	sp->sx = NULL;
}

static uint32_t chunk_get(struct tcp_sndpool *sp)
{
	uint32_t i = sp->free_head;

	if (i != TCP_CHUNK_NONE)
		sp->free_head = sp->next[i];
	else if (sp->bump < sp->nchunks)
		i = sp->bump++;
	else
		return TCP_CHUNK_NONE;
	sp->refs[i] = 0;
	if (++sp->in_use > sp->peak)
		sp->peak = sp->in_use;
	return i;
}

static void chunk_put(struct tcp_sndpool *sp, uint32_t i)
{
	if (--sp->refs[i] > 0)
		return;
	sp->next[i] = sp->free_head;
	sp->free_head = i;
	sp->in_use--;
}

static struct tcp_sx *sx_get(struct tcp_sndpool *sp)
{
	struct tcp_sx *e = sp->sx_free;

	if (e != NULL)
		sp->sx_free = e->next;
	else if (sp->sx_bump < sp->nsx)
		e = &sp->sx[sp->sx_bump++];
	return e;
}

static void sx_append(struct tcp_conn *c, struct tcp_sx *e)
{
	e->next = NULL;
	if (c->sx_tail != NULL)
		c->sx_tail->next = e;
	else
		c->sx_head = e;
	c->sx_tail = e;
}

/* Drop one extent's hold (chunk or owner) and give it back. */
static void sx_free(struct tcp_stack *st, struct tcp_conn *c, struct tcp_sx *e)
{
	struct tcp_sndpool *sp = &st->sp;

	if (e->owner != NULL) {
		c->sx_held--;
		sp->held--;
		if (st->ops->release != NULL)
			st->ops->release(st->ctx, e->owner);
	} else {
		chunk_put(sp, e->chunk);
	}
	if (c->sx_cur == e)
		c->sx_cur = NULL;
	e->next = sp->sx_free;
	sp->sx_free = e;
}

static void fill_drop(struct tcp_stack *st, struct tcp_conn *c)
{
	if (c->sx_fill != TCP_CHUNK_NONE)
		chunk_put(&st->sp, c->sx_fill);
	c->sx_fill = TCP_CHUNK_NONE;
	c->sx_fill_off = 0;
}

/*
 * Append len bytes by copy into the connection's fill chunk, extending the
 * tail extent when it ends where the fill does. The caller checked len
 * against the send space, and the pool is sized for that bound
 * (tcp_sndq_init): running dry here would be a broken invariant (SL_ERROR).
 */
int tcp_sndq_copy(struct tcp_conn *c, const uint8_t *buf, uint32_t len)
{
	struct tcp_stack *st = c->stack;
	struct tcp_sndpool *sp = &st->sp;

	while (len > 0) {
		struct tcp_sx *t = c->sx_tail;
		uint8_t *dst;
		uint32_t n;

		if (c->sx_fill == TCP_CHUNK_NONE || c->sx_fill_off == sp->chunk) {
			uint32_t i = chunk_get(sp);

			if (i == TCP_CHUNK_NONE)
				return SL_ERROR;
			fill_drop(st, c);
			c->sx_fill = i;
			sp->refs[i] = 1;     /* the fill reference */
		}
		dst = sp->mem + (size_t)c->sx_fill * sp->chunk + c->sx_fill_off;
		n = SL_MIN(len, sp->chunk - c->sx_fill_off);
		if (t == NULL || t->owner != NULL || t->chunk != c->sx_fill || t->p + t->len != dst) {
			t = sx_get(sp);
			if (t == NULL)
				return SL_ERROR;
			t->p = dst;
			t->len = 0;
			t->owner = NULL;
			t->chunk = c->sx_fill;
			sp->refs[c->sx_fill]++;
			sx_append(c, t);
		}
		memcpy(dst, buf, n);
		t->len += n;
		c->sx_fill_off += n;
		c->sbuf_len += n;
		st->cnt.snd_copy_bytes += n;
		buf += n;
		len -= n;
	}
	return SL_OK;
}

/* Would a reference be worth it and allowed now? Small pieces are cheaper
 * to copy than to reference (an indirect mbuf each, and a TX segment);
 * past the holding bounds we copy so held buffers cannot drain the
 * owner's pool (the rx mbufs the NIC needs to receive anything). */
static bool ref_ok(const struct tcp_conn *c, uint32_t len, void *owner)
{
	const struct tcp_stack *st = c->stack;
	const struct tcp_config *cfg = &st->cfg;

	return owner != NULL && st->ops->hold != NULL && len >= cfg->ref_min &&
	       c->sx_held < cfg->ref_max_conn && (cfg->ref_max == 0 || st->sp.held < cfg->ref_max);
}

int tcp_sndq_ref(struct tcp_conn *c, const uint8_t *p, uint32_t len, void *owner)
{
	struct tcp_stack *st = c->stack;
	struct tcp_sx *e;

	if (!ref_ok(c, len, owner) || (e = sx_get(&st->sp)) == NULL)
		return tcp_sndq_copy(c, p, len);
	st->ops->hold(st->ctx, owner);
	e->p = p;
	e->len = len;
	e->owner = owner;
	e->chunk = TCP_CHUNK_NONE;
	sx_append(c, e);
	c->sx_held++;
	st->sp.held++;
	c->sbuf_len += len;
	st->cnt.snd_ref_bytes += len;
	return SL_OK;
}

/* n bytes from the head were acknowledged: free whole extents, trim a
 * partial one. An empty queue gives its fill chunk back too, so an idle
 * connection holds no send memory. */
void tcp_sndq_ack(struct tcp_conn *c, uint32_t n)
{
	struct tcp_stack *st = c->stack;

	c->sbuf_seq += n;
	c->sbuf_len -= n;
	while (n > 0 && c->sx_head != NULL) {
		struct tcp_sx *e = c->sx_head;

		if (n < e->len) {
			e->p += n;
			e->len -= n;
			if (c->sx_cur == e)
				c->sx_cur_seq += n;
			break;
		}
		n -= e->len;
		c->sx_head = e->next;
		if (c->sx_head == NULL)
			c->sx_tail = NULL;
		sx_free(st, c, e);
	}
	if (c->sx_head == NULL)
		fill_drop(st, c);
}

/* The connection ends: every extent and the fill chunk go back, every held
 * owner is released once. */
void tcp_sndq_release_all(struct tcp_conn *c)
{
	struct tcp_stack *st = c->stack;

	while (c->sx_head != NULL) {
		struct tcp_sx *e = c->sx_head;

		c->sx_head = e->next;
		sx_free(st, c, e);
	}
	c->sx_tail = NULL;
	c->sx_cur = NULL;
	fill_drop(st, c);
	c->sbuf_seq += c->sbuf_len;
	c->sbuf_len = 0;
}

/*
 * The extent holding seq (within the queue) and seq's offset in it. The
 * cursor makes the common walk (each segment right after the last one)
 * constant time; retransmissions from SND.UNA start at the head anyway.
 */
static struct tcp_sx *locate(struct tcp_conn *c, uint32_t seq, uint32_t *off)
{
	struct tcp_sx *e = c->sx_head;
	uint32_t at = c->sbuf_seq;

	if (c->sx_cur != NULL && SEQ_GEQ(seq, c->sx_cur_seq)) {
		e = c->sx_cur;
		at = c->sx_cur_seq;
	}
	while (e != NULL && seq - at >= e->len) {
		at += e->len;
		e = e->next;
	}
	if (e != NULL) {
		c->sx_cur = e;
		c->sx_cur_seq = at;
	}
	*off = seq - at;
	return e;
}

/*
 * Describe [seq, seq + len) of the queue as pieces in o (o may be NULL:
 * only measure). Stops at TCP_SEG_PIECES pieces; returns the bytes covered,
 * which the caller sends as the segment's length.
 */
uint32_t tcp_sndq_pieces(struct tcp_conn *c, uint32_t seq, uint32_t len, struct tcp_seg_out *o)
{
	uint32_t off, done = 0;
	unsigned k = 0;
	struct tcp_sx *e;

	if (len == 0)
		return 0;
	e = locate(c, seq, &off);
	while (e != NULL && done < len && k < TCP_SEG_PIECES) {
		uint32_t n = SL_MIN(e->len - off, len - done);

		if (o != NULL) {
			o->data[k] = e->p + off;
			o->dlen[k] = n;
			o->owner[k] = e->owner;
		}
		k++;
		done += n;
		off = 0;
		e = e->next;
	}
	if (o != NULL) {
		o->npieces = (uint8_t)k;
		o->len = done;
	}
	return done;
}
