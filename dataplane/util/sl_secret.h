/* sl_secret.h - a 16-byte secret kept in a file for the machine's uptime, so a restarted sluice keeps its TCP sequence and timestamp spaces. */
#ifndef SL_SECRET_H
#define SL_SECRET_H

#include <stddef.h>
#include <stdint.h>

#define SL_SECRET_LEN 16

/* Where the secret came from. */
enum sl_secret_src {
	SL_SECRET_KEPT,     /**< read from the file an earlier start wrote */
	SL_SECRET_NEW,      /**< made now and written to the file */
	SL_SECRET_RANDOM,   /**< made now, not kept: no file asked for, or it was unusable (note says why) */
};

/*
 * sl_secret_get - the secret in path, or a new random one written there
 * (mode 0600, created whole under a temporary name and linked into place,
 * so two instances starting together agree on one). path NULL or "" asks
 * for a random secret that is not kept.
 *
 * Why: our ISNs (RFC 6528) and timestamp offsets are keyed hashes of the
 * 4-tuple. With a new key after a restart they jump at random, and a
 * backend still holding a tuple in TIME-WAIT (it closed first, after 221)
 * answers our SYN with an ACK instead of a SYN-ACK half of the time: the
 * leg then waits for a SYN retransmit. Linux keeps its key for the uptime
 * of the kernel; a file under /run (a tmpfs) lives exactly as long.
 *
 * The file must be a regular file of exactly SL_SECRET_LEN bytes, owned by
 * us and not readable by group or others; otherwise it is not used (and
 * not touched): a random secret is returned with the reason in note.
 * Never fails: it only decides whether the secret lasts.
 */
enum sl_secret_src sl_secret_get(const char *path, uint8_t out[SL_SECRET_LEN], char *note, size_t notelen);

#endif
