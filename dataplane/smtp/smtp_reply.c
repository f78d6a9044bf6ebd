/* smtp_reply.c - the reply table and the one place replies are formatted. */
#include "smtp_reply.h"

#include <stdio.h>
#include <string.h>

const struct smtp_reply smtp_replies[SMTP_R_COUNT] = {
#define SMTP_REPLY_ROW(id, c, st, t) [SMTP_R_##id] = { c, st, t },
	SMTP_REPLIES(SMTP_REPLY_ROW)
#undef SMTP_REPLY_ROW
};

size_t smtp_reply_format(char *buf, size_t len, uint16_t code, const char *status, const char *text)
{
	int n;

	if (len < 8)
		return 0;
	if (status != NULL && status[0] != '\0')
		n = snprintf(buf, len - 2, "%03u %s %s", code, status, text);
	else
		n = snprintf(buf, len - 2, "%03u %s", code, text);
	if (n < 0)
		n = 0;
	if ((size_t)n > len - 3)
		n = (int)(len - 3);
	buf[n++] = '\r';
	buf[n++] = '\n';
	buf[n] = '\0';
	return (size_t)n;
}

/* Every table reply fits: code, status and the longest text are < 120 bytes. */
#define REPLY_LINE_MAX 160

static char reply_lines[SMTP_R_COUNT][REPLY_LINE_MAX];
static size_t reply_lens[SMTP_R_COUNT];

__attribute__((constructor)) static void reply_lines_init(void)
{
	for (unsigned i = 0; i < SMTP_R_COUNT; i++)
		reply_lens[i] = smtp_reply_format(reply_lines[i], REPLY_LINE_MAX, smtp_replies[i].code,
						  smtp_replies[i].status, smtp_replies[i].text);
}

const char *smtp_reply_line(enum smtp_reply_id id, size_t *len)
{
	*len = reply_lens[id];
	return reply_lines[id];
}

size_t smtp_reply_format_id(char *buf, size_t len, enum smtp_reply_id id)
{
	size_t n = reply_lens[id];

	if (n + 1 > len)
		return smtp_reply_format(buf, len, smtp_replies[id].code, smtp_replies[id].status,
					 smtp_replies[id].text);
	memcpy(buf, reply_lines[id], n + 1);
	return n;
}
