/* The command line's subcommands that live in their own files. */
#ifndef ENCBOX_CLI_H
#define ENCBOX_CLI_H

/* encbox live (encbox_live.c): argv[0] is "live". Returns the exit code. */
int cmd_live(int argc, char **argv);

#endif
