#include "crypto/random.h"

#include <limits.h>
#include <stdint.h>

#include <openssl/rand.h>

#include "util/err.h"

int
crypto_random(void *p, size_t n)
{
	uint8_t *dst = p;
	size_t take;

	/* RAND_bytes takes an int length. */
	while (n > 0) {
		take = n > INT_MAX ? INT_MAX : n;
		if (RAND_bytes(dst, (int)take) != 1)
			return ferry_fail_crypto("random: RAND_bytes(%zu)", take);
		dst += take;
		n -= take;
	}
	return 0;
}
