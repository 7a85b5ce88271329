#include "crypto/keys.h"

#include <stdio.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>

#include "util/atomic_file.h"
#include "util/err.h"
#include "util/io.h"
#include "util/limits.h"

/* PBES2-scrypt cost for encrypted private keys; see keys.h for why these values. */
#define KEY_SCRYPT_N    16384
#define KEY_SCRYPT_R    8
#define KEY_SCRYPT_P    1
#define KEY_SALT_LEN    16

struct pass_ctx {
	const char *pass;  /* NULL: none given */
	size_t len;
	bool asked;        /* OpenSSL wanted a passphrase: the key is encrypted */
};

static const struct {
	enum key_type type;
	const char *name;
} key_types[] = {
	{ KEY_P384, "p384" },
	{ KEY_X25519, "x25519" },
	{ KEY_RSA3072, "rsa3072" },
	{ KEY_RSA4096, "rsa4096" },
};

int
key_type_parse(const char *name, enum key_type *type)
{
	for (size_t i = 0; i < sizeof(key_types) / sizeof(key_types[0]); i++) {
		if (strcmp(name, key_types[i].name) == 0) {
			*type = key_types[i].type;
			return 0;
		}
	}
	return ferry_fail(FERRY_ERR_USAGE, "unknown key type \"%s\" (use p384, x25519, "
	    "rsa3072 or rsa4096)", name);
}

const char *
key_type_name(enum key_type type)
{
	for (size_t i = 0; i < sizeof(key_types) / sizeof(key_types[0]); i++) {
		if (key_types[i].type == type)
			return key_types[i].name;
	}
	return "unknown";
}

int
key_generate(enum key_type type, EVP_PKEY **out)
{
	EVP_PKEY *key = NULL;

	*out = NULL;
	switch (type) {
	case KEY_P384:
		key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
		break;
	case KEY_X25519:
		key = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
		break;
	case KEY_RSA3072:
		key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
		break;
	case KEY_RSA4096:
		key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)4096);
		break;
	default:
		return ferry_fail(FERRY_ERR_INTERNAL, "keygen: invalid key type %d", (int)type);
	}
	if (key == NULL)
		return ferry_fail_crypto("keygen: generating a %s key", key_type_name(type));
	*out = key;
	return 0;
}

/* Write the memory BIO's contents to path through a temporary, then rename or link. */
static int
write_bio_to_file(BIO *bio, const char *path, mode_t mode, bool force)
{
	struct atomic_file af = { .fd = -1 };
	char *data;
	long len;
	int r;

	if ((len = BIO_get_mem_data(bio, &data)) <= 0) {
		r = ferry_fail(FERRY_ERR_INTERNAL, "%s: nothing to write", path);
		goto out;
	}
	if ((r = atomic_file_open(&af, path, mode, !force)) != 0)
		goto out;
	if ((r = io_write_full(af.fd, data, (size_t)len)) != 0) {
		ferry_error_prefix(r, "%s", path);
		goto out;
	}
	r = atomic_file_commit(&af);
out:
	atomic_file_abort(&af);
	return r;
}

int
key_save_private(EVP_PKEY *key, const char *path, const char *pass, size_t pass_len,
    bool force)
{
	PKCS8_PRIV_KEY_INFO *p8inf = NULL;
	X509_ALGOR *pbe = NULL;
	X509_SIG *p8 = NULL;
	BIO *bio = NULL;
	int r;

	if (pass != NULL && pass_len == 0) {
		r = ferry_fail(FERRY_ERR_USAGE, "%s: empty passphrase", path);
		goto out;
	}
	if (pass != NULL && pass_len > FERRY_MAX_PASSPHRASE) {
		r = ferry_fail(FERRY_ERR_LIMIT, "%s: passphrase longer than %u bytes", path,
		    FERRY_MAX_PASSPHRASE);
		goto out;
	}
	/* A secure-heap memory BIO: the PEM text is wiped when it is freed. */
	if ((bio = BIO_new(BIO_s_secmem())) == NULL) {
		r = ferry_fail(FERRY_ERR_NOMEM, "%s: out of memory", path);
		goto out;
	}
	if (pass == NULL) {
		if (PEM_write_bio_PKCS8PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) != 1) {
			r = ferry_fail_crypto("%s: encoding the private key", path);
			goto out;
		}
	} else {
		/*
		 * PEM_write_bio_PKCS8PrivateKey() would use PBKDF2 with 2048 iterations;
		 * build the PBES2-scrypt parameters ourselves instead.
		 */
		if ((p8inf = EVP_PKEY2PKCS8(key)) == NULL) {
			r = ferry_fail_crypto("%s: encoding the private key", path);
			goto out;
		}
		if ((pbe = PKCS5_pbe2_set_scrypt(EVP_aes_256_cbc(), NULL, KEY_SALT_LEN, NULL,
		    KEY_SCRYPT_N, KEY_SCRYPT_R, KEY_SCRYPT_P)) == NULL) {
			r = ferry_fail_crypto("%s: setting up key encryption", path);
			goto out;
		}
		if ((p8 = PKCS8_set0_pbe(pass, (int)pass_len, p8inf, pbe)) == NULL) {
			r = ferry_fail_crypto("%s: encrypting the private key", path);
			goto out;
		}
		pbe = NULL; /* owned by p8 */
		if (PEM_write_bio_PKCS8(bio, p8) != 1) {
			r = ferry_fail_crypto("%s: encoding the private key", path);
			goto out;
		}
	}
	r = write_bio_to_file(bio, path, 0600, force);
out:
	X509_SIG_free(p8);
	X509_ALGOR_free(pbe);
	PKCS8_PRIV_KEY_INFO_free(p8inf);
	BIO_free(bio);
	return r;
}

int
key_save_public(EVP_PKEY *key, const char *path, bool force)
{
	BIO *bio = NULL;
	int r;

	if ((bio = BIO_new(BIO_s_mem())) == NULL) {
		r = ferry_fail(FERRY_ERR_NOMEM, "%s: out of memory", path);
		goto out;
	}
	if (PEM_write_bio_PUBKEY(bio, key) != 1) {
		r = ferry_fail_crypto("%s: encoding the public key", path);
		goto out;
	}
	r = write_bio_to_file(bio, path, 0644, force);
out:
	BIO_free(bio);
	return r;
}

/*
 * OpenSSL's passphrase callback. Supplying one always keeps OpenSSL from prompting on
 * the terminal itself; with no passphrase it records that one was wanted and fails.
 */
static int
pass_cb(char *buf, int size, int rwflag, void *u)
{
	struct pass_ctx *pc = u;

	(void)rwflag;
	pc->asked = true;
	if (pc->pass == NULL || size < 0 || pc->len > (size_t)size)
		return -1;
	memcpy(buf, pc->pass, pc->len);
	return (int)pc->len;
}

int
key_load_private(const char *path, const char *pass, size_t pass_len, EVP_PKEY **out)
{
	struct pass_ctx pc = { pass, pass_len, false };
	EVP_PKEY *key = NULL;
	BIO *bio = NULL;
	char *buf = NULL;
	size_t len = 0;
	int r;

	*out = NULL;
	if (pass != NULL && pass_len > FERRY_MAX_PASSPHRASE) {
		r = ferry_fail(FERRY_ERR_LIMIT, "%s: passphrase longer than %u bytes", path,
		    FERRY_MAX_PASSPHRASE);
		goto out;
	}
	if ((r = io_read_file(path, FERRY_MAX_KEY_FILE, &buf, &len)) != 0)
		goto out;
	if ((bio = BIO_new_mem_buf(buf, (int)len)) == NULL) {
		r = ferry_fail(FERRY_ERR_NOMEM, "%s: out of memory", path);
		goto out;
	}
	key = PEM_read_bio_PrivateKey_ex(bio, NULL, pass_cb, &pc, NULL, NULL);
	ERR_clear_error();
	if (key == NULL) {
		if (pc.asked && pass == NULL)
			r = ferry_fail(FERRY_ERR_NEED_PASSPHRASE, "%s: the private key is "
			    "encrypted; a passphrase is required", path);
		else if (pc.asked)
			r = ferry_fail(FERRY_ERR_PASSPHRASE, "%s: wrong passphrase", path);
		else
			r = ferry_fail(FERRY_ERR_KEY, "%s: not a PEM private key", path);
		goto out;
	}
	*out = key;
	key = NULL;
	r = 0;
out:
	EVP_PKEY_free(key);
	BIO_free(bio);
	if (buf != NULL)
		OPENSSL_clear_free(buf, len + 1);
	return r;
}

/* Does the PEM label name a private key ("PRIVATE KEY", "ENCRYPTED PRIVATE KEY",
 * "RSA PRIVATE KEY", ...)? */
static bool
is_private_label(const char *name)
{
	static const char suffix[] = "PRIVATE KEY";
	size_t n = strlen(name);

	return n >= sizeof(suffix) - 1 &&
	    strcmp(name + n - (sizeof(suffix) - 1), suffix) == 0;
}

/* Public key from one DER block of a known label; NULL if it does not parse fully. */
static EVP_PKEY *
public_from_der(const char *name, const unsigned char *der, long der_len)
{
	const unsigned char *p = der;
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;

	if (strcmp(name, PEM_STRING_PUBLIC) == 0) {
		key = d2i_PUBKEY(NULL, &p, der_len);
	} else {
		cert = d2i_X509(NULL, &p, der_len);
		if (cert != NULL)
			key = X509_get_pubkey(cert);
	}
	/* Trailing bytes after the DER mean the block is not what it claims. */
	if (key != NULL && p != der + der_len) {
		EVP_PKEY_free(key);
		key = NULL;
	}
	X509_free(cert);
	return key;
}

int
key_load_public(const char *path, EVP_PKEY **out)
{
	EVP_PKEY *key = NULL;
	BIO *bio = NULL;
	char *buf = NULL, *name = NULL, *header = NULL;
	unsigned char *der = NULL;
	long der_len = 0;
	size_t len = 0;
	int r;

	*out = NULL;
	if ((r = io_read_file(path, FERRY_MAX_KEY_FILE, &buf, &len)) != 0)
		goto out;
	if ((bio = BIO_new_mem_buf(buf, (int)len)) == NULL) {
		r = ferry_fail(FERRY_ERR_NOMEM, "%s: out of memory", path);
		goto out;
	}
	/* Blocks are read raw: nothing here ever decrypts, so nothing can prompt. */
	for (;;) {
		if (PEM_read_bio(bio, &name, &header, &der, &der_len) != 1) {
			r = ferry_fail(FERRY_ERR_KEY, "%s: not a public key or certificate "
			    "(expected PEM SubjectPublicKeyInfo or X.509)", path);
			goto out;
		}
		if (is_private_label(name)) {
			r = ferry_fail(FERRY_ERR_KEY, "%s: this is a private key; give the "
			    "public key (PEM SubjectPublicKeyInfo or X.509 certificate)", path);
			goto out;
		}
		if (strcmp(name, PEM_STRING_PUBLIC) == 0 || strcmp(name, PEM_STRING_X509) == 0 ||
		    strcmp(name, PEM_STRING_X509_OLD) == 0)
			break;
		OPENSSL_free(name);
		OPENSSL_free(header);
		OPENSSL_clear_free(der, (size_t)der_len);
		name = header = NULL;
		der = NULL;
	}
	if (header[0] != '\0' || (key = public_from_der(name, der, der_len)) == NULL) {
		r = ferry_fail(FERRY_ERR_KEY, "%s: not a public key or certificate (expected "
		    "PEM SubjectPublicKeyInfo or X.509)", path);
		goto out;
	}
	*out = key;
	key = NULL;
	r = 0;
out:
	ERR_clear_error();
	EVP_PKEY_free(key);
	OPENSSL_free(name);
	OPENSSL_free(header);
	if (der != NULL)
		OPENSSL_clear_free(der, (size_t)der_len);
	BIO_free(bio);
	if (buf != NULL)
		OPENSSL_clear_free(buf, len + 1);
	return r;
}

const char *
key_describe(const EVP_PKEY *key)
{
	static _Thread_local char desc[64];
	const char *name;
	char group[32];
	size_t group_len;

	if (key == NULL)
		return "no key";
	switch (EVP_PKEY_get_base_id(key)) {
	case EVP_PKEY_X25519:
		return "X25519";
	case EVP_PKEY_RSA:
		snprintf(desc, sizeof(desc), "RSA-%d", EVP_PKEY_get_bits(key));
		return desc;
	case EVP_PKEY_EC:
		if (EVP_PKEY_get_group_name(key, group, sizeof(group), &group_len) != 1) {
			ERR_clear_error();
			return "EC";
		}
		if (strcmp(group, "secp384r1") == 0)
			return "P-384";
		if (strcmp(group, "prime256v1") == 0)
			return "P-256";
		if (strcmp(group, "secp521r1") == 0)
			return "P-521";
		snprintf(desc, sizeof(desc), "EC %s", group);
		return desc;
	default:
		break;
	}
	if ((name = EVP_PKEY_get0_type_name(key)) == NULL)
		return "unknown key type";
	snprintf(desc, sizeof(desc), "%s", name);
	return desc;
}
