// SPDX-License-Identifier: GPL-2.0
/*
 * ntvm: the ioctl frame.
 */
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "context.h"
#include "softdirty.h"

#define NTVM_IOCTLS (NTVM_IOC_BIT(NTVM_IOC_API) | NTVM_IOC_BIT(NTVM_IOC_ALLOCATE) | \
		     NTVM_IOC_BIT(NTVM_IOC_FREE) | NTVM_IOC_BIT(NTVM_IOC_PROTECT) | \
		     NTVM_IOC_BIT(NTVM_IOC_QUERY) | NTVM_IOC_BIT(NTVM_IOC_STATS) | \
		     NTVM_IOC_BIT(NTVM_IOC_GUARD) | NTVM_IOC_BIT(NTVM_IOC_WATCH) | \
		     NTVM_IOC_BIT(NTVM_IOC_RESET_DONE) | \
		     NTVM_IOC_BIT(NTVM_IOC_SECTION_CREATE) | \
		     NTVM_IOC_BIT(NTVM_IOC_SECTION_QUERY) | \
		     NTVM_IOC_BIT(NTVM_IOC_SECTION_OPEN) | \
		     NTVM_IOC_BIT(NTVM_IOC_MAP_VIEW) | \
		     NTVM_IOC_BIT(NTVM_IOC_UNMAP_VIEW) | \
		     (NTVM_HAVE_WW_SCAN ? NTVM_IOC_BIT(NTVM_IOC_WW_SCAN) : 0))
#define NTVM_FEATURES (NTVM_FEATURES_ALL & \
		       ~(NTVM_HAVE_WW_SCAN ? 0 : NTVM_FEATURE_WW_SCAN))

/* The rare ioctls stay out of line, so that ntvm_ioctl() needs no frame. */
static noinline int ntvm_ioc_api(void __user *argp)
{
	struct ntvm_api api;

	if (copy_from_user(&api, argp, sizeof(api)))
		return -EFAULT;
	if (api.api != NTVM_API || api.ioctls || api.page_size ||
	    api.granularity || api.min_address || api.max_address ||
	    memchr_inv(api.reserved, 0, sizeof(api.reserved)))
		return -EINVAL;
	if (api.features & ~NTVM_FEATURES)
		return -EINVAL;

	api.features = NTVM_FEATURES;
	api.ioctls = NTVM_IOCTLS;
	api.page_size = NTVM_PAGE_SIZE;
	api.granularity = NTVM_GRANULARITY;
	api.min_address = NTVM_GRANULARITY;
	api.max_address = ntvm_max_address(current->mm);
	if (copy_to_user(argp, &api, sizeof(api)))
		return -EFAULT;
	return 0;
}

/*
 * Copy an argument block in, a word at a time (a constant number of loads
 * is cheaper than a string copy for blocks this small), and prove that the
 * results can be copied back before anything changes: an operation must
 * not change what it then cannot report.  A block spans at most two
 * pages, so writing its first and last words back unchanged proves every
 * page of it writable.  Always inlined, so that size is a constant.
 */
static __always_inline int ntvm_copy_args(void *args, void __user *argp,
					  size_t size)
{
	u64 __user *uw = argp;
	u64 *w = args;
	size_t i;

	BUILD_BUG_ON(size % sizeof(u64) || size > PAGE_SIZE);
	if (!user_access_begin(argp, size))
		return -EFAULT;
	/* Four words a step: the loop costs less than the loads otherwise. */
	for (i = 0; i + 4 <= size / sizeof(u64); i += 4) {
		unsafe_get_user(w[i], &uw[i], efault);
		unsafe_get_user(w[i + 1], &uw[i + 1], efault);
		unsafe_get_user(w[i + 2], &uw[i + 2], efault);
		unsafe_get_user(w[i + 3], &uw[i + 3], efault);
	}
	for (; i < size / sizeof(u64); i++)
		unsafe_get_user(w[i], &uw[i], efault);
	unsafe_put_user(w[0], &uw[0], efault);
	unsafe_put_user(w[i - 1], &uw[i - 1], efault);
	user_access_end();
	return 0;
efault:
	user_access_end();
	return -EFAULT;
}

/*
 * Every operation runs between ntvm_begin() and ntvm_end(), which also
 * count the allocations it made or forgot, for the leak counters.
 */
static __always_inline int ntvm_begin(struct ntvm_ctx *nc, u64 *nallocs)
{
	if (mutex_lock_killable(&nc->lock))
		return -EINTR;
	/* A MEM_RESET whose caller never said it was done: close it now. */
	if (READ_ONCE(nc->reset_window))
		ntvm_reset_close_windows(nc);
	/* The operation's own unmaps don't count as changes. */
	WRITE_ONCE(nc->op_task, current);
	*nallocs = nc->space.nallocs;
	return 0;
}

static __always_inline void ntvm_end(struct ntvm_ctx *nc, u64 nallocs)
{
	lockdep_assert_held(&nc->lock);
	WRITE_ONCE(nc->op_task, NULL);
	atomic_long_add(nc->space.nallocs - nallocs, &ntvm_live_allocs);
	mutex_unlock(&nc->lock);
}

/* The arguments of the ioctls that run one NT operation. */
union ntvm_op_args {
	struct ntvm_alloc alloc;
	struct ntvm_free free;
	struct ntvm_protect protect;
	struct ntvm_guard guard;
	struct ntvm_watch watch;
	struct ntvm_ww_scan scan;
};

/* Each structure has two reserved words, which must be zero. */
#define NTVM_TWO_RESERVED(type)						\
	BUILD_BUG_ON(sizeof_field(type, reserved) != 2 * sizeof(u64))

static bool ntvm_reserved_zero(const u64 *reserved)
{
	return !(reserved[0] | reserved[1]);
}

/*
 * Copy the arguments in, with a constant size for each command, prove them
 * writable, and check them: reserved fields zero, flags known, outputs not
 * set on input.
 */
static int ntvm_op_args_in(unsigned int cmd, union ntvm_op_args *a,
			   void __user *argp)
{
	int ret;

	NTVM_TWO_RESERVED(struct ntvm_alloc);
	NTVM_TWO_RESERVED(struct ntvm_free);
	NTVM_TWO_RESERVED(struct ntvm_protect);
	NTVM_TWO_RESERVED(struct ntvm_guard);
	NTVM_TWO_RESERVED(struct ntvm_watch);
	NTVM_TWO_RESERVED(struct ntvm_ww_scan);

	switch (cmd) {
	case NTVM_IOC_ALLOCATE:
		ret = ntvm_copy_args(&a->alloc, argp, sizeof(a->alloc));
		if (ret)
			return ret;
		if (!(a->alloc.flags & NTVM_ALLOC_REQUIREMENTS) &&
		    (a->alloc.lowest | a->alloc.highest | a->alloc.alignment))
			return -EINVAL;
		if ((a->alloc.flags & ~NTVM_ALLOC_FLAGS) || a->alloc.status ||
		    a->alloc.apply || a->alloc.apply_prot ||
		    (a->alloc.base_ptr && a->alloc.base) ||
		    (a->alloc.size_ptr && a->alloc.size) ||
		    !ntvm_reserved_zero(a->alloc.reserved))
			return -EINVAL;
		return 0;
	case NTVM_IOC_FREE:
		ret = ntvm_copy_args(&a->free, argp, sizeof(a->free));
		if (ret)
			return ret;
		if (a->free.status || (a->free.base_ptr && a->free.base) ||
		    (a->free.size_ptr && a->free.size) ||
		    !ntvm_reserved_zero(a->free.reserved))
			return -EINVAL;
		return 0;
	case NTVM_IOC_PROTECT:
		ret = ntvm_copy_args(&a->protect, argp, sizeof(a->protect));
		if (ret)
			return ret;
		if (a->protect.old_protect || a->protect.status ||
		    a->protect.apply || a->protect.apply_prot ||
		    a->protect.pad || (a->protect.base_ptr && a->protect.base) ||
		    (a->protect.size_ptr && a->protect.size) ||
		    !ntvm_reserved_zero(a->protect.reserved))
			return -EINVAL;
		return 0;
	case NTVM_IOC_GUARD:
		ret = ntvm_copy_args(&a->guard, argp, sizeof(a->guard));
		if (ret)
			return ret;
		if (a->guard.base || a->guard.status || a->guard.apply ||
		    a->guard.apply_prot || a->guard.pad ||
		    !ntvm_reserved_zero(a->guard.reserved))
			return -EINVAL;
		return 0;
	case NTVM_IOC_WATCH:
		ret = ntvm_copy_args(&a->watch, argp, sizeof(a->watch));
		if (ret)
			return ret;
		if (a->watch.alloc_base || a->watch.alloc_size ||
		    a->watch.status || a->watch.pad ||
		    !ntvm_reserved_zero(a->watch.reserved))
			return -EINVAL;
		return 0;
	case NTVM_IOC_WW_SCAN:
		ret = ntvm_copy_args(&a->scan, argp, sizeof(a->scan));
		if (ret)
			return ret;
		return ntvm_ww_scan_valid(&a->scan) ? 0 : -EINVAL;
	default:
		return -ENOTTY;
	}
}

/*
 * Read an NT argument the caller passed as a pointer to its variable, and
 * prove the variable writable by writing back what was read.
 */
static __always_inline bool ntvm_get_var(u64 uptr, u64 *val)
{
	u64 __user *p = u64_to_user_ptr(uptr);

	if (!uptr)
		return true;
	if (!user_access_begin(p, sizeof(*p)))
		return false;
	unsafe_get_user(*val, p, efault);
	unsafe_put_user(*val, p, efault);
	user_access_end();
	return true;
efault:
	user_access_end();
	return false;
}

static bool ntvm_probe_var32(u64 uptr)
{
	u32 __user *p = u64_to_user_ptr(uptr);
	u32 val;

	if (!uptr)
		return true;
	if (!user_access_begin(p, sizeof(*p)))
		return false;
	unsafe_get_user(val, p, efault);
	unsafe_put_user(val, p, efault);
	user_access_end();
	return true;
efault:
	user_access_end();
	return false;
}

/*
 * BaseAddress, RegionSize and OldProtect passed as pointers (see the uapi
 * header): false, with status STATUS_ACCESS_VIOLATION, if one fails.
 */
static bool ntvm_op_vars_in(unsigned int cmd, union ntvm_op_args *a)
{
	bool ok;

	switch (cmd) {
	case NTVM_IOC_ALLOCATE:
		ok = ntvm_get_var(a->alloc.base_ptr, &a->alloc.base) &&
		     ntvm_get_var(a->alloc.size_ptr, &a->alloc.size);
		if (!ok)
			a->alloc.status = NTVM_STATUS_ACCESS_VIOLATION;
		return ok;
	case NTVM_IOC_FREE:
		ok = ntvm_get_var(a->free.base_ptr, &a->free.base) &&
		     ntvm_get_var(a->free.size_ptr, &a->free.size);
		if (!ok)
			a->free.status = NTVM_STATUS_ACCESS_VIOLATION;
		return ok;
	case NTVM_IOC_PROTECT:
		ok = ntvm_get_var(a->protect.base_ptr, &a->protect.base) &&
		     ntvm_get_var(a->protect.size_ptr, &a->protect.size) &&
		     ntvm_probe_var32(a->protect.old_protect_ptr);
		if (!ok)
			a->protect.status = NTVM_STATUS_ACCESS_VIOLATION;
		return ok;
	default:
		return true;
	}
}

/* Copy the outputs out; on failure they still hold the inputs. */
static __always_inline int ntvm_op_args_out(unsigned int cmd,
					    const union ntvm_op_args *a,
					    void __user *argp)
{
	struct ntvm_alloc __user *ua = argp;
	struct ntvm_free __user *uf = argp;
	struct ntvm_protect __user *up = argp;
	struct ntvm_guard __user *ug = argp;
	struct ntvm_watch __user *uw = argp;
	struct ntvm_ww_scan __user *us = argp;

	if (!user_write_access_begin(argp, _IOC_SIZE(cmd)))
		return -EFAULT;
	switch (cmd) {
	case NTVM_IOC_ALLOCATE:
		unsafe_put_user(a->alloc.base, &ua->base, efault);
		unsafe_put_user(a->alloc.size, &ua->size, efault);
		unsafe_put_user(a->alloc.status, &ua->status, efault);
		unsafe_put_user(a->alloc.apply, &ua->apply, efault);
		unsafe_put_user(a->alloc.apply_prot, &ua->apply_prot, efault);
		break;
	case NTVM_IOC_FREE:
		unsafe_put_user(a->free.base, &uf->base, efault);
		unsafe_put_user(a->free.size, &uf->size, efault);
		unsafe_put_user(a->free.status, &uf->status, efault);
		break;
	case NTVM_IOC_PROTECT:
		unsafe_put_user(a->protect.base, &up->base, efault);
		unsafe_put_user(a->protect.size, &up->size, efault);
		unsafe_put_user(a->protect.old_protect, &up->old_protect, efault);
		unsafe_put_user(a->protect.status, &up->status, efault);
		unsafe_put_user(a->protect.apply, &up->apply, efault);
		unsafe_put_user(a->protect.apply_prot, &up->apply_prot, efault);
		break;
	case NTVM_IOC_GUARD:
		unsafe_put_user(a->guard.base, &ug->base, efault);
		unsafe_put_user(a->guard.status, &ug->status, efault);
		unsafe_put_user(a->guard.apply, &ug->apply, efault);
		unsafe_put_user(a->guard.apply_prot, &ug->apply_prot, efault);
		break;
	case NTVM_IOC_WW_SCAN:
		unsafe_put_user(a->scan.count, &us->count, efault);
		unsafe_put_user(a->scan.scanned, &us->scanned, efault);
		unsafe_put_user(a->scan.status, &us->status, efault);
		break;
	default:
		unsafe_put_user(a->watch.alloc_base, &uw->alloc_base, efault);
		unsafe_put_user(a->watch.alloc_size, &uw->alloc_size, efault);
		unsafe_put_user(a->watch.status, &uw->status, efault);
		break;
	}
	user_write_access_end();
	return 0;
efault:
	user_write_access_end();
	return -EFAULT;
}

/*
 * The frame of every NT operation: copy the arguments in and check them,
 * prove the results can be copied back, read the arguments passed by
 * pointer, run the operation under the lock, copy the results out.
 */
static int ntvm_ioc_op(struct ntvm_ctx *nc, unsigned int cmd, void __user *argp)
{
	union ntvm_op_args a __uninitialized;
	u64 n;
	int ret = ntvm_op_args_in(cmd, &a, argp);

	if (ret)
		return ret;
	/* A bad pointer: only the status (STATUS_ACCESS_VIOLATION) changes. */
	if (!ntvm_op_vars_in(cmd, &a))
		goto out;
	ret = ntvm_begin(nc, &n);
	if (ret)
		return ret;
	switch (cmd) {
	case NTVM_IOC_ALLOCATE:
		ntvm_allocate(&nc->space, &a.alloc);
		break;
	case NTVM_IOC_FREE:
		ntvm_free(&nc->space, &a.free);
		break;
	case NTVM_IOC_PROTECT:
		ntvm_protect(&nc->space, &a.protect);
		break;
	case NTVM_IOC_GUARD:
		ntvm_guard_hit(&nc->space, &a.guard);
		break;
	case NTVM_IOC_WATCH:
		ntvm_watch_check(&nc->space, &a.watch);
		break;
	case NTVM_IOC_WW_SCAN:
		ret = ntvm_ww_scan(&nc->space, &a.scan);
		break;
	}
	ntvm_end(nc, n);
	if (ret)
		return ret;
out:
	return ntvm_op_args_out(cmd, &a, argp);
}

#define NTVM_QUERY_CHUNK 8

static int ntvm_query_locked(struct ntvm_ctx *nc, struct ntvm_query *q)
{
	struct ntvm_region buf[NTVM_QUERY_CHUNK];
	struct ntvm_region __user *out = u64_to_user_ptr(q->regions);
	struct ntvm_query step = *q;
	u32 done = 0, n;

	lockdep_assert_held(&nc->lock);
	do {
		n = min_t(u32, q->count - done, NTVM_QUERY_CHUNK);
		ntvm_query(&nc->space, &step, buf, &n);
		if (step.status)
			break;
		if (copy_to_user(out + done, buf, n * sizeof(buf[0])))
			return -EFAULT;
		done += n;
		if (n < NTVM_QUERY_CHUNK)
			break;
		step.address = buf[n - 1].base + buf[n - 1].size;
	} while (done < q->count && step.address < q->end &&
		 step.address <= nc->space.max_addr);
	q->status = step.status;
	q->count = done;
	return 0;
}

static noinline int ntvm_ioc_query(struct ntvm_ctx *nc, void __user *argp)
{
	struct ntvm_query q;
	u64 n;
	int ret = ntvm_copy_args(&q, argp, sizeof(q));

	if (ret)
		return ret;
	if (q.status || !q.count || q.reserved[0] || q.reserved[1])
		return -EINVAL;
	/* end 0 is one region; the core applies that default. */
	if (q.end && q.end <= q.address)
		return -EINVAL;
	if (!access_ok(u64_to_user_ptr(q.regions),
		       (u64)q.count * sizeof(struct ntvm_region)))
		return -EFAULT;
	ret = ntvm_begin(nc, &n);
	if (ret)
		return ret;
	/* A query forgets allocations it finds unmapped. */
	ret = ntvm_query_locked(nc, &q);
	ntvm_end(nc, n);
	if (ret)
		return ret;
	if (copy_to_user(&((struct ntvm_query __user *)argp)->count, &q.count,
			 sizeof(q.count)) ||
	    copy_to_user(&((struct ntvm_query __user *)argp)->status, &q.status,
			 sizeof(q.status)))
		return -EFAULT;
	return 0;
}

static noinline int ntvm_ioc_stats(struct ntvm_ctx *nc, void __user *argp)
{
	struct ntvm_stats st;
	int ret = ntvm_copy_args(&st, argp, sizeof(st));

	if (ret)
		return ret;
	if (memchr_inv(&st, 0, sizeof(st)))
		return -EINVAL;
	if (mutex_lock_killable(&nc->lock))
		return -EINTR;
	ntvm_stats(&nc->space, &st);
	mutex_unlock(&nc->lock);
	return copy_to_user(argp, &st, sizeof(st)) ? -EFAULT : 0;
}

long ntvm_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct ntvm_file *nf = file->private_data;
	void __user *argp = (void __user *)arg;

	if (current->mm != nf->mm)
		return -EPERM;

	switch (cmd) {
	case NTVM_IOC_API:
		return ntvm_ioc_api(argp);
	case NTVM_IOC_ALLOCATE:
	case NTVM_IOC_FREE:
	case NTVM_IOC_PROTECT:
	case NTVM_IOC_GUARD:
	case NTVM_IOC_WATCH:
		return ntvm_ioc_op(nf->nc, cmd, argp);
	case NTVM_IOC_WW_SCAN:
		if (!NTVM_HAVE_WW_SCAN)
			return -ENOTTY;
		return ntvm_ioc_op(nf->nc, cmd, argp);
	case NTVM_IOC_QUERY:
		return ntvm_ioc_query(nf->nc, argp);
	case NTVM_IOC_STATS:
		return ntvm_ioc_stats(nf->nc, argp);
	case NTVM_IOC_SECTION_CREATE:
		return ntvm_ioc_section_create(nf, argp);
	case NTVM_IOC_SECTION_QUERY:
		return ntvm_ioc_section_query(nf, argp);
	case NTVM_IOC_SECTION_OPEN:
		return ntvm_ioc_section_open(nf, argp);
	case NTVM_IOC_MAP_VIEW:
		return ntvm_ioc_map_view(nf, argp);
	case NTVM_IOC_UNMAP_VIEW:
		return ntvm_ioc_unmap_view(nf, argp);
	case NTVM_IOC_RESET_DONE:
		if (arg)
			return -EINVAL;
		ntvm_reset_close_windows(nf->nc);
		return 0;
	default:
		return -ENOTTY;
	}
}
