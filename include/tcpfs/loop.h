/* tcpfs loop: the one epoll event loop; every fd the daemon waits on. */
#ifndef TCPFS_LOOP_H
#define TCPFS_LOOP_H

#include <stdbool.h>

struct loop;
/* Called when FD is readable. */
typedef void (*loop_fn)(void *arg);

/* A new loop, or NULL with errno set. */
struct loop *loop_new(void);
/* Free it (the fds stay open: their owners close them). */
void loop_free(struct loop *l);
/* Call FN(ARG) whenever FD is readable; 0 or -errno. */
int loop_add(struct loop *l, int fd, loop_fn fn, void *arg);
/* Stop watching FD. */
void loop_del(struct loop *l, int fd);
/* Call FN(ARG) after every round of fd callbacks (before every wait, so
 * also after what the owner did before the first); 0 or -ENOSPC. */
int loop_after(struct loop *l, loop_fn fn, void *arg);
/* Stop calling FN(ARG) after rounds. */
void loop_after_del(struct loop *l, loop_fn fn, void *arg);
/* Call the after functions, wait for readable fds and call their
 * functions once; -errno on error. */
int loop_once(struct loop *l);

#endif
