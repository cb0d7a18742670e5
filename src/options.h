/* options: the daemon's own command line options (FUSE's are
 * fuse_parse_cmdline's), each given as --NAME=VALUE, --NAME VALUE or, as
 * mount(8) and fstab give them, -o NAME=VALUE. */
#ifndef TCPFS_OPTIONS_H
#define TCPFS_OPTIONS_H

#define FUSE_USE_VERSION 34
#include <fuse_opt.h>
#include <stdbool.h>

#include "tcpfs/tundrv.h"

/* Each matched by its whole name (options.c). */
#define OPTIONS(X)                                                             \
	X(NETNS, "netns")                                                      \
	X(TUN, "tun")                                                          \
	X(MTU, "mtu")                                                          \
	X(HOST4, "host4")                                                      \
	X(ENGINE4, "engine4")                                                  \
	X(HOST6, "host6")                                                      \
	X(ENGINE6, "engine6")                                                  \
	X(MSL, "msl")                                                          \
	X(SYN_RETRIES, "syn-retries")                                          \
	X(REAP, "reap")                                                        \
	X(ENGINE_CONNS, "engine-conns-max")                                    \
	X(ENGINE_CONNS_UID, "engine-conns-uid")                                \
	X(ENGINE_MEM, "engine-mem-max")                                        \
	X(ENGINE_MEM_UID, "engine-mem-uid")                                    \
	X(IMPAIR, "impair")                                                    \
	X(OFFLOAD, "offload")                                                  \
	X(PORTS, "ports")                                                      \
	X(TW_REUSE, "tw-reuse")                                                \
	X(LOG, "log")

enum option_id {
#define OPT_ENUM(id, name) OPT_##id,
	OPTIONS(OPT_ENUM)
#undef OPT_ENUM
		OPT_COUNT
};

/* What the options set, part by part; main.c hands each part its own. */
struct tcpfs_config {
	bool engine;		  /* run the userspace engine on a TUN link */
	struct tundrv_config drv; /* the engine's driver and link */
	tcp_time reap;		  /* closed engine connections live this long */
	bool ascii;		  /* ladders in ASCII, whatever the locale */
};

struct options {
	char *val[OPT_COUNT]; /* as given, or NULL */
	bool no_engine;	      /* --no-engine */
	bool nat;	      /* --nat */
	bool ascii;	      /* --ascii */
	bool upgrade_probe;   /* --upgrade-probe (upgrade_probe()) */
	int nonopts;	      /* words that are not options, seen so far */
	char *source;	      /* the first of them, until a second comes */
};

/**
 * options_parse - take tcpfs's options out of the command line
 * \param args: the command line; FUSE's options and the mount point stay
 *              in it. Of two words that are not options, as mount.fuse3
 *              passes them (SOURCE MOUNTPOINT), the first is dropped.
 * \param opt: filled; free with options_free()
 * Returns 0, or -1 on ENOMEM or a "--NAME" without its value (said in
 * the log).
 */
int options_parse(struct fuse_args *args, struct options *opt);
/**
 * options_config_default - the defaults
 * \param cfg: filled: engine on, tundrv defaults, reap 300 s
 */
void options_config_default(struct tcpfs_config *cfg);
/**
 * options_config - turn the options into each part's config
 * \param opt: as options_parse() filled it
 * \param cfg: changed where an option says
 * Returns 0, or -1 after logging what is wrong.
 */
int options_config(const struct options *opt, struct tcpfs_config *cfg);
/**
 * options_help - print the options' help to stdout
 */
void options_help(void);
/**
 * options_free - free what options_parse() kept
 * \param opt: it
 */
void options_free(struct options *opt);

#endif
