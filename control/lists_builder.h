/* lists_builder.h - finishes list snapshots on a thread of its own, so that
 * a million-entry rebuild does not stall the control loop (Redis decisions,
 * the control socket, health checks all run on it). */
#ifndef LISTS_BUILDER_H
#define LISTS_BUILDER_H

#include <stdbool.h>
#include <stdint.h>

#include "policy/pol_snapshot.h"
#include "util/sl_evloop.h"

struct lists_builder;

/*
 * Called on the loop's thread when a build is done: s is the snapshot (the
 * callee owns it) or NULL when the build ran out of memory; tag is what
 * lists_builder_start was given; build_ns how long the thread worked on it.
 */
typedef void (*lists_built_fn)(void *arg, struct pol_snapshot *s, uint64_t tag, uint64_t build_ns);

/* A builder thread whose results come back on loop. NULL on failure (errno). */
struct lists_builder *lists_builder_new(struct sl_evloop *loop, lists_built_fn done, void *arg);

/* Is a build in flight (started, its callback not yet called)? */
bool lists_builder_busy(const struct lists_builder *lb);

/*
 * lists_builder_start - finish b (pol_snapshot_builder_finish) on the
 * thread; takes b whatever happens. One build at a time: SL_OK, or
 * SL_AGAIN when one is in flight (b is then aborted).
 */
int lists_builder_start(struct lists_builder *lb, struct pol_snapshot_builder *b, uint64_t tag);

/* Stop the thread (waiting for a build in flight) and free what it holds;
 * the callback is not called again. NULL ok. */
void lists_builder_free(struct lists_builder *lb);

#endif
