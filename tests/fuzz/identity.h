/*
 * Fixed identities shared by the fuzz targets and the seed generator: an X25519 key, a
 * P-384 key (identity-*.pem beside this file, compiled in) and a symmetric key-id key.
 * Test keys only, public in the source tree. The seeds are sealed to the recipients, so
 * the targets get past the header into the payload.
 *
 * To reproduce a finding with the command-line tool:
 *   ferry decrypt -i tests/fuzz/identity-x25519.pem -o /dev/null crash-<hash>
 */
#ifndef FERRY_FUZZ_IDENTITY_H
#define FERRY_FUZZ_IDENTITY_H

#include <stddef.h>

#include "format/sealed.h"

#define FUZZ_NIDS 3

/* The identities that open every seed; loaded once, never freed. Aborts on failure. */
const struct sealed_identity *fuzz_identities(void);

/* The matching recipients (public keys only), in the same order. */
const struct sealed_recipient *fuzz_recipients(void);

#endif
