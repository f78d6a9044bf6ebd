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
