/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The commands main.c dispatches to (its cmds[] table). argv[0] is the
 * command's name ("record", or "dirtytop" for the default live view); each
 * parses its own flags, prints its own --help and returns an exit status
 * (core/exit_status.h). No command calls another's main.
 */
#ifndef DT_CMD_COMMANDS_H
#define DT_CMD_COMMANDS_H


int live_main(int argc, char **argv);
int record_main(int argc, char **argv);
int report_main(int argc, char **argv);
int tune_main(int argc, char **argv);
int doctor_main(int argc, char **argv);
int exporter_main(int argc, char **argv);

#endif
