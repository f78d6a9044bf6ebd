/* sl_status.h - the return codes shared by every module of sluice. */
#ifndef SL_STATUS_H
#define SL_STATUS_H

/*
 * One small set of results across the project (after nginx):
 *   SL_OK        done, go on
 *   SL_ERROR     failed; details are in the object's state or an error buffer
 *   SL_AGAIN     not finished, call again when more input/space/verdict arrives
 *                (OpenSSL's WANT_READ / WANT_WRITE map here)
 *   SL_DONE      finished for good (end of stream, end of DATA, session over)
 *   SL_DECLINED  refused by policy or syntax; the reply is already set
 */
#define SL_OK        0
#define SL_ERROR    -1
#define SL_AGAIN    -2
#define SL_DONE     -3
#define SL_DECLINED -4

/* RFC 5321 limits that size buffers everywhere (section 4.5.3.1). */
#define SL_LOCAL_PART_MAX 64
#define SL_DOMAIN_MAX     255
#define SL_PATH_MAX       256   /* reverse-path / forward-path incl. <> */
#define SL_HELO_MAX       255

#define SL_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define SL_MIN(a, b) ((a) < (b) ? (a) : (b))
#define SL_MAX(a, b) ((a) > (b) ? (a) : (b))

#endif
