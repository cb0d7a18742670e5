/* tcpfs options: the daemon's own command line options (FUSE's are
 * fuse_parse_cmdline's), each given as --NAME=VALUE or --NAME VALUE. */
#ifndef TCPFS_OPTIONS_H
#define TCPFS_OPTIONS_H

#define FUSE_USE_VERSION 34
#include <fuse_opt.h>
#include <stdbool.h>

#include "tcpfs/tundrv.h"

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
	X(IMPAIR, "impair")

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
};

struct options {
	char *val[OPT_COUNT]; /* as given, or NULL */
	bool no_engine;	      /* --no-engine */
	bool nat;	      /* --nat */
};

/* Take tcpfs's options out of ARGS into OPT; 0, or -1 on ENOMEM. */
int options_parse(struct fuse_args *args, struct options *opt);
/* Fill CFG with the defaults: engine on, driver defaults, reap 300 s. */
void options_config_default(struct tcpfs_config *cfg);
/* Turn OPT into CFG (over its defaults); 0, or -1 after saying why. */
int options_config(const struct options *opt, struct tcpfs_config *cfg);
/* Print the options' help. */
void options_help(void);
/* Free what options_parse() kept. */
void options_free(struct options *opt);

#endif
