/* Socket inode -> holding processes, from one scan of /proc/PID/fd. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tcpfs/procpid.h"

/* CAP_SYS_PTRACE's bit in /proc/PID/status's CapEff. */
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

/* Read the /proc/PID/status of PID (relative to the /proc fd PROCFD) into
 * BUF, NUL-terminated; 0 or -1. */
static int read_status(int procfd, const char *pid, char *buf, size_t size)
{
	char path[300];
	snprintf(path, sizeof(path), "%s/status", pid);
	int fd = openat(procfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, size - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	return n > 0 ? 0 : -1;
}

/* The first three numbers of STATUS's line "TAG:", into V; -1 each if
 * absent. */
static void status_ids(const char *status, const char *tag, unsigned *v)
{
	const char *l = strstr(status, tag);
	v[0] = v[1] = v[2] = (unsigned)-1;
	if (l)
		sscanf(l + strlen(tag), "%u %u %u", &v[0], &v[1], &v[2]);
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
	closedir(d);
	if (pp->nh == first ||
	    grow((void **)&pp->p, &pp->capp, pp->np, sizeof(*pp->p))) {
		pp->nh = first;
		return 0;
	}
	struct proc *p = &pp->p[pp->np++];
	p->pid = atoi(pid);
	snprintf(path, sizeof(path), "%s/comm", pid);
	int cfd = openat(procfd, path, O_RDONLY | O_CLOEXEC);
	ssize_t n = cfd >= 0 ? read(cfd, p->comm, sizeof(p->comm) - 1) : 0;
	if (cfd >= 0)
		close(cfd);
	p->comm[n > 0 ? n : 0] = 0;
	p->comm[strcspn(p->comm, "\n")] = 0;
	char status[4096] = "";
	read_status(procfd, pid, status, sizeof(status));
	_Static_assert(sizeof(uid_t) == sizeof(unsigned), "uid_t");
	status_ids(status, "\nUid:", (unsigned *)p->uid);
	status_ids(status, "\nGid:", (unsigned *)p->gid);
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

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
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
	pp->nh = pp->np = 0;
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

/* True if WHO may read the /proc/PID/fd of P, as ptrace(2)'s access mode
 * PTRACE_MODE_READ_FSCREDS (and so ss -p) needs: root, CAP_SYS_PTRACE
 * (PTRACER), or the same uid and gid as P's real, effective and saved
 * ones. /proc's hidepid only hides what this already refuses. */
static bool may_see(const struct kind_caller *who, bool ptracer,
		    const struct proc *p)
{
	if (!who || who->uid == 0 || ptracer)
		return true;
	for (int i = 0; i < 3; i++)
		if (p->uid[i] != who->uid || p->gid[i] != who->gid)
			return false;
	return true;
}

/* True if process WHO->pid has CAP_SYS_PTRACE in its effective set. */
bool procpid_ptracer(const struct procpid *pp, const struct kind_caller *who)
{
	char pid[16], status[4096];
	unsigned long long cap = 0;
	if (!who || who->pid <= 0)
		return false;
	int procfd = open(pp->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (procfd < 0)
		return false;
	snprintf(pid, sizeof(pid), "%d", (int)who->pid);
	int err = read_status(procfd, pid, status, sizeof(status));
	close(procfd);
	const char *l = err ? NULL : strstr(status, "\nCapEff:");
	return l && sscanf(l + 8, "%llx", &cap) == 1 &&
	       (cap >> CAP_SYS_PTRACE_BIT & 1);
}

/* The holders of INODE in the table that WHO may see (PTRACER: WHO has
 * CAP_SYS_PTRACE), a line each, after PREFIX and a space when PREFIX is
 * not NULL; *SHOWN is how many lines. Returns how many holders there are,
 * seen or not. */
static int render_from_table(struct procpid *pp, uint32_t inode,
			     const struct kind_caller *who, bool ptracer,
			     const char *prefix, int *shown, struct buf *out)
{
	int found = 0;
	uint32_t first = pp->bucket[(inode * 2654435761u) & (pp->nbucket - 1)];
	for (uint32_t i = first; i != NONE; i = pp->h[i].next) {
		if (pp->h[i].inode != inode || listed(pp, first, i))
			continue;
		const struct proc *p = &pp->p[pp->h[i].proc];
		found++;
		if (!may_see(who, ptracer, p))
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

int procpid_holders(struct procpid *pp, uint32_t inode,
		    const struct kind_caller *who, bool ptracer,
		    const char *prefix, struct buf *out)
{
	int shown = 0;
	if (pp->built)
		render_from_table(pp, inode, who, ptracer, prefix, &shown, out);
	return shown;
}

int procpid_render(struct procpid *pp, uint32_t inode,
		   const struct kind_caller *who, uint64_t now_ms,
		   struct buf *out)
{
	bool ptracer = procpid_ptracer(pp, who);
	int shown = 0;
	int err = procpid_refresh(pp, now_ms);
	if (err < 0)
		return err;
	uint64_t age = now_ms - pp->built_ms;
	if (render_from_table(pp, inode, who, ptracer, NULL, &shown, out) ||
	    age < young(pp, RESCAN_MS))
		return out->err;
	if ((err = scan(pp, now_ms)) < 0)
		return err;
	render_from_table(pp, inode, who, ptracer, NULL, &shown, out);
	return out->err;
}
