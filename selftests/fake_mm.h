/* SPDX-License-Identifier: GPL-2.0 */
#ifndef NTVM_FAKE_MM_H
#define NTVM_FAKE_MM_H

#include "core/nt.h"

#define FAKE_MAX_SEGS 4096

struct fake_seg {
	u64 start, end;
	int prot;
	bool foreign;
	bool grows_down;	/* a stack (VM_GROWSDOWN) */
};

struct fake_mm {
	struct fake_seg seg[FAKE_MAX_SEGS];
	int n;
	u64 task_size;
	bool read_locked;
	int fail_at;	/* make the fail_at-th map/unmap call fail; 0: never */
	int fail_n;	/* and so many calls from it (0: one) */
	/*
	 * A failed MAP_FIXED over mappings removes them first (6.1's
	 * mmap_region(); the core knows it from fake_ops_unmaps_first).
	 */
	bool fail_cuts;
	int calls;
	int resets;		/* reset_arm() calls */
	bool reset_lost;	/* what reset_lost() answers */
	u64 changes;		/* unmaps behind ntvm's back */
	int reads;		/* lock_read() calls */
	int touches;		/* touch() calls */
	u64 touched;		/* bytes they covered */
	int touch_answer;	/* what touch() returns */
	/* The heap, [start_brk, brk); both 0: none (placed at task_size). */
	u64 start_brk, brk;
	/*
	 * The space whose placement floor the fake tells about unmaps and
	 * reservations, as the kernel's notifier and vm.c do; NULL: none.
	 */
	struct nt_space *space;
	int gap_probes;		/* next_gap() calls */
};

/* ntvm_core_resched() calls, and from which call on it says "killed". */
extern int fake_resched_calls;
extern int fake_fatal_at;	/* 0: never */

/* ntvm_core_zalloc() fails while this is set (the kernel's may). */
extern bool fake_zalloc_fails;

extern const struct nt_vm_ops fake_ops;
/* The same, for a kernel whose failed MAP_FIXED may remove the old range. */
extern const struct nt_vm_ops fake_ops_unmaps_first;

/* mmap(MAP_FIXED) behind ntvm's back (counted in changes). */
void fake_insert(struct fake_mm *mm, u64 lo, u64 hi, int prot, bool foreign);
/* munmap() behind ntvm's back (counted in changes). */
void fake_munmap(struct fake_mm *mm, u64 lo, u64 hi);
/* mprotect() of [lo, hi). */
void fake_protect(struct fake_mm *mm, u64 lo, u64 hi, int prot);
/* Like nt_vm_ops.prot_at, without the locking rule. */
int fake_prot(struct fake_mm *mm, u64 addr, u64 *start, u64 *end);
/* A stack: a grows-down mapping [lo, hi), made behind ntvm's back. */
void fake_stack(struct fake_mm *mm, u64 lo, u64 hi);
/* brk(): the heap is [start_brk, brk), its mapping page-rounded. */
void fake_brk(struct fake_mm *mm, u64 start_brk, u64 brk);

#endif
