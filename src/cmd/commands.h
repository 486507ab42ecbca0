/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* `dirtytop record`, `report`, `tune` and `doctor`: argv starts at the subcommand's name. */
#ifndef DT_SRC_SUBCOMMANDS_H
#define DT_SRC_SUBCOMMANDS_H

#define DIRTYTOP_VERSION "0.1.0"

int record_main(int argc, char **argv);
int report_main(int argc, char **argv);
int tune_main(int argc, char **argv);
int doctor_main(int argc, char **argv);

#endif
