/* ferry encrypt: seal a file to recipients' public keys, or under a passphrase. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "cli/common/cli.h"
#include "cli/common/prompt.h"
#include "cli/ferry/ferry.h"
#include "crypto/keys.h"
#include "format/sealed.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/limits.h"

enum {
	OPT_PASSPHRASE_FILE = 256,
	OPT_CHUNK_SIZE,
	OPT_WORK_FACTOR,
	OPT_PROGRESS,
};

static const struct option long_options[] = {
	{ "recipient", required_argument, NULL, 'r' },
	{ "passphrase", no_argument, NULL, 'p' },
	{ "passphrase-file", required_argument, NULL, OPT_PASSPHRASE_FILE },
	{ "output", required_argument, NULL, 'o' },
	{ "chunk-size", required_argument, NULL, OPT_CHUNK_SIZE },
	{ "work-factor", required_argument, NULL, OPT_WORK_FACTOR },
	{ "quiet", no_argument, NULL, 'q' },
	{ "progress", no_argument, NULL, OPT_PROGRESS },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void
usage(void)
{
	printf("Usage: ferry encrypt -r RECIPIENT [-r RECIPIENT]... [options] [-o OUT] [IN]\n"
	    "       ferry encrypt -p [--passphrase-file FILE] [options] [-o OUT] [IN]\n\n"
	    "Encrypt IN (default: standard input) to OUT (default: standard output).\n"
	    "Any one of the recipients' private keys, or the passphrase, opens the result.\n\n"
	    "  -r, --recipient FILE        a public key (PEM) or an X.509 certificate (PEM);\n"
	    "                              repeat for several recipients (at most %u)\n"
	    "  -p, --passphrase            encrypt under a passphrase typed twice on the terminal\n"
	    "      --passphrase-file FILE  ... or the first line of FILE (implies -p)\n"
	    "      --work-factor N         scrypt work factor, log2 of N: %u to %u (default %u)\n"
	    "      --chunk-size SIZE       payload chunk size, K or M suffix allowed:\n"
	    "                              %uK to %uM (default %uK)\n"
	    "  -o, --output OUT            write here ('-' for standard output, also to a\n"
	    "                              terminal); a file appears only when complete\n"
	    "  -q, --quiet                 no progress display\n"
	    "      --progress              show progress on stderr even when not a terminal\n"
	    "  -h, --help                  show this help\n",
	    FERRY_MAX_STANZAS, FERRY_SCRYPT_MIN_LOG2N, FERRY_SCRYPT_MAX_LOG2N,
	    FERRY_SCRYPT_DEFAULT_LOG2N, FERRY_MIN_CHUNK / 1024, FERRY_MAX_CHUNK / (1024 * 1024),
	    FERRY_DEFAULT_CHUNK / 1024);
}

/*
 * Wrap a dummy key for one recipient, so that a key the format cannot use (an Ed25519
 * key, RSA under 3072 bits) is reported with its file name before any output exists.
 */
static int
check_recipient(const char *path, const struct sealed_recipient *rcpt)
{
	const uint8_t file_key[SEALED_FILE_KEY_LEN] = { 0 }, nonce[SEALED_NONCE_LEN] = { 0 };
	struct fbuf *hdr;
	int r;

	if ((hdr = fbuf_new(FERRY_MAX_HEADER)) == NULL)
		return ferry_fail(FERRY_ERR_NOMEM, "out of memory");
	ferry_error_clear();
	if ((r = sealed_header_build(file_key, nonce, FERRY_DEFAULT_CHUNK, rcpt, 1, hdr)) != 0)
		ferry_error_prefix(r, "%s", path);
	fbuf_free(hdr);
	return r;
}

int
cmd_encrypt(int argc, char **argv)
{
	const char *cmd = "encrypt", *out_path = NULL, *in_path = NULL, *pass_file = NULL;
	const char *rcpt_paths[FERRY_MAX_STANZAS];
	struct sealed_recipient rcpts[FERRY_MAX_STANZAS];
	struct cli_input in = { .fd = -1 };
	struct cli_output out = { .fd = -1, .af = { .fd = -1 } };
	struct cli_progress_hook hook = { 0 };
	struct sealed_progress sp = { .update = NULL };
	enum cli_progress_mode pmode = CLI_PROGRESS_AUTO;
	bool want_pass = false, have_work_factor = false;
	uint64_t chunk = FERRY_DEFAULT_CHUNK, log2n = FERRY_SCRYPT_DEFAULT_LOG2N;
	size_t nrcpts = 0, pass_len = 0;
	char *pass = NULL;
	int c, r, ret = CLI_EXIT_FAIL;

	memset(rcpts, 0, sizeof(rcpts));
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":r:po:qh", long_options, NULL)) != -1) {
		switch (c) {
		case 'r':
			if (nrcpts == FERRY_MAX_STANZAS)
				return cli_usage_error(cmd, "more than %u recipients",
				    FERRY_MAX_STANZAS);
			rcpt_paths[nrcpts++] = optarg;
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
		case OPT_CHUNK_SIZE:
			if ((r = cli_parse_size("--chunk-size", optarg, FERRY_MIN_CHUNK,
			    FERRY_MAX_CHUNK, &chunk)) != 0)
				return cli_usage_error(cmd, "%s", ferry_error_detail(r));
			break;
		case OPT_WORK_FACTOR:
			if ((r = cli_parse_uint("--work-factor", optarg, FERRY_SCRYPT_MIN_LOG2N,
			    FERRY_SCRYPT_MAX_LOG2N, &log2n)) != 0)
				return cli_usage_error(cmd, "%s", ferry_error_detail(r));
			have_work_factor = true;
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
	if (nrcpts > 0 && want_pass)
		return cli_usage_error(cmd, "-r and --passphrase cannot be used together");
	if (nrcpts == 0 && !want_pass)
		return cli_usage_error(cmd, "no recipient given (-r KEY, or --passphrase)");
	if (have_work_factor && !want_pass)
		return cli_usage_error(cmd, "--work-factor applies only with --passphrase");
	/* Binary on a terminal is useless and can upset it; "-o -" says it is wanted. */
	if (out_path == NULL && isatty(STDOUT_FILENO))
		return cli_usage_error(cmd, "refusing to write ciphertext to a terminal; "
		    "use -o FILE (or -o - to insist)");

	/* The input first: a missing file should not cost a passphrase typed twice. */
	ferry_error_clear();
	if ((r = cli_input_open(&in, in_path)) != 0) {
		ret = cli_error(r);
		goto out;
	}
	for (size_t i = 0; i < nrcpts; i++) {
		rcpts[i].kind = SEALED_PUBLIC_KEY;
		if ((r = key_load_public(rcpt_paths[i], &rcpts[i].key)) != 0 ||
		    (r = check_recipient(rcpt_paths[i], &rcpts[i])) != 0) {
			ret = cli_error(r);
			goto out;
		}
	}
	if (want_pass) {
		if (pass_file != NULL)
			r = passphrase_read_file(pass_file, &pass, &pass_len);
		else {
			r = prompt_passphrase("Passphrase: ", true, &pass, &pass_len);
			if (r == FERRY_ERR_NEED_PASSPHRASE)
				r = ferry_fail(r, "--passphrase: no terminal to ask on; "
				    "give --passphrase-file FILE");
		}
		if (r != 0) {
			ret = cli_error(r);
			goto out;
		}
		rcpts[0].kind = SEALED_PASSPHRASE;
		rcpts[0].secret = (const uint8_t *)pass;
		rcpts[0].secret_len = pass_len;
		rcpts[0].log2n = (unsigned)log2n;
		nrcpts = 1;
	}

	if ((r = cli_output_open(&out, out_path)) != 0) {
		ret = cli_error(r);
		goto out;
	}
	hook.in = &in;
	hook.p = cli_progress_new(&in, pmode);
	sp.update = cli_progress_update;
	sp.arg = &hook;
	ferry_error_clear();
	if ((r = sealed_encrypt_fd(in.fd, out.fd, rcpts, nrcpts, (uint32_t)chunk, &sp)) != 0) {
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
	ret = cli_error(r);
out:
	cli_output_abort(&out);
	cli_input_close(&in);
	progress_free(hook.p);
	for (size_t i = 0; i < nrcpts; i++)
		EVP_PKEY_free(rcpts[i].key);
	passphrase_free(pass);
	return ret;
}
