// SPDX-License-Identifier: GPL-2.0
/*
 * ntvm: the ioctl frame.  One function per command, each in the same
 * shape: copy the arguments in, check the ABI's rules (reserved fields,
 * flags, sizes), read the NT variables the caller passed by pointer, take
 * the context's lock, run the core, drop the lock, and only then write
 * the results to user memory.  Documentation/ntvm.rst describes every
 * command.
 */
#include <linux/compat.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "context.h"
#include "frame.h"
#include "softdirty.h"

#define NTVM_VERSION_CODE						\
	((u64)NTVM_VERSION_MAJOR << 32 | NTVM_VERSION_MINOR << 16 |	\
	 NTVM_VERSION_PATCH)

#define NTVM_IOCTLS (NTVM_IOC_BIT(NTVM_IOC_API) | NTVM_IOC_BIT(NTVM_IOC_ALLOCATE) | \
		     NTVM_IOC_BIT(NTVM_IOC_FREE) | NTVM_IOC_BIT(NTVM_IOC_PROTECT) | \
		     NTVM_IOC_BIT(NTVM_IOC_QUERY) | NTVM_IOC_BIT(NTVM_IOC_STATS) | \
		     NTVM_IOC_BIT(NTVM_IOC_GUARD) | NTVM_IOC_BIT(NTVM_IOC_WATCH) | \
		     NTVM_IOC_BIT(NTVM_IOC_RESET_DONE) | NTVM_IOC_BIT(NTVM_IOC_UNDO) | \
		     NTVM_IOC_BIT(NTVM_IOC_MEMCTL) | \
		     NTVM_IOC_BIT(NTVM_IOC_SECTION_CREATE) | \
		     NTVM_IOC_BIT(NTVM_IOC_SECTION_QUERY) | \
		     NTVM_IOC_BIT(NTVM_IOC_SECTION_OPEN) | \
		     NTVM_IOC_BIT(NTVM_IOC_MAP_VIEW) | \
		     NTVM_IOC_BIT(NTVM_IOC_UNMAP_VIEW) | \
		     (NTVM_HAVE_WW_SCAN ? NTVM_IOC_BIT(NTVM_IOC_WW_SCAN) : 0))

/* Regions a bulk query describes per step, between two takings of the lock. */
#define NTVM_QUERY_STEP		32

/* NT's MEMORY_BASIC_INFORMATION, for 64-bit and for 32-bit callers. */
#define NTVM_MBI64_SIZE		48
#define NTVM_MBI32_SIZE		28

/* The range of a variable, for NTVM_IOC_FREE's keep-out ranges. */
static void ntvm_keep(struct nt_free_req *f, u64 addr, u64 len)
{
	f->keep[f->nkeep][0] = addr;
	f->keep[f->nkeep][1] = addr + len;
	f->nkeep++;
}

/* ---- NTVM_IOC_API -------------------------------------------------------- */

static noinline long ntvm_ioc_api(struct ntvm_file *nf, void __user *argp)
{
	struct ntvm_api api;
	int ret = ntvm_copy_args(&api, sizeof(api), argp, NTVM_API_SIZE_VER0);

	if (ret)
		return ret;
	if (api.api != NTVM_API || api.flags || api.ioctls || api.version ||
	    api.page_size || api.granularity || api.min_address ||
	    api.max_address || (api.features & ~NTVM_FEATURES_ALL))
		return -EINVAL;
	/* The first handshake on a file records what its caller relies on. */
	mutex_lock(&nf->api_lock);
	if (!nf->api_done) {
		nf->api_done = true;
		nf->features = api.features;
	} else if (nf->features != api.features) {
		ret = -EINVAL;
	}
	mutex_unlock(&nf->api_lock);
	if (ret)
		return ret;

	if (put_user((u64)NTVM_FEATURES_ALL, &((struct ntvm_api __user *)argp)->features) ||
	    put_user((u64)NTVM_IOCTLS, &((struct ntvm_api __user *)argp)->ioctls) ||
	    put_user((u64)NTVM_VERSION_CODE, &((struct ntvm_api __user *)argp)->version) ||
	    put_user(NTVM_PAGE_SIZE, &((struct ntvm_api __user *)argp)->page_size) ||
	    put_user(NTVM_GRANULARITY, &((struct ntvm_api __user *)argp)->granularity) ||
	    put_user(NTVM_GRANULARITY, &((struct ntvm_api __user *)argp)->min_address) ||
	    put_user(ntvm_max_address(current->mm),
		     &((struct ntvm_api __user *)argp)->max_address))
		return -EFAULT;
	return 0;
}

/* ---- NTVM_IOC_ALLOCATE --------------------------------------------------- */

/*
 * The shared NT state after an allocation call: a commit publishes what
 * it made, or withdraws what it may have changed.  Nothing else it does
 * changes committed private pages (a reservation or a replaced
 * placeholder is new, a reset or its undo leaves state and protection).
 */
static void ntvm_allocate_published(struct ntvm_ctx *nc,
				    const struct nt_alloc_req *req,
				    unsigned long gen)
{
	if (req->status || !(req->type & NTVM_MEM_COMMIT))
		return;
	if (req->publish)
		ntvm_shared_publish(nc, req->base, req->base + req->size,
				    req->publish, req->protect, gen);
	else
		ntvm_shared_withdraw(nc, req->base, req->base + req->size);
}

static noinline long ntvm_ioc_allocate(struct ntvm_ctx *nc, void __user *argp)
{
	struct ntvm_alloc_args __user *uargs = argp;
	struct ntvm_alloc_args args __uninitialized;
	unsigned int width = ntvm_word_width();
	struct nt_alloc_req req = {};
	unsigned long gen;
	u64 n, t0;
	int ret = ntvm_copy_args(&args, sizeof(args), argp, NTVM_ALLOC_SIZE_VER0);

	if (ret)
		return ret;
	if ((args.flags & ~(NTVM_ALLOC_REQUIREMENTS | NTVM_ALLOC_EX |
			    NTVM_ARGS_OTHER_PROCESS)) ||
	    args.status || args.apply || args.base || args.region_size ||
	    args.apply_prot || args.out_flags)
		return -EINVAL;
	if (!(args.flags & NTVM_ALLOC_REQUIREMENTS) &&
	    (args.lowest | args.highest | args.alignment))
		return -EINVAL;

	req.zero_bits = args.zero_bits;
	req.lowest = args.lowest;
	req.highest = args.highest;
	req.alignment = args.alignment;
	req.type = args.type;
	req.protect = args.protect;
	req.requirements = args.flags & NTVM_ALLOC_REQUIREMENTS;
	req.ex = args.flags & NTVM_ALLOC_EX;
	if (args.flags & NTVM_ARGS_OTHER_PROCESS)
		req.bad |= NT_BAD_HANDLE;
	if (ntvm_var_get(args.base_ptr, width, &req.base) ||
	    ntvm_var_get(args.size_ptr, width, &req.size))
		req.bad |= NT_BAD_POINTER;

	t0 = ntvm_trace_start();
	ret = ntvm_begin_published(nc, &n);
	if (ret)
		return ret;
	gen = ntvm_shared_gen(nc);
	nt_allocate(&nc->space, &req);
	ntvm_allocate_published(nc, &req, gen);
	ntvm_end(nc, n);
	ntvm_trace(NTVM_OP_ALLOCATE, req.status, req.base, req.size, t0);

	/*
	 * The variables were proven writable; the operation left them be.
	 * A call that user space must finish (apply) is reported by it once
	 * finished, so that a failure there leaves them as they were.
	 */
	if (!req.status && !req.apply &&
	    (ntvm_var_put(args.base_ptr, width, req.base) ||
	     ntvm_var_put(args.size_ptr, width, req.size)))
		req.status = NTVM_STATUS_ACCESS_VIOLATION;
	if (!user_write_access_begin(uargs, NTVM_ALLOC_SIZE_VER0))
		return -EFAULT;
	unsafe_put_user(req.status, &uargs->status, efault);
	unsafe_put_user(req.apply, &uargs->apply, efault);
	unsafe_put_user(req.apply_prot, &uargs->apply_prot, efault);
	unsafe_put_user(req.status ? 0 : req.base, &uargs->base, efault);
	unsafe_put_user(req.status ? 0 : req.size, &uargs->region_size, efault);
	unsafe_put_user(req.watch ? NTVM_OUT_WRITE_WATCH : 0, &uargs->out_flags,
			efault);
	user_write_access_end();
	return 0;
efault:
	user_write_access_end();
	return -EFAULT;
}

/* ---- NTVM_IOC_FREE ------------------------------------------------------- */

/* The second version of struct ntvm_free_args: out_flags. */
#define NTVM_FREE_SIZE_VER1	offsetofend(struct ntvm_free_args, pad)

static noinline long ntvm_ioc_free(struct ntvm_ctx *nc, void __user *argp)
{
	struct ntvm_free_args __user *uargs = argp;
	struct ntvm_free_args args __uninitialized;
	unsigned int width = ntvm_word_width();
	struct nt_free_req req = {};
	u64 n, t0;
	int ret = ntvm_copy_args(&args, sizeof(args), argp, NTVM_FREE_SIZE_VER0);

	if (ret)
		return ret;
	if ((args.flags & ~NTVM_ARGS_OTHER_PROCESS) || args.status ||
	    args.base || args.region_size || args.out_flags || args.pad)
		return -EINVAL;

	req.type = args.type;
	if (args.flags & NTVM_ARGS_OTHER_PROCESS)
		req.bad |= NT_BAD_HANDLE;
	if (ntvm_var_get(args.base_ptr, width, &req.base) ||
	    ntvm_var_get(args.size_ptr, width, &req.size))
		req.bad |= NT_BAD_POINTER;
	/* Where the results go must survive the operation. */
	ntvm_keep(&req, (u64)(uintptr_t)argp, args.size);
	ntvm_keep(&req, args.base_ptr, width);
	ntvm_keep(&req, args.size_ptr, width);

	t0 = ntvm_trace_start();
	ret = ntvm_begin(nc, &n);
	if (ret)
		return ret;
	nt_free(&nc->space, &req);
	ntvm_end(nc, n);
	ntvm_trace(NTVM_OP_FREE, req.status, req.base, req.size, t0);

	if (!req.status &&
	    (ntvm_var_put(args.base_ptr, width, req.base) ||
	     ntvm_var_put(args.size_ptr, width, req.size)))
		req.status = NTVM_STATUS_ACCESS_VIOLATION;
	/* out_flags only inside the caller's size (an older one ends before). */
	if (!user_write_access_begin(uargs, args.size >= NTVM_FREE_SIZE_VER1 ?
				     NTVM_FREE_SIZE_VER1 : NTVM_FREE_SIZE_VER0))
		return -EFAULT;
	unsafe_put_user(req.status, &uargs->status, efault);
	unsafe_put_user(req.status ? 0 : req.base, &uargs->base, efault);
	unsafe_put_user(req.status ? 0 : req.size, &uargs->region_size, efault);
	if (args.size >= NTVM_FREE_SIZE_VER1)
		unsafe_put_user(req.watch ? NTVM_OUT_WRITE_WATCH : 0,
				&uargs->out_flags, efault);
	user_write_access_end();
	return 0;
efault:
	user_write_access_end();
	return -EFAULT;
}

/* ---- NTVM_IOC_PROTECT ---------------------------------------------------- */

static noinline long ntvm_ioc_protect(struct ntvm_ctx *nc, void __user *argp)
{
	struct ntvm_protect_args __user *uargs = argp;
	struct ntvm_protect_args args __uninitialized;
	unsigned int width = ntvm_word_width();
	struct nt_protect_req req = {};
	u64 n, old, t0;
	int ret = ntvm_copy_args(&args, sizeof(args), argp,
				 NTVM_PROTECT_SIZE_VER0);

	if (ret)
		return ret;
	if ((args.flags & ~NTVM_ARGS_OTHER_PROCESS) || args.status ||
	    args.base || args.region_size || args.apply || args.apply_prot ||
	    args.old_protect || args.out_flags)
		return -EINVAL;

	req.protect = args.protect;
	if (args.flags & NTVM_ARGS_OTHER_PROCESS)
		req.bad |= NT_BAD_HANDLE;
	if (ntvm_var_get(args.base_ptr, width, &req.base) ||
	    ntvm_var_get(args.size_ptr, width, &req.size) ||
	    ntvm_var_get(args.old_protect_ptr, sizeof(u32), &old))
		req.bad |= NT_BAD_POINTER;

	t0 = ntvm_trace_start();
	ret = ntvm_begin_published(nc, &n);
	if (ret)
		return ret;
	nt_protect(&nc->space, &req);
	/* What it changed (a failed call changed nothing). */
	if (!req.status)
		ntvm_shared_withdraw(nc, req.base, req.base + req.size);
	ntvm_end(nc, n);
	ntvm_trace(NTVM_OP_PROTECT, req.status, req.base, req.size, t0);

	/* As for NTVM_IOC_ALLOCATE: user space reports what it finishes. */
	if (!req.apply) {
		if (!req.status &&
		    (ntvm_var_put(args.base_ptr, width, req.base) ||
		     ntvm_var_put(args.size_ptr, width, req.size)))
			req.status = NTVM_STATUS_ACCESS_VIOLATION;
		if (req.old_protect_set)
			ntvm_var_put(args.old_protect_ptr, sizeof(u32),
				     req.old_protect);
	}
	if (!user_write_access_begin(uargs, NTVM_PROTECT_SIZE_VER0))
		return -EFAULT;
	unsafe_put_user(req.status, &uargs->status, efault);
	unsafe_put_user(req.apply, &uargs->apply, efault);
	unsafe_put_user(req.apply_prot, &uargs->apply_prot, efault);
	unsafe_put_user(req.old_protect_set ? req.old_protect : 0, &uargs->old_protect, efault);
	unsafe_put_user(req.status ? 0 : req.base, &uargs->base, efault);
	unsafe_put_user(req.status ? 0 : req.size, &uargs->region_size, efault);
	unsafe_put_user(req.watch ? NTVM_OUT_WRITE_WATCH : 0, &uargs->out_flags,
			efault);
	user_write_access_end();
	return 0;
efault:
	user_write_access_end();
	return -EFAULT;
}

/* ---- NTVM_IOC_QUERY ------------------------------------------------------ */

static void ntvm_region_out(const struct nt_region *r, struct ntvm_region *u)
{
	*u = (struct ntvm_region){
		.base = r->base,
		.allocation_base = r->allocation_base,
		.size = r->size,
		.allocation_protect = r->allocation_protect,
		.state = r->state,
		.protect = r->protect,
		.type = r->type,
		.flags = r->flags,
	};
}

/* Copy n regions out, region_size bytes apart, the unknown tail zeroed. */
static int ntvm_regions_out(const struct nt_region *r, u32 n, u8 __user *out,
			    u32 region_size)
{
	struct ntvm_region u;
	u32 i;

	for (i = 0; i < n; i++, out += region_size) {
		ntvm_region_out(&r[i], &u);
		if (copy_to_user(out, &u, sizeof(u)))
			return -EFAULT;
		if (region_size > sizeof(u) &&
		    clear_user(out + sizeof(u), region_size - sizeof(u)))
			return -EFAULT;
	}
	return 0;
}

/*
 * NTVM_QUERY_INFO: NT's MEMORY_BASIC_INFORMATION for the caller's width,
 * PartitionId and the padding zero.  The buffer was probed; false if it
 * faults now.
 */
static bool ntvm_mbi_out(const struct nt_region *r, u8 __user *p,
			 unsigned int width)
{
	if (width == sizeof(u32)) {
		if (!user_write_access_begin(p, NTVM_MBI32_SIZE))
			return false;
		unsafe_put_user((u32)r->base, (u32 __user *)p, efault);
		unsafe_put_user((u32)r->allocation_base, (u32 __user *)(p + 4), efault);
		unsafe_put_user(r->allocation_protect, (u32 __user *)(p + 8), efault);
		unsafe_put_user((u32)r->size, (u32 __user *)(p + 12), efault);
		unsafe_put_user(r->state, (u32 __user *)(p + 16), efault);
		unsafe_put_user(r->protect, (u32 __user *)(p + 20), efault);
		unsafe_put_user(r->type, (u32 __user *)(p + 24), efault);
	} else {
		if (!user_write_access_begin(p, NTVM_MBI64_SIZE))
			return false;
		unsafe_put_user(r->base, (u64 __user *)p, efault);
		unsafe_put_user(r->allocation_base, (u64 __user *)(p + 8), efault);
		unsafe_put_user((u64)r->allocation_protect, (u64 __user *)(p + 16),
				efault);
		unsafe_put_user(r->size, (u64 __user *)(p + 24), efault);
		unsafe_put_user((u64)r->protect << 32 | r->state,
				(u64 __user *)(p + 32), efault);
		unsafe_put_user((u64)r->type, (u64 __user *)(p + 40), efault);
	}
	user_write_access_end();
	return true;
efault:
	user_write_access_end();
	return false;
}

/*
 * NTVM_QUERY_INFO: NtQueryVirtualMemory's checks before the address, in
 * NT's order: the length, then the buffer and ReturnLength as NT probes
 * them.  The status, or 0; -EINTR if the caller is being killed.
 */
static long ntvm_query_info_check(const struct ntvm_query_args *a,
				  unsigned int width)
{
	u64 mbi = width == sizeof(u32) ? NTVM_MBI32_SIZE : NTVM_MBI64_SIZE;
	u32 status;
	int ret;

	if (a->info_length < mbi)
		return NTVM_STATUS_INFO_LENGTH_MISMATCH;
	/* NT: ProbeForWrite(MemoryInformation, Length, sizeof(ULONG_PTR)). */
	ret = ntvm_probe_outputs(a->regions, a->info_length, width,
				 a->ret_len_ptr, width, &status);
	if (ret)
		return ret;
	return status;
}

/*
 * A single query describes one region from the stack; a bulk one takes
 * the lock once per NTVM_QUERY_STEP regions and copies each step out after
 * dropping it.
 */
static noinline long ntvm_ioc_query(struct ntvm_ctx *nc, void __user *argp)
{
	struct ntvm_query_args __user *uargs = argp;
	struct ntvm_query_args args __uninitialized;
	struct nt_region one, *buf = &one;
	struct nt_query_req req = {};
	unsigned int width = ntvm_word_width();
	u8 __user *out;
	u32 done = 0, cap = 1, step;
	long status;
	bool info;
	u64 n, t0;
	int ret = ntvm_copy_args(&args, sizeof(args), argp, NTVM_QUERY_SIZE_VER0);

	if (ret)
		return ret;
	if ((args.flags & ~(NTVM_ARGS_OTHER_PROCESS | NTVM_QUERY_INFO)) ||
	    args.status || args.pad || !args.count)
		return -EINVAL;
	info = args.flags & NTVM_QUERY_INFO;
	if (info ? (args.count != 1 || args.end || args.region_size) :
	    (args.region_size < NTVM_REGION_SIZE_VER0 ||
	     args.region_size % sizeof(u64) || args.info_length ||
	     args.ret_len_ptr))
		return -EINVAL;
	/* end 0 is one region; the core applies that default. */
	if (args.end && args.end <= args.address)
		return -EINVAL;
	out = u64_to_user_ptr(args.regions);
	if (info) {
		status = ntvm_query_info_check(&args, width);
		if (status < 0)
			return status;
		if (status) {
			ntvm_trace(NTVM_OP_QUERY, status, args.address, 0, 0);
			return put_user((u32)status, &uargs->status) ||
			       put_user(0U, &uargs->count) ? -EFAULT : 0;
		}
	} else if (!access_ok(out, (u64)args.count * args.region_size)) {
		return -EFAULT;
	}
	if (args.count > 1) {
		cap = min_t(u32, args.count, NTVM_QUERY_STEP);
		buf = kmalloc_array(cap, sizeof(*buf), GFP_KERNEL_ACCOUNT);
		if (!buf)
			return -ENOMEM;
	}

	req.address = args.address;
	req.end = args.end;
	if (args.flags & NTVM_ARGS_OTHER_PROCESS)
		req.bad |= NT_BAD_HANDLE;
	t0 = ntvm_trace_start();
	do {
		step = min(args.count - done, cap);
		/* It changes nothing published (its unmaps were seen). */
		ret = ntvm_begin_published(nc, &n);
		if (ret)
			break;
		/* A query forgets allocations it finds unmapped. */
		nt_query(&nc->space, &req, buf, &step);
		ntvm_end(nc, n);
		if (req.status)
			break;
		if (info) {
			/* As NT: the variables were probed, a fault now is theirs. */
			if (!ntvm_mbi_out(buf, out, width) ||
			    (args.ret_len_ptr &&
			     ntvm_var_put(args.ret_len_ptr, width,
					  width == sizeof(u32) ? NTVM_MBI32_SIZE :
								 NTVM_MBI64_SIZE)))
				req.status = NTVM_STATUS_ACCESS_VIOLATION;
			else
				done = step;
			break;
		}
		ret = ntvm_regions_out(buf, step, out + (u64)done * args.region_size,
				       args.region_size);
		if (ret)
			break;
		done += step;
		if (!step)
			break;
		req.address = buf[step - 1].base + buf[step - 1].size;
	} while (done < args.count && args.end && req.address < args.end &&
		 req.address <= nc->space.max_addr);
	if (buf != &one)
		kfree(buf);
	ntvm_trace(NTVM_OP_QUERY, done ? NTVM_STATUS_SUCCESS : req.status,
		   args.address, done ? req.address - args.address : 0, t0);
	/* Interrupted after some steps: report what was described. */
	if (ret && !done)
		return ret;
	if (put_user(done ? NTVM_STATUS_SUCCESS : req.status, &uargs->status) ||
	    put_user(done, &uargs->count))
		return -EFAULT;
	return 0;
}

/* ---- NTVM_IOC_STATS ------------------------------------------------------ */

static noinline long ntvm_ioc_stats(struct ntvm_ctx *nc, void __user *argp)
{
	struct nt_stats st;
	struct ntvm_stats out = {};

	if (mutex_lock_killable(&nc->lock))
		return -EINTR;
	nt_get_stats(&nc->space, &st);
	mutex_unlock(&nc->lock);
	out.reserved_bytes = st.reserved_bytes;
	out.committed_bytes = st.committed_bytes;
	out.allocations = st.allocations;
	out.granularity_waste = st.granularity_waste;
	out.largest_free = st.largest_free;
	return copy_to_user(argp, &out, sizeof(out)) ? -EFAULT : 0;
}

/* ---- NTVM_IOC_GUARD ------------------------------------------------------ */

static noinline long ntvm_ioc_guard(struct ntvm_ctx *nc, void __user *argp)
{
	struct ntvm_guard_args __user *uargs = argp;
	struct ntvm_guard_args args __uninitialized;
	struct nt_guard_req req = {};
	u64 n, t0;
	int ret = ntvm_copy_args(&args, sizeof(args), argp, NTVM_GUARD_SIZE_VER0);

	if (ret)
		return ret;
	if (args.flags || args.base || args.status || args.apply ||
	    args.apply_prot ||
	    (args.access != NTVM_ACCESS_READ && args.access != NTVM_ACCESS_WRITE &&
	     args.access != NTVM_ACCESS_EXECUTE))
		return -EINVAL;
	req.address = args.address;
	req.access = args.access;

	t0 = ntvm_trace_start();
	ret = ntvm_begin(nc, &n);
	if (ret)
		return ret;
	nt_guard_hit(&nc->space, &req);
	ntvm_end(nc, n);
	ntvm_trace(NTVM_OP_GUARD, req.status, req.address & PAGE_MASK,
		   PAGE_SIZE, t0);

	if (put_user(req.base, &uargs->base) ||
	    put_user(req.status, &uargs->status) ||
	    put_user(req.apply, &uargs->apply) ||
	    put_user(req.apply_prot, &uargs->apply_prot))
		return -EFAULT;
	return 0;
}

/* ---- NTVM_IOC_WATCH ------------------------------------------------------ */

static noinline long ntvm_ioc_watch(struct ntvm_ctx *nc, void __user *argp)
{
	struct ntvm_watch_args __user *uargs = argp;
	struct ntvm_watch_args args __uninitialized;
	struct nt_watch_req req = {};
	u64 n, t0;
	int ret = ntvm_copy_args(&args, sizeof(args), argp, NTVM_WATCH_SIZE_VER0);

	BUILD_BUG_ON(sizeof(args) != NTVM_WATCH_SIZE_VER1);
	if (ret)
		return ret;
	if ((args.flags & ~NTVM_WATCH_PROBE) || args.alloc_base ||
	    args.alloc_size || args.status || args.pad)
		return -EINVAL;
	if (!(args.flags & NTVM_WATCH_PROBE) && (args.array | args.array_size))
		return -EINVAL;
	req.base = args.base;
	req.length = args.length;

	/*
	 * NT probes the array before it looks at the range, as an array of
	 * pointers: ProbeForWrite(UserAddressArray, ..., sizeof(PVOID)).
	 */
	if (args.flags & NTVM_WATCH_PROBE) {
		ret = ntvm_probe_outputs(args.array, args.array_size,
					 ntvm_word_width(), 0, 0, &req.status);
		if (ret)
			return ret;
		if (req.status)
			goto out;
	}
	t0 = ntvm_trace_start();
	ret = ntvm_begin(nc, &n);
	if (ret)
		return ret;
	nt_watch_check(&nc->space, &req);
	ntvm_end(nc, n);
	ntvm_trace(NTVM_OP_WATCH, req.status, req.base, req.length, t0);
out:
	if (put_user(req.status ? 0 : req.alloc_base, &uargs->alloc_base) ||
	    put_user(req.status ? 0 : req.alloc_size, &uargs->alloc_size) ||
	    put_user(req.status, &uargs->status))
		return -EFAULT;
	return 0;
}

/* ---- NTVM_IOC_WW_SCAN ---------------------------------------------------- */

static noinline long ntvm_ioc_ww_scan(struct ntvm_ctx *nc, void __user *argp)
{
	struct ntvm_ww_scan_args __user *uargs = argp;
	struct ntvm_ww_scan_args args __uninitialized;
	u64 *bitmap = NULL, n, words, t0;
	int ret = ntvm_copy_args(&args, sizeof(args), argp,
				 NTVM_WW_SCAN_SIZE_VER0);

	if (ret)
		return ret;
	if (!ntvm_ww_scan_valid(&args))
		return -EINVAL;

	t0 = ntvm_trace_start();
	ret = ntvm_begin(nc, &n);
	if (ret)
		return ret;
	ret = ntvm_ww_scan(&nc->space, &args, &bitmap);
	ntvm_end(nc, n);
	if (!ret)
		ntvm_trace(NTVM_OP_WW_SCAN, args.status, args.base,
			   args.scanned, t0);
	if (ret)
		return ret;

	/*
	 * The words were cleared before the scan, which proved them
	 * writable: only a concurrent munmap() of the bitmap can make this
	 * fail, and then the caller learns of it.
	 */
	if (bitmap) {
		words = DIV_ROUND_UP(args.scanned >> PAGE_SHIFT, 64);
		ret = copy_to_user(u64_to_user_ptr(args.bitmap), bitmap,
				   words * sizeof(u64)) ? -EFAULT : 0;
		kfree(bitmap);
		if (ret)
			return ret;
	}
	if (put_user(args.count, &uargs->count) ||
	    put_user(args.scanned, &uargs->scanned) ||
	    put_user(args.status, &uargs->status))
		return -EFAULT;
	return 0;
}

/* ---- NTVM_IOC_UNDO -------------------------------------------------------- */

/*
 * Take back a commit or protection change whose mprotect() failed in user
 * space (core/space.c, nt_undo()).  At most NTVM_UNDO_MAX_RANGES ranges per
 * call, from the stack, copied out after the lock is dropped.
 */
static noinline long ntvm_ioc_undo(struct ntvm_ctx *nc, void __user *argp)
{
	struct ntvm_undo_args __user *uargs = argp;
	struct ntvm_undo_range __user *out;
	struct nt_piece pieces[NTVM_UNDO_MAX_RANGES / 4];
	struct ntvm_undo_args args __uninitialized;
	struct ntvm_undo_range r;
	u32 status, count, i;
	bool more;
	u64 n;
	int ret = ntvm_copy_args(&args, sizeof(args), argp, NTVM_UNDO_SIZE_VER0);

	if (ret)
		return ret;
	if (args.flags || args.count || args.status || args.more ||
	    !args.max_count || args.max_count > NTVM_UNDO_MAX_RANGES)
		return -EINVAL;
	out = u64_to_user_ptr(args.ranges);
	/* Proved writable first: what nt_undo() put back must be reported. */
	if (clear_user(out, (size_t)args.max_count * sizeof(r)))
		return -EFAULT;

	ret = ntvm_begin(nc, &n);
	if (ret)
		return ret;
	status = nt_undo(&nc->space, args.base, args.region_size, pieces,
			 min_t(u32, args.max_count, ARRAY_SIZE(pieces)),
			 &count, &more);
	ntvm_end(nc, n);

	for (i = 0; i < count; i++) {
		r = (struct ntvm_undo_range){
			.base = pieces[i].start,
			.size = pieces[i].end - pieces[i].start,
			.prot = pieces[i].lprot,
		};
		if (copy_to_user(&out[i], &r, sizeof(r)))
			return -EFAULT;
	}
	if (put_user(status, &uargs->status) || put_user(count, &uargs->count) ||
	    put_user((u32)more, &uargs->more))
		return -EFAULT;
	return 0;
}

/* ---- NTVM_IOC_RESET_DONE ------------------------------------------------- */

static noinline long ntvm_ioc_reset_done(struct ntvm_ctx *nc, unsigned long arg)
{
	if (arg)
		return -EINVAL;
	ntvm_reset_close_windows(nc);
	return 0;
}

/*
 * The handlers are noinline: the dispatcher is then a compare chain and a
 * tail call, with no stack frame or stack-protector check of its own that
 * every command would pay for the one it inlined.
 */
long ntvm_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct ntvm_file *nf = file->private_data;
	void __user *argp = (void __user *)arg;

	if (current->mm != nf->mm)
		return -EPERM;

	switch (cmd) {
	case NTVM_IOC_API:
		return ntvm_ioc_api(nf, argp);
	case NTVM_IOC_ALLOCATE:
		return ntvm_ioc_allocate(nf->nc, argp);
	case NTVM_IOC_FREE:
		return ntvm_ioc_free(nf->nc, argp);
	case NTVM_IOC_PROTECT:
		return ntvm_ioc_protect(nf->nc, argp);
	case NTVM_IOC_QUERY:
		return ntvm_ioc_query(nf->nc, argp);
	case NTVM_IOC_STATS:
		return ntvm_ioc_stats(nf->nc, argp);
	case NTVM_IOC_GUARD:
		return ntvm_ioc_guard(nf->nc, argp);
	case NTVM_IOC_WATCH:
		return ntvm_ioc_watch(nf->nc, argp);
	case NTVM_IOC_WW_SCAN:
		if (!NTVM_HAVE_WW_SCAN)
			return -ENOTTY;
		return ntvm_ioc_ww_scan(nf->nc, argp);
	case NTVM_IOC_MEMCTL:
		return ntvm_ioc_memctl(nf, argp);
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
		return ntvm_ioc_reset_done(nf->nc, arg);
	case NTVM_IOC_UNDO:
		return ntvm_ioc_undo(nf->nc, argp);
	default:
		return -ENOTTY;
	}
}

#ifdef CONFIG_COMPAT
/*
 * 32-bit callers share the structures' layout; their NT variables are 4
 * bytes wide (ntvm_word_width()).  x32 callers are refused rather than
 * half-supported: nothing tests them, and Debian disables x32 by default.
 */
long ntvm_compat_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
#ifdef CONFIG_X86_X32_ABI
	if (in_x32_syscall())
		return -EOPNOTSUPP;
#endif
	return ntvm_ioctl(file, cmd, (unsigned long)compat_ptr(arg));
}
#endif
