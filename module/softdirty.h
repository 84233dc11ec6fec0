/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ntvm: NTVM_IOC_WW_SCAN, write watch from soft-dirty bits (softdirty.c).
 */
#ifndef NTVM_SOFTDIRTY_H
#define NTVM_SOFTDIRTY_H

#include <linux/types.h>

#include <linux/ntvm.h>

struct nt_space;

/*
 * NTVM_HAVE_WW_SCAN comes from module/Kbuild: 1 on kernels before 6.3
 * with soft-dirty bits.  The walk relies on what holds there: faults take
 * mmap_lock (no per-VMA locks, 6.4), vm_flags may be written directly
 * under mmap_lock held for writing (6.3), and pte_offset_map_lock() is
 * inline (6.5).  Newer kernels have userfaultfd's WP_ASYNC and
 * PAGEMAP_SCAN (6.7), which libntvm uses instead; without the walk the
 * ioctl answers -ENOTTY.
 */
#ifndef NTVM_HAVE_WW_SCAN
#define NTVM_HAVE_WW_SCAN	0
#endif

/* Reserved fields zero, flags known, outputs unset, range page aligned. */
bool ntvm_ww_scan_valid(const struct ntvm_ww_scan_args *s);

/*
 * Runs the scan on the caller's address space; the caller holds the
 * ntvm_ctx lock of space.  Returns 0 with s->status set, or -EFAULT (bitmap
 * not writable), -ENOMEM or -EINTR, then having changed nothing.  On
 * success with STATUS_SUCCESS, *bitmap is the kernel's copy of the bitmap,
 * which the caller copies out after dropping the lock and then kfree()s.
 */
int ntvm_ww_scan(struct nt_space *space, struct ntvm_ww_scan_args *s,
		 u64 **bitmap);

#endif
