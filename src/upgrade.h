/* upgrade: the daemon re-executes itself on the same FUSE connection (on
 * SIGUSR2), so that mounts held elsewhere (bind mounts in containers) go
 * on working with the new image. See upgrade.c for how, tcpfs(8) UPGRADE
 * for what a user sees. Only main.c uses it. */
#ifndef TCPFS_UPGRADE_H
#define TCPFS_UPGRADE_H

#include <signal.h>
#include <stdbool.h>

#include "tcpfs/fs.h"

/* The signal that asks for an upgrade. */
#define UPGRADE_SIGNAL SIGUSR2

/**
 * upgrade_begin - note how this image was started, before anything else
 * \param argv: main()'s, kept (not copied) to exec the new image with;
 *              argv[0] is made absolute, as the daemon changes directory
 * Returns true if this process is a new image taking over a connection
 * (then call upgrade_adopt() instead of mounting), false for a fresh start.
 */
bool upgrade_begin(char *argv[]);
/**
 * upgrade_watch - serve SE, just mounted, through upgrade's I/O
 * \param se: a session fuse_session_mount() mounted
 * Returns 0; -errno from fuse_session_custom_io(). The kernel's INIT
 * request is kept as it passes, for the new image, and the descriptors
 * open across exec now (what the daemon was started with, libfuse's
 * auto_unmount socket) are noted, to stay open in every image.
 */
int upgrade_watch(struct fuse_session *se);
/**
 * upgrade_adopt - take over the connection the old image handed over
 * \param se: a new session over FS, not mounted
 * \param fs: its filesystem, which serves nothing yet
 * Returns 0: SE serves the old connection, initialized as the kernel
 * initialized it (a replayed INIT whose reply is not sent), FS knows the
 * old inode numbers; -errno if the handover is unusable (logged).
 */
int upgrade_adopt(struct fuse_session *se, struct fs *fs);
/**
 * upgrade_save - what the new image needs, saved before the old stops
 * \param se: the session, which has stopped reading
 * \param fs: its filesystem; its waiting requests are answered here
 *            (fs_quiesce())
 * Returns a memfd holding it (not close-on-exec), or -errno.
 */
int upgrade_save(struct fuse_session *se, struct fs *fs);
/**
 * upgrade_probe - before an upgrade, whether the new file starts: it is
 *                 executed with the same arguments and --upgrade-probe
 *                 (which a version from before the probe refuses, rather
 *                 than mount a second time), and must parse them and exit
 *                 0 within 10 s
 * Returns 0 if it did, or if it cannot be executed at all (upgrade_exec()
 * then executes the running image); -1 if it failed (logged): the daemon
 * should serve on with the running image, rather than hand its mount to
 * a file that will not take it (under a service manager or as a
 * container's first process, the old pid's end ends everything).
 */
int upgrade_probe(void);
/**
 * upgrade_exec - execute the new image over SAVED
 * \param se: the session; its /dev/fuse stays open across exec
 * \param saved: the memfd of upgrade_save()
 * Every other descriptor (but those upgrade_watch() noted) is closed on
 * exec: free what holds a device or an address the new image takes again
 * (the engine's TUN) first. Forks a guardian that holds the connection
 * until the new image says it took over, and takes over with this image if
 * it ends first. Execs the file argv[0] names now; if that fails (missing,
 * not executable), the image running now (/proc/self/exe). Returns only if
 * both fail (the guardian is gone then): -errno.
 */
int upgrade_exec(struct fuse_session *se, int saved);

#endif
