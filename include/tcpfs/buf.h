/* tcpfs buf: a growable byte buffer for rendered file contents. */
#ifndef TCPFS_BUF_H
#define TCPFS_BUF_H

#include <stddef.h>

struct buf {
	char *p;
	size_t len, cap;
	int err; /* -ENOMEM once an append failed; later appends do nothing */
};

/* Append LEN bytes of DATA. */
void buf_add(struct buf *b, const void *data, size_t len);
/* Append printf-formatted text. */
void buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Release the memory; B is empty and usable again. */
void buf_free(struct buf *b);

#endif
