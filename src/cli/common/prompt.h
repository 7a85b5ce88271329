/*
 * Passphrases for the command-line programs: typed on the controlling terminal without
 * echo, or read from the first line of a file. Every passphrase lives in a buffer of
 * FERRY_MAX_PASSPHRASE + 1 bytes from the OpenSSL secure heap, NUL-terminated, and is
 * wiped when freed with passphrase_free().
 */
#ifndef FERRY_CLI_PROMPT_H
#define FERRY_CLI_PROMPT_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Show prompt on /dev/tty and read one line with echo off. With confirm, ask a second
 * time ("Confirm <prompt>") and fail with FERRY_ERR_PASSPHRASE unless both match.
 * Empty input is refused (FERRY_ERR_PASSPHRASE); longer than FERRY_MAX_PASSPHRASE is
 * FERRY_ERR_LIMIT. No terminal to ask on: FERRY_ERR_NEED_PASSPHRASE, so the caller can
 * say which option supplies one instead. Caller frees *out with passphrase_free().
 */
int prompt_passphrase(const char *prompt, bool confirm, char **out, size_t *out_len);

/*
 * The first line of the file at path, without its line ending ("\n" or "\r\n"). Empty
 * or longer than FERRY_MAX_PASSPHRASE is refused. Errors name the file. Caller frees
 * *out with passphrase_free().
 */
int passphrase_read_file(const char *path, char **out, size_t *out_len);

/* Wipe and free a passphrase from this module. Accepts NULL. */
void passphrase_free(char *p);

/* True if a controlling terminal can be opened to prompt on. */
bool prompt_have_tty(void);

/*
 * If a prompt has turned echo off, turn it back on. Async-signal-safe: called from the
 * signal handler so an interrupted prompt does not leave the terminal silent.
 */
void prompt_restore_tty(void);

#endif
