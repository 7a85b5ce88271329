#include "server/log.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>


static enum srv_log_level current_level = SRV_LOG_INFO;

void
srv_log_set_level(enum srv_log_level level)
{
	current_level = level;
}

void
srv_log(enum srv_log_level level, const char *fmt, ...)
{
	static const char prefix[] = "ferryd: ";
	char msg[SRV_LOG_MAX_LINE], line[SRV_LOG_MAX_LINE + sizeof(prefix) + 1];
	size_t n = 0;
	va_list ap;
	int len;

	if (level > current_level)
		return;
	va_start(ap, fmt);
	len = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (len < 0)
		return;
	if ((size_t)len >= sizeof(msg))
		memcpy(msg + sizeof(msg) - 4, "...", 4);
	memcpy(line, prefix, sizeof(prefix) - 1);
	n = sizeof(prefix) - 1;
	for (const char *p = msg; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		line[n++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	line[n++] = '\n';
	/* One write per line; a short write to a pipe this small does not happen. */
	(void)!write(STDERR_FILENO, line, n);
}

void
srv_addr_format(const struct sockaddr *sa, socklen_t len, char *hostport, size_t hp_size,
    char *ip, size_t ip_size)
{
	char addr[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;
	bool v6 = false;

	if (sa != NULL && sa->sa_family == AF_INET &&
	    len >= (socklen_t)sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)sa;

		inet_ntop(AF_INET, &s4->sin_addr, addr, sizeof(addr));
		port = ntohs(s4->sin_port);
	} else if (sa != NULL && sa->sa_family == AF_INET6 &&
	    len >= (socklen_t)sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)sa;

		inet_ntop(AF_INET6, &s6->sin6_addr, addr, sizeof(addr));
		port = ntohs(s6->sin6_port);
		v6 = true;
	}
	if (ip != NULL && ip_size > 0)
		snprintf(ip, ip_size, "%s", addr);
	if (hostport != NULL && hp_size > 0)
		snprintf(hostport, hp_size, v6 ? "[%s]:%u" : "%s:%u", addr, port);
}
