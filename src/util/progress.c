#include "util/progress.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LABEL_MAX        24
#define LINE_MAX_LEN     128
#define REDRAW_NSEC      100000000LL	/* 10 redraws a second at most */

struct progress {
	char label[LABEL_MAX + 1];
	uint64_t total;
	uint64_t done;
	struct timespec start;
	struct timespec last_draw;
	size_t last_len;	/* of the line on screen, to blank what a shorter one leaves */
	bool open_line;		/* a line is on screen without its newline */
};

static long long
elapsed_ns(const struct timespec *from, const struct timespec *to)
{
	return (long long)(to->tv_sec - from->tv_sec) * 1000000000LL +
	    (to->tv_nsec - from->tv_nsec);
}

static void
format_bytes(char *dst, size_t cap, double n)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	size_t u = 0;

	while (n >= 1024.0 && u + 1 < sizeof(units) / sizeof(units[0])) {
		n /= 1024.0;
		u++;
	}
	if (u == 0)
		snprintf(dst, cap, "%.0f %s", n, units[u]);
	else
		snprintf(dst, cap, "%.1f %s", n, units[u]);
}

static void
format_duration(char *dst, size_t cap, double secs)
{
	unsigned long long s;

	if (secs < 0 || secs > 360000.0) {
		snprintf(dst, cap, "--:--");
		return;
	}
	s = (unsigned long long)(secs + 0.5);
	if (s >= 3600)
		snprintf(dst, cap, "%llu:%02llu:%02llu", s / 3600, s / 60 % 60, s % 60);
	else
		snprintf(dst, cap, "%llu:%02llu", s / 60, s % 60);
}

static void
write_all_stderr(const char *s, size_t n)
{
	ssize_t r;

	while (n > 0) {
		r = write(STDERR_FILENO, s, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return;	/* a display that cannot be written is simply not shown */
		s += r;
		n -= (size_t)r;
	}
}

static void
draw(struct progress *p, const struct timespec *now, bool final)
{
	char line[LINE_MAX_LEN + 2], done[16], total[16], rate[24], eta[32];
	double secs, bps;
	size_t len;
	int n;

	secs = (double)elapsed_ns(&p->start, now) / 1e9;
	bps = secs > 0.001 ? (double)p->done / secs : 0.0;
	format_bytes(done, sizeof(done), (double)p->done);
	if (bps > 0.0) {
		format_bytes(total, sizeof(total), bps);
		snprintf(rate, sizeof(rate), "%s/s", total);
	} else
		snprintf(rate, sizeof(rate), "--/s");

	if (final)
		format_duration(eta, sizeof(eta), secs);
	else if (p->total != 0 && bps > 0.0 && p->done <= p->total)
		format_duration(eta, sizeof(eta), (double)(p->total - p->done) / bps);
	else
		snprintf(eta, sizeof(eta), "--:--");

	if (p->total != 0) {
		unsigned pct = p->done >= p->total ? 100 :
		    (unsigned)((double)p->done * 100.0 / (double)p->total);

		format_bytes(total, sizeof(total), (double)p->total);
		n = snprintf(line, sizeof(line), "\r%s  %s / %s  %3u%%  %s  %s%s", p->label,
		    done, total, pct, rate, final ? "in " : "ETA ", eta);
	} else {
		n = snprintf(line, sizeof(line), "\r%s  %s  %s%s%s", p->label, done, rate,
		    final ? "  in " : "", final ? eta : "");
	}
	if (n < 0)
		return;
	len = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
	/* Blank what is left of a longer earlier line. */
	while (len < p->last_len + 1 && len < LINE_MAX_LEN)
		line[len++] = ' ';
	p->last_len = len - 1;
	if (final)
		line[len++] = '\n';
	write_all_stderr(line, len);
	p->open_line = !final;
	p->last_draw = *now;
}

struct progress *
progress_new(const char *label, uint64_t total, bool enabled)
{
	struct progress *p;
	size_t n;

	if (!enabled)
		return NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	if (label == NULL)
		label = "";
	/* Keep the end of a long name: that is the part that tells files apart. */
	n = strlen(label);
	if (n > LABEL_MAX)
		snprintf(p->label, sizeof(p->label), "...%s", label + n - (LABEL_MAX - 3));
	else
		snprintf(p->label, sizeof(p->label), "%s", label);
	p->total = total;
	clock_gettime(CLOCK_MONOTONIC, &p->start);
	p->last_draw = p->start;
	return p;
}

void
progress_update(struct progress *p, uint64_t done)
{
	struct timespec now;

	if (p == NULL)
		return;
	p->done = done;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (elapsed_ns(&p->last_draw, &now) >= REDRAW_NSEC)
		draw(p, &now, false);
}

void
progress_finish(struct progress *p)
{
	struct timespec now;

	if (p == NULL)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	draw(p, &now, true);
}

void
progress_free(struct progress *p)
{
	if (p == NULL)
		return;
	if (p->open_line)
		write_all_stderr("\n", 1);
	free(p);
}
