/* tcpfs loop: the one epoll event loop; every fd the daemon waits on. */
#ifndef TCPFS_LOOP_H
#define TCPFS_LOOP_H

#include <stdbool.h>
#include <stdint.h>

struct loop;
/* Called when FD is readable. */
typedef void (*loop_fn)(void *arg);

/**
 * loop_new - a new loop
 * Returns it, or NULL with errno set (ENOMEM, or epoll_create1()'s).
 */
struct loop *loop_new(void);
/**
 * loop_free - free a loop; the fds stay open, their owners close them
 * \param l: it, or NULL
 */
void loop_free(struct loop *l);
/**
 * loop_add - call a function whenever an fd is readable
 * \param l: the loop
 * \param fd: the fd
 * \param fn: called with ARG
 * Returns 0; -ENOSPC with LOOP_MAX fds already; or epoll_ctl()'s -errno.
 */
int loop_add(struct loop *l, int fd, loop_fn fn, void *arg);
/**
 * loop_del - stop watching an fd
 * \param l: the loop
 * \param fd: the fd; nothing happens if it is not watched
 */
void loop_del(struct loop *l, int fd);
/**
 * loop_after - call a function after every round of fd callbacks
 * \param l: the loop; FN also runs before the first wait
 * \param fn: called with ARG
 * Returns 0, or -ENOSPC with LOOP_AFTER_MAX already.
 */
int loop_after(struct loop *l, loop_fn fn, void *arg);
/**
 * loop_after_del - stop calling a function after rounds
 * \param l: the loop
 * \param fn: with ARG, as given to loop_after()
 */
void loop_after_del(struct loop *l, loop_fn fn, void *arg);
/**
 * loop_spin - poll a while after each round instead of going to sleep
 * \param l: the loop
 * \param ns: how long after a round's callbacks loop_once() keeps polling
 *            the fds without sleeping (0, the default: it sleeps at once).
 *            A client that sends its next request microseconds after our
 *            answer then finds us awake, saving a sleep and a wakeup.
 */
void loop_spin(struct loop *l, uint64_t ns);
/**
 * loop_once - one round: the after functions, one wait, the fds' callbacks
 * \param l: the loop
 * Returns 0 (also when a signal interrupted the wait), or epoll_wait()'s -errno.
 */
int loop_once(struct loop *l);

#endif
