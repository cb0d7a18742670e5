/* tcpfs sockname: directory names of kernel sockets.
 *
 * A name is LOCAL-REMOTE#COOKIE: ADDR:PORT each, IPv6 as [ADDR]:PORT in
 * inet_ntop form, the cookie in lowercase hex. Every name holds all a
 * lookup needs, so the name alone finds the socket again, and the cookie
 * keeps two sockets with one tuple (SO_REUSEPORT listeners) apart. */
#ifndef TCPFS_SOCKNAME_H
#define TCPFS_SOCKNAME_H

#include <stddef.h>

#include "tcpfs/diag.h"

/* Longest name, NUL included. */
#define SOCKNAME_MAX 128
/* Longest ADDR:PORT, NUL included. */
#define SOCKNAME_ADDR_MAX 56

/* Write "ADDR:PORT" ([ADDR]:PORT for IPv6) of ADDR, PORT into OUT. */
void sockname_addr(char out[SOCKNAME_ADDR_MAX], int family, const uint8_t *addr,
		   uint16_t port);
/* Write the name of KEY into OUT. */
void sockname_format(char out[SOCKNAME_MAX], const struct diag_key *key);
/* Parse NAME into KEY; 0, or -ENOENT if NAME is not a canonical name. */
int sockname_parse(const char *name, struct diag_key *key);

#endif
