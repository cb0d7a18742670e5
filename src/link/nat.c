/* --nat: IPv4 forwarding and an nftables masquerade table, undone at exit.
 * nft(8) does the work: its netlink protocol is not worth rewriting. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tcpfs/log.h"
#include "tcpfs/nat.h"

#define FORWARD "/proc/sys/net/ipv4/ip_forward"

struct nat {
	char table[32];
	char forward; /* ip_forward before: '0' or '1' */
};

/* Run nft with SCRIPT on its standard input; 0 or -1. */
static int nft(const char *script)
{
	int fd[2];
	if (pipe(fd) < 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		sigset_t none; /* the daemon blocks its stop signals: nft not */
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		dup2(fd[0], 0);
		close(fd[0]);
		close(fd[1]);
		execlp("nft", "nft", "-f", "-", (char *)NULL);
		_exit(127);
	}
	close(fd[0]);
	if (pid > 0 && write(fd[1], script, strlen(script)) < 0)
		tlog(LOG_WARNING, "nat: writing to nft: %s", strerror(errno));
	close(fd[1]);
	int status = 0;
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static int write_forward(char value)
{
	int fd = open(FORWARD, O_WRONLY | O_CLOEXEC);
	int ret = fd >= 0 && write(fd, &value, 1) == 1 ? 0 : -1;
	if (fd >= 0)
		close(fd);
	return ret;
}

struct nat *nat_open(const char *dev, struct in_addr net, unsigned prefix,
		     char *why, size_t whylen)
{
	char script[1024], addr[INET_ADDRSTRLEN];
	struct nat *n = calloc(1, sizeof(*n));
	int fd = open(FORWARD, O_RDONLY | O_CLOEXEC);

	if (!n || fd < 0 || read(fd, &n->forward, 1) != 1) {
		snprintf(why, whylen, "--nat: %s: %s", FORWARD,
			 strerror(errno));
		if (fd >= 0)
			close(fd);
		free(n);
		return NULL;
	}
	close(fd);
	snprintf(n->table, sizeof(n->table), "tcpfs_%s", dev);
	inet_ntop(AF_INET, &net, addr, sizeof(addr));
	snprintf(script, sizeof(script),
		 "table ip %s {\n"
		 " chain masq { type nat hook postrouting priority srcnat;\n"
		 "  ip saddr %s/%u oifname != \"%s\" masquerade; }\n"
		 " chain pass { type filter hook forward priority filter;\n"
		 "  iifname \"%s\" accept;\n"
		 "  oifname \"%s\" ct state established,related accept; }\n"
		 "}\n",
		 n->table, addr, prefix, dev, dev, dev);
	if (nft(script) < 0) {
		snprintf(why, whylen,
			 "--nat: nft could not load table %s "
			 "(is nftables installed?)",
			 n->table);
		free(n);
		return NULL;
	}
	if (write_forward('1') < 0) {
		snprintf(why, whylen, "--nat: cannot turn on %s", FORWARD);
		nat_close(n);
		return NULL;
	}
	tlog(LOG_NOTICE,
	     "nat: %s/%u masqueraded (nft table ip %s); "
	     "ip_forward on",
	     addr, prefix, n->table);
	return n;
}

void nat_close(struct nat *n)
{
	char script[64];
	if (!n)
		return;
	snprintf(script, sizeof(script), "delete table ip %s\n", n->table);
	if (nft(script) < 0)
		tlog(LOG_WARNING, "nat: could not delete nft table %s",
		     n->table);
	if (n->forward != '1' && write_forward(n->forward) < 0)
		tlog(LOG_WARNING, "nat: could not restore %s", FORWARD);
	free(n);
}
