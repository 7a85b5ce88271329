/* Cryptographically secure random bytes (OpenSSL's DRBG). */
#ifndef FERRY_CRYPTO_RANDOM_H
#define FERRY_CRYPTO_RANDOM_H

#include <stddef.h>

/* Fill p with n random bytes. Returns 0 or FERRY_ERR_CRYPTO. */
int crypto_random(void *p, size_t n);

#endif
