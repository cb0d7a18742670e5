/* What every kind shares: failing with a reason, and being freed. */
#include <stdarg.h>
#include <stdio.h>

#include "tcpfs/kind.h"
#include "tcpfs/log.h"

int kind_fail(struct kind_conn *c, int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->err, TCPFS_ERR_MAX, fmt, ap);
	va_end(ap);
	tlog(LOG_NOTICE, "%s: %s", c->label, c->err); /* never err alone */
	return err;
}

void kind_free(struct kind *k)
{
	if (k->ops)
		k->ops->destroy(k->priv);
	*k = (struct kind){NULL, NULL, NULL};
}
