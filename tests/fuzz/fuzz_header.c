/*
 * Fuzz the sealed-file header parser, the first code to see an untrusted file.
 *
 * Beyond not crashing, it checks the parser's contract: a parsed header lies within the
 * input and ends with the MAC; a truncated input asks for more than it was given; and
 * feeding a valid header back in the sizes the parser asks for (as
 * sealed_header_read_fd does) reaches the same header. A parsed header is then unwrapped
 * with the fixed identities, which open the seeds' stanzas.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>

#include "format/sealed.h"
#include "identity.h"
#include "util/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

static void
check_header(const struct sealed_header *h, const uint8_t *data, size_t size)
{
	CHECK(h->bytes == data);
	CHECK(h->len <= size && h->len <= FERRY_MAX_HEADER);
	CHECK(h->mac_offset + SEALED_MAC_LEN == h->len);
	CHECK(h->nstanzas >= 1 && h->nstanzas <= FERRY_MAX_STANZAS);
	CHECK(h->chunk_size >= FERRY_MIN_CHUNK && h->chunk_size <= FERRY_MAX_CHUNK);
	for (size_t i = 0; i < h->nstanzas; i++) {
		const struct sealed_stanza *s = &h->stanzas[i];

		CHECK(s->body == data + s->offset + 3);
		CHECK(s->offset + 3 + s->len <= h->mac_offset);
	}
}

/* Grow a prefix the way a stream reader does: it must converge on the same header. */
static void
check_incremental(const struct sealed_header *full, const uint8_t *data)
{
	struct sealed_header h;
	size_t have = 0, need;
	int r;

	for (;;) {
		r = sealed_header_parse(data, have, &h, &need);
		if (r != FERRY_ERR_TRUNCATED)
			break;
		CHECK(need > have && need <= full->len);
		have = need;
	}
	CHECK(r == 0);
	CHECK(h.len == full->len && h.nstanzas == full->nstanzas);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t file_key[SEALED_FILE_KEY_LEN];
	struct sealed_header h;
	size_t need = 0;
	int r;

	r = sealed_header_parse(data, size, &h, &need);
	if (r == FERRY_ERR_TRUNCATED) {
		CHECK(need > size && need <= FERRY_MAX_HEADER);
	} else if (r == 0) {
		check_header(&h, data, size);
		check_incremental(&h, data);
		if (sealed_header_unwrap(&h, fuzz_identities(), FUZZ_NIDS, file_key) == 0)
			OPENSSL_cleanse(file_key, sizeof(file_key));
	} else {
		CHECK(r == FERRY_ERR_FORMAT || r == FERRY_ERR_LIMIT || r == FERRY_ERR_UNSUPPORTED);
	}
	/* Every failure must have said why. */
	if (r != 0)
		CHECK(strcmp(ferry_error_detail(r), ferry_strerror(r)) != 0);
	ferry_error_clear();
	ERR_clear_error();
	return 0;
}
