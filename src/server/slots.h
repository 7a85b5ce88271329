/*
 * Per-user session slots (max_sessions_per_user), shared by the connection processes
 * without the parent: slot i of a user is an advisory lock on DIR/sessions/<user>.<i>,
 * taken with flock(LOCK_EX | LOCK_NB) and released by the kernel when the process that
 * holds it exits, however it exits. User names are safe in file names (store/account.h).
 */
#ifndef FERRY_SERVER_SLOTS_H
#define FERRY_SERVER_SLOTS_H

#define SLOTS_DIR "sessions"

/* Create DIR/sessions (mode 0700) if missing. Returns 0 or FERRY_ERR_IO. */
int slots_prepare(const char *data_dir);

/*
 * Take one of user's max slots. Returns 0 and the held descriptor in *fd (keep it open
 * for the session's life; closing it frees the slot), FERRY_ERR_LIMIT when all max are
 * held, or FERRY_ERR_IO.
 */
int slots_take(const char *data_dir, const char *user, unsigned max, int *fd);

#endif
