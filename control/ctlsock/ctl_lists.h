/* ctl_lists.h - block/allow entries added at run time (control socket, Redis
 * mirror), kept compact on the control thread beside the config's, with TTLs. */
#ifndef CTL_LISTS_H
#define CTL_LISTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cfg.h"
#include "policy/pol.h"

struct pol_snapshot_builder;

/*
 * A runtime entry is 40 bytes whatever its kind: an IP prefix inline, a name
 * by pointer, the reason as an interned id (a feed of a million addresses
 * with one reason stores that reason once). A hash index finds an entry by
 * (list, kind, value) in O(1), so loading a million entries is linear, and
 * removal swaps the last entry into the hole: entry pointers and indexes are
 * valid only until the next change.
 *
 * With a Redis mirror attached (mirrored), a local change is marked DIRTY
 * until it was written, a local delete leaves a tombstone (DEAD) until Redis
 * has it, and version says which Redis write made the entry's state (see
 * redis_lists.h). Without one these flags stay clear.
 */

#define CTL_LISTS_MAX (4u << 20)   /**< runtime entries at most (4,194,304) */

#define CTL_E_DEAD     0x01   /**< tombstone: not in the snapshot or the counts */
#define CTL_E_DIRTY    0x02   /**< changed here, not yet sent to Redis */
#define CTL_E_SEEN     0x04   /**< met by the Redis resync in progress */
#define CTL_E_V6       0x08   /**< ip: an IPv6 prefix */
#define CTL_E_FLAGS    0x0f
#define CTL_E_INFLIGHT_MAX 15 /**< writes in flight per entry (the flags' top 4 bits) */

struct ctl_list_entry {
	union {
		uint8_t ip[16];      /**< CFG_LIST_IP: network order, host bits zero */
		char   *name;        /**< other kinds: the normalised value (owned) */
	} v;
	uint64_t expires_ms;         /**< monotonic; 0 = no TTL */
	uint64_t version;            /**< the Redis lists version of this state; 0 = not from Redis */
	uint32_t reason;             /**< interned id, 0 = none (ctl_lists_reason) */
	uint8_t  kind;               /**< enum cfg_list_kind */
	uint8_t  allow;
	uint8_t  plen;               /**< ip: prefix length */
	uint8_t  flags;              /**< CTL_E_*, and writes in flight in the top 4 bits */
};

struct ctl_reason {
	char    *s;                  /**< NULL: a free id */
	uint32_t refs;               /**< entries using it; free ids: the next free id */
	uint32_t hash;
};

struct ctl_lists {
	struct ctl_list_entry *ent;  /**< ent[0..nent): live entries and tombstones, unordered */
	unsigned nent, cap;
	unsigned n;                  /**< live entries */
	unsigned count[CFG_LIST_KIND_COUNT][2]; /**< live, per kind and list (0 block, 1 allow) */
	unsigned ndirty;             /**< entries with CTL_E_DIRTY */
	uint32_t *idx;               /**< open addressing over ent: index + 1; 0 = empty */
	uint32_t mask;
	uint64_t next_expiry;        /**< no live entry expires before this; 0 = not known */
	struct ctl_reason *reasons;  /**< id - 1 */
	uint32_t nreasons, reasons_cap, reasons_free;
	uint32_t *ridx;              /**< open addressing over reasons: id; 0 = empty */
	uint32_t rmask;
	bool     mirrored;           /**< a Redis mirror writes changes through */
};

/*
 * ctl_lists_parse_value - check and normalise VALUE for KIND the way the
 * config parser does (ip: a CIDR or an address; names lowercased; sender "<>"
 * the null sender; domain ".x" for subdomains). Spaces and control bytes are
 * refused in every kind (values travel in Redis messages). Fills e->kind,
 * e->value, e->prefix. Returns SL_OK or SL_DECLINED with err.
 */
int ctl_lists_parse_value(enum cfg_list_kind kind, const char *value, struct cfg_list_entry *e,
			  char *err, size_t errlen);
/* "ip" -> CFG_LIST_IP...; -1 when unknown. */
int ctl_lists_kind(const char *word);
const char *ctl_lists_kind_name(enum cfg_list_kind k);

/* Add or update (same list, kind and value: new TTL and reason; a tombstone
 * comes back to life). Mirrored: the entry becomes DIRTY. Returns SL_OK
 * (added), SL_DONE (updated) or SL_ERROR (full / no memory). */
int ctl_lists_add(struct ctl_lists *l, const struct cfg_list_entry *e, uint64_t expires_ms);
/* Remove (mirrored: a DIRTY tombstone until Redis has the delete); SL_OK,
 * or SL_DECLINED when there is no such live entry. */
int ctl_lists_del(struct ctl_lists *l, const struct cfg_list_entry *e);
/* Drop entries expired at now_ms; returns how many live ones went. Cheap
 * when nothing is due (it keeps the earliest expiry). */
unsigned ctl_lists_expire(struct ctl_lists *l, uint64_t now_ms);
/* Same list, kind and value (ip: same prefix). */
bool ctl_lists_same(const struct cfg_list_entry *a, const struct cfg_list_entry *b);
unsigned ctl_lists_count(const struct ctl_lists *l, enum cfg_list_kind kind, bool allow);

/* ---- entry level, for the Redis mirror and the listing */

/* The entry (live or tombstone) with e's list, kind and value, or NULL. */
struct ctl_list_entry *ctl_lists_find(const struct ctl_lists *l, const struct cfg_list_entry *e);
/*
 * ctl_lists_set - make the entry for e's list, kind and value live with
 * e->reason, expires_ms and version, flags untouched but DEAD cleared (no
 * DIRTY marking: this is Redis' state arriving). *changed says whether the
 * workers' view changed (new, revived, other reason or expiry). NULL when
 * full or out of memory.
 */
struct ctl_list_entry *ctl_lists_set(struct ctl_lists *l, const struct cfg_list_entry *e,
				     uint64_t expires_ms, uint64_t version, bool *changed);
/* Drop x (live or tombstone) for good. */
void ctl_lists_remove(struct ctl_lists *l, struct ctl_list_entry *x);
/* x becomes a tombstone (not DIRTY). */
void ctl_lists_kill(struct ctl_lists *l, struct ctl_list_entry *x);
void ctl_lists_set_dirty(struct ctl_lists *l, struct ctl_list_entry *x, bool dirty);
static inline unsigned ctl_lists_inflight(const struct ctl_list_entry *x) { return x->flags >> 4; }
static inline void ctl_lists_set_inflight(struct ctl_list_entry *x, unsigned n)
{
	x->flags = (uint8_t)((x->flags & CTL_E_FLAGS) | (SL_MIN(n, (unsigned)CTL_E_INFLIGHT_MAX) << 4));
}
static inline bool ctl_lists_live(const struct ctl_list_entry *x) { return !(x->flags & CTL_E_DEAD); }
/* The reason text ("" for none). */
const char *ctl_lists_reason(const struct ctl_lists *l, const struct ctl_list_entry *x);
/* The canonical value ("203.0.113.0/24", "a@b.example"); buf for ip. */
const char *ctl_lists_value(const struct ctl_list_entry *x, char *buf, size_t len);
/* x as a struct cfg_list_entry (kind, allow, prefix, value, reason). */
void ctl_lists_entry(const struct ctl_lists *l, const struct ctl_list_entry *x, struct cfg_list_entry *e);

/* Bytes held (entries, index, names, reasons), for the benchmark. */
size_t ctl_lists_bytes(const struct ctl_lists *l);

/* The workers' snapshot: the config's entries followed by the live runtime
 * ones (a config entry wins over a runtime one of the same value). NULL on
 * no memory. */
struct pol_snapshot *ctl_lists_build(const struct ctl_lists *l, const struct cfg *c);
/* The first half of ctl_lists_build: the entries copied into a builder (the
 * strings too), which pol_snapshot_builder_finish may then finish on
 * another thread while l changes. NULL on no memory. */
struct pol_snapshot_builder *ctl_lists_collect(const struct ctl_lists *l, const struct cfg *c);
void ctl_lists_free(struct ctl_lists *l);

#endif
