/* libFuzzer target for writes through src/fs: the real FUSE operations
 * (fs_ops) over the fs unit tests' fake kind and fake libfuse
 * (tests/unit/fs_harness.c, fake_fuse.c). Every file is written: each
 * connection's ctl (src/model/ctl.c's grammar, then the kind's verb), its
 * stream "pipe", the fixed files "make" and "clone" (the ctl of the
 * connection each of its opens makes), and the read-only ones (note,
 * status, err, events, a scope's info), by root, the owner and a stranger,
 * opened or not, between feeds, wake-ups, rmdir, interrupts and reads. The
 * input is a script of records, the first byte choosing the plain or the
 * per-reader kind:
 *
 *   0 FILE UID LEN BYTES...  write (FILE and UID index the tables below)
 *   1 FILE UID FLAGS         open (a second open of FILE releases the first)
 *   2 FILE                   release
 *   3 CONN LEN BYTES...      feed CONN's pipe and wake its readers
 *   4 CONN ROOM              let CONN's pipe take ROOM bytes, toggle its
 *                            "connected", wake it
 *   5 CONN UID               rmdir
 *   6                        interrupt the oldest unanswered request
 *   7 FILE SIZE              read
 *
 * Every request is answered at most once, a write never says it wrote more
 * than it was given, and nothing leaks or trips a sanitizer.
 *
 *   CC=clang meson setup build-fuzz -Dfuzz=true \
 *	-Db_sanitize=address,undefined -Db_lundef=false
 *   ninja -C build-fuzz && cp -r tests/fuzz/corpus/fs /tmp/corpus
 *   build-fuzz/tests/fuzz/fuzz_fs -max_total_time=300 /tmp/corpus */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fs_harness.h"
#include "tcpfs/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NCONNS 3
#define MAXREQS 64

static const char *const paths[] = {
	"fake/c0/ctl",	     "fake/c1/ctl", "fake/c2/ctl",  "fake/c0/pipe",
	"fake/c1/pipe",	     "fake/make",   "fake/c0/note", "fake/c0/status",
	"fake/c0/err",	     "events",	    "sc/7/info",    "sc/7/fake/c0/ctl",
	"sc/9/fake/c1/pipe", "fake/clone",
};
#define NFILES (sizeof(paths) / sizeof(paths[0]))
static const uid_t uids[] = {0, 1000, 65534};
static const int flags[] = {O_WRONLY,
			    O_RDWR,
			    O_RDONLY,
			    O_WRONLY | O_NONBLOCK,
			    O_RDWR | O_NONBLOCK,
			    O_WRONLY | O_TRUNC};

static struct {
	struct harness h;
	fuse_ino_t ino[NFILES];
	struct fuse_file_info fi[NFILES];
	bool open[NFILES];
	struct {
		fuse_req_t req;
		size_t size; /* of a write */
	} reqs[MAXREQS];
	int nreqs;
	const uint8_t *p, *end;
} F;

static void check(int ok)
{
	if (!ok)
		abort();
}

static bool take(size_t n)
{
	return (size_t)(F.end - F.p) >= n;
}

static unsigned byte(void)
{
	return take(1) ? *F.p++ : 0;
}

/* Free the requests that were answered, checking their answers. */
static void sweep(void)
{
	for (int i = 0; i < F.nreqs;) {
		fuse_req_t r = F.reqs[i].req;
		check(r->replies <= 1);
		check(r->reply != FAKE_WRITE || r->written <= F.reqs[i].size);
		if (!r->replies) {
			i++;
			continue;
		}
		fake_free(r);
		F.reqs[i] = F.reqs[--F.nreqs];
	}
}

/* Keep REQ until it is answered. */
static void keep(fuse_req_t req, size_t size)
{
	F.reqs[F.nreqs].req = req;
	F.reqs[F.nreqs++].size = size;
	sweep();
}

/* LEN bytes of the input, fewer if it ends first. */
static size_t bytes(size_t len)
{
	return take(len) ? len : (size_t)(F.end - F.p);
}

static void op_write_bytes(void)
{
	unsigned f = byte() % NFILES, u = byte() % 3;
	size_t len = bytes(byte());
	fuse_req_t req = fake_req(F.h.fs, uids[u]);
	fs_ops.write(req, F.ino[f], (const char *)F.p, len, 0, &F.fi[f]);
	F.p += len;
	keep(req, len);
}

static void release(unsigned f)
{
	if (F.open[f])
		op_release(&F.h, F.ino[f], &F.fi[f]);
	F.open[f] = false;
	memset(&F.fi[f], 0, sizeof(F.fi[f]));
}

static void op_open_file(void)
{
	unsigned f = byte() % NFILES, u = byte() % 3;
	int fl = flags[byte() % (sizeof(flags) / sizeof(flags[0]))], err;
	release(f);
	F.fi[f] = open_as(&F.h, F.ino[f], fl, uids[u], &err);
	F.open[f] = err == 0;
	sweep();
}

static void op_release_file(void)
{
	release(byte() % NFILES);
	sweep();
}

static void op_feed(void)
{
	struct fconn *fc = &F.h.fk.c[byte() % NCONNS];
	size_t len = bytes(byte());
	if (len > sizeof(fc->in) - fc->in_len)
		len = sizeof(fc->in) - fc->in_len;
	memcpy(fc->in + fc->in_len, F.p, len);
	fc->in_len += len;
	F.p += len;
	waitq_wake(&fc->wq);
	sweep();
}

static void op_room(void)
{
	unsigned i = byte() % NCONNS;
	struct fconn *fc = &F.h.fk.c[i];
	fc->room = byte();
	fc->out_len = 0; /* the peer took it all */
	fc->connected = !fc->connected;
	harness_wake(&F.h, (int)i);
	sweep();
}

static void op_rmdir_conn(void)
{
	static const char *const names[] = {"c0", "c1", "c2"};
	unsigned i = byte() % NCONNS, u = byte() % 3;
	keep(op_rmdir(&F.h, ino_of(&F.h, "fake"), names[i], uids[u]), 0);
}

static void op_interrupt(void)
{
	for (int i = 0; i < F.nreqs; i++)
		if (!F.reqs[i].req->interrupted) {
			fake_interrupt(F.reqs[i].req);
			break;
		}
	sweep();
}

static void op_read_file(void)
{
	unsigned f = byte() % NFILES;
	keep(op_read(&F.h, F.ino[f], &F.fi[f], byte() + 1, 0), 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static void (*const ops[])(void) = {
		op_write_bytes, op_open_file,  op_release_file, op_feed,
		op_room,	op_rmdir_conn, op_interrupt,	op_read_file,
	};
	static bool quiet;
	if (!quiet) /* fs logs refusals: not to the fuzzer's terminal */
		quiet = log_to_file("/dev/null") == 0;
	if (!size)
		return 0;
	memset(&F, 0, sizeof(F));
	F.p = data + 1;
	F.end = data + size;
	if (data[0] & 1)
		harness_init_per_reader(&F.h, NCONNS);
	else
		harness_init(&F.h, NCONNS);
	for (size_t f = 0; f < NFILES; f++)
		F.ino[f] = ino_of(&F.h, paths[f]);
	while (take(1) && F.nreqs < MAXREQS)
		ops[byte() % 8]();
	for (size_t f = 0; f < NFILES; f++)
		release((unsigned)f);
	sweep();
	harness_fini(&F.h); /* drops the requests still parked */
	check(F.h.fk.streams == 0);
	for (int i = 0; i < F.nreqs; i++) {
		check(F.reqs[i].req->replies == 0);
		fake_free(F.reqs[i].req);
	}
	return 0;
}
