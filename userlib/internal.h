/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared between libntvm's objects; nothing here is exported. */
#ifndef NTVM_INTERNAL_H
#define NTVM_INTERNAL_H

#include <string.h>
#include "ntvm.h"

#define NTVM_EXPORT __attribute__((visibility("default")))

/* The module's handshake answer, cached; 0, or -1 without the module. */
int ntvm_geometry(struct ntvm_api *api);

#endif
