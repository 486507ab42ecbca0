/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* dirtytop's version: --version, recordings' headers, the exporter's build_info. */
#ifndef DT_CORE_VERSION_H
#define DT_CORE_VERSION_H

#define DIRTYTOP_VERSION "0.1.0"

#endif
