/* ferry keygen: a fresh key pair, the private key in KEY and the public key in KEY.pub. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "cli/common/cli.h"
#include "cli/common/prompt.h"
#include "cli/ferry/ferry.h"
#include "crypto/keys.h"
#include "util/err.h"

enum {
	OPT_PASSPHRASE_FILE = 256,
};

static const struct option long_options[] = {
	{ "type", required_argument, NULL, 't' },
	{ "passphrase", no_argument, NULL, 'p' },
	{ "passphrase-file", required_argument, NULL, OPT_PASSPHRASE_FILE },
	{ "force", no_argument, NULL, 'f' },
	{ "output", required_argument, NULL, 'o' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void
usage(void)
{
	printf("Usage: ferry keygen [-t TYPE] [-p | --passphrase-file FILE] [-f] -o KEY\n\n"
	    "Generate a key pair: the private key goes to KEY (PEM PKCS#8, mode 0600), the\n"
	    "public key to KEY.pub (PEM SubjectPublicKeyInfo, mode 0644).\n\n"
	    "  -t, --type TYPE             p384 (default), x25519, rsa3072 or rsa4096\n"
	    "  -p, --passphrase            encrypt the private key under a passphrase typed\n"
	    "                              twice on the terminal\n"
	    "      --passphrase-file FILE  encrypt it under the first line of FILE\n"
	    "  -f, --force                 replace an existing KEY or KEY.pub\n"
	    "  -o, --output KEY            where to write the private key (required)\n"
	    "  -h, --help                  show this help\n");
}

/* Refuse before generating anything, so that neither file is touched. */
static int
check_absent(const char *path)
{
	struct stat st;

	if (lstat(path, &st) == 0)
		return ferry_fail(FERRY_ERR_EXISTS, "%s: already exists (use --force to replace it)",
		    path);
	return 0;
}

int
cmd_keygen(int argc, char **argv)
{
	const char *cmd = "keygen", *out = NULL, *type_name = "p384", *pass_file = NULL;
	bool force = false, want_pass = false, private_written = false;
	enum key_type type;
	EVP_PKEY *key = NULL;
	char *pub = NULL, *pass = NULL;
	size_t pass_len = 0, n;
	int c, r, ret = CLI_EXIT_FAIL;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":t:pfo:h", long_options, NULL)) != -1) {
		switch (c) {
		case 't':
			type_name = optarg;
			break;
		case 'p':
			want_pass = true;
			break;
		case OPT_PASSPHRASE_FILE:
			pass_file = optarg;
			break;
		case 'f':
			force = true;
			break;
		case 'o':
			out = optarg;
			break;
		case 'h':
			usage();
			return CLI_EXIT_OK;
		default:
			return cli_getopt_error(cmd, c, argv);
		}
	}
	if (optind < argc)
		return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
	if (out == NULL)
		return cli_usage_error(cmd, "no output file given (-o KEY)");
	if (*out == '\0' || strcmp(out, "-") == 0)
		return cli_usage_error(cmd, "-o needs a file name (the public key goes to KEY.pub)");
	if (key_type_parse(type_name, &type) != 0)
		return cli_usage_error(cmd, "unknown key type '%s' (p384, x25519, rsa3072, rsa4096)",
		    type_name);

	n = strlen(out) + sizeof(".pub");
	if ((pub = malloc(n)) == NULL) {
		ret = cli_error(ferry_fail(FERRY_ERR_NOMEM, "out of memory"));
		goto out;
	}
	snprintf(pub, n, "%s.pub", out);
	ferry_error_clear();
	if (!force && ((r = check_absent(out)) != 0 || (r = check_absent(pub)) != 0)) {
		ret = cli_error(r);
		goto out;
	}

	if (pass_file != NULL) {
		if ((r = passphrase_read_file(pass_file, &pass, &pass_len)) != 0) {
			ret = cli_error(r);
			goto out;
		}
	} else if (want_pass) {
		r = prompt_passphrase("Passphrase for the new key: ", true, &pass, &pass_len);
		if (r == FERRY_ERR_NEED_PASSPHRASE)
			r = ferry_fail(r, "--passphrase: no terminal to ask on; "
			    "give --passphrase-file FILE instead");
		if (r != 0) {
			ret = cli_error(r);
			goto out;
		}
	}

	ferry_error_clear();
	if ((r = key_generate(type, &key)) != 0 ||
	    (r = key_save_private(key, out, pass, pass_len, force)) != 0) {
		ret = cli_error(r);
		goto out;
	}
	private_written = true;
	if ((r = key_save_public(key, pub, force)) != 0) {
		ret = cli_error(r);
		goto out;
	}
	fprintf(stderr, "ferry: wrote public key %s (type %s%s)\n", pub, key_type_name(type),
	    pass != NULL ? ", private key passphrase-protected" : "");
	ret = CLI_EXIT_OK;
out:
	/* Half a key pair is worse than none: do not leave a private key without its .pub. */
	if (ret != CLI_EXIT_OK && private_written)
		unlink(out);
	passphrase_free(pass);
	EVP_PKEY_free(key);
	free(pub);
	return ret;
}
