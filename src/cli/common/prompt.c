#include "cli/common/prompt.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "util/err.h"
#include "util/limits.h"

#define PASS_CAP (FERRY_MAX_PASSPHRASE + 1)

/* State for prompt_restore_tty(), which may run in a signal handler. */
static volatile sig_atomic_t tty_altered;
static volatile int tty_fd = -1;
static struct termios tty_saved;

static char *
pass_alloc(void)
{
	return OPENSSL_secure_zalloc(PASS_CAP);
}

void
passphrase_free(char *p)
{
	if (p != NULL)
		OPENSSL_secure_clear_free(p, PASS_CAP);
}

static void
tty_write(int fd, const char *s)
{
	size_t n = strlen(s);
	ssize_t r;

	while (n > 0) {
		r = write(fd, s, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return;
		s += r;
		n -= (size_t)r;
	}
}

void
prompt_restore_tty(void)
{
	if (!tty_altered)
		return;
	tcsetattr(tty_fd, TCSAFLUSH, &tty_saved);
	tty_altered = 0;
	if (write(tty_fd, "\n", 1) < 0) {
		/* nothing more can be done from here */
	}
}

bool
prompt_have_tty(void)
{
	int fd;

	if ((fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0)
		return false;
	close(fd);
	return true;
}

/*
 * Read one line from the terminal into buf (cap bytes including the NUL). A line too long
 * is consumed to its end, so the next prompt starts clean, and then refused.
 */
static int
tty_read_line(int fd, char *buf, size_t cap, size_t *len)
{
	size_t n = 0;
	bool over = false, any = false;
	ssize_t r;
	char c = 0;
	int ret = 0;

	for (;;) {
		r = read(fd, &c, 1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			ret = ferry_fail(FERRY_ERR_IO, "/dev/tty: read: %s", strerror(errno));
			goto out;
		}
		if (r == 0 || c == '\n' || c == '\r')
			break;
		any = true;
		if (n + 1 < cap)
			buf[n++] = c;
		else
			over = true;
	}
	if (r == 0 && !any) {
		ret = ferry_fail(FERRY_ERR_PASSPHRASE, "no passphrase entered");
		goto out;
	}
	if (over) {
		ret = ferry_fail(FERRY_ERR_LIMIT, "passphrase longer than %u bytes",
		    FERRY_MAX_PASSPHRASE);
		goto out;
	}
	if (n == 0) {
		ret = ferry_fail(FERRY_ERR_PASSPHRASE, "empty passphrase refused");
		goto out;
	}
	buf[n] = '\0';
	*len = n;
out:
	OPENSSL_cleanse(&c, sizeof(c));
	if (ret != 0)
		OPENSSL_cleanse(buf, cap);
	return ret;
}

static int
ask(int fd, const char *prompt, char *buf, size_t *len)
{
	struct termios quiet;
	int r;

	if (tcgetattr(fd, &tty_saved) != 0)
		return ferry_fail(FERRY_ERR_IO, "/dev/tty: %s", strerror(errno));
	quiet = tty_saved;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL);
	quiet.c_lflag |= ICANON;
	tty_fd = fd;
	tty_altered = 1;
	if (tcsetattr(fd, TCSAFLUSH, &quiet) != 0) {
		tty_altered = 0;
		return ferry_fail(FERRY_ERR_IO, "/dev/tty: %s", strerror(errno));
	}
	/* Only now: what is typed after the prompt appears must not be flushed. */
	tty_write(fd, prompt);
	r = tty_read_line(fd, buf, PASS_CAP, len);
	/* The newline the user typed was not echoed: end the prompt's line ourselves. */
	prompt_restore_tty();
	return r;
}

int
prompt_passphrase(const char *prompt, bool confirm, char **out, size_t *out_len)
{
	char *first = NULL, *second = NULL, *again = NULL;
	size_t first_len = 0, second_len = 0, n;
	int fd = -1, r;

	*out = NULL;
	*out_len = 0;
	if ((fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0) {
		r = ferry_fail(FERRY_ERR_NEED_PASSPHRASE,
		    "a passphrase is needed and there is no terminal to ask for it");
		goto out;
	}
	if ((first = pass_alloc()) == NULL || (confirm && (second = pass_alloc()) == NULL)) {
		r = ferry_fail(FERRY_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((r = ask(fd, prompt, first, &first_len)) != 0)
		goto out;
	if (confirm) {
		n = strlen(prompt) + sizeof("Confirm ");
		if ((again = OPENSSL_malloc(n)) == NULL) {
			r = ferry_fail(FERRY_ERR_NOMEM, "out of memory");
			goto out;
		}
		snprintf(again, n, "Confirm %s", prompt);
		if ((r = ask(fd, again, second, &second_len)) != 0)
			goto out;
		if (first_len != second_len ||
		    CRYPTO_memcmp(first, second, first_len) != 0) {
			r = ferry_fail(FERRY_ERR_PASSPHRASE, "the passphrases do not match");
			goto out;
		}
	}
	*out = first;
	*out_len = first_len;
	first = NULL; /* transferred */
	r = 0;
out:
	passphrase_free(first);
	passphrase_free(second);
	OPENSSL_free(again);
	if (fd >= 0)
		close(fd);
	return r;
}

int
passphrase_read_file(const char *path, char **out, size_t *out_len)
{
	/* One spare byte for a '\r' before the '\n', one to see the line is too long. */
	const size_t cap = FERRY_MAX_PASSPHRASE + 2;
	char *raw = NULL, *pass = NULL, *nl;
	size_t got = 0, len;
	ssize_t n;
	int fd = -1, r;

	*out = NULL;
	*out_len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		r = ferry_fail(FERRY_ERR_IO, "%s: %s", path, strerror(errno));
		goto out;
	}
	if ((raw = OPENSSL_secure_zalloc(cap)) == NULL || (pass = pass_alloc()) == NULL) {
		r = ferry_fail(FERRY_ERR_NOMEM, "out of memory");
		goto out;
	}
	/* Stop at the first newline: the file may be a pipe whose writer stays open. */
	while (got < cap && memchr(raw, '\n', got) == NULL) {
		n = read(fd, raw + got, cap - got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = ferry_fail(FERRY_ERR_IO, "%s: read: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	if ((nl = memchr(raw, '\n', got)) != NULL)
		len = (size_t)(nl - raw);
	else if (got == cap)
		len = cap;	/* no line end in reach: too long */
	else
		len = got;
	if (len > 0 && len <= FERRY_MAX_PASSPHRASE + 1 && raw[len - 1] == '\r')
		len--;
	if (len > FERRY_MAX_PASSPHRASE) {
		r = ferry_fail(FERRY_ERR_LIMIT, "%s: passphrase longer than %u bytes", path,
		    FERRY_MAX_PASSPHRASE);
		goto out;
	}
	if (len == 0) {
		r = ferry_fail(FERRY_ERR_PASSPHRASE, "%s: the first line is empty; "
		    "an empty passphrase is refused", path);
		goto out;
	}
	memcpy(pass, raw, len);
	pass[len] = '\0';
	*out = pass;
	*out_len = len;
	pass = NULL; /* transferred */
	r = 0;
out:
	if (raw != NULL)
		OPENSSL_secure_clear_free(raw, cap);
	passphrase_free(pass);
	if (fd >= 0)
		close(fd);
	return r;
}
