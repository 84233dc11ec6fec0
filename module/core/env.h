/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The little that the NT core needs from its environment: fixed-width
 * types, memmove, an allocator, 64-bit atomics (the placement floor, the
 * budget of section commit maps) and a reschedule point.  The kernel
 * build maps them onto the kernel's, the user-space test build onto
 * libc's and the compiler's.
 */
#ifndef NTVM_CORE_ENV_H
#define NTVM_CORE_ENV_H

#ifdef __KERNEL__
#include <linux/atomic.h>
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

/* The kernel's atomic64_t, as far as the core uses it (placement). */
struct ntvm_host_atomic64 {
	s64 counter;
};

#define atomic64_t struct ntvm_host_atomic64

static inline s64 atomic64_read(const atomic64_t *v)
{
	return __atomic_load_n(&v->counter, __ATOMIC_RELAXED);
}

static inline void atomic64_set(atomic64_t *v, s64 i)
{
	__atomic_store_n(&v->counter, i, __ATOMIC_RELAXED);
}

static inline s64 atomic64_add_return(s64 i, atomic64_t *v)
{
	return __atomic_add_fetch(&v->counter, i, __ATOMIC_SEQ_CST);
}

static inline void atomic64_sub(s64 i, atomic64_t *v)
{
	__atomic_sub_fetch(&v->counter, i, __ATOMIC_SEQ_CST);
}

static inline bool atomic64_try_cmpxchg(atomic64_t *v, s64 *old, s64 new)
{
	return __atomic_compare_exchange_n(&v->counter, old, new, false,
					   __ATOMIC_SEQ_CST, __ATOMIC_RELAXED);
}
#endif

/*
 * Provided by the glue: zeroed memory, or NULL, without a warning when a
 * large size fails, and charged to the caller (the kernel's memory
 * cgroup accounting).
 */
void *ntvm_core_zalloc(size_t size);
void ntvm_core_free(void *p);

/*
 * Provided by the glue: let others run (cond_resched()) in a long search;
 * true when the caller has a fatal signal pending and should give up.
 */
bool ntvm_core_resched(void);

#endif /* NTVM_CORE_ENV_H */
