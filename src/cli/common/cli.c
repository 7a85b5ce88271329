#include "cli/common/cli.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/common/prompt.h"
#include "util/err.h"

static const char *progname = "ferry";

static void
on_fatal_signal(int sig)
{
	const char *tmp = atomic_file_pending();

	if (tmp != NULL)
		unlink(tmp);
	prompt_restore_tty();
	_exit(128 + sig);
}

void
cli_init(const char *name)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction sa, old;

	progname = name;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_fatal_signal;
	/* One handler at a time: a second signal must not interrupt the cleanup. */
	sigfillset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		/* A signal ignored on entry (nohup, a background job) stays ignored. */
		if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
			continue;
		sigaction(sigs[i], &sa, NULL);
	}
}

const char *
cli_progname(void)
{
	return progname;
}

/* Write s to stderr on one line: a newline in a file name must not forge a second one. */
static void
put_sanitized(const char *s)
{
	for (; *s != '\0'; s++)
		fputc(iscntrl((unsigned char)*s) ? '?' : *s, stderr);
}

int
cli_error(int err)
{
	fprintf(stderr, "%s: ", progname);
	put_sanitized(ferry_error_detail(err));
	fputc('\n', stderr);
	return err == FERRY_ERR_USAGE ? CLI_EXIT_USAGE : CLI_EXIT_FAIL;
}

int
cli_usage_error(const char *cmd, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: ", progname);
	if (cmd != NULL)
		fprintf(stderr, "%s: ", cmd);
	put_sanitized(msg);
	if (cmd != NULL)
		fprintf(stderr, " (try '%s %s --help')\n", progname, cmd);
	else
		fprintf(stderr, " (try '%s --help')\n", progname);
	return CLI_EXIT_USAGE;
}

int
cli_getopt_error(const char *cmd, int c, char **argv)
{
	const char *arg = optind > 0 ? argv[optind - 1] : "";
	char shortopt[3] = { '-', (char)optopt, '\0' };
	const char *name;

	/* A long option is named by its argument word; a short one by optopt, since the
	 * word may be a cluster such as "-qx". */
	if (strncmp(arg, "--", 2) == 0 || optopt <= 0 || optopt > 127 || !isgraph(optopt))
		name = arg;
	else
		name = shortopt;
	if (c == ':')
		return cli_usage_error(cmd, "option '%s' needs a value", name);
	/* glibc reports a known long option given "=value" it does not take with its val. */
	if (name == arg && optopt != 0 && strchr(arg, '=') != NULL)
		return cli_usage_error(cmd, "option '%.*s' takes no value",
		    (int)(strchr(arg, '=') - arg), arg);
	return cli_usage_error(cmd, "unknown option '%s'", name);
}

static int
parse_digits(const char *opt, const char *s, uint64_t *v, char **end)
{
	unsigned long long n;

	/* strtoull would accept leading blanks, a sign and "0x"; a count is digits only. */
	if (!isdigit((unsigned char)s[0]))
		return ferry_fail(FERRY_ERR_USAGE, "%s: '%s' is not a number", opt, s);
	errno = 0;
	n = strtoull(s, end, 10);
	if (errno == ERANGE || n > UINT64_MAX)
		return ferry_fail(FERRY_ERR_USAGE, "%s: '%s' is too large", opt, s);
	*v = n;
	return 0;
}

int
cli_parse_uint(const char *opt, const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	char *end;
	int r;

	if ((r = parse_digits(opt, s, &v, &end)) != 0)
		return r;
	if (*end != '\0')
		return ferry_fail(FERRY_ERR_USAGE, "%s: '%s' is not a number", opt, s);
	if (v < min || v > max)
		return ferry_fail(FERRY_ERR_USAGE, "%s: %s is out of range (%llu to %llu)", opt,
		    s, (unsigned long long)min, (unsigned long long)max);
	*out = v;
	return 0;
}

int
cli_parse_size(const char *opt, const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	static const struct {
		const char *suffix;
		unsigned shift;
	} suffixes[] = {
		{ "", 0 },
		{ "K", 10 }, { "k", 10 }, { "KiB", 10 },
		{ "M", 20 }, { "m", 20 }, { "MiB", 20 },
		{ "G", 30 }, { "g", 30 }, { "GiB", 30 },
	};
	uint64_t v = 0;
	char *end;
	int r;

	if ((r = parse_digits(opt, s, &v, &end)) != 0)
		return r;
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		if (strcmp(end, suffixes[i].suffix) != 0)
			continue;
		if (v > (UINT64_MAX >> suffixes[i].shift))
			return ferry_fail(FERRY_ERR_USAGE, "%s: '%s' is too large", opt, s);
		v <<= suffixes[i].shift;
		if (v < min || v > max)
			return ferry_fail(FERRY_ERR_USAGE,
			    "%s: %s is out of range (%llu to %llu bytes)", opt, s,
			    (unsigned long long)min, (unsigned long long)max);
		*out = v;
		return 0;
	}
	return ferry_fail(FERRY_ERR_USAGE, "%s: '%s': unknown size suffix (use K or M)", opt, s);
}

mode_t
cli_output_mode(void)
{
	mode_t mask = umask(0);

	umask(mask);
	return 0666 & ~mask;
}

/* ---- input and output ---------------------------------------------------------------- */

int
cli_input_open(struct cli_input *in, const char *path)
{
	struct stat st;
	off_t pos;
	int r;

	memset(in, 0, sizeof(*in));
	in->fd = -1;
	if (path == NULL || strcmp(path, "-") == 0) {
		in->fd = STDIN_FILENO;
		in->name = "stdin";
	} else {
		in->name = path;
		if ((in->fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			return ferry_fail(FERRY_ERR_IO, "%s: %s", path, strerror(errno));
		in->owned = true;
	}
	if (fstat(in->fd, &st) != 0) {
		r = ferry_fail(FERRY_ERR_IO, "%s: %s", in->name, strerror(errno));
		goto fail;
	}
	if (S_ISDIR(st.st_mode)) {
		r = ferry_fail(FERRY_ERR_IO, "%s: is a directory", in->name);
		goto fail;
	}
	if (S_ISREG(st.st_mode)) {
		/* Standard input may be a file already partly read by the shell's caller. */
		pos = lseek(in->fd, 0, SEEK_CUR);
		if (pos >= 0 && pos <= st.st_size) {
			in->is_regular = true;
			in->base = (uint64_t)pos;
			in->size = (uint64_t)(st.st_size - pos);
		}
	}
	return 0;
fail:
	cli_input_close(in);
	return r;
}

void
cli_input_close(struct cli_input *in)
{
	if (in->owned && in->fd >= 0)
		close(in->fd);
	in->fd = -1;
	in->owned = false;
}

/* Standard output or an existing non-regular file: opened as is (*done). */
static int
output_open_direct(struct cli_output *out, const char *path, bool *done)
{
	struct stat st;

	memset(out, 0, sizeof(*out));
	out->fd = -1;
	out->af.fd = -1;
	*done = true;
	if (path == NULL || strcmp(path, "-") == 0) {
		out->fd = STDOUT_FILENO;
		out->name = "stdout";
		out->is_stdout = true;
		return 0;
	}
	out->name = path;
	if (stat(path, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return ferry_fail(FERRY_ERR_IO, "%s: is a directory", path);
		if (!S_ISREG(st.st_mode)) {
			/* Staging beside /dev/null would replace the device node itself. */
			if ((out->fd = open(path, O_WRONLY | O_CLOEXEC)) < 0)
				return ferry_fail(FERRY_ERR_IO, "%s: %s", path, strerror(errno));
			out->owned = true;
			return 0;
		}
	}
	*done = false;
	return 0;
}

int
cli_output_open(struct cli_output *out, const char *path)
{
	bool done;
	int r;

	if ((r = output_open_direct(out, path, &done)) != 0 || done)
		return r;
	if ((r = atomic_file_open(&out->af, path, cli_output_mode(), false)) != 0)
		return r;
	out->fd = out->af.fd;
	out->staged = true;
	return 0;
}

int
cli_output_open_partial(struct cli_output *out, const char *path, bool resume,
    uint64_t *have)
{
	bool done;
	int r;

	*have = 0;
	if ((r = output_open_direct(out, path, &done)) != 0 || done)
		return r;
	if ((r = atomic_file_open_partial(&out->af, path, cli_output_mode(), resume,
	    have)) != 0)
		return r;
	out->fd = out->af.fd;
	out->staged = true;
	return 0;
}

int
cli_output_commit(struct cli_output *out)
{
	int r = 0;

	if (out->staged) {
		out->staged = false;
		out->fd = -1;
		return atomic_file_commit(&out->af);
	}
	if (out->owned) {
		if (close(out->fd) != 0)
			r = ferry_fail(FERRY_ERR_IO, "%s: %s", out->name, strerror(errno));
		out->owned = false;
	}
	out->fd = -1;
	return r;
}

void
cli_output_abort(struct cli_output *out)
{
	if (out->staged)
		atomic_file_abort(&out->af);
	out->staged = false;
	if (out->owned && out->fd >= 0)
		close(out->fd);
	out->owned = false;
	out->fd = -1;
}

int
cli_stream_error(int r, const struct cli_input *in, const struct cli_output *out)
{
	if (r == FERRY_ERR_WRITE)
		return ferry_error_prefix(r, "%s", out->name);
	return ferry_error_prefix(r, "%s", in->name);
}

/* ---- progress -------------------------------------------------------------------------- */

struct progress *
cli_progress_new(const struct cli_input *in, enum cli_progress_mode mode)
{
	bool on;

	switch (mode) {
	case CLI_PROGRESS_ON:
		on = true;
		break;
	case CLI_PROGRESS_OFF:
		on = false;
		break;
	default:
		on = in->is_regular && isatty(STDERR_FILENO);
		break;
	}
	return progress_new(in->name, in->is_regular ? in->size : 0, on);
}

void
cli_progress_update(void *arg, uint64_t done)
{
	struct cli_progress_hook *h = arg;
	off_t pos;

	if (h->p == NULL)
		return;
	/* Bytes of input consumed, which is what the total counts. */
	if (h->in->is_regular && (pos = lseek(h->in->fd, 0, SEEK_CUR)) >= 0 &&
	    (uint64_t)pos >= h->in->base)
		done = (uint64_t)pos - h->in->base;
	h->done = done;
	progress_update(h->p, done);
}

void
cli_progress_finish(struct cli_progress_hook *h)
{
	if (h->p == NULL)
		return;
	/* The whole input was read, though the last chunk may not have been reported. */
	if (h->in->is_regular)
		h->done = h->in->size;
	progress_update(h->p, h->done);
	progress_finish(h->p);
}
