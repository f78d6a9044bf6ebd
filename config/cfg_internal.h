/* cfg_internal.h - what the files of config/ share with each other and nobody else. */
#ifndef CFG_INTERNAL_H
#define CFG_INTERNAL_H

#include <stddef.h>

#include "cfg.h"

/* Bounds on the repeatable directives: they only cost memory, but a bound
 * keeps a mistaken generator of config files from eating the host. */
#define CFG_RELAY_DOMAINS_MAX 65536
#define CFG_LIMITS_MAX        4096
#define CFG_LISTS_MAX         (1u << 20)

/* Directives that occur at most once, or whose line a later check names. */
enum cfg_dir {
	CFG_D_HOSTNAME = 0,
	CFG_D_TRANSPORT,
	CFG_D_WORKERS,
	CFG_D_MAX_SESSIONS,
	CFG_D_SHUTDOWN_GRACE,
	CFG_D_TCP_KEEPALIVE,
	CFG_D_PID_FILE,
	CFG_D_LOG_LEVEL,
	CFG_D_DPDK,
	CFG_D_EAL,
	CFG_D_MBUFS,
	CFG_D_TCP_SECRET,
	CFG_D_SOURCE_PORTS,
	CFG_D_TIME_WAIT_MAX,
	CFG_D_GREET_PAUSE,
	CFG_D_COMMAND_LINE_LIMIT,
	CFG_D_TEXT_LINE_LIMIT,
	CFG_D_MESSAGE_SIZE_LIMIT,
	CFG_D_RECIPIENT_LIMIT,
	CFG_D_HARD_ERROR_LIMIT,
	CFG_D_JUNK_COMMAND_LIMIT,
	CFG_D_COMMAND_TIMEOUT,
	CFG_D_STRESS_COMMAND_TIMEOUT,
	CFG_D_STRESS_SESSIONS,
	CFG_D_DATA_TIMEOUT,
	CFG_D_MIN_DATA_RATE,
	CFG_D_BARE_NEWLINE,
	CFG_D_SMTPUTF8,
	CFG_D_PIPELINING_ENFORCE,
	CFG_D_BACKEND_CONNECT_TIMEOUT,
	CFG_D_BACKEND_REPLY_TIMEOUT,
	CFG_D_BACKEND_DATA_TIMEOUT,
	CFG_D_BACKEND_RETRIES,
	CFG_D_HEALTH_CHECK,
	CFG_D_POLICY,
	CFG_D_LISTS_RESYNC,
	CFG_D_TLS,
	CFG_D_CONTROL,
	CFG_D_METRICS,
	CFG_D_COUNT
};

/* Where each directive was first seen (0 = not in the file), for the checks
 * that run after parsing and must still name a line. */
struct cfg_seen {
	int line[CFG_D_COUNT];
};

/* cfg_error - write "FILE:LINE: message" into err (which may be NULL). */
void cfg_error(char *err, size_t errlen, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* cfg_init_defaults - fill a zeroed struct with the defaults, before the
 * checks resolve the derived ones (stress_sessions stays 0 here). */
void cfg_init_defaults(struct cfg *c);

/* cfg_check - checks across directives and derived defaults. Returns SL_OK
 * or SL_ERROR with the message in err. */
int cfg_check(struct cfg *c, const struct cfg_seen *seen, char *err, size_t errlen);

/* cfg_resolve - derived values (stress_sessions 0 = 80% of max_sessions). */
void cfg_resolve(struct cfg *c);

void cfg_free(struct cfg *c);

#endif
