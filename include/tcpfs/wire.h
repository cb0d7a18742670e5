/* tcpfs wire: IPv4, IPv6 and TCP headers, parsed and built.
 *
 * Pure functions over byte buffers: no allocation, no I/O, no clock. A packet
 * is one IP datagram as it crosses a TUN device (IFF_NO_PI): an IPv4 or IPv6
 * header, then TCP. wire_parse() trusts nothing: every length is checked
 * against the buffer, and a packet that fails a check is refused with the
 * reason (counted by the caller), never half used. */
#ifndef TCPFS_WIRE_H
#define TCPFS_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* TCP header flags (RFC 9293 §3.1, RFC 3168 for ECE/CWR). */
enum {
	TCP_FIN = 0x01,
	TCP_SYN = 0x02,
	TCP_RST = 0x04,
	TCP_PSH = 0x08,
	TCP_ACK = 0x10,
	TCP_URG = 0x20,
	TCP_ECE = 0x40,
	TCP_CWR = 0x80,
};

/* An IPv4 or IPv6 address and a port. IPv4 lives in a[0..3]; the rest is
 * zero so that memcmp() of two endpoints of one family is equality. */
struct wire_ep {
	uint8_t family; /* AF_INET or AF_INET6 */
	uint8_t a[16];
	uint16_t port; /* host byte order */
};

#define WIRE_MAX_SACK 4

/* The TCP options tcpfs reads and writes (RFC 9293 §3.2, RFC 7323, 2018). */
struct wire_opts {
	bool has_mss, has_ws, sack_ok, has_ts;
	uint16_t mss;
	uint8_t ws; /* window scale shift, as sent (the peer clamps to 14) */
	uint32_t tsval, tsecr;
	uint8_t nsack; /* SACK blocks below */
	struct {
		uint32_t left, right; /* [left, right) in sequence space */
	} sack[WIRE_MAX_SACK];
};

/* One TCP segment, parsed or to be built. Numbers are in host order. */
struct wire_seg {
	struct wire_ep src, dst;
	uint32_t seq, ack;
	uint8_t flags; /* TCP_* */
	uint16_t wnd;  /* unscaled, as on the wire */
	uint16_t urp;
	uint8_t ttl; /* IPv4 TTL or IPv6 hop limit; 0 builds 64 */
	struct wire_opts opt;
	const uint8_t *data; /* payload (points into the parsed packet) */
	size_t len;
};

/* Why a packet was refused; WIRE_OK is 0. */
enum wire_err {
	WIRE_OK = 0,
	WIRE_SHORT,    /* buffer shorter than a header says */
	WIRE_VERSION,  /* not IPv4 or IPv6 */
	WIRE_IPHDR,    /* bad IPv4 IHL / total length, IPv6 payload length */
	WIRE_IPCSUM,   /* bad IPv4 header checksum */
	WIRE_FRAGMENT, /* a fragment (tcpfs never reassembles) */
	WIRE_NOT_TCP,  /* another protocol, or IPv6 extension headers */
	WIRE_TCPHDR,   /* data offset below 5 or past the segment */
	WIRE_OPTION,   /* an option whose length overruns or is invalid */
	WIRE_CSUM,     /* bad TCP checksum */
	WIRE_ADDR,     /* source or destination unusable (multicast, port 0) */
	WIRE_NERR
};

/* Parse one IP packet carrying TCP into SEG; WIRE_OK or the reason. */
enum wire_err wire_parse(const uint8_t *pkt, size_t len, struct wire_seg *seg);
/* Build SEG (header, options, payload, checksums) into BUF; bytes or 0 if
 * CAP is too small (or the families differ, or it is over 64 KiB). The IP
 * version follows seg->src.family. SEG->data may point into BUF. */
size_t wire_build(uint8_t *buf, size_t cap, const struct wire_seg *seg);
/* Bytes of TCP options wire_build() will emit for OPT (a multiple of 4, at
 * most 40: SACK blocks that do not fit are left out, the last first). */
size_t wire_opts_len(const struct wire_opts *opt);
/* One word of reason for ERR, e.g. "checksum". */
const char *wire_err_name(enum wire_err err);
/* Internet checksum (RFC 1071) of BUF folded onto SUM; not inverted. In a
 * chain of calls, only the last BUF may have an odd length. */
uint32_t wire_csum_add(uint32_t sum, const void *buf, size_t len);
/* Fold SUM to 16 bits and invert it: the value that goes on the wire. */
uint16_t wire_csum_fold(uint32_t sum);
/* Format EP as "1.2.3.4:80" or "[::1]:80" into BUF; its length (as
 * snprintf()), or -EINVAL when EP has no family. */
int wire_ep_format(const struct wire_ep *ep, char *buf, size_t size);
/* Parse S, a port: decimal, 1 to 65535, nothing else. 0, or -EINVAL with
 * the reason ("missing port", "bad port", "port out of range") in *WHY
 * (if WHY is not NULL). */
int wire_port_parse(const char *s, uint16_t *port, const char **why);
/* Parse "ADDR:PORT", "ADDR!PORT" or "[V6]:PORT" (PORT may be omitted when
 * DEFAULT_PORT >= 0); 0, or -EINVAL with the reason in WHY. */
int wire_ep_parse(const char *s, int default_port, struct wire_ep *ep,
		  const char **why);

#endif
