/* Directory names of kernel sockets: LOCAL-REMOTE#COOKIE. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sockname.h"

/* Hand-rolled formatting: a listing of 100k sockets formats 100k names,
 * and printf was the daemon's largest cost in it. */
static char *put_uint(char *p, unsigned v)
{
	char tmp[10];
	int n = 0;
	do
		tmp[n++] = (char)('0' + v % 10);
	while ((v /= 10));
	while (n)
		*p++ = tmp[--n];
	return p;
}

/* Write ADDR:PORT at P, return the end (not terminated). */
static char *put_endpoint(char *p, int family, const uint8_t *addr,
			  uint16_t port)
{
	if (family == AF_INET6) {
		*p++ = '[';
		inet_ntop(AF_INET6, addr, p, INET6_ADDRSTRLEN);
		p += strlen(p);
		*p++ = ']';
	} else {
		for (int i = 0; i < 4; i++) {
			if (i)
				*p++ = '.';
			p = put_uint(p, addr[i]);
		}
	}
	*p++ = ':';
	return put_uint(p, port);
}

void sockname_addr(char out[SOCKNAME_ADDR_MAX], int family, const uint8_t *addr,
		   uint16_t port)
{
	*put_endpoint(out, family, addr, port) = 0;
}

void sockname_format(char out[SOCKNAME_MAX], const struct diag_key *k)
{
	static const char hex[] = "0123456789abcdef";
	char *p = put_endpoint(out, k->family, k->src, k->sport);
	*p++ = '-';
	p = put_endpoint(p, k->family, k->dst, k->dport);
	*p++ = '#';
	int shift = 60;
	while (shift > 0 && !(k->cookie >> shift))
		shift -= 4;
	for (; shift >= 0; shift -= 4)
		*p++ = hex[(k->cookie >> shift) & 15];
	*p = 0;
}

/* Parse "ADDR:PORT" or "[ADDR]:PORT" of length LEN; the family must match
 * *FAMILY if already set. */
static int parse_endpoint(const char *s, size_t len, int *family, uint8_t *addr,
			  uint16_t *port)
{
	char a[INET6_ADDRSTRLEN];
	const char *colon;
	int fam;

	if (s[0] == '[') {
		const char *end = memchr(s, ']', len);
		if (!end || end[1] != ':')
			return -ENOENT;
		colon = end + 1;
		fam = AF_INET6;
		s++;
	} else {
		colon = memrchr(s, ':', len);
		if (!colon)
			return -ENOENT;
		fam = AF_INET;
	}
	size_t alen = (size_t)(colon - s) - (fam == AF_INET6);
	if (alen >= sizeof(a) || (*family && *family != fam))
		return -ENOENT;
	memcpy(a, s, alen);
	a[alen] = 0;
	if (inet_pton(fam, a, addr) != 1)
		return -ENOENT;

	const char *p = colon + 1, *end = s + len - (fam == AF_INET6);
	unsigned long v = 0;
	if (p == end || end - p > 5)
		return -ENOENT;
	for (; p < end; p++) {
		if (*p < '0' || *p > '9')
			return -ENOENT;
		v = v * 10 + (unsigned long)(*p - '0');
	}
	if (v > 65535)
		return -ENOENT;
	*family = fam;
	*port = (uint16_t)v;
	return 0;
}

int sockname_parse(const char *name, struct diag_key *k)
{
	const char *hash = strrchr(name, '#');
	const char *dash = strchr(name, '-');
	int family = 0;

	if (!hash || !dash || dash > hash || strlen(name) >= SOCKNAME_MAX)
		return -ENOENT;
	memset(k, 0, sizeof(*k));
	if (parse_endpoint(name, (size_t)(dash - name), &family, k->src,
			   &k->sport) < 0 ||
	    parse_endpoint(dash + 1, (size_t)(hash - dash - 1), &family, k->dst,
			   &k->dport) < 0)
		return -ENOENT;
	char *end;
	errno = 0;
	k->cookie = strtoull(hash + 1, &end, 16);
	if (errno || *end || end == hash + 1)
		return -ENOENT;
	k->family = (uint8_t)family;

	/* Only the canonical spelling names a socket: one name, one socket. */
	char again[SOCKNAME_MAX];
	sockname_format(again, k);
	return strcmp(again, name) == 0 ? 0 : -ENOENT;
}
