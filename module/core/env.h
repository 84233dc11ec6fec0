/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The little that the NT core needs from its environment: fixed-width
 * types, memmove and an allocator.  The kernel build maps them onto the
 * kernel's, the user-space test build onto libc's.
 */
#ifndef NTVM_CORE_ENV_H
#define NTVM_CORE_ENV_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/string.h>
#include <linux/errno.h>
#else
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <errno.h>
typedef unsigned long long u64;
typedef unsigned int u32;
typedef long long s64;
#endif

/*
 * Provided by the glue: zeroed memory, or NULL, without a warning when a
 * large size fails, and charged to the caller (the kernel's memory
 * cgroup accounting).
 */
void *ntvm_core_zalloc(size_t size);
void ntvm_core_free(void *p);

#endif /* NTVM_CORE_ENV_H */
