// SPDX-License-Identifier: GPL-2.0
/*
 * A fake address space for testing the NT core in user space: a sorted
 * array of mappings, with struct nt_vm_ops on top and a way to make the
 * Nth map call fail, as vm_mmap() can.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include "fake_mm.h"

bool fake_zalloc_fails;

void *ntvm_core_zalloc(size_t size)
{
	return fake_zalloc_fails ? NULL : calloc(1, size);
}

void ntvm_core_free(void *p)
{
	free(p);
}

int fake_resched_calls;
int fake_fatal_at;

bool ntvm_core_resched(void)
{
	fake_resched_calls++;
	return fake_fatal_at && fake_resched_calls >= fake_fatal_at;
}

/* Remove [lo, hi) from the mappings, splitting where needed. */
static bool fake_cut(struct fake_mm *mm, u64 lo, u64 hi)
{
	bool cut = false;
	int i;

	for (i = 0; i < mm->n; i++) {
		struct fake_seg *s = &mm->seg[i];

		if (s->end <= lo || s->start >= hi)
			continue;
		cut = true;
		if (s->start < lo && s->end > hi) {
			assert(mm->n < FAKE_MAX_SEGS);
			memmove(&mm->seg[i + 2], &mm->seg[i + 1],
				(mm->n - i - 1) * sizeof(*s));
			mm->seg[i + 1] = *s;
			mm->seg[i + 1].start = hi;
			s->end = lo;
			mm->n++;
			return true;
		}
		if (s->start < lo) {
			s->end = lo;
		} else if (s->end > hi) {
			s->start = hi;
		} else {
			memmove(s, s + 1, (mm->n - i - 1) * sizeof(*s));
			mm->n--;
			i--;
		}
	}
	return cut;
}

/* Make [lo, hi) one mapping; true if it replaced something. */
static bool fake_set(struct fake_mm *mm, u64 lo, u64 hi, int prot, bool foreign)
{
	bool cut = fake_cut(mm, lo, hi);
	int i;

	for (i = 0; i < mm->n && mm->seg[i].start < lo; i++)
		;
	assert(mm->n < FAKE_MAX_SEGS);
	memmove(&mm->seg[i + 1], &mm->seg[i], (mm->n - i) * sizeof(mm->seg[0]));
	mm->seg[i] = (struct fake_seg){ lo, hi, prot, foreign, false };
	mm->n++;
	return cut;
}

/*
 * The kernel's notifier and vm.c tell the placement floor about unmaps
 * and reservations (core/place.c): the fake does as they do.
 */
static void fake_floor_lower(struct fake_mm *mm, u64 addr, u64 end)
{
	if (mm->space)
		nt_floor_lower(mm->space, addr, end);
}

/* mmap(MAP_FIXED) behind ntvm's back: it unmaps what was there. */
void fake_insert(struct fake_mm *mm, u64 lo, u64 hi, int prot, bool foreign)
{
	if (fake_set(mm, lo, hi, prot, foreign))
		fake_floor_lower(mm, lo, 0);
	mm->changes++;
}

/* munmap() behind ntvm's back. */
void fake_munmap(struct fake_mm *mm, u64 lo, u64 hi)
{
	if (fake_cut(mm, lo, hi))
		fake_floor_lower(mm, lo, 0);
	mm->changes++;
}

void fake_stack(struct fake_mm *mm, u64 lo, u64 hi)
{
	int i;

	fake_insert(mm, lo, hi, NT_LPROT_R | NT_LPROT_W, false);
	for (i = 0; i < mm->n; i++)
		if (mm->seg[i].start == lo)
			mm->seg[i].grows_down = true;
}

void fake_brk(struct fake_mm *mm, u64 start_brk, u64 brk)
{
	u64 old = nt_round_up(mm->brk, NTVM_PAGE_SIZE);
	u64 top = nt_round_up(brk, NTVM_PAGE_SIZE);

	if (mm->start_brk != start_brk || top < old) {
		/* The old heap goes: an unmap the notifier sees. */
		if (old > mm->start_brk && fake_cut(mm, mm->start_brk, old))
			fake_floor_lower(mm, mm->start_brk, 0);
	}
	mm->start_brk = start_brk;
	mm->brk = brk;
	if (top > start_brk)
		fake_set(mm, start_brk, top, NT_LPROT_R | NT_LPROT_W, false);
}

/* mprotect(): no mapping goes away, and each stays what it is (a view). */
void fake_protect(struct fake_mm *mm, u64 lo, u64 hi, int prot)
{
	u64 at = lo, end, next;
	bool foreign;
	int i;

	while (at < hi) {
		next = hi;
		for (i = 0; i < mm->n; i++) {
			if (mm->seg[i].start <= at && at < mm->seg[i].end)
				break;
			if (mm->seg[i].start > at && mm->seg[i].start < next)
				next = mm->seg[i].start;
		}
		if (i == mm->n) {
			at = next;	/* a hole: nothing to change */
			continue;
		}
		end = mm->seg[i].end < hi ? mm->seg[i].end : hi;
		foreign = mm->seg[i].foreign;
		fake_set(mm, at, end, prot, foreign);
		at = end;
	}
}

static bool fake_overlaps(struct fake_mm *mm, u64 lo, u64 hi)
{
	int i;

	for (i = 0; i < mm->n; i++)
		if (mm->seg[i].start < hi && mm->seg[i].end > lo)
			return true;
	return false;
}

static struct fake_mm *to_mm(void *ctx)
{
	return ctx;
}

/* Does this map/unmap call fail (fail_at, fail_n)? */
static bool fake_fails(struct fake_mm *mm)
{
	if (!mm->fail_at)
		return false;
	++mm->calls;
	return mm->calls >= mm->fail_at &&
	       mm->calls < mm->fail_at + (mm->fail_n ? mm->fail_n : 1);
}

static int fake_map(void *ctx, u64 addr, u64 len, enum nt_map_how how, u32 lprot)
{
	struct fake_mm *mm = to_mm(ctx);

	assert(!mm->read_locked);
	if (!len || (addr & 0xfff) || (len & 0xfff))
		fprintf(stderr, "fake_map how %d addr %#llx len %#llx\n", how, (unsigned long long)addr, (unsigned long long)len);
	assert(len && !(addr & 0xfff) && !(len & 0xfff));
	if (fake_fails(mm)) {
		/* A failed MAP_FIXED may have unmapped the old range. */
		if (how == NT_MAP_COMMIT || how == NT_MAP_DECOMMIT ||
		    how == NT_MAP_UNVIEW) {
			fake_floor_lower(mm, addr, 0);
			if (mm->fail_cuts)
				fake_cut(mm, addr, addr + len);
		}
		return -ENOMEM;
	}
	switch (how) {
	case NT_MAP_RESERVE:
	case NT_MAP_RESERVE_COMMIT:
		if (fake_overlaps(mm, addr, addr + len)) {
			/* Taken behind ntvm's back: a floor at addr has no room. */
			if (mm->space)
				nt_floor_set(mm->space, addr, addr, addr);
			return -EEXIST;
		}
		fake_set(mm, addr, addr + len,
			    how == NT_MAP_RESERVE ? 0 : (int)lprot, false);
		if (mm->space)
			nt_floor_mapped(mm->space, addr, addr + len);
		break;
	case NT_MAP_COMMIT:
		fake_set(mm, addr, addr + len, lprot, false);
		break;
	case NT_MAP_DECOMMIT:
	case NT_MAP_UNVIEW:
		fake_set(mm, addr, addr + len, 0, false);
		break;
	}
	return 0;
}

static int fake_unmap(void *ctx, u64 addr, u64 len)
{
	struct fake_mm *mm = to_mm(ctx);

	assert(!mm->read_locked);
	if (fake_fails(mm))
		return -ENOMEM;
	if (fake_cut(mm, addr, addr + len))
		fake_floor_lower(mm, addr, addr + len);
	return 0;
}

/*
 * The maple tree's empty-area search (mas_empty_area(), _rev()) over the
 * sorted mappings, with what the kernel's ntvm_vm_next_gap() adds.
 */
static int fake_next_gap(void *ctx, u64 lo, u64 hi, u64 size, bool top_down,
			 struct nt_gap *gap)
{
	struct fake_mm *mm = to_mm(ctx);
	u64 a, b, ca, cb;
	int i, k;

	assert(mm->read_locked);
	mm->gap_probes++;
	hi = hi < mm->task_size ? hi : mm->task_size;
	if (!size || lo >= hi || hi - lo < size)
		return -ENOMEM;
	for (k = 0; k <= mm->n; k++) {
		i = top_down ? mm->n - k : k;
		a = i ? mm->seg[i - 1].end : 0;
		b = i < mm->n ? mm->seg[i].start : mm->task_size;
		ca = a > lo ? a : lo;
		cb = b < hi ? b : hi;
		if (cb <= ca || cb - ca < size)
			continue;
		gap->next = b;
		gap->stack = i < mm->n && mm->seg[i].grows_down;
		/* As the maple tree: top-down, only [end - size, end) is known. */
		gap->start = top_down ? cb - size : ca;
		gap->end = cb;
		return 0;
	}
	return -ENOMEM;
}

static void fake_layout(void *ctx, struct nt_layout *l)
{
	struct fake_mm *mm = to_mm(ctx);

	l->task_size = mm->task_size;
	if (!mm->start_brk && !mm->brk) {
		l->start_brk = mm->task_size;
		l->brk = mm->task_size;
		return;
	}
	l->start_brk = mm->start_brk;
	l->brk = mm->brk;
}

static void fake_lock_read(void *ctx)
{
	assert(!to_mm(ctx)->read_locked);
	to_mm(ctx)->read_locked = true;
	to_mm(ctx)->reads++;
}

static void fake_unlock_read(void *ctx)
{
	assert(to_mm(ctx)->read_locked);
	to_mm(ctx)->read_locked = false;
}

int fake_prot(struct fake_mm *mm, u64 addr, u64 *start, u64 *end)
{
	int i;

	for (i = 0; i < mm->n; i++) {
		if (mm->seg[i].end <= addr)
			continue;
		if (mm->seg[i].start > addr) {
			*start = i ? mm->seg[i - 1].end : 0;
			*end = mm->seg[i].start;
			return NT_VMA_NONE;
		}
		*start = mm->seg[i].start;
		*end = mm->seg[i].end;
		return mm->seg[i].prot | (mm->seg[i].foreign ? NT_VMA_FOREIGN : 0);
	}
	*start = mm->n ? mm->seg[mm->n - 1].end : 0;
	*end = mm->task_size;
	return NT_VMA_NONE;
}

static int fake_prot_at(void *ctx, u64 addr, u64 *start, u64 *end)
{
	assert(to_mm(ctx)->read_locked);
	return fake_prot(to_mm(ctx), addr, start, end);
}

static int fake_reset_arm(void *ctx, u64 addr, u64 len)
{
	struct fake_mm *mm = to_mm(ctx);

	assert(!mm->read_locked && len);
	mm->resets++;
	return 0;
}

static int fake_touch(void *ctx, u64 addr, u64 len)
{
	struct fake_mm *mm = to_mm(ctx);

	assert(!mm->read_locked && len && !(addr & 0xfff));
	mm->touches++;
	mm->touched += len;
	return mm->touch_answer;
}

static u64 fake_changes(void *ctx)
{
	return to_mm(ctx)->changes + 1;	/* never 0 */
}

static bool fake_reset_lost(void *ctx, u64 addr, u64 len)
{
	assert(!to_mm(ctx)->read_locked);
	return to_mm(ctx)->reset_lost;
}

/* A view: a "foreign" (file) mapping; the section's refs are counted. */
static int fake_map_view(void *ctx, u64 addr, u64 len, u32 lprot,
			 struct nt_section *sec, u64 off, bool cow, bool fixed)
{
	struct fake_mm *mm = to_mm(ctx);

	assert(!mm->read_locked);
	assert(len && !(addr & 0xfff) && !(len & 0xfff));
	if (fake_fails(mm)) {
		if (fixed || (lprot & NT_VIEW_REMAP)) {
			fake_floor_lower(mm, addr, 0);
			if (mm->fail_cuts)
				fake_cut(mm, addr, addr + len);
		}
		return -ENOMEM;
	}
	if (!fixed && !(lprot & NT_VIEW_REMAP) &&
	    fake_overlaps(mm, addr, addr + len)) {
		if (mm->space)
			nt_floor_set(mm->space, addr, addr, addr);
		return -EEXIST;
	}
	fake_set(mm, addr, addr + len, lprot & NT_LPROT_MASK, true);
	if (!fixed && !(lprot & NT_VIEW_REMAP) && mm->space)
		nt_floor_mapped(mm->space, addr, addr + len);
	return 0;
}

static void fake_section_get(struct nt_section *sec)
{
	sec->commit.checked++;
}

static void fake_section_put(struct nt_section *sec)
{
	assert(sec->commit.checked);
	sec->commit.checked--;
}

static void fake_section_lock(struct nt_section *sec)
{
}

static bool fake_cow_written(void *ctx, u64 addr, u64 vend, u64 *end)
{
	*end = vend;
	return false;
}

/* The fake's operations; the two tables differ in fixed_unmaps_first. */
#define FAKE_OPS							\
	.cow_written = fake_cow_written,				\
	.map_view = fake_map_view,					\
	.section_get = fake_section_get,				\
	.section_put = fake_section_put,				\
	.section_lock = fake_section_lock,				\
	.section_unlock = fake_section_lock,				\
	.map = fake_map,						\
	.unmap = fake_unmap,						\
	.next_gap = fake_next_gap,					\
	.layout = fake_layout,						\
	.lock_read = fake_lock_read,					\
	.unlock_read = fake_unlock_read,				\
	.prot_at = fake_prot_at,					\
	.reset_arm = fake_reset_arm,					\
	.touch = fake_touch,						\
	.reset_lost = fake_reset_lost,					\
	.changes = fake_changes

const struct nt_vm_ops fake_ops = { FAKE_OPS };

const struct nt_vm_ops fake_ops_unmaps_first = {
	.fixed_unmaps_first = true,
	FAKE_OPS
};
