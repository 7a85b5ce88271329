/* placeholder: replaced by the CLI work */
int ferry_cli_placeholder(void);
int ferry_cli_placeholder(void) { return 0; }
