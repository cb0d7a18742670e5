/* Endpoints as text: "1.2.3.4:80", "[::1]:80", and Plan 9's "1.2.3.4!80";
 * a segment's flags as text: "SYN,ACK". */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "tcpfs/wire.h"

int wire_ep_format(const struct wire_ep *ep, char *buf, size_t size)
{
	char a[INET6_ADDRSTRLEN];

	if ((ep->family != AF_INET && ep->family != AF_INET6) ||
	    !inet_ntop(ep->family, ep->a, a, sizeof(a)))
		return -EINVAL;
	if (ep->family == AF_INET)
		return snprintf(buf, size, "%s:%u", a, ep->port);
	return snprintf(buf, size, "[%s]:%u", a, ep->port);
}

static int fail(const char **why, const char *reason)
{
	if (why)
		*why = reason;
	return -EINVAL;
}

/* S is decimal, 1 to 65535; NULL means it was left out ("ADDR"), and
 * empty that it is missing after the separator ("ADDR:"). */
static int parse_port(const char *s, int default_port, uint16_t *port,
		      const char **why)
{
	if (!s && default_port >= 0 && default_port <= UINT16_MAX) {
		*port = (uint16_t)default_port;
		return 0;
	}
	return wire_port_parse(s, port, why);
}

int wire_port_parse(const char *s, uint16_t *port, const char **why)
{
	unsigned long v;
	char *end;

	if (!s || !*s)
		return fail(why, "missing port");
	if (*s < '0' || *s > '9')
		return fail(why, "bad port");
	errno = 0;
	v = strtoul(s, &end, 10);
	if (*end)
		return fail(why, "bad port");
	if (errno || v < 1 || v > UINT16_MAX)
		return fail(why, "port out of range");
	*port = (uint16_t)v;
	return 0;
}

/* ADDR, LEN bytes of it, as IPv4 or else IPv6 (no zone, no host names). */
static int parse_addr(const char *s, size_t len, struct wire_ep *ep,
		      const char **why)
{
	char a[INET6_ADDRSTRLEN];

	if (len == 0 || len >= sizeof(a))
		return fail(why, "bad address");
	memcpy(a, s, len);
	a[len] = '\0';
	if (inet_pton(AF_INET, a, ep->a) == 1)
		ep->family = AF_INET;
	else if (inet_pton(AF_INET6, a, ep->a) == 1)
		ep->family = AF_INET6;
	else
		return fail(why, "bad address");
	return 0;
}

/* Where the address ends and the port begins in S: *ALEN bytes of address
 * starting at *ADDR; the port string or NULL when there is none. */
static const char *split(const char *s, const char **addr, size_t *alen,
			 const char **why)
{
	const char *bang = strrchr(s, '!'), *colon = strchr(s, ':');

	*addr = s;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close ||
		    (close[1] && close[1] != ':' && close[1] != '!')) {
			*why = "bad address";
			return NULL;
		}
		*addr = s + 1;
		*alen = (size_t)(close - s - 1);
		return close[1] ? close + 2 : NULL;
	}
	/* '!' separates for both families; a lone ':' only for IPv4, since
	 * "::1" has no port. */
	if (!bang && colon && !strchr(colon + 1, ':'))
		bang = colon;
	*alen = bang ? (size_t)(bang - s) : strlen(s);
	return bang ? bang + 1 : NULL;
}

int wire_ep_parse(const char *s, int default_port, struct wire_ep *ep,
		  const char **why)
{
	const char *addr, *port, *reason = NULL;
	struct wire_ep e = {0};
	size_t alen;
	int err;

	if (!s)
		return fail(why, "bad address");
	port = split(s, &addr, &alen, &reason);
	if (reason)
		return fail(why, reason);
	err = parse_addr(addr, alen, &e, why);
	if (!err)
		err = parse_port(port, default_port, &e.port, why);
	if (!err)
		*ep = e;
	return err;
}

int wire_flags_format(uint8_t flags, char *buf, size_t size)
{
	static const struct {
		uint8_t bit;
		const char *name;
	} names[] = {{TCP_SYN, "SYN"}, {TCP_FIN, "FIN"}, {TCP_RST, "RST"},
		     {TCP_PSH, "PSH"}, {TCP_ACK, "ACK"}, {TCP_URG, "URG"},
		     {TCP_ECE, "ECE"}, {TCP_CWR, "CWR"}};
	char s[40] = "";
	size_t n = 0;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (flags & names[i].bit)
			n += (size_t)snprintf(s + n, sizeof(s) - n, "%s%s",
					      n ? "," : "", names[i].name);
	return snprintf(buf, size, "%s", n ? s : "none");
}
