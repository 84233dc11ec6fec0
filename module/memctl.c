// SPDX-License-Identifier: GPL-2.0
/*
 * ntvm: NTVM_IOC_MEMCTL (issue 11): MemoryRegionInformation, the NT side of
 * MemoryWorkingSetExInformation, the checks of NtLockVirtualMemory,
 * NtUnlockVirtualMemory and NtFlushVirtualMemory, NtAreMappedFilesTheSame,
 * and the probe of the outputs user space writes itself.  The core
 * (core/memctl.c) gives the NT answer; this glue adds what only the VMAs
 * know, whether pages are VM_LOCKED.  A module cannot mlock(2) or
 * msync(2), so user space makes those calls (see vm.c).
 */
#include <linux/capability.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/uaccess.h>

#include "context.h"
#include "frame.h"

/*
 * Lock state of [lo, hi): NTVM_MEMCTL_LOCKED_SOME if any page is in a
 * VM_LOCKED mapping, _ALL if every page is.  Called under ntvm_ctx.lock;
 * takes mmap_lock for reading (lock order: ntvm_ctx.lock, then mmap_lock).
 */
static u32 ntvm_lock_state(struct ntvm_ctx *nc, u64 lo, u64 hi, u64 *run_end)
{
	struct mm_struct *mm = current->mm;
	struct vm_area_struct *vma;
	bool some = false, all = true, first = true;
	u64 at = lo;

	lockdep_assert_held(&nc->lock);
	mmap_read_lock(mm);
	while (at < hi) {
		vma = find_vma(mm, at);
		if (!vma || vma->vm_start >= hi) {
			all = false;
			break;
		}
		if (vma->vm_start > at)
			all = false;
		if (vma->vm_flags & VM_LOCKED)
			some = true;
		else
			all = false;
		if (first && run_end) {
			/* The page's own mapping bounds its run. */
			*run_end = min_t(u64, *run_end, vma->vm_end);
			first = false;
		}
		at = vma->vm_end;
		cond_resched();
	}
	mmap_read_unlock(mm);
	return (some ? NTVM_MEMCTL_LOCKED_SOME : 0) |
	       (some && all ? NTVM_MEMCTL_LOCKED_ALL : 0);
}

/*
 * The lock state of what a LOCK or UNLOCK acts on: its range, or for an
 * unlock that meets large pages the part before them (core/memctl.c),
 * every page of which is locked when it is empty.
 */
static u32 ntvm_range_lock_state(struct ntvm_ctx *nc,
				 const struct nt_memctl *req)
{
	u64 end = req->large ? req->alloc_base : req->hi;

	if (end == req->lo)
		return NTVM_MEMCTL_LOCKED_ALL;
	return ntvm_lock_state(nc, req->lo, end, NULL);
}

/* Inputs the caller must leave zero: every output field. */
static bool ntvm_memctl_outputs_zero(const struct ntvm_memctl_args *m)
{
	return !(m->out_base | m->out_size | m->alloc_base | m->alloc_size |
		 m->commit_size) &&
	       !(m->alloc_protect | m->type | m->state | m->protect | m->lock |
		 m->status | m->apply | m->apply_prot);
}

/*
 * NTVM_MEMCTL_PROBE: the outputs that user space writes itself, probed as
 * NT probes them before the call does anything.  No NT state is involved,
 * so no lock is taken; the status is the only output.
 */
static long ntvm_memctl_probe(struct ntvm_memctl_args __user *u,
			      const struct ntvm_memctl_args *m)
{
	u32 status;
	int ret = ntvm_probe_outputs(m->base, m->length, m->map_type,
				     m->size_ptr, ntvm_word_width(), &status);

	if (ret)
		return ret;
	return put_user(status, &u->status) ? -EFAULT : 0;
}

long ntvm_ioc_memctl(struct ntvm_file *nf, void __user *argp)
{
	struct ntvm_ctx *nc = nf->nc;
	struct ntvm_memctl_args m __uninitialized;
	struct nt_memctl req = { 0 };
	u64 nallocs, t0;
	int ret;

	BUILD_BUG_ON(sizeof(m) != NTVM_MEMCTL_SIZE_VER2);
	ret = ntvm_copy_args(&m, sizeof(m), argp, NTVM_MEMCTL_SIZE_VER0);
	if (ret)
		return ret;
	if ((m.flags & ~(NTVM_MEMCTL_VARS | NTVM_ARGS_OTHER_PROCESS)) ||
	    !ntvm_memctl_outputs_zero(&m))
		return -EINVAL;
	switch (m.op) {
	case NTVM_MEMCTL_REGION:
		if (m.map_type || m.length || (m.flags & NTVM_MEMCTL_VARS))
			return -EINVAL;
		break;
	case NTVM_MEMCTL_PAGE:
		if (m.map_type || m.length || m.flags)
			return -EINVAL;
		break;
	case NTVM_MEMCTL_FLUSH:
		if (m.map_type)
			return -EINVAL;
		break;
	case NTVM_MEMCTL_LOCK:
	case NTVM_MEMCTL_UNLOCK:
		break;
	case NTVM_MEMCTL_SAME_FILES:
		/* Two addresses of the calling process, nothing more. */
		if (m.map_type || m.length || m.flags)
			return -EINVAL;
		break;
	case NTVM_MEMCTL_PROBE:
		/* map_type: the alignment, 0 or a power of two up to 8. */
		if ((m.map_type & (m.map_type - 1)) || m.map_type > 8 ||
		    m.flags || m.other || m.base_ptr)
			return -EINVAL;
		return ntvm_memctl_probe(argp, &m);
	default:
		return -EINVAL;
	}
	if (m.other && m.op != NTVM_MEMCTL_SAME_FILES)
		return -EINVAL;
	/* The values come from the variables or from here, never both. */
	if ((m.flags & NTVM_MEMCTL_VARS) ? (m.base | m.length) :
	    (m.base_ptr | m.size_ptr))
		return -EINVAL;
	req.base = m.base;
	req.length = m.length;
	req.other = m.other;
	if ((m.flags & NTVM_MEMCTL_VARS) &&
	    (ntvm_var_get(m.base_ptr, ntvm_word_width(), &req.base) ||
	     ntvm_var_get(m.size_ptr, ntvm_word_width(), &req.length)))
		req.bad |= NT_BAD_POINTER;
	if (m.flags & NTVM_ARGS_OTHER_PROCESS)
		req.bad |= NT_BAD_HANDLE;
	req.op = m.op;
	req.map_type = m.map_type;
	/*
	 * SeLockMemoryPrivilege, for MAP_SYSTEM: see README.  Asked only
	 * then: capable() is audited, and marks a task that has it as having
	 * used it.
	 */
	req.privileged = (m.map_type & NT_MAP_SYSTEM) && capable(CAP_IPC_LOCK);

	t0 = ntvm_trace_start();
	ret = ntvm_begin(nc, &nallocs);
	if (ret)
		return ret;
	nt_memctl(&nc->space, &req);
	m.lock = 0;
	if (req.op == NTVM_MEMCTL_PAGE && req.state == NTVM_MEM_COMMIT)
		m.lock = ntvm_lock_state(nc, req.lo, req.lo + NTVM_PAGE_SIZE,
					 &req.hi);
	else if ((req.op == NTVM_MEMCTL_LOCK || req.op == NTVM_MEMCTL_UNLOCK) &&
		 !req.status)
		m.lock = ntvm_range_lock_state(nc, &req);
	if (req.large)
		m.lock |= NTVM_MEMCTL_LARGE_PAGES;
	if (req.page_file)
		m.lock |= NTVM_MEMCTL_PAGE_FILE;
	if (req.placeholder)
		m.lock |= NTVM_MEMCTL_PLACEHOLDER;
	if (req.write_watch)
		m.lock |= NTVM_MEMCTL_WRITE_WATCH;
	if (req.op == NTVM_MEMCTL_UNLOCK && !req.status &&
	    !(m.lock & NTVM_MEMCTL_LOCKED_ALL))
		req.status = NTVM_STATUS_NOT_LOCKED;
	ntvm_end(nc, nallocs);
	ntvm_trace(NTVM_OP_MEMCTL, req.status, req.lo, req.hi - req.lo, t0);

	m.status = req.status;
	m.out_base = req.lo;
	m.out_size = req.hi - req.lo;
	m.alloc_base = req.alloc_base;
	m.alloc_size = req.alloc_size;
	m.commit_size = req.commit_size;
	m.alloc_protect = req.alloc_protect;
	m.type = req.type;
	m.state = req.state;
	m.protect = req.protect;
	m.apply = req.apply;
	m.apply_prot = req.apply_prot;
	/*
	 * Outputs only inside the caller's size; the tail it has stays zero.
	 * The variables (NTVM_MEMCTL_VARS) are user space's to write.
	 */
	if (copy_to_user(argp, &m, min_t(size_t, m.size, sizeof(m))))
		return -EFAULT;
	return 0;
}
