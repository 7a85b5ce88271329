/* ferry decrypt: open a sealed file with private keys or its passphrase. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "cli/common/cli.h"
#include "cli/common/prompt.h"
#include "cli/ferry/ferry.h"
#include "crypto/keys.h"
#include "format/sealed.h"
#include "util/err.h"
#include "util/limits.h"

#define KEY_PASSPHRASE_ENV  "FERRY_KEY_PASSPHRASE_FILE"
#define KEY_PROMPT_TRIES    3

enum {
	OPT_PASSPHRASE_FILE = 256,
	OPT_PROGRESS,
};

/* What the header says opens the file, when it could be read ahead of time. */
enum peek_result {
	PEEK_UNKNOWN,		/* not a regular file, or a header decryption will reject */
	PEEK_PASSPHRASE,	/* a scrypt stanza: only a passphrase opens it */
	PEEK_KEYS,		/* public-key stanzas only */
};

static const struct option long_options[] = {
	{ "identity", required_argument, NULL, 'i' },
	{ "passphrase", no_argument, NULL, 'p' },
	{ "passphrase-file", required_argument, NULL, OPT_PASSPHRASE_FILE },
	{ "output", required_argument, NULL, 'o' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "progress", no_argument, NULL, OPT_PROGRESS },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void
usage(void)
{
	printf("Usage: ferry decrypt -i KEY [-i KEY]... [options] [-o OUT] [IN]\n"
	    "       ferry decrypt -p [--passphrase-file FILE] [options] [-o OUT] [IN]\n\n"
	    "Decrypt IN (default: standard input) to OUT (default: standard output). A file\n"
	    "OUT appears only once every byte of IN has been authenticated.\n\n"
	    "  -i, --identity KEY          a private key (PEM PKCS#8); repeat to try several.\n"
	    "                              A passphrase-protected key is opened with the\n"
	    "                              first line of $%s, or a prompt\n"
	    "  -p, --passphrase            the file was encrypted with a passphrase: type it\n"
	    "      --passphrase-file FILE  ... or read it from the first line of FILE\n"
	    "  -o, --output OUT            write here ('-' for standard output)\n"
	    "  -q, --quiet                 no progress display\n"
	    "      --progress              show progress on stderr even when not a terminal\n"
	    "  -h, --help                  show this help\n", KEY_PASSPHRASE_ENV);
}

/* Read the header of a regular file without consuming it, to learn what opens it. */
static enum peek_result
peek_header(const struct cli_input *in)
{
	struct sealed_header h;
	enum peek_result res = PEEK_UNKNOWN;
	uint8_t *buf = NULL;
	size_t need = 0, want;
	ssize_t got;

	if (!in->is_regular)
		return PEEK_UNKNOWN;
	want = in->size < FERRY_MAX_HEADER ? (size_t)in->size : FERRY_MAX_HEADER;
	if (want == 0 || (buf = malloc(want)) == NULL)
		goto out;
	got = pread(in->fd, buf, want, (off_t)in->base);
	if (got <= 0 || sealed_header_parse(buf, (size_t)got, &h, &need) != 0)
		goto out;
	res = PEEK_KEYS;
	for (size_t i = 0; i < h.nstanzas; i++)
		if (h.stanzas[i].type == SEALED_STANZA_SCRYPT)
			res = PEEK_PASSPHRASE;
out:
	free(buf);
	/* Whatever was wrong will be reported by the decryption itself. */
	ferry_error_clear();
	return res;
}

/* Load one private key, asking for its passphrase if it has one. */
static int
load_identity(const char *path, EVP_PKEY **key)
{
	const char *pass_file = getenv(KEY_PASSPHRASE_ENV);
	char *pass = NULL, *prompt = NULL;
	size_t pass_len = 0, n;
	int r;

	ferry_error_clear();
	if ((r = key_load_private(path, NULL, 0, key)) != FERRY_ERR_NEED_PASSPHRASE)
		return r;

	if (pass_file != NULL && *pass_file != '\0') {
		if ((r = passphrase_read_file(pass_file, &pass, &pass_len)) != 0) {
			ferry_error_prefix(r, "%s", KEY_PASSPHRASE_ENV);
			goto out;
		}
		ferry_error_clear();
		r = key_load_private(path, pass, pass_len, key);
		if (r == FERRY_ERR_PASSPHRASE)
			r = ferry_fail(r, "%s: wrong passphrase (read from %s=%s)", path,
			    KEY_PASSPHRASE_ENV, pass_file);
		goto out;
	}
	if (!prompt_have_tty()) {
		r = ferry_fail(FERRY_ERR_NEED_PASSPHRASE, "%s: the private key is "
		    "passphrase-protected and there is no terminal to ask on; set %s to a file "
		    "holding its passphrase", path, KEY_PASSPHRASE_ENV);
		goto out;
	}
	n = strlen(path) + sizeof("Passphrase for : ");
	if ((prompt = malloc(n)) == NULL) {
		r = ferry_fail(FERRY_ERR_NOMEM, "out of memory");
		goto out;
	}
	snprintf(prompt, n, "Passphrase for %s: ", path);
	for (int tries = 0; tries < KEY_PROMPT_TRIES; tries++) {
		passphrase_free(pass);
		pass = NULL;
		if ((r = prompt_passphrase(prompt, false, &pass, &pass_len)) != 0)
			goto out;
		ferry_error_clear();
		if ((r = key_load_private(path, pass, pass_len, key)) != FERRY_ERR_PASSPHRASE)
			goto out;
		fprintf(stderr, "ferry: %s: wrong passphrase\n", path);
	}
out:
	passphrase_free(pass);
	free(prompt);
	return r;
}

/* The passphrase a passphrase-encrypted file is opened with. */
static int
get_file_passphrase(const char *pass_file, char **pass, size_t *pass_len)
{
	int r;

	if (pass_file != NULL)
		return passphrase_read_file(pass_file, pass, pass_len);
	r = prompt_passphrase("Passphrase: ", false, pass, pass_len);
	if (r == FERRY_ERR_NEED_PASSPHRASE)
		r = ferry_fail(r, "the file is encrypted with a passphrase and there is no "
		    "terminal to ask on; give --passphrase-file FILE");
	return r;
}

int
cmd_decrypt(int argc, char **argv)
{
	const char *cmd = "decrypt", *out_path = NULL, *in_path = NULL, *pass_file = NULL;
	const char *id_paths[FERRY_MAX_STANZAS];
	struct sealed_identity ids[FERRY_MAX_STANZAS + 1];
	struct cli_input in = { .fd = -1 };
	struct cli_output out = { .fd = -1, .af = { .fd = -1 } };
	struct cli_progress_hook hook = { 0 };
	struct sealed_progress sp = { .update = NULL };
	enum cli_progress_mode pmode = CLI_PROGRESS_AUTO;
	enum peek_result peek = PEEK_UNKNOWN;
	bool want_pass = false, use_keys = false, use_pass = false;
	size_t nid_paths = 0, nids = 0, pass_len = 0;
	char *pass = NULL;
	int c, r, ret = CLI_EXIT_FAIL;

	memset(ids, 0, sizeof(ids));
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":i:po:qh", long_options, NULL)) != -1) {
		switch (c) {
		case 'i':
			if (nid_paths == FERRY_MAX_STANZAS)
				return cli_usage_error(cmd, "more than %u identities",
				    FERRY_MAX_STANZAS);
			id_paths[nid_paths++] = optarg;
			break;
		case 'p':
			want_pass = true;
			break;
		case OPT_PASSPHRASE_FILE:
			want_pass = true;
			pass_file = optarg;
			break;
		case 'o':
			out_path = optarg;
			break;
		case 'q':
			pmode = CLI_PROGRESS_OFF;
			break;
		case OPT_PROGRESS:
			pmode = CLI_PROGRESS_ON;
			break;
		case 'h':
			usage();
			return CLI_EXIT_OK;
		default:
			return cli_getopt_error(cmd, c, argv);
		}
	}
	if (optind < argc)
		in_path = argv[optind++];
	if (optind < argc)
		return cli_usage_error(cmd, "unexpected argument '%s' (one input at most)",
		    argv[optind]);
	if (nid_paths == 0 && !want_pass)
		return cli_usage_error(cmd, "no identity given (-i KEY, or --passphrase / "
		    "--passphrase-file FILE for a passphrase-encrypted file)");

	ferry_error_clear();
	if ((r = cli_input_open(&in, in_path)) != 0) {
		ret = cli_error(r);
		goto out;
	}
	/* Ask only for what can open this file: no prompt for a key that cannot help. */
	peek = peek_header(&in);
	use_keys = nid_paths > 0 && peek != PEEK_PASSPHRASE;
	use_pass = want_pass && peek != PEEK_KEYS;
	if (peek == PEEK_PASSPHRASE && !want_pass) {
		if (!prompt_have_tty()) {
			ret = cli_error(ferry_fail(FERRY_ERR_NEED_PASSPHRASE, "%s: encrypted with a "
			    "passphrase, not to a key; give --passphrase-file FILE (or --passphrase "
			    "on a terminal)", in.name));
			goto out;
		}
		use_pass = true;
	}
	if (peek == PEEK_KEYS && nid_paths == 0) {
		ret = cli_error(ferry_fail(FERRY_ERR_NO_IDENTITY, "%s: encrypted to public keys, "
		    "not with a passphrase; give -i KEY", in.name));
		goto out;
	}

	if (use_keys) {
		for (size_t i = 0; i < nid_paths; i++) {
			ids[nids].kind = SEALED_PUBLIC_KEY;
			if ((r = load_identity(id_paths[i], &ids[nids].key)) != 0) {
				ret = cli_error(r);
				goto out;
			}
			nids++;
		}
	}
	if (use_pass) {
		ferry_error_clear();
		if ((r = get_file_passphrase(pass_file, &pass, &pass_len)) != 0) {
			ret = cli_error(r);
			goto out;
		}
		ids[nids].kind = SEALED_PASSPHRASE;
		ids[nids].secret = (const uint8_t *)pass;
		ids[nids].secret_len = pass_len;
		nids++;
	}

	ferry_error_clear();
	if ((r = cli_output_open(&out, out_path)) != 0) {
		ret = cli_error(r);
		goto out;
	}
	hook.in = &in;
	hook.p = cli_progress_new(&in, pmode);
	sp.update = cli_progress_update;
	sp.arg = &hook;
	ferry_error_clear();
	if ((r = sealed_decrypt_fd(in.fd, out.fd, ids, nids, &sp)) != 0) {
		cli_stream_error(r, &in, &out);
		goto fail;
	}
	if ((r = cli_output_commit(&out)) != 0)
		goto fail;
	cli_progress_finish(&hook);
	ret = CLI_EXIT_OK;
	goto out;
fail:
	cli_output_abort(&out);
	progress_free(hook.p);
	hook.p = NULL;
	if (r == FERRY_ERR_NO_IDENTITY && !use_pass &&
	    strstr(ferry_error_detail(r), "passphrase") != NULL) {
		char detail[512];

		/* A pipe cannot be looked at ahead: name the options only now. */
		snprintf(detail, sizeof(detail), "%s", ferry_error_detail(r));
		ferry_fail(r, "%s (give --passphrase-file FILE, or --passphrase on a terminal)",
		    detail);
	}
	ret = cli_error(r);
out:
	cli_output_abort(&out);
	cli_input_close(&in);
	progress_free(hook.p);
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		EVP_PKEY_free(ids[i].key);
	passphrase_free(pass);
	return ret;
}
