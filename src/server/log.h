/*
 * ferryd's log: one line per event on standard error, "ferryd: <message>". Each line is
 * written with a single write(2), so lines from concurrent connection processes never
 * interleave; control characters in the message (a user name or reason that came off
 * the wire) are shown as '?', so a peer cannot forge a second line.
 */
#ifndef FERRY_SERVER_LOG_H
#define FERRY_SERVER_LOG_H

#include <stddef.h>
#include <sys/socket.h>

/* The same values as enum ferryd_log_level (server/settings.h). */
enum srv_log_level {
	SRV_LOG_ERROR = 0,
	SRV_LOG_WARN = 1,
	SRV_LOG_INFO = 2,
	SRV_LOG_DEBUG = 3,
};

/* Longest line written (longer messages are cut and end in "..."). */
#define SRV_LOG_MAX_LINE 1024u

/* Lines above level are dropped. The default is SRV_LOG_INFO. */
void srv_log_set_level(enum srv_log_level level);

/* Log one line at level. */
void srv_log(enum srv_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Text forms of a peer address: "IP:PORT" (IPv6 as "[IP]:PORT") and the IP alone (the
 * rate-limit scope). Always NUL-terminated; "?" for an unknown family.
 */
#define SRV_ADDR_MAX 64u
void srv_addr_format(const struct sockaddr *sa, socklen_t len, char *hostport, size_t hp_size,
    char *ip, size_t ip_size);

#endif
