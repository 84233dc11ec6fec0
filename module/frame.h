/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ntvm: the pieces every ioctl handler is made of (module/ioctl.c and the
 * handlers of other subsystems): copying an argument block in, the
 * caller's NT variables, and the begin and end of an operation under the
 * context's lock.  Documentation/ntvm.rst, "ABI conventions", says what
 * they guarantee.
 */
#ifndef NTVM_FRAME_H
#define NTVM_FRAME_H

#include <linux/compat.h>
#include <linux/ktime.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/uaccess.h>

#include "context.h"
#include "trace.h"

/*
 * Copy in an argument block that starts with its size (see the uapi
 * header): older, smaller blocks read as zero-extended, newer ones must
 * have a zero tail.  Then prove that the results can be written back
 * before anything changes, by writing back the first and the last word of
 * the part both sides know (the caller's size, at most the module's),
 * where every output field the caller has lies: an operation must not
 * change what it then cannot report.
 *
 * The caller's own version, the usual case, is read a word at a time,
 * its size included, in the user-access section that writes the probe
 * back: a block is 3 to 13 words.  (A get_user() of the size first was a
 * call and a section of its own: about 15 instructions a call on 6.12.)
 * copy_from_user() would be a call to _copy_from_user() and, on
 * CPUs without fast short string copies (FSRM: Zen 2 as in the Steam
 * Deck, Intel before Ice Lake, QEMU's TCG CPU), to rep_movs_alternative()
 * and a rep movsb: about 55 instructions more per call on 6.12.  With the
 * single sections of ntvm_var_get() and of the copy-outs, this keeps an
 * ioctl below the cost of ABI 1's hand-written copies (make bench: about
 * 1,050 guest ns with a put_user() per field, Documentation/bench/).
 *
 * Every byte of *args is written when this returns 0, so the handlers
 * declare their block __uninitialized: Debian's kernels are built with
 * CONFIG_INIT_STACK_ALL_ZERO, which would otherwise clear it first, a rep
 * stos of the block's words on every call.
 */
static __always_inline int ntvm_copy_args(void *args, size_t ksize,
					  void __user *argp, size_t ver0)
{
	u32 __user *uw = argp;
	const u32 *words = args;
	u32 usize, last;
	int ret;

	BUILD_BUG_ON(ksize % sizeof(u64));
	/* A smaller block may end where a block of ksize bytes could not. */
	if (user_access_begin(argp, ksize)) {
		unsafe_get_user(usize, uw, efault);
		if (likely(usize == ksize)) {
			const u64 __user *uq = argp;
			u64 *q = args;
			size_t i;

#pragma GCC unroll 16
			for (i = 0; i < ksize / sizeof(u64); i++)
				unsafe_get_user(q[i], &uq[i], efault);
			last = ksize / sizeof(u32) - 1;
			goto probe;
		}
		user_access_end();
	} else if (get_user(usize, uw)) {
		return -EFAULT;
	}
	if (usize < ver0)
		return -EINVAL;
	/* As clone3(): no structure will ever be larger than a page. */
	if (usize > PAGE_SIZE)
		return -E2BIG;
	ret = copy_struct_from_user(args, ksize, argp, usize);
	if (ret)
		return ret;
	last = min_t(size_t, usize, ksize) / sizeof(u32) - 1;
	if (!user_access_begin(argp, (last + 1) * sizeof(u32)))
		return -EFAULT;
probe:
	/* The size read first is the one that counts (another thread may race). */
	*(u32 *)args = usize;
	unsafe_put_user(words[0], &uw[0], efault);
	unsafe_put_user(words[last], &uw[last], efault);
	user_access_end();
	return 0;
efault:
	user_access_end();
	return -EFAULT;
}

/*
 * The caller's NT variables.  PVOID and SIZE_T are as wide as the
 * caller's pointers; ULONG is 4 bytes.
 */
static inline unsigned int ntvm_word_width(void)
{
	return in_compat_syscall() ? sizeof(u32) : sizeof(u64);
}

/* Read a variable and prove it writable by writing it back. */
static __always_inline int ntvm_var_get(u64 uptr, unsigned int width,
					u64 *val)
{
	void __user *p = u64_to_user_ptr(uptr);
	u32 v32;
	u64 v64;

	if (!uptr || !user_access_begin(p, width))
		return -EFAULT;
	if (width == sizeof(u32)) {
		unsafe_get_user(v32, (u32 __user *)p, efault);
		unsafe_put_user(v32, (u32 __user *)p, efault);
		*val = v32;
	} else {
		unsafe_get_user(v64, (u64 __user *)p, efault);
		unsafe_put_user(v64, (u64 __user *)p, efault);
		*val = v64;
	}
	user_access_end();
	return 0;
efault:
	user_access_end();
	return -EFAULT;
}

static __always_inline int ntvm_var_put(u64 uptr, unsigned int width,
					u64 val)
{
	void __user *p = u64_to_user_ptr(uptr);

	if (width == sizeof(u32))
		return put_user((u32)val, (u32 __user *)p);
	return put_user(val, (u64 __user *)p);
}

/*
 * Every operation runs between ntvm_begin() and ntvm_end(), which also
 * count the allocations it made or forgot, for the leak counters.
 * ntvm_begin_published() is for the handlers that keep the shared NT state
 * (shared.c) exact themselves: they withdraw what they may change and
 * publish what they make.  ntvm_begin() withdraws all of it first.  Any of
 * them may forget an allocation it finds damaged behind ntvm's back (a
 * query too): then ntvm_end() withdraws all of it, as what was published
 * of that allocation no longer holds.
 */
static inline int ntvm_begin_published(struct ntvm_ctx *nc, u64 *nallocs)
{
	if (mutex_lock_killable(&nc->lock))
		return -EINTR;
	/* A MEM_RESET whose caller never said it was done: close it now. */
	if (READ_ONCE(nc->reset_window))
		ntvm_reset_close_windows(nc);
	/* The operation's own unmaps don't count as changes. */
	WRITE_ONCE(nc->op_task, current);
	*nallocs = nc->space.nallocs;
	nc->removals = nc->space.removals;
	return 0;
}

static inline int ntvm_begin(struct ntvm_ctx *nc, u64 *nallocs)
{
	int ret = ntvm_begin_published(nc, nallocs);

	if (!ret && READ_ONCE(nc->shared->count))
		ntvm_shared_withdraw(nc, 0, 0);
	return ret;
}

static inline void ntvm_end(struct ntvm_ctx *nc, u64 nallocs)
{
	lockdep_assert_held(&nc->lock);
	WRITE_ONCE(nc->op_task, NULL);
	if (nc->space.removals != nc->removals && READ_ONCE(nc->shared->count))
		ntvm_shared_withdraw(nc, 0, 0);
	/*
	 * The machine-wide counter's cache line is written only by calls
	 * that made or forgot allocations, not by commits, protection
	 * changes and queries of every process.
	 */
	if (nc->space.nallocs != nallocs)
		atomic_long_add(nc->space.nallocs - nallocs, &ntvm_live_allocs);
	mutex_unlock(&nc->lock);
}

/*
 * The trace event of an operation (trace.h): take the time before
 * ntvm_begin() and report after ntvm_end().  Both cost a patched-out
 * branch while the event is disabled.
 */
static inline u64 ntvm_trace_start(void)
{
	return trace_ntvm_op_enabled() ? ktime_get_ns() : 0;
}

static inline void ntvm_trace(enum ntvm_trace_op op, u32 status, u64 base,
			      u64 size, u64 t0)
{
	if (trace_ntvm_op_enabled())
		trace_ntvm_op(op, status, base, size,
			      t0 ? ktime_get_ns() - t0 : 0);
}

#endif /* NTVM_FRAME_H */
