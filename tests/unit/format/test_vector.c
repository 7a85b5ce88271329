/*
 * The worked test vector of docs/FORMAT.md (tests/vectors/sealed-v1.json), checked byte for
 * byte: the file is rebuilt here from its inputs directly with the primitives (HPKE with a
 * fixed ephemeral key, HKDF, HMAC, AES-256-GCM), independently of src/format's encoder,
 * and must equal the stored bytes; then src/format's decoder must open the stored file.
 *
 * FERRY_WRITE_VECTOR=PATH writes the vector (from the same fixed inputs) instead.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "crypto/aead.h"
#include "crypto/hpke.h"
#include "crypto/kdf.h"
#include "format/sealed.h"
#include "testutil.h"

#define VEC_CHUNK    1024u
#define VEC_PT_LEN   1040u

static void
seq(uint8_t *p, size_t n, uint8_t start)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(start + i);
}

static void
put(uint8_t *buf, size_t *off, const void *p, size_t n)
{
	memcpy(buf + *off, p, n);
	*off += n;
}

/* Build the file from fixed inputs using only the primitives. Returns its length. */
static size_t
build(uint8_t *out, uint8_t sk_r[32], uint8_t sk_e[32], uint8_t file_key[32],
    uint8_t nonce[16], uint8_t *pt)
{
	static const struct hpke_suite suite = {
		HPKE_KEM_X25519_SHA256, HPKE_KDF_SHA256, HPKE_AEAD_AES256GCM
	};
	EVP_PKEY *rk = NULL, *ek = NULL;
	struct hpke_ctx ctx;
	uint8_t enc[HPKE_MAX_ENC_LEN], wrapped[48], mac_key[32], mac[32], payload_key[32];
	uint8_t cn[12];
	size_t enc_len = sizeof(enc), off = 0, header_len;
	const uint8_t fixed_a[] = { 'F', 'E', 'R', 'R', 'Y', 0, 0, 1,
	    (uint8_t)(VEC_CHUNK >> 24), (uint8_t)(VEC_CHUNK >> 16), (uint8_t)(VEC_CHUNK >> 8),
	    (uint8_t)VEC_CHUNK };
	const uint8_t count[] = { 0, 1 }, stanza_head[] = { 0x01, 0x00, 80 };

	seq(sk_r, 32, 0x00);
	seq(sk_e, 32, 0x20);
	seq(file_key, 32, 0x40);
	seq(nonce, 16, 0x60);
	for (size_t i = 0; i < VEC_PT_LEN; i++)
		pt[i] = (uint8_t)i;

	assert_int_equal(hpke_deserialize_private(HPKE_KEM_X25519_SHA256, sk_r, 32, &rk), 0);
	assert_int_equal(hpke_deserialize_private(HPKE_KEM_X25519_SHA256, sk_e, 32, &ek), 0);
	assert_int_equal(hpke_setup_base_s(&suite, rk, ek, (const uint8_t *)"ferry/1 x25519", 14,
	    enc, &enc_len, &ctx), 0);
	assert_int_equal(enc_len, 32);
	assert_int_equal(hpke_ctx_seal(&ctx, NULL, 0, file_key, 32, wrapped), 0);
	hpke_ctx_cleanse(&ctx);

	put(out, &off, fixed_a, sizeof(fixed_a));
	put(out, &off, nonce, 16);
	put(out, &off, count, sizeof(count));
	put(out, &off, stanza_head, sizeof(stanza_head));
	put(out, &off, enc, 32);
	put(out, &off, wrapped, sizeof(wrapped));
	assert_int_equal(crypto_hkdf(CRYPTO_SHA256, NULL, 0, file_key, 32,
	    (const uint8_t *)"ferry/1 header", 14, mac_key, 32), 0);
	assert_int_equal(crypto_hmac(CRYPTO_SHA256, mac_key, 32, out, off, mac), 0);
	put(out, &off, mac, 32);
	header_len = off;
	assert_int_equal(header_len, 30 + 3 + 80 + 32);

	assert_int_equal(crypto_hkdf(CRYPTO_SHA256, nonce, 16, file_key, 32,
	    (const uint8_t *)"ferry/1 payload", 15, payload_key, 32), 0);
	for (uint64_t i = 0, done = 0; done < VEC_PT_LEN; i++) {
		size_t n = VEC_PT_LEN - done < VEC_CHUNK ? VEC_PT_LEN - done : VEC_CHUNK;
		int last = done + n == VEC_PT_LEN;

		memset(cn, 0, sizeof(cn));
		cn[10] = (uint8_t)i;
		cn[11] = (uint8_t)last;
		assert_int_equal(crypto_aead_seal(payload_key, cn, NULL, 0, pt + done, n,
		    out + off), 0);
		off += n + 16;
		done += n;
	}
	EVP_PKEY_free(rk);
	EVP_PKEY_free(ek);
	return off;
}

static void
hex_field(FILE *f, const char *name, const uint8_t *p, size_t n, int comma)
{
	fprintf(f, "  \"%s\": \"", name);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%02x", p[i]);
	fprintf(f, "\"%s\n", comma ? "," : "");
}

/* docs/FORMAT.md prints the whole file in hex; it must be this vector's bytes. */
static void
check_doc(const char *hex)
{
	const char *src = getenv("FERRY_SOURCE");
	char path[4096], *text, *flat;
	size_t n = 0, len;
	FILE *f;

	assert_non_null(src);
	snprintf(path, sizeof(path), "%s/docs/FORMAT.md", src);
	assert_non_null(f = fopen(path, "r"));
	text = malloc(1 << 20);
	len = fread(text, 1, (1 << 20) - 1, f);
	fclose(f);
	flat = malloc(len + 1);
	for (size_t i = 0; i < len; i++) {
		if (text[i] != '\n' && text[i] != ' ')
			flat[n++] = text[i];
	}
	flat[n] = '\0';
	assert_non_null(strstr(flat, hex));
	free(flat);
	free(text);
}

static void
test_vector(void **state)
{
	uint8_t sk_r[32], sk_e[32], file_key[32], nonce[16], pk_r[32];
	uint8_t *pt = malloc(VEC_PT_LEN), *file = malloc(2048), *want, *got;
	size_t len, want_len, pk_len = sizeof(pk_r), got_len;
	const char *write_path = getenv("FERRY_WRITE_VECTOR");
	struct sealed_identity id = { .kind = SEALED_PUBLIC_KEY };
	struct json *j;
	EVP_PKEY *rk = NULL;
	int in, out;

	(void)state;
	len = build(file, sk_r, sk_e, file_key, nonce, pt);
	assert_int_equal(hpke_deserialize_private(HPKE_KEM_X25519_SHA256, sk_r, 32, &rk), 0);
	assert_int_equal(hpke_serialize_public(HPKE_KEM_X25519_SHA256, rk, pk_r, &pk_len), 0);
	if (write_path != NULL) {
		FILE *f = fopen(write_path, "w");

		assert_non_null(f);
		fprintf(f, "{\n  \"description\": \"ferry sealed-file format v1, one X25519 "
		    "recipient, chunk size 1024, plaintext bytes 0x00..0xff repeated (1040 bytes)\",\n");
		fprintf(f, "  \"chunk_size\": %u,\n", VEC_CHUNK);
		hex_field(f, "recipient_private_key", sk_r, 32, 1);
		hex_field(f, "recipient_public_key", pk_r, 32, 1);
		hex_field(f, "ephemeral_private_key", sk_e, 32, 1);
		hex_field(f, "file_key", file_key, 32, 1);
		hex_field(f, "nonce", nonce, 16, 1);
		hex_field(f, "plaintext", pt, VEC_PT_LEN, 1);
		hex_field(f, "sealed", file, len, 0);
		fprintf(f, "}\n");
		fclose(f);
	}
	j = json_load_vector("sealed-v1.json");
	want = json_get_hex(j, "sealed", &want_len);
	assert_int_equal(want_len, len);
	assert_memory_equal(want, file, len);
	check_doc(json_get_str(j, "sealed"));
	free(json_get_hex(j, "recipient_public_key", &pk_len));
	got = json_get_hex(j, "plaintext", &got_len);
	assert_int_equal(got_len, VEC_PT_LEN);
	assert_memory_equal(got, pt, VEC_PT_LEN);
	free(got);

	/* The library's decoder opens the stored bytes. */
	id.key = rk;
	in = memfd_create("vec-in", 0);
	out = memfd_create("vec-out", 0);
	assert_int_equal(write(in, want, want_len), (ssize_t)want_len);
	lseek(in, 0, SEEK_SET);
	assert_int_equal(sealed_decrypt_fd(in, out, &id, 1, NULL), 0);
	assert_int_equal(lseek(out, 0, SEEK_END), VEC_PT_LEN);
	got = malloc(VEC_PT_LEN);
	assert_int_equal(pread(out, got, VEC_PT_LEN, 0), VEC_PT_LEN);
	assert_memory_equal(got, pt, VEC_PT_LEN);

	close(in);
	close(out);
	free(got);
	free(want);
	json_free(j);
	EVP_PKEY_free(rk);
	free(pt);
	free(file);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vector),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
