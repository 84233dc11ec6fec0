// SPDX-License-Identifier: GPL-2.0
/*
 * ntvm: what NT placement reads of the address space.  The policy (the
 * lowest 64K fit, the heap's room, the stack guard gap, the floor and its
 * room) is the core's, in core/place.c, where the host tests run it; here
 * are only the mm primitives it asks for through struct nt_vm_ops.
 *
 * Locking: next_gap() walks the maple tree under mmap_lock held for
 * reading, which the core takes with nt_vm_ops.lock_read() under
 * ntvm_ctx.lock (the lock order of context.h: ntvm_ctx.lock, then
 * mmap_lock).  layout() reads the heap's bounds with READ_ONCE(), with or
 * without mmap_lock: placement races with brk() as any mmap() does.
 */
#include <linux/maple_tree.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>

#include "context.h"

/*
 * The lowest (top_down: highest) free range of size in [lo, hi), from the
 * maple tree's gap index, O(log n); see nt_vm_ops.next_gap.  The mapping
 * above the range (find_vma()) tells where the free space ends and
 * whether it is a stack.
 */
int ntvm_vm_next_gap(void *ctx, u64 lo, u64 hi, u64 size, bool top_down,
		     struct nt_gap *gap)
{
	struct mm_struct *mm = ntvm_ctx_of(ctx)->mm;
	struct vm_area_struct *vma;
	int ret;

	MA_STATE(mas, &mm->mm_mt, 0, 0);

	ntvm_assert_locked(ctx);
	mmap_assert_locked(mm);
	hi = min_t(u64, hi, mm->task_size);
	if (!size || lo >= hi || hi - lo < size)
		return -ENOMEM;
	if (top_down)
		ret = mas_empty_area_rev(&mas, lo, hi - 1, size);
	else
		ret = mas_empty_area(&mas, lo, hi - 1, size);
	if (ret)
		return -ENOMEM;
	vma = find_vma(mm, mas.index);
	gap->next = vma ? vma->vm_start : mm->task_size;
	gap->stack = vma && (vma->vm_flags & VM_GROWSDOWN);
	if (top_down) {
		/* The tree says only that size bytes below mas.last are free. */
		gap->end = mas.last + 1;
		gap->start = gap->end - size;
	} else {
		gap->start = mas.index;
		gap->end = min_t(u64, hi, gap->next);
	}
	return 0;
}

void ntvm_vm_layout(void *ctx, struct nt_layout *l)
{
	struct mm_struct *mm = ntvm_ctx_of(ctx)->mm;

	ntvm_assert_locked(ctx);
	l->start_brk = READ_ONCE(mm->start_brk);
	l->brk = READ_ONCE(mm->brk);
	l->task_size = mm->task_size;
}

/*
 * The core's reschedule point (core/env.h), every few gap probes: the
 * caller waits for its own search, and lets others run.
 */
bool ntvm_core_resched(void)
{
	if (fatal_signal_pending(current))
		return true;
	cond_resched();
	return false;
}
