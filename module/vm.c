// SPDX-License-Identifier: GPL-2.0
/*
 * ntvm: struct nt_vm_ops, the NT core's view of the caller's address space
 * (current->mm).  Mappings are made and removed with vm_mmap() and
 * vm_munmap(), and read under mmap_lock.
 *
 * The kernel exports no way for a module to change the protection of
 * populated pages, or to free them lazily (no mprotect, no madvise).  So
 * the VMAs are the truth for read/write/execute: the core reads them back
 * and never stores a copy.  An operation that needs such a change returns
 * NTVM_APPLY_* to user space, which makes the mprotect(2) or madvise(2)
 * call (Documentation/ntvm.rst, "Who decides what").
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/overflow.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "context.h"
#include "frame.h"

/* ---- Core environment ---------------------------------------------------- */

/*
 * The core's memory is bounded per address space (NT_MAX_RECORDS) and
 * charged to the caller's memory cgroup.  A run array can reach 4 MiB:
 * kvzalloc() takes it from vmalloc when no contiguous pages are free, and
 * no size the core asks for may warn.
 */
void *ntvm_core_zalloc(size_t size)
{
	return kvzalloc(size, GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
}

void ntvm_core_free(void *p)
{
	kvfree(p);
}

/* ---- struct nt_vm_ops on current->mm ------------------------------------- */

int ntvm_munmap(struct ntvm_ctx *nc, u64 addr, u64 len)
{
	int ret;

	WRITE_ONCE(nc->op_unmaps, true);
	ret = vm_munmap(addr, len);
	WRITE_ONCE(nc->op_unmaps, false);
	return ret;
}

/*
 * On 6.1 a MAP_FIXED mapping that fails (its commit charge, or one of its
 * own allocations) has already unmapped the old range, leaving a hole.  A
 * commit replaces reserved pages only, a PROT_NONE, MAP_NORESERVE mapping
 * without data: a new one over the range is exactly what was there,
 * whether the range was intact or not.  If every try fails, the range
 * stays a hole and the core forgets the damaged allocation
 * (Documentation/security.rst, "Kernel allocation failure").
 */
static void ntvm_restore_reservation(u64 addr, u64 len)
{
	unsigned long ret = -ENOMEM;
	int tries;

	for (tries = 0; tries < NT_RESTORE_TRIES; tries++) {
		ret = vm_mmap(NULL, addr, len, PROT_NONE,
			      NTVM_MAP_ANON | MAP_NORESERVE | MAP_FIXED, 0);
		if (!IS_ERR_VALUE(ret))
			return;
	}
	pr_debug("could not restore reservation %#llx+%#llx: %ld\n", addr, len,
		 (long)ret);
}

/*
 * vm_mmap() fails with -ENOMEM both when the commit charge is refused and
 * when the address space or vm.max_map_count is exhausted; NT reports
 * these differently.  Try the same mapping without a charge: if that
 * works, the charge was the reason (-ENOMEM), else there is no room for
 * the mapping (-ENOSPC).  For a commit the uncharged mapping is exactly the
 * reservation that was there, so it also mends a 6.1 hole.
 */
static int ntvm_why_enomem(void *ctx, u64 addr, u64 len, enum nt_map_how how,
			   unsigned long prot)
{
	unsigned long flags = NTVM_MAP_ANON | MAP_NORESERVE, ret;
	int tries;

	if (!(prot & PROT_WRITE)) {
		if (how == NT_MAP_COMMIT)
			ntvm_restore_reservation(addr, len);
		return -ENOSPC;
	}
	flags |= how == NT_MAP_COMMIT ? MAP_FIXED : MAP_FIXED_NOREPLACE;
	ret = vm_mmap(NULL, addr, len, PROT_NONE, flags, 0);
	if (IS_ERR_VALUE(ret)) {
		if (how == NT_MAP_COMMIT)
			ntvm_restore_reservation(addr, len);
		return -ENOSPC;
	}
	/* The probe goes; an unmap may fail too (its own allocations). */
	if (how == NT_MAP_RESERVE_COMMIT) {
		for (tries = 0; tries < NT_RESTORE_TRIES; tries++)
			if (!ntvm_munmap(ctx, addr, len))
				break;
	}
	return -ENOMEM;
}

/*
 * Is [addr, addr + len) still ntvm's to replace?  A view (NT_MAP_UNVIEW) is
 * file mappings throughout (the core's rule, nt_vm_ops.prot_at()); other
 * memory is private anonymous memory, PROT_NONE where a commit is to go
 * (reserved pages).
 */
static bool ntvm_still_ours(struct mm_struct *mm, u64 addr, u64 len,
			    enum nt_map_how how)
{
	struct vm_area_struct *vma;
	u64 at = addr, end = addr + len;
	bool mine;

	mmap_assert_locked(mm);
	while (at < end) {
		vma = find_vma(mm, at);
		if (!vma || vma->vm_start > at)
			return false;
		if (how == NT_MAP_UNVIEW)
			mine = !vma_is_anonymous(vma);
		else
			mine = vma_is_anonymous(vma) && !(vma->vm_flags & VM_SHARED) &&
			       (how != NT_MAP_COMMIT ||
				!(vma->vm_flags & (VM_READ | VM_WRITE | VM_EXEC)));
		if (!mine)
			return false;
		at = vma->vm_end;
	}
	return true;
}

/* Rounds of letting queued mmap_lock writers go first; then map anyway. */
#define NTVM_MAP_FIXED_ROUNDS	4

/*
 * A MAP_FIXED commit or decommit (or a view mapped over a placeholder or
 * over itself, section.c) replaces what is mapped at addr, which the
 * core checked was its own when it last read ops->changes().  A mapping
 * another thread put there since (its mmap(MAP_FIXED) unmapped ntvm's
 * first, so the count moved) must not be replaced: under mmap_lock, which
 * waits for an mmap() in progress, look at the count and, if it moved,
 * at the range again.  A writer queued on mmap_lock would take it before
 * vm_mmap() does: let it go first and look again.  What remains is a
 * writer arriving between mmap_read_unlock() here and vm_mmap() taking
 * the lock, which no exported interface closes (Documentation/security.rst).
 */
static __always_inline int ntvm_fixed_check(struct ntvm_ctx *nc, u64 addr,
					    u64 len, enum nt_map_how how)
{
	struct mm_struct *mm = current->mm;
	int round;
	u64 now;

	for (round = 0;; round++) {
		mmap_read_lock(mm);
		now = atomic64_read(&nc->changes);
		if (now != nc->seen_changes) {
			if (!ntvm_still_ours(mm, addr, len, how)) {
				mmap_read_unlock(mm);
				return -EEXIST;
			}
			nc->seen_changes = now;
		}
		if (round == NTVM_MAP_FIXED_ROUNDS ||
		    !rwsem_is_contended(&mm->mmap_lock)) {
			mmap_read_unlock(mm);
			return 0;
		}
		mmap_read_unlock(mm);
	}
}

/* The same for a view's MAP_FIXED (section.c); commits inline their own. */
int ntvm_map_fixed_check(struct ntvm_ctx *nc, u64 addr, u64 len,
			 enum nt_map_how how)
{
	return ntvm_fixed_check(nc, addr, len, how);
}

static int ntvm_vm_map(void *ctx, u64 addr, u64 len, enum nt_map_how how,
		       u32 lprot)
{
	unsigned long flags = NTVM_MAP_ANON, prot = lprot, ret;
	int err;

	ntvm_assert_locked(ctx);
	if (how == NT_MAP_COMMIT || how == NT_MAP_DECOMMIT ||
	    how == NT_MAP_UNVIEW) {
		err = ntvm_fixed_check(ntvm_ctx_of(ctx), addr, len, how);
		if (err)
			return err;
	}
	switch (how) {
	case NT_MAP_RESERVE:
		prot = PROT_NONE;
		flags |= MAP_NORESERVE | MAP_FIXED_NOREPLACE;
		break;
	case NT_MAP_RESERVE_COMMIT:
		flags |= MAP_FIXED_NOREPLACE;
		break;
	case NT_MAP_COMMIT:
		flags |= MAP_FIXED;
		break;
	case NT_MAP_DECOMMIT:
	case NT_MAP_UNVIEW:
		prot = PROT_NONE;
		flags |= MAP_NORESERVE | MAP_FIXED;
		break;
	}
	ret = vm_mmap(NULL, addr, len, prot, flags, 0);
	if (!IS_ERR_VALUE(ret)) {
		if (flags & MAP_FIXED_NOREPLACE)
			ntvm_floor_mapped(ntvm_ctx_of(ctx), addr, addr + len);
		return 0;
	}
	/* Taken behind ntvm's back: a floor at addr has no room now. */
	if (ret == -EEXIST)
		ntvm_floor_set(ntvm_ctx_of(ctx), addr, addr, addr);
	/* A failed MAP_FIXED may have unmapped the old range. */
	if (flags & MAP_FIXED) {
		atomic64_inc(&ntvm_ctx_of(ctx)->changes);
		ntvm_floor_lower(ntvm_ctx_of(ctx), addr, 0);
	}
	if (ret == -ENOMEM &&
	    (how == NT_MAP_COMMIT || how == NT_MAP_RESERVE_COMMIT))
		return ntvm_why_enomem(ctx, addr, len, how, prot);
	/*
	 * A decommit's old mappings are the core's to put back (it knows
	 * them: core/space.c, layout_restore()).
	 */
	if (how == NT_MAP_COMMIT)
		ntvm_restore_reservation(addr, len);
	/* PROT_NONE without a charge: -ENOMEM means no room. */
	return ret == -ENOMEM ? -ENOSPC : (int)ret;
}

static int ntvm_vm_unmap(void *ctx, u64 addr, u64 len)
{
	int ret;

	ntvm_assert_locked(ctx);
	ret = ntvm_munmap(ntvm_ctx_of(ctx), addr, len);
	if (ret)
		atomic64_inc(&ntvm_ctx_of(ctx)->changes);
	return ret;
}

/* The core checks mappings after reading this: see ntvm_map_fixed_check(). */
static u64 ntvm_vm_changes(void *ctx)
{
	struct ntvm_ctx *nc = ntvm_ctx_of(ctx);

	ntvm_assert_locked(ctx);
	nc->seen_changes = atomic64_read(&nc->changes);
	return nc->seen_changes;
}

/*
 * Reading: the ctx's own address space, which is current->mm except for
 * a reader of debugfs ntvm/maps (maps.c).
 */
static void ntvm_vm_lock_read(void *ctx)
{
	ntvm_assert_locked(ctx);
	mmap_read_lock(ntvm_ctx_of(ctx)->mm);
}

static void ntvm_vm_unlock_read(void *ctx)
{
	mmap_read_unlock(ntvm_ctx_of(ctx)->mm);
}

static int ntvm_vm_prot_at(void *ctx, u64 addr, u64 *start, u64 *end)
{
	struct mm_struct *mm = ntvm_ctx_of(ctx)->mm;
	struct vm_area_struct *vma;
	int lp = 0;

	mmap_assert_locked(mm);
	vma = find_vma(mm, addr);
	if (!vma || vma->vm_start > addr) {
		*start = addr;
		*end = vma ? vma->vm_start : mm->task_size;
		return NT_VMA_NONE;
	}
	*start = vma->vm_start;
	*end = vma->vm_end;
	if (vma->vm_flags & VM_READ)
		lp |= NT_LPROT_R;
	if (vma->vm_flags & VM_WRITE)
		lp |= NT_LPROT_W;
	if (vma->vm_flags & VM_EXEC)
		lp |= NT_LPROT_X;
	if (!vma_is_anonymous(vma) || (vma->vm_flags & VM_SHARED))
		lp |= NT_VMA_FOREIGN;
	return lp;
}

/*
 * MEM_LARGE_PAGES needs SeLockMemoryPrivilege on Windows; here the
 * privilege to lock memory, CAP_IPC_LOCK (large pages are locked), and
 * transparent huge pages (user space backs the range with them).
 */
static int ntvm_vm_large_pages(void *ctx)
{
	if (!capable(CAP_IPC_LOCK))
		return -EPERM;
	if (!IS_ENABLED(CONFIG_TRANSPARENT_HUGEPAGE) || !has_transparent_hugepage())
		return -EOPNOTSUPP;
	return 0;
}

/*
 * NT's ProbeForWrite() of a caller's buffer writes a byte back in every
 * page of [uptr, uptr + len) and fails the call with
 * STATUS_ACCESS_VIOLATION at the first page that cannot be written.  A
 * buffer of a page or less lies in at most two pages, so its first and
 * last bytes are written back as NT does (the usual case: a structure).
 * For a longer one the same answer comes from the VMAs, without touching
 * or faulting in a page: every page must lie in a writable mapping.  The
 * walk stops at the first hole, so it takes at most one step per mapping
 * of the range, in the caller's own address space.  0, -EFAULT, or
 * -EINTR when the caller is being killed.
 */
int ntvm_probe_for_write(u64 uptr, u64 len)
{
	u8 __user *p = u64_to_user_ptr(uptr);
	struct mm_struct *mm = current->mm;
	struct vm_area_struct *vma;
	u64 at = uptr, end;
	int ret = 0;
	u8 first, last;

	if (!len)
		return 0;
	if (check_add_overflow(uptr, len, &end) || !access_ok(p, len))
		return -EFAULT;
	if (len <= PAGE_SIZE) {
		if (!user_access_begin(p, len))
			return -EFAULT;
		unsafe_get_user(first, p, efault);
		unsafe_put_user(first, p, efault);
		unsafe_get_user(last, p + len - 1, efault);
		unsafe_put_user(last, p + len - 1, efault);
		user_access_end();
		return 0;
	}
	if (mmap_read_lock_killable(mm))
		return -EINTR;
	while (at < end) {
		vma = find_vma(mm, at);
		if (!vma || vma->vm_start > at || !(vma->vm_flags & VM_WRITE)) {
			ret = -EFAULT;
			break;
		}
		at = vma->vm_end;
	}
	mmap_read_unlock(mm);
	return ret;
efault:
	user_access_end();
	return -EFAULT;
}

/*
 * The outputs of an NT call, probed as NT probes them: the buffer of len
 * bytes, which ProbeForWrite() first wants aligned to align bytes (0 or 1:
 * any), then writable (ntvm_probe_for_write()); then a SIZE_T at var_ptr
 * (ReturnLength, or NtGetWriteWatch's count; 0 for none), proven writable
 * by writing back what it holds, and never checked for alignment: NT's
 * typed probes do not check it.  *status is STATUS_SUCCESS,
 * STATUS_DATATYPE_MISALIGNMENT or STATUS_ACCESS_VIOLATION; returns 0, or
 * -EINTR when the caller is being killed.
 */
int ntvm_probe_outputs(u64 buf, u64 len, u64 align, u64 var_ptr,
		       unsigned int width, u32 *status)
{
	int ret;
	u64 v;

	if (len && align && (buf & (align - 1))) {
		*status = NTVM_STATUS_DATATYPE_MISALIGNMENT;
		return 0;
	}
	ret = ntvm_probe_for_write(buf, len);
	if (ret == -EINTR)
		return ret;
	if (!ret && var_ptr && ntvm_var_get(var_ptr, width, &v))
		ret = -EFAULT;
	*status = ret ? NTVM_STATUS_ACCESS_VIOLATION : NTVM_STATUS_SUCCESS;
	return 0;
}

const struct nt_vm_ops ntvm_vm_ops = {
	/*
	 * 6.1's mmap_region() unmaps the old range of a MAP_FIXED before
	 * anything can fail; 6.12 puts it back when a limit or the charge
	 * refuses, but not when one of its own allocations fails after the
	 * old mappings were torn down (vms_clean_up_area()).
	 */
	.fixed_unmaps_first = true,
	.map = ntvm_vm_map,
	.unmap = ntvm_vm_unmap,
	.lock_read = ntvm_vm_lock_read,
	.unlock_read = ntvm_vm_unlock_read,
	.prot_at = ntvm_vm_prot_at,
	.next_gap = ntvm_vm_next_gap,
	.layout = ntvm_vm_layout,
	.changes = ntvm_vm_changes,
	.reset_arm = ntvm_vm_reset_arm,
	.touch = ntvm_vm_touch,
	.reset_lost = ntvm_vm_reset_lost,
	.large_pages = ntvm_vm_large_pages,
	.map_view = ntvm_vm_map_view,
	.section_get = ntvm_section_get,
	.section_put = ntvm_section_put,
	.section_lock = ntvm_section_lock,
	.section_unlock = ntvm_section_unlock,
	.cow_written = ntvm_vm_cow_written,
	.cow_any = ntvm_vm_cow_any,
};

