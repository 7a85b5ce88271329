#include "server/slots.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/err.h"

int
slots_prepare(const char *data_dir)
{
	char path[4096];

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", data_dir, SLOTS_DIR) >= sizeof(path))
		return ferry_fail(FERRY_ERR_LIMIT, "%s: path too long", data_dir);
	if (mkdir(path, 0700) != 0 && errno != EEXIST)
		return ferry_fail(FERRY_ERR_IO, "%s: %s", path, strerror(errno));
	return 0;
}

int
slots_take(const char *data_dir, const char *user, unsigned max, int *fd)
{
	char path[4096];
	int f;

	*fd = -1;
	for (unsigned i = 0; i < max; i++) {
		if ((size_t)snprintf(path, sizeof(path), "%s/%s/%s.%u", data_dir, SLOTS_DIR,
		    user, i) >= sizeof(path))
			return ferry_fail(FERRY_ERR_LIMIT, "%s: path too long", data_dir);
		f = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (f < 0)
			return ferry_fail(FERRY_ERR_IO, "%s: %s", path, strerror(errno));
		if (flock(f, LOCK_EX | LOCK_NB) == 0) {
			*fd = f;
			return 0;
		}
		close(f);
		if (errno != EWOULDBLOCK)
			return ferry_fail(FERRY_ERR_IO, "%s: lock: %s", path, strerror(errno));
	}
	return ferry_fail(FERRY_ERR_LIMIT, "user %s already has %u sessions", user, max);
}
