/* tcpfs nat: engine connections to other hosts, through this one (--nat).
 *
 * nat_open() turns IPv4 forwarding on and loads an nftables table that
 * masquerades what the engine's link sends elsewhere; nat_close() removes
 * the table and puts forwarding back as it was. IPv4 only. */
#ifndef TCPFS_NAT_H
#define TCPFS_NAT_H

#include <netinet/in.h>
#include <stddef.h>

struct nat;

/* Masquerade NET/PREFIX arriving on device DEV; NULL with the reason in
 * WHY (no nft, no privilege). */
struct nat *nat_open(const char *dev, struct in_addr net, unsigned prefix,
		     char *why, size_t whylen);
/* Undo everything nat_open() did. */
void nat_close(struct nat *n);

#endif
