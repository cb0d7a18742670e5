/* The values a connection directory shows: names and setting. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tcpfs/view.h"

static const char *const names[VF_COUNT] = {
#define VIEW_NAME(id, name) [VF_##id] = name,
	VIEW_FIELDS(VIEW_NAME)
#undef VIEW_NAME
};

const char *view_name(enum view_field f)
{
	return names[f];
}

int view_lookup(const char *name)
{
	for (int f = 0; f < VF_COUNT; f++)
		if (strcmp(names[f], name) == 0)
			return f;
	return -1;
}

void view_set(struct view *v, enum view_field f, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(v->val[f], VIEW_VAL_MAX, fmt, ap);
	va_end(ap);
	v->have |= UINT64_C(1) << f;
}
