/* Socket inode -> holding processes, from one scan of /proc/PID/fd. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tcpfs/procpid.h"

/* Capability bits, as in /proc/PID/status's CapEff and CapPrm. */
#define CAP_DAC_OVERRIDE_BIT 1
#define CAP_DAC_READ_SEARCH_BIT 2
#define CAP_SYS_PTRACE_BIT 19

/* A scan younger than this answers every lookup; one younger than
 * RESCAN_MS answers a miss too (the socket has no holder). A scan costs
 * about 5 us per descriptor in the system (0.5 s with 100k sockets), so
 * both ages are at least SCAN_RATIO times the last scan's duration: then
 * reading the pid file of every socket (or a miss after miss, for sockets
 * no process of ours holds) spends at most 1/SCAN_RATIO of its time
 * rescanning instead of a scan per second or per miss. */
#define FRESH_MS 1000
#define RESCAN_MS 100
#define SCAN_RATIO 10

/* A reader read less than this long ago is not read again if it asks with
 * the same pid, uid and gid: a reader of many pid files opens one every
 * 100 to 300 us, and reading its /proc/PID/status and ns/user was a third
 * of each open. A setuid reader asks with other ids and is read afresh;
 * one that drops a capability alone is judged by it within this long. */
#define READER_FRESH_US 1000

struct holder {
	uint32_t inode;
	uint32_t proc; /* index into procs */
	uint32_t next; /* next holder in the bucket, or NONE */
};

struct proc {
	int pid;
	char comm[16];
	uid_t uid[3]; /* real, effective, saved; -1 when unknown */
	gid_t gid[3];
	uint64_t capprm; /* its permitted capabilities */
	uid_t fd_uid;	 /* the owner of its /proc/PID/fd */
	gid_t fd_gid;
	uint64_t userns; /* the inode of its user namespace; 0: unknown */
	uid_t root_uid;	 /* root of that namespace, as the daemon sees it */
	gid_t root_gid;
};

/* A user namespace below the daemon's, as ptrace's capability checks walk
 * them: its parent (0: the daemon's, or above) and its owner. */
struct userns {
	uint64_t ino, parent;
	uid_t owner;
};

#define NONE UINT32_MAX

struct procpid {
	char dir[64];
	bool built;
	uint64_t built_ms;
	uint64_t scan_ms; /* how long the last scan took */
	uint32_t *bucket;
	size_t nbucket;
	struct holder *h;
	size_t nh, caph;
	struct proc *p;
	size_t np, capp;
	uint64_t self_userns; /* the daemon's, found at each scan */
	struct userns *ns;
	size_t nns, capns;
	struct {
		struct kind_caller who;
		uint64_t at_us; /* 0: none */
		struct procpid_reader r;
	} last; /* the reader read last: see READER_FRESH_US */
};

struct procpid *procpid_new(const char *procdir)
{
	struct procpid *pp = calloc(1, sizeof(*pp));
	if (pp)
		snprintf(pp->dir, sizeof(pp->dir), "%s", procdir);
	return pp;
}

void procpid_free(struct procpid *pp)
{
	if (!pp)
		return;
	free(pp->bucket);
	free(pp->h);
	free(pp->p);
	free(pp->ns);
	free(pp);
}

static int grow(void **arr, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return 0;
	size_t c = *cap ? *cap * 2 : 1024;
	void *p = realloc(*arr, c * size);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = c;
	return 0;
}

static int add_holder(struct procpid *pp, uint32_t inode, uint32_t proc)
{
	if (grow((void **)&pp->h, &pp->caph, pp->nh, sizeof(*pp->h)))
		return -ENOMEM;
	pp->h[pp->nh++] = (struct holder){inode, proc, NONE};
	return 0;
}

/* The /proc/PID/status of PID (relative to the /proc fd PROCFD), whole and
 * NUL-terminated: the Groups line of a process in some hundreds of groups
 * passes a page, and the capabilities come after it (cut off, they would
 * read as none). A string to free(), or NULL if it cannot be read. */
static char *read_status(int procfd, const char *pid)
{
	char path[300];
	snprintf(path, sizeof(path), "%s/status", pid);
	int fd = openat(procfd, path, O_RDONLY | O_CLOEXEC);
	size_t len = 0, size = 4096;
	char *buf = fd < 0 ? NULL : malloc(size);
	ssize_t n = 0;
	while (buf && (n = read(fd, buf + len, size - 1 - len)) > 0) {
		len += (size_t)n;
		char *more = len + 1 < size ? buf : realloc(buf, size *= 2);
		if (!more)
			free(buf);
		buf = more;
	}
	if (fd >= 0)
		close(fd);
	if (buf && (n < 0 || !len)) {
		free(buf);
		buf = NULL;
	}
	if (buf)
		buf[len] = 0;
	return buf;
}

/* The first three numbers of STATUS's line "TAG:", into V; -1 each if
 * absent (or STATUS is NULL). */
static void status_ids(const char *status, const char *tag, unsigned *v)
{
	const char *l = status ? strstr(status, tag) : NULL;
	v[0] = v[1] = v[2] = (unsigned)-1;
	if (l)
		sscanf(l + strlen(tag), "%u %u %u", &v[0], &v[1], &v[2]);
}

/* The capability set on STATUS's line "TAG:" (hex); none if absent (or
 * STATUS is NULL). */
static uint64_t status_caps(const char *status, const char *tag)
{
	const char *l = status ? strstr(status, tag) : NULL;
	unsigned long long v = 0;
	if (l)
		sscanf(l + strlen(tag), "%llx", &v);
	return v;
}

/* The inode of the user namespace of PID ("self" too), 0 if unknown. */
static uint64_t userns_ino(int procfd, const char *pid)
{
	char path[300];
	struct stat st;
	snprintf(path, sizeof(path), "%s/ns/user", pid);
	return fstatat(procfd, path, &st, 0) < 0 ? 0 : st.st_ino;
}

static const struct userns *userns_find(const struct procpid *pp, uint64_t ino)
{
	for (size_t i = 0; i < pp->nns; i++)
		if (pp->ns[i].ino == ino)
			return &pp->ns[i];
	return NULL;
}

/* Record the user namespace of PID, inode INO, and those above it up to
 * the daemon's (NS_GET_PARENT refuses to go above it): each one's parent
 * and owner. */
static void userns_add(struct procpid *pp, int procfd, const char *pid,
		       uint64_t ino)
{
	char path[300];
	struct stat st;
	snprintf(path, sizeof(path), "%s/ns/user", pid);
	int fd = openat(procfd, path, O_RDONLY | O_CLOEXEC);
	while (fd >= 0 && ino != pp->self_userns && !userns_find(pp, ino) &&
	       !grow((void **)&pp->ns, &pp->capns, pp->nns, sizeof(*pp->ns))) {
		struct userns *u = &pp->ns[pp->nns++];
		uid_t owner = (uid_t)-1;
		ioctl(fd, NS_GET_OWNER_UID, &owner);
		int up = ioctl(fd, NS_GET_PARENT);
		close(fd);
		fd = up;
		*u = (struct userns){ino, 0, owner};
		if (fd >= 0 && fstat(fd, &st) == 0)
			u->parent = ino = st.st_ino;
	}
	if (fd >= 0)
		close(fd);
}

/* The id that 0 maps to in PID's MAP ("uid_map" or "gid_map"): the root
 * of its user namespace, as the daemon sees it (0 if none: the kernel's
 * overflow is the global root then). Its line is in the first KiB: a map
 * of up to 5 lines (33 bytes each) is shown as written, a longer one
 * sorted by the first id, so that 0's comes first. */
static unsigned map_root(int procfd, const char *pid, const char *map)
{
	char path[300], text[1024];
	unsigned in, out, count, root = 0;
	snprintf(path, sizeof(path), "%s/%s", pid, map);
	int fd = openat(procfd, path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, text, sizeof(text) - 1);
	if (fd >= 0)
		close(fd);
	text[n > 0 ? n : 0] = 0;
	for (char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : l)
		if (sscanf(l, "%u %u %u", &in, &out, &count) == 3 && in == 0)
			root = out;
	return root;
}

/* What ptrace's checks need of process P (PID, its /proc/PID/fd open at
 * FD): its credentials, its user namespace, and the owner of its fd
 * directory, which the kernel makes root for a process that is not
 * dumpable. */
static void scan_creds(struct procpid *pp, int procfd, const char *pid, int fd,
		       struct proc *p)
{
	char *status = read_status(procfd, pid);
	struct stat st;
	_Static_assert(sizeof(uid_t) == sizeof(unsigned), "uid_t");
	status_ids(status, "\nUid:", (unsigned *)p->uid);
	status_ids(status, "\nGid:", (unsigned *)p->gid);
	p->capprm = status_caps(status, "\nCapPrm:");
	free(status);
	p->fd_uid = p->fd_gid = (unsigned)-1;
	if (fstat(fd, &st) == 0) {
		p->fd_uid = st.st_uid;
		p->fd_gid = st.st_gid;
	}
	p->userns = userns_ino(procfd, pid);
	p->root_uid = p->root_gid = 0;
	if (p->userns && p->userns != pp->self_userns) {
		userns_add(pp, procfd, pid, p->userns);
		p->root_uid = map_root(procfd, pid, "uid_map");
		p->root_gid = map_root(procfd, pid, "gid_map");
	}
}

/* Record the socket fds of process PID; its comm only if it has any. */
static int scan_pid(struct procpid *pp, int procfd, const char *pid)
{
	char path[300], link[64];
	snprintf(path, sizeof(path), "%s/fd", pid);
	int fd = openat(procfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return 0; /* gone, or not ours to read */
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return 0;
	}
	size_t first = pp->nh;
	struct proc *p;
	struct dirent *e;
	while ((e = readdir(d))) {
		ssize_t n = readlinkat(fd, e->d_name, link, sizeof(link) - 1);
		unsigned long ino;
		if (n <= 8 || memcmp(link, "socket:[", 8) != 0)
			continue;
		link[n] = 0;
		ino = strtoul(link + 8, NULL, 10);
		if (add_holder(pp, (uint32_t)ino, (uint32_t)pp->np) < 0)
			break;
	}
	if (pp->nh == first ||
	    grow((void **)&pp->p, &pp->capp, pp->np, sizeof(*pp->p))) {
		closedir(d);
		pp->nh = first;
		return 0;
	}
	p = &pp->p[pp->np++];
	scan_creds(pp, procfd, pid, fd, p);
	closedir(d);
	p->pid = atoi(pid);
	snprintf(path, sizeof(path), "%s/comm", pid);
	int cfd = openat(procfd, path, O_RDONLY | O_CLOEXEC);
	ssize_t n = cfd >= 0 ? read(cfd, p->comm, sizeof(p->comm) - 1) : 0;
	if (cfd >= 0)
		close(cfd);
	p->comm[n > 0 ? n : 0] = 0;
	p->comm[strcspn(p->comm, "\n")] = 0;
	return 0;
}

static int index_holders(struct procpid *pp)
{
	size_t nb = 1024;
	while (nb < pp->nh * 2)
		nb *= 2;
	uint32_t *b = realloc(pp->bucket, nb * sizeof(*b));
	if (!b)
		return -ENOMEM;
	pp->bucket = b;
	pp->nbucket = nb;
	memset(b, 0xff, nb * sizeof(*b));
	for (size_t i = 0; i < pp->nh; i++) {
		uint32_t slot = (pp->h[i].inode * 2654435761u) & (nb - 1);
		pp->h[i].next = b[slot];
		b[slot] = (uint32_t)i;
	}
	return 0;
}

static uint64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static uint64_t mono_ms(void)
{
	return mono_us() / 1000;
}

static int scan(struct procpid *pp, uint64_t now_ms)
{
	uint64_t t0 = mono_ms();
	int procfd = open(pp->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (procfd < 0)
		return -errno;
	DIR *d = fdopendir(procfd);
	if (!d) {
		close(procfd);
		return -ENOMEM;
	}
	pp->nh = pp->np = pp->nns = 0;
	pp->self_userns = userns_ino(procfd, "self");
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_name[0] >= '1' && e->d_name[0] <= '9')
			scan_pid(pp, procfd, e->d_name);
	closedir(d);
	pp->built = index_holders(pp) == 0;
	if (!pp->built)
		return -ENOMEM;
	pp->built_ms = now_ms;
	pp->scan_ms = mono_ms() - t0;
	return 0;
}

/* The age below which the table answers: BASE_MS, or longer if scans are
 * slow. */
static uint64_t young(const struct procpid *pp, uint64_t base_ms)
{
	uint64_t scaled = pp->scan_ms * SCAN_RATIO;
	return scaled > base_ms ? scaled : base_ms;
}

/* True if an earlier holder in the chain from FIRST to I has I's process:
 * a process holding one socket in several fds is listed once. */
static bool listed(const struct procpid *pp, uint32_t first, uint32_t i)
{
	for (uint32_t j = first; j != i; j = pp->h[j].next)
		if (pp->h[j].inode == pp->h[i].inode &&
		    pp->h[j].proc == pp->h[i].proc)
			return true;
	return false;
}

/* True if the reader R holds CAP of user namespace NS, as the kernel's
 * cap_capable() judges: R's own namespace by its effective set, one below
 * it that R's euid owns in full, none above or beside it. */
static bool has_cap(const struct procpid *pp, const struct procpid_reader *r,
		    uint64_t ns, int cap)
{
	for (size_t depth = 0; depth <= pp->nns; depth++) {
		if (ns == r->userns)
			return r->capeff >> cap & 1;
		const struct userns *u = userns_find(pp, ns);
		if (!u || !u->parent)
			return false;
		if (u->parent == r->userns && u->owner == r->euid)
			return true;
		ns = u->parent;
	}
	return false;
}

/* True if P may be dumpable: its fd directory has its effective ids, and
 * these are not its namespace's root, which a process that is not
 * dumpable gets instead (one cannot tell the two apart then: not). */
static bool dumpable(const struct proc *p)
{
	return p->fd_uid == p->uid[1] && p->fd_gid == p->gid[1] &&
	       !(p->uid[1] == p->root_uid && p->gid[1] == p->root_gid);
}

/* True if R could list the /proc/PID/fd of P and read its links, as `ss
 * -p` does: its own process; else the fd directory's permission (0500,
 * owner as dumpable() says, or CAP_DAC_READ_SEARCH or CAP_DAC_OVERRIDE)
 * and ptrace_may_access(PTRACE_MODE_READ_FSCREDS): R's fsuid and fsgid
 * are P's real, effective and saved ids, or R has CAP_SYS_PTRACE over P's
 * user namespace; that too if P is not dumpable; and P's permitted
 * capabilities are within R's effective ones in one namespace, or that
 * again (commoncap). P's memory's user namespace is taken to be its
 * credentials'. Other security modules are not asked. */
static bool may_see(const struct procpid *pp, const struct procpid_reader *r,
		    const struct proc *p)
{
	if (r->all || (r->known && r->tgid == p->pid))
		return true;
	if (!r->known)
		return false;
	bool tracer = has_cap(pp, r, p->userns, CAP_SYS_PTRACE_BIT);
	bool ids = true;
	for (int i = 0; i < 3; i++)
		ids = ids && p->uid[i] == r->fsuid && p->gid[i] == r->fsgid;
	if (!tracer && (!ids || !dumpable(p) || r->userns != p->userns ||
			(p->capprm & ~r->capeff)))
		return false;
	return r->fsuid == p->fd_uid ||
	       (r->capeff &
		(1u << CAP_DAC_OVERRIDE_BIT | 1u << CAP_DAC_READ_SEARCH_BIT));
}

/* Read reader WHO (a pid) from /proc into R. */
static void read_reader(const struct procpid *pp, const struct kind_caller *who,
			struct procpid_reader *r)
{
	char pid[sizeof(pp->dir) + 16];
	unsigned ids[3];
	/* by path: no descriptor of the /proc directory to open and close
	 * for each open of a pid file */
	snprintf(pid, sizeof(pid), "%s/%d", pp->dir, (int)who->pid);
	char *status = read_status(AT_FDCWD, pid);
	r->known = status != NULL;
	r->userns = userns_ino(AT_FDCWD, pid);
	const char *l = status ? strstr(status, "\nTgid:") : NULL;
	r->tgid = l ? atoi(l + 6) : 0;
	status_ids(status, "\nUid:", ids);
	r->euid = ids[1];
	r->fsuid = who->uid;
	r->fsgid = who->gid;
	r->capeff = status_caps(status, "\nCapEff:");
	free(status);
}

void procpid_reader(struct procpid *pp, const struct kind_caller *who,
		    struct procpid_reader *r)
{
	*r = (struct procpid_reader){.all = !who};
	if (!who || who->pid <= 0)
		return;
	uint64_t now = mono_us();
	if (pp->last.at_us && now - pp->last.at_us < READER_FRESH_US &&
	    pp->last.who.pid == who->pid && pp->last.who.uid == who->uid &&
	    pp->last.who.gid == who->gid) {
		*r = pp->last.r;
		return;
	}
	read_reader(pp, who, r);
	pp->last.who = *who;
	pp->last.at_us = now;
	pp->last.r = *r;
}

/* The holders of INODE in the table that R may see, a line each, after
 * PREFIX and a space when PREFIX is not NULL; *SHOWN is how many lines.
 * Returns how many holders there are, seen or not. */
static int render_from_table(struct procpid *pp, uint32_t inode,
			     const struct procpid_reader *r, const char *prefix,
			     int *shown, struct buf *out)
{
	int found = 0;
	uint32_t first = pp->bucket[(inode * 2654435761u) & (pp->nbucket - 1)];
	for (uint32_t i = first; i != NONE; i = pp->h[i].next) {
		if (pp->h[i].inode != inode || listed(pp, first, i))
			continue;
		const struct proc *p = &pp->p[pp->h[i].proc];
		found++;
		if (!may_see(pp, r, p))
			continue;
		if (prefix)
			buf_printf(out, "%s ", prefix);
		buf_printf(out, "%d %s\n", p->pid, p->comm);
		(*shown)++;
	}
	return found;
}

int procpid_refresh(struct procpid *pp, uint64_t now_ms)
{
	if (pp->built && now_ms - pp->built_ms < young(pp, FRESH_MS))
		return 0;
	return scan(pp, now_ms);
}

/* The holders of INODE that R may see, a line each after PREFIX (as
 * render_from_table()) into OUT, *SHOWN how many: from the table, and a
 * miss in one older than RESCAN_MS from a new scan. Returns 0, or the
 * scan's -errno. */
static int holders(struct procpid *pp, uint32_t inode,
		   const struct procpid_reader *r, const char *prefix,
		   uint64_t now_ms, int *shown, struct buf *out)
{
	if (pp->built && (render_from_table(pp, inode, r, prefix, shown, out) ||
			  now_ms - pp->built_ms < young(pp, RESCAN_MS)))
		return 0;
	int err = scan(pp, now_ms);
	if (err == 0)
		render_from_table(pp, inode, r, prefix, shown, out);
	return err;
}

int procpid_holders(struct procpid *pp, uint32_t inode,
		    const struct procpid_reader *r, const char *prefix,
		    uint64_t now_ms, struct buf *out)
{
	int shown = 0;
	holders(pp, inode, r, prefix, now_ms, &shown, out);
	return shown;
}

int procpid_render(struct procpid *pp, uint32_t inode,
		   const struct kind_caller *who, uint64_t now_ms,
		   struct buf *out)
{
	struct procpid_reader r;
	int shown = 0;
	int err = procpid_refresh(pp, now_ms);
	if (err < 0)
		return err;
	procpid_reader(pp, who, &r);
	err = holders(pp, inode, &r, NULL, now_ms, &shown, out);
	return err < 0 ? err : out->err;
}
