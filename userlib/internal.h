/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared between libntvm's objects; nothing here is exported. */
#ifndef NTVM_INTERNAL_H
#define NTVM_INTERNAL_H

#include <stdbool.h>
#include <string.h>
#include "ntvm.h"

#define NTVM_EXPORT __attribute__((visibility("default")))

/* The module's handshake answer, cached; 0, or -1 without the module. */
int ntvm_geometry(struct ntvm_api *api);

/* probe.c: open /dev/ntvm and decide availability (lock held); fd or -1. */
int ntvm_probe_open(void);
/* probe.c: the module's NTVM_FEATURE_* bits (lock held); 0 before. */
__u64 ntvm_probe_features(void);

/*
 * shared.c: the shared NT state.  ntvm_shared_map() after the device is
 * opened and ntvm_shared_forget() in a forked child, lock held;
 * ntvm_shared_allocate() answers the NtAllocateVirtualMemory calls it can
 * (1, and the status in *st) without the lock.
 */
void ntvm_shared_map(int fd);
void ntvm_shared_forget(void);
int ntvm_shared_allocate(PVOID *base, PSIZE_T size, ULONG type,
			 ULONG protect, NTSTATUS *st);

/*
 * The module checks every parameter in Windows' order (see
 * Documentation/ntvm.rst, "Who decides what"); the library says whether
 * the handle was the current process's (the flags of every NT call's
 * structure), and passes the caller's variables by pointer, for the
 * module to read and write.
 */
static inline __u32 ntvm_process_flags(HANDLE process)
{
	return process == NtCurrentProcess() ? 0 : NTVM_ARGS_OTHER_PROCESS;
}

/* ntapi.c: the library's process-wide lock and its ioctl path. */
void ntvm_lib_lock(void);
void ntvm_lib_unlock(void);
NTSTATUS ntvm_ioctl_locked(unsigned long cmd, void *args, const __u32 *status);

/*
 * section.c: MemExtendedParameterAttributeFlags, shared by
 * NtAllocateVirtualMemoryEx and NtMapViewOfSectionEx.
 */
NTSTATUS ntvm_ext_attribute_flags(DWORD64 flags);
/* ntapi.c: the extended parameters both Ex calls take (spec 8). */
NTSTATUS ntvm_ext_params(const MEM_EXTENDED_PARAMETER *params, ULONG count,
			 MEM_ADDRESS_REQUIREMENTS *req, bool *has_req);
/* section.c: RtlNtStatusToDosError of the section statuses, or 0. */
ULONG ntvm_section_dos_error(NTSTATUS status);
/* section.c: a new handle to a section with the given rights. */
NTSTATUS ntvm_section_open(HANDLE section, ACCESS_MASK access, HANDLE *out);
/* section.c: keep a new handle's descriptor across exec. */
void ntvm_handle_inherit(HANDLE h);
NTSTATUS ntvm_named_section(const char *name, ACCESS_MASK access,
			    NTSTATUS (*create)(void *ctx, HANDLE *out),
			    void *ctx, HANDLE *out);
/*
 * section.c: the names' lock, which ntapi.c's fork handlers hold across
 * fork() (taken before ntvm_lock, the order ntvm_named_section() uses).
 */
void ntvm_names_lock(void);
void ntvm_names_unlock(void);

/*
 * writewatch.c: write watch.  ntapi.c calls these with the lock held, after
 * an ioctl that succeeded and reported NTVM_OUT_WRITE_WATCH: the module
 * maps new VMAs on reserve, commit and decommit, and they must be tracked
 * again; a protect fills the latch, a release empties it.
 */
void ntvm_ww_allocated(const struct ntvm_alloc_args *a);
void ntvm_ww_freed(const struct ntvm_free_args *f);
void ntvm_ww_protected(uintptr_t lo, size_t len);
void ntvm_ww_forget(void);		/* in a forked child */
/* Does [lo, lo + len) overlap a MEM_WRITE_WATCH allocation?  (Asks the module.) */
int ntvm_ww_overlaps(uintptr_t lo, size_t len);

/* memapi.c: back a new MEM_LARGE_PAGES allocation (lock held). */
NTSTATUS ntvm_large_apply(__u64 base, __u64 size, __u32 prot);
/* memapi.c: NtQueryVirtualMemory's classes other than the basic one. */
NTSTATUS ntvm_query_more(HANDLE process, LPCVOID base,
			 MEMORY_INFORMATION_CLASS info_class, PVOID info,
			 SIZE_T length, PSIZE_T result_length);
/*
 * memapi.c: NT's probes of the outputs this library writes itself, a
 * buffer of length bytes that NT's ProbeForWrite() wants aligned to align
 * bytes (0 or 1: any) and a SIZE_T variable (NULL: none), in one
 * NTVM_MEMCTL_PROBE (the library lock not held): STATUS_SUCCESS,
 * STATUS_DATATYPE_MISALIGNMENT or STATUS_ACCESS_VIOLATION.
 */
NTSTATUS ntvm_probe_outputs(const void *buf, SIZE_T length, ULONG align,
			    const SIZE_T *var);
/*
 * ntapi.c: copy n bytes of the caller's memory that may be wild (through
 * the kernel): 0, or -1 if it cannot be read.
 */
int ntvm_copy_user_memory(void *dst, const void *src, size_t n);
/*
 * shared.c: does [p, p + n) lie in this thread's stack, above the stack
 * pointer (the caller's frames: mapped and writable)?
 */
int ntvm_on_stack(const void *p, size_t n);

#endif
