/* Numbers as users write them in options (num.h). */
#include <stdlib.h>
#include <string.h>

#include "tcpfs/num.h"

static const char digits[] = "0123456789";

bool num_whole(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	if (!n || strspn(s, digits) < n)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

bool num_decimal(const char *s, double *out)
{
	size_t n = strspn(s, digits);
	if (n && s[n] == '.' && strspn(s + n + 1, digits))
		n += 1 + strspn(s + n + 1, digits);
	if (!n || s[n])
		return false;
	*out = strtod(s, NULL);
	return true;
}
