/* cfg.h - the effective configuration of sluice, as every module reads it. */
#ifndef CFG_H
#define CFG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/sl_addr.h"
#include "util/sl_status.h"

/*
 * A struct cfg is immutable once cfg_load() returns it. Reload builds a new
 * one and publishes it; sessions keep a reference to the generation they
 * started with (cfg_ref / cfg_unref), so a reload never changes the rules in
 * the middle of a session.
 */

#define CFG_NAME_MAX     32
#define CFG_TEXT_MAX     128
#define CFG_PATH_MAX     256
#define CFG_LISTEN_MAX   16
#define CFG_BACKEND_MAX  64
#define CFG_DPDK_PORT_MAX 8
#define CFG_DPDK_ROUTE_MAX 32   /**< static routes in the dpdk block, over all ports */
#define CFG_PEERS_MAX    64     /**< control_allow: uids, and gids, at most */

enum cfg_transport { CFG_TRANSPORT_KERNEL = 0, CFG_TRANSPORT_DPDK };

enum cfg_xclient { CFG_XCLIENT_OFF = 0, CFG_XCLIENT_ON, CFG_XCLIENT_AUTO };
enum cfg_proxy   { CFG_PROXY_OFF = 0, CFG_PROXY_V1, CFG_PROXY_V2 };

enum cfg_bare_newline { CFG_BARE_REJECT = 0, CFG_BARE_NORMALIZE };

enum cfg_policy_store { CFG_POLICY_EMBEDDED = 0, CFG_POLICY_REDIS };

/* Defaults of the `policy redis` options. */
#define CFG_REDIS_TIMEOUT_MS         100
#define CFG_REDIS_CONNECT_TIMEOUT_MS 1000
#define CFG_REDIS_LEASE_MS           30000
#define CFG_REDIS_PREFIX             "sluice:"
#define CFG_LISTS_RESYNC_MS          30000

enum cfg_list_kind {
	CFG_LIST_IP = 0,   /* CIDR prefix of the client address */
	CFG_LIST_HELO,     /* HELO/EHLO name, exact, case-insensitive */
	CFG_LIST_SENDER,   /* envelope sender address, case-insensitive; "<>" is the null sender */
	CFG_LIST_DOMAIN,   /* sender domain; ".example.com" also matches subdomains */
	CFG_LIST_RCPT,     /* recipient address, case-insensitive */
	CFG_LIST_KIND_COUNT
};

struct cfg_list_entry {
	enum cfg_list_kind kind;
	bool               allow;          /**< allowlist (true) or blocklist */
	struct sl_prefix   prefix;         /**< CFG_LIST_IP only */
	char               value[SL_PATH_MAX + 1]; /**< as written (lowercased for names) */
	char               reason[CFG_TEXT_MAX];   /**< optional, "" if none */
	int                line;           /**< config line, for messages */
};

enum cfg_limit_kind {
	CFG_LIMIT_CONN_RATE = 0,   /* new connections,   decided at connect */
	CFG_LIMIT_MSG_RATE,        /* messages (MAIL),   decided at MAIL */
	CFG_LIMIT_RCPT_RATE,       /* recipients,        decided at RCPT */
	CFG_LIMIT_BYTE_RATE,       /* message bytes,     decided at end of DATA */
	CFG_LIMIT_CONCURRENCY,     /* sessions open at once (count, no period) */
	CFG_LIMIT_KIND_COUNT
};

enum cfg_limit_key {
	CFG_KEY_IP = 0,       /* client address */
	CFG_KEY_NET,          /* client /net4_prefix or /net6_prefix */
	CFG_KEY_HELO,
	CFG_KEY_SENDER,
	CFG_KEY_SENDER_DOMAIN,
	CFG_KEY_RCPT,
	CFG_KEY_COUNT
};

struct cfg_limit {
	enum cfg_limit_kind kind;
	enum cfg_limit_key  key;
	uint64_t count;        /**< events per period, or max sessions for concurrency */
	uint64_t period_ms;    /**< 0 for concurrency */
	uint64_t burst;        /**< extra events allowed at once; default = count */
	bool     fail_closed;  /**< store unreachable: 451 4.7.0 (true) or let pass */
	uint8_t  net4_prefix;  /**< CFG_KEY_NET: default 24 */
	uint8_t  net6_prefix;  /**< CFG_KEY_NET: default 64 */
	uint16_t code;         /**< reply when over: 450, or 421 for conn_rate/concurrency */
	char     status[8];    /**< enhanced status: "4.7.1", "4.7.0" */
	char     text[CFG_TEXT_MAX]; /**< reply text */
	int      line;
};

struct cfg_backend {
	char             name[CFG_NAME_MAX];
	struct sl_addr   addr;          /**< with port */
	uint32_t         weight;        /**< default 1 */
	uint32_t         max_conns;     /**< 0 = no cap */
	enum cfg_xclient xclient;       /**< default auto */
	enum cfg_proxy   proxy;         /**< default off */
	int              line;
};

/* A uid or gid as the file gave it: the number is what is enforced, the
 * name (empty when a number was written) is what sluice -t prints back. */
struct cfg_peer_id {
	uint32_t id;
	char     name[CFG_NAME_MAX];
};

#define CFG_ID_NONE UINT32_MAX  /**< control owner/group not set */

#define CFG_DPDK_PORT_NAME_MAX 64   /**< RTE_ETH_NAME_MAX_LEN */

/*
 * A port by EAL's number (`port 0`) or by its device's name: a PCI address
 * (`port 0000:03:00.0`, or `03:00.0`, kept in DPDK's full lower-case form)
 * or a vdev (`port net_af_packet0`). Names do not move when another NIC is
 * added or probed first; numbers do.
 */
struct cfg_dpdk_port {
	unsigned         id;            /**< when name is "" */
	char             name[CFG_DPDK_PORT_NAME_MAX];
	struct sl_prefix address;       /**< our address and netmask */
	struct sl_addr   gateway;       /**< family 0 if none */
};

/*
 * `route PREFIX via GW`: destinations in PREFIX (backends behind a router)
 * go to GW, on the port whose subnet holds GW, as Linux picks the device of
 * `ip route add PREFIX via GW`. Between ports, the longest match wins.
 */
struct cfg_dpdk_route {
	struct sl_prefix dst;           /**< host bits zero */
	struct sl_addr   via;
};

struct cfg_dpdk {
	char     eal[CFG_PATH_MAX * 2];
	unsigned nports;
	struct cfg_dpdk_port ports[CFG_DPDK_PORT_MAX];
	unsigned nroutes;
	struct cfg_dpdk_route routes[CFG_DPDK_ROUTE_MAX];
	uint32_t mbufs;                 /**< mbufs per pool; default 65535 */
	/* The TCP stacks' secret (ISNs, timestamp offsets), kept in this file
	 * until reboot so a restart keeps sequence spaces; "" = none, a new
	 * one at each start (sl_secret.h). Default /run/sluice/tcp.secret. */
	char     tcp_secret[CFG_PATH_MAX];
	/* Source ports of backend legs, LO..HI inclusive (default Linux's
	 * 32768-60999): for firewalls, or a range kept apart from others. */
	uint16_t source_port_lo, source_port_hi;
	/* TIME-WAIT entries per worker (about 80 bytes each, touched only as
	 * used); past it the oldest ends early. Default 262144 (Linux's
	 * tcp_max_tw_buckets on a large machine). */
	uint32_t time_wait_max;
};

struct cfg_smtp {
	uint32_t greet_pause_ms;        /**< 0 = no pre-greet test */
	uint32_t command_line_limit;    /**< 512 (RFC 5321 4.5.3.1.4), only upward */
	uint32_t text_line_limit;       /**< 1000 (RFC 5321 4.5.3.1.6), only upward */
	uint64_t message_size_limit;    /**< 10240000; 0 = no limit */
	uint32_t recipient_limit;       /**< 1000 (Postfix); at least 100 */
	uint32_t hard_error_limit;      /**< 20 */
	uint32_t junk_command_limit;    /**< 100: NOOP/RSET/VRFY/HELP/unknown */
	uint32_t command_timeout_ms;    /**< 300 s */
	uint32_t stress_command_timeout_ms; /**< 10 s when a worker is under stress */
	uint32_t stress_sessions;       /**< sessions per worker that mean stress (0 in the file: 80% of max_sessions) */
	uint32_t data_timeout_ms;       /**< max wait for any DATA byte: 300 s */
	uint32_t min_data_rate;         /**< bytes/s averaged over DATA; 0 = off */
	enum cfg_bare_newline bare_newline;
	bool     smtputf8;              /**< advertise SMTPUTF8 */
	bool     pipelining_enforce;    /**< reject clients that pipeline unasked */
};

struct cfg_relay {
	uint32_t connect_timeout_ms;    /**< 10 s */
	uint32_t reply_timeout_ms;      /**< backend reply wait: 300 s */
	uint32_t data_done_timeout_ms;  /**< wait for 250 after end of DATA: 600 s */
	uint32_t connect_retries;       /**< other backends tried after a failure: 2 */
	uint32_t health_interval_ms;    /**< 10 s; 0 = no health checks */
	uint32_t health_timeout_ms;     /**< 5 s */
	uint32_t health_rise;           /**< passes to come up: 2 */
	uint32_t health_fall;           /**< failures to go down: 2 */
};

struct cfg {
	_Atomic int refs;
	char     file[CFG_PATH_MAX];
	/* A generation made at run time from another (cfg_with_limits) shares
	 * its relay_domains and lists arrays and holds a reference on it. */
	struct cfg *base;

	char     hostname[SL_DOMAIN_MAX + 1];
	unsigned nlisten;
	struct sl_addr listen[CFG_LISTEN_MAX];
	enum cfg_transport transport;
	unsigned workers;               /**< kernel transport threads; 0 = one per core */
	uint32_t max_sessions;          /**< per worker; past it new connections get 421 */
	uint32_t shutdown_grace_ms;     /**< SIGTERM: time for transactions in flight */
	/* tcp_keepalive [idle D] [interval D] [probes N] | off: TCP keepalive
	 * on both legs of new sessions, under both transports (RFC 1122
	 * 4.2.3.6). Off by default; on: idle 60s, interval 10s, probes 5. A
	 * peer silent for idle + probes * interval is reset. */
	uint32_t keepalive_idle_ms;     /**< 0 = off */
	uint32_t keepalive_intvl_ms;
	uint32_t keepalive_probes;
	char     pid_file[CFG_PATH_MAX];
	int      log_level;             /**< enum sl_log_level */

	struct cfg_dpdk dpdk;
	struct cfg_smtp smtp;
	struct cfg_relay relay;

	/* relay_domains: exact names, or ".example.net" for every subdomain */
	unsigned nrelay_domains;
	char   (*relay_domains)[SL_DOMAIN_MAX + 2];

	unsigned nbackends;
	struct cfg_backend backends[CFG_BACKEND_MAX];

	enum cfg_policy_store policy_store;
	struct sl_addr redis_addr;      /**< policy redis HOST:PORT (issue 4) */
	char     redis_path[CFG_PATH_MAX]; /**< or a unix socket */
	char     redis_password[CFG_TEXT_MAX]; /**< policy redis ... password X: AUTH; "" = none */
	char     redis_password_file[CFG_PATH_MAX]; /**< ... password_file PATH: the password was read
	                                              from there at load ("" = given inline or none) */
	uint32_t redis_db;              /**< ... db N: SELECT N; 0 = Redis' default */
	uint32_t redis_timeout_ms;      /**< ... timeout D: slower decisions take the fail mode; 100 ms */
	uint32_t redis_connect_timeout_ms; /**< ... connect_timeout D: 1 s */
	uint32_t redis_lease_ms;        /**< ... lease D: concurrency leases, refreshed every third; 30 s */
	char     redis_prefix[CFG_NAME_MAX]; /**< ... prefix P: every key starts with it; "sluice:" */
	uint32_t lists_resync_ms;       /**< lists_resync D: full resync of the Redis list mirror; 30 s */

	unsigned nlimits;
	struct cfg_limit *limits;

	unsigned nlists;
	struct cfg_list_entry *lists;

	char     tls_cert[CFG_PATH_MAX];
	char     tls_key[CFG_PATH_MAX];

	char     control_path[CFG_PATH_MAX];
	uint32_t control_mode;          /**< 0660 */
	struct cfg_peer_id control_owner;  /**< control ... owner USER: chown at bind; CFG_ID_NONE */
	struct cfg_peer_id control_group;  /**< control ... group GROUP; CFG_ID_NONE */
	/* control_allow uid U... gid G...: peers let in besides uid 0 and the
	 * daemon's own uid; a gid matches the peer's primary or supplementary groups */
	unsigned nallow_uids, nallow_gids;
	struct cfg_peer_id allow_uids[CFG_PEERS_MAX];
	struct cfg_peer_id allow_gids[CFG_PEERS_MAX];
	struct sl_addr metrics_addr;    /**< family 0: no metrics listener */
};

/*
 * cfg_load - read and check FILE. On error returns NULL and writes one line
 * "FILE:LINE: message" into err.
 */
struct cfg *cfg_load(const char *file, char *err, size_t errlen);
/* cfg_parse_string - the same from memory (tests, fuzzing); name is used in messages. */
struct cfg *cfg_parse_string(const char *name, const char *text, size_t len, char *err, size_t errlen);
/* cfg_defaults - a config with every default and nothing listed. */
struct cfg *cfg_defaults(void);

/* cfg_dump - print the effective configuration, every directive with its
 * value, in a form cfg_load() reads back. An inline Redis password is
 * printed as CFG_SECRET_MASK (so the output can go into a ticket), which
 * reads back with a warning; password_file is printed as its path, and reads
 * back to the same config. */
void cfg_dump(const struct cfg *c, void (*out)(const char *s, size_t n, void *arg), void *arg);
/* cfg_dump_flags - the same; CFG_DUMP_SECRETS prints the inline password in
 * clear, so the output reads back to the very same config. */
#define CFG_DUMP_SECRETS 1u
void cfg_dump_flags(const struct cfg *c, unsigned flags, void (*out)(const char *s, size_t n, void *arg),
		    void *arg);
#define CFG_SECRET_MASK "<hidden>"

/*
 * cfg_restart_only - the directives that differ between the config sluice
 * started with and c but that a reload cannot apply (listen, transport,
 * workers, the dpdk block, ...): their names, comma-separated, in buf;
 * returns how many.
 */
unsigned cfg_restart_only(const struct cfg *started, const struct cfg *c, char *buf, size_t len);

struct cfg *cfg_ref(struct cfg *c);
void cfg_unref(struct cfg *c);

/*
 * cfg_limit_parse - words as after the `limit` directive (KIND KEY RATE
 * [burst N] [fail open|closed] [prefix4 N] [prefix6 N] [reply CODE STATUS
 * TEXT]), checked as the file's are; quoted[i] says words[i] was quoted (may
 * be NULL). For limits set at run time. *out has line 0. Returns SL_OK, or
 * SL_DECLINED with the message (no FILE:LINE) in err.
 */
int cfg_limit_parse(const char *const *words, const bool *quoted, unsigned n, struct cfg_limit *out,
		    char *err, size_t errlen);
/* Same rule: kind, key, period (and prefix lengths for key net). Count,
 * burst, fail mode and reply are what a rule says, not which rule it is. */
bool cfg_limit_same_rule(const struct cfg_limit *a, const struct cfg_limit *b);
/*
 * cfg_with_limits - a new generation equal to c but for its limits (copied
 * from l[0..n)). It shares c's relay domains and lists (no copy of a million
 * entries) and keeps c, or c's own base, alive. NULL on no memory.
 */
struct cfg *cfg_with_limits(struct cfg *c, const struct cfg_limit *l, unsigned n);

/* Do health checks run under this config? Under both transports (kernel
 * sockets on the control thread, or posted to the DPDK workers' own stack):
 * only the interval says. The control thread starts them and the relay
 * counts failed connects toward "down" only when they run: one rule, one
 * place. */
static inline bool cfg_health_checks_run(const struct cfg *c)
{
	return c->relay.health_interval_ms > 0;
}

/* Names used in the file, for messages and dump. */
const char *cfg_list_kind_name(enum cfg_list_kind k);
const char *cfg_limit_kind_name(enum cfg_limit_kind k);
const char *cfg_limit_key_name(enum cfg_limit_key k);

#endif
