/* tcpfs buf: a growable byte buffer for rendered file contents. */
#ifndef TCPFS_BUF_H
#define TCPFS_BUF_H

#include <stddef.h>

struct buf {
	char *p;
	size_t len, cap;
	int err; /* -ENOMEM once an append failed; later appends do nothing */
};

/**
 * buf_add - append bytes
 * \param b: the buffer; on ENOMEM b->err is -ENOMEM and it stays so
 * \param data: LEN bytes
 */
void buf_add(struct buf *b, const void *data, size_t len);
/**
 * buf_printf - append text, printf style
 * \param b: the buffer; on ENOMEM b->err is -ENOMEM
 */
void buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/**
 * buf_free - release the memory
 * \param b: the buffer; it is empty and usable again
 */
void buf_free(struct buf *b);

#endif
