/* cmd: the cdagate program's subcommands. Each parses its arguments and calls the library.
 * Exit codes: 0 success (valid), 1 failure (invalid documents), 2 usage or I/O error. */
#ifndef CG_CMD_CMD_H
#define CG_CMD_CMD_H

int cg_cmd_validate(int argc, char **argv);
int cg_cmd_profile(int argc, char **argv);
int cg_cmd_serve(int argc, char **argv);
int cg_cmd_patient(int argc, char **argv);
int cg_cmd_render(int argc, char **argv);

#endif
