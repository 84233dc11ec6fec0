/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * ntvm: Windows NT virtual-memory semantics for Linux processes.
 *
 * The ioctl ABI of /dev/ntvm, shared by the module and user space.
 *
 * Documentation/ntvm.rst is the reference for every command: its fields,
 * its errors, the NT statuses it gives and what user space must do after it.
 *
 * Conventions (Documentation/driver-api/ioctl.rst):
 *  - Every structure holds only __u32/__u64 fields, naturally aligned, so
 *    32-bit and 64-bit callers share one layout; reserved fields, padding
 *    and output fields must be zero on input.
 *  - Structures that may grow start with "size", the size the caller knows,
 *    read with copy_struct_from_user() semantics: a smaller (older)
 *    structure reads as zero-extended, a larger one is accepted when its
 *    unknown tail is zero and fails with -E2BIG otherwise, and less than
 *    the first version's size fails with -EINVAL.  The command number
 *    encodes the first version's size (NTVM_*_SIZE_VER0) and never changes.
 *    Output-only structures (NTVM_IOC_STATS) do not grow: a change is a new
 *    command.
 *  - The ioctl return value reports ABI errors only, as a negative errno:
 *      -EFAULT  the argument block could not be read or written;
 *      -EINVAL  a reserved field or an output field is non-zero, a flag is
 *               unknown, or size is below the first version's;
 *      -E2BIG   size is larger than the module knows and the tail not zero;
 *      -EPERM   the caller's address space is not the one that opened the fd;
 *      -ENOTTY  unknown command;
 *      -EINTR   interrupted before anything changed;
 *      -ENOMEM  the module could not allocate its own working memory for
 *               the call (nothing changed; NT's own "no memory" answers
 *               are statuses);
 *      -EMFILE, -ENFILE  no free file descriptor or file for a new
 *               section handle;
 *      -EOPNOTSUPP  an x32 caller (32-bit and 64-bit callers work).
 *    Once the arguments are well-formed the ioctl returns 0 and the NT
 *    result is in the structure's "status" field, as an NTSTATUS.
 *  - Addresses and sizes are __u64 byte values in the caller's address space.
 *  - NT's BaseAddress, RegionSize and OldProtect arguments are pointers to
 *    the caller's variables, passed in *_ptr fields: the module reads and
 *    writes them itself, 4 bytes wide for a 32-bit caller and 8 for a
 *    64-bit one, and writes them exactly when Windows would, failures
 *    included.  One that cannot be read and written gives
 *    STATUS_ACCESS_VIOLATION at the point where NT probes it, and changes
 *    nothing.  The module also checks the order in which NT checks its
 *    parameters; so that it can, the caller says in NTVM_ARGS_OTHER_PROCESS
 *    that it was given a process handle other than the current process's.
 *
 * NT constants (MEM_*, PAGE_*, STATUS_*) are defined here with NTVM_ prefixes
 * so that this header can be included next to any Windows header set.
 */
#ifndef _UAPI_LINUX_NTVM_H
#define _UAPI_LINUX_NTVM_H

#include <linux/const.h>
#include <linux/ioctl.h>
#include <linux/types.h>

#define NTVM_API		2

/* Fixed geometry (spec 7.1). */
#define NTVM_PAGE_SIZE		0x1000ULL
#define NTVM_GRANULARITY	0x10000ULL

/* Allocation / free types (spec 0.1). */
#define NTVM_MEM_COMMIT			0x00001000
#define NTVM_MEM_RESERVE		0x00002000
#define NTVM_MEM_DECOMMIT		0x00004000
#define NTVM_MEM_RELEASE		0x00008000
#define NTVM_MEM_FREE			0x00010000
#define NTVM_MEM_PRIVATE		0x00020000
#define NTVM_MEM_MAPPED			0x00040000
#define NTVM_MEM_RESET			0x00080000
#define NTVM_MEM_TOP_DOWN		0x00100000
#define NTVM_MEM_WRITE_WATCH		0x00200000
#define NTVM_MEM_PHYSICAL		0x00400000
#define NTVM_MEM_RESET_UNDO		0x01000000
#define NTVM_MEM_LARGE_PAGES		0x20000000
#define NTVM_MEM_RESERVE_PLACEHOLDER	0x00040000
#define NTVM_MEM_REPLACE_PLACEHOLDER	0x00004000
#define NTVM_MEM_COALESCE_PLACEHOLDERS	0x00000001
#define NTVM_MEM_PRESERVE_PLACEHOLDER	0x00000002
#define NTVM_AT_ROUND_TO_PAGE		0x40000000

/* Section attributes (spec 0.1). */
#define NTVM_SEC_FILE			0x00800000
#define NTVM_SEC_IMAGE			0x01000000
#define NTVM_SEC_RESERVE		0x04000000
#define NTVM_SEC_COMMIT			0x08000000
#define NTVM_SEC_NOCACHE		0x10000000
#define NTVM_SEC_WRITECOMBINE		0x40000000
#define NTVM_SEC_LARGE_PAGES		0x80000000

/* Section access rights. */
#define NTVM_SECTION_QUERY		0x0001
#define NTVM_SECTION_MAP_WRITE		0x0002
#define NTVM_SECTION_MAP_READ		0x0004
#define NTVM_SECTION_MAP_EXECUTE	0x0008
#define NTVM_SECTION_EXTEND_SIZE	0x0010
#define NTVM_SECTION_MAP_EXECUTE_EXPLICIT 0x0020
#define NTVM_SECTION_ALL_ACCESS		0x000F001F

#define NTVM_MEM_UNMAP_WITH_TRANSIENT_BOOST 0x00000001

/* Page protections. */
#define NTVM_PAGE_NOACCESS		0x001
#define NTVM_PAGE_READONLY		0x002
#define NTVM_PAGE_READWRITE		0x004
#define NTVM_PAGE_WRITECOPY		0x008
#define NTVM_PAGE_EXECUTE		0x010
#define NTVM_PAGE_EXECUTE_READ		0x020
#define NTVM_PAGE_EXECUTE_READWRITE	0x040
#define NTVM_PAGE_EXECUTE_WRITECOPY	0x080
#define NTVM_PAGE_GUARD			0x100
#define NTVM_PAGE_NOCACHE		0x200
#define NTVM_PAGE_WRITECOMBINE		0x400

/* NTSTATUS values returned in the status fields. */
#define NTVM_STATUS_SUCCESS			0x00000000u
#define NTVM_STATUS_GUARD_PAGE_VIOLATION	0x80000001u
#define NTVM_STATUS_DATATYPE_MISALIGNMENT	0x80000002u
#define NTVM_STATUS_UNSUCCESSFUL		0xC0000001u
#define NTVM_STATUS_INVALID_INFO_CLASS		0xC0000003u
#define NTVM_STATUS_INFO_LENGTH_MISMATCH	0xC0000004u
#define NTVM_STATUS_ACCESS_VIOLATION		0xC0000005u
#define NTVM_STATUS_INVALID_HANDLE		0xC0000008u
#define NTVM_STATUS_INVALID_PARAMETER		0xC000000Du
#define NTVM_STATUS_NO_MEMORY			0xC0000017u
#define NTVM_STATUS_CONFLICTING_ADDRESSES	0xC0000018u
#define NTVM_STATUS_NOT_MAPPED_VIEW		0xC0000019u
#define NTVM_STATUS_UNABLE_TO_FREE_VM		0xC000001Au
#define NTVM_STATUS_ALREADY_COMMITTED		0xC0000021u
#define NTVM_STATUS_ACCESS_DENIED		0xC0000022u
#define NTVM_STATUS_NOT_COMMITTED		0xC000002Du
#define NTVM_STATUS_INVALID_PAGE_PROTECTION	0xC0000045u
#define NTVM_STATUS_PRIVILEGE_NOT_HELD		0xC0000061u
#define NTVM_STATUS_INSUFFICIENT_RESOURCES	0xC000009Au
#define NTVM_STATUS_FREE_VM_NOT_AT_BASE		0xC000009Fu
#define NTVM_STATUS_MEMORY_NOT_ALLOCATED	0xC00000A0u
#define NTVM_STATUS_NOT_SUPPORTED		0xC00000BBu
#define NTVM_STATUS_INVALID_PARAMETER_1		0xC00000EFu
#define NTVM_STATUS_INVALID_PARAMETER_2		0xC00000F0u
#define NTVM_STATUS_INVALID_PARAMETER_3		0xC00000F1u
#define NTVM_STATUS_INVALID_PARAMETER_4		0xC00000F2u
#define NTVM_STATUS_INVALID_PARAMETER_5		0xC00000F3u
#define NTVM_STATUS_INVALID_PARAMETER_6		0xC00000F4u
#define NTVM_STATUS_COMMITMENT_LIMIT		0xC000012Du
#define NTVM_STATUS_INVALID_ADDRESS		0xC0000141u
#define NTVM_STATUS_INVALID_VIEW_SIZE		0xC000001Fu
#define NTVM_STATUS_INVALID_FILE_FOR_SECTION	0xC0000020u
#define NTVM_STATUS_UNABLE_TO_DELETE_SECTION	0xC000001Bu
#define NTVM_STATUS_OBJECT_TYPE_MISMATCH	0xC0000024u
#define NTVM_STATUS_SECTION_TOO_BIG		0xC0000040u
#define NTVM_STATUS_SECTION_PROTECTION		0xC000004Eu
#define NTVM_STATUS_SECTION_NOT_IMAGE		0xC0000049u
#define NTVM_STATUS_NOT_MAPPED_DATA		0xC0000088u
#define NTVM_STATUS_NOT_SAME_DEVICE		0xC00000D4u
#define NTVM_STATUS_INVALID_PARAMETER_7		0xC00000F5u
#define NTVM_STATUS_INVALID_PARAMETER_8		0xC00000F6u
#define NTVM_STATUS_INVALID_PARAMETER_9		0xC00000F7u
#define NTVM_STATUS_INVALID_PARAMETER_10	0xC00000F8u
#define NTVM_STATUS_MAPPED_FILE_SIZE_ZERO	0xC000011Eu
#define NTVM_STATUS_INVALID_IMAGE_NOT_MZ	0xC000012Fu
#define NTVM_STATUS_MAPPED_ALIGNMENT		0xC0000220u

/*
 * Flags every NT call's structure accepts besides its own.
 * NTVM_ARGS_OTHER_PROCESS: the NT call was given a process handle other
 * than NtCurrentProcess(); the status is STATUS_INVALID_HANDLE unless NT
 * finds an earlier parameter wrong.
 */
#define NTVM_ARGS_OTHER_PROCESS		0x80000000u

/*
 * NTVM_IOC_API: the handshake, in the spirit of UFFDIO_API.
 * in:  api = NTVM_API; features = the behaviours the caller relies on (a
 *      subset of what the module supports, else -EINVAL); every other field
 *      zero.
 * out: api, features = every behaviour this module supports, ioctls =
 *      bitmask of the supported commands (bit _IOC_NR(cmd) -
 *      NTVM_IOC_BASE_NR), the module's version, and the geometry of the
 *      caller's address space.
 * The features accepted are recorded for the open file; a later handshake
 * on the same file must ask for the same ones (else -EINVAL).
 */
#define NTVM_FEATURE_QUERY_BULK		_BITULL(0)	/* NTVM_IOC_QUERY count > 1 */
#define NTVM_FEATURE_ADDRESS_REQ	_BITULL(1)	/* MEM_ADDRESS_REQUIREMENTS */
#define NTVM_FEATURE_RESET_UNDO		_BITULL(2)	/* MEM_RESET_UNDO, exact */
#define NTVM_FEATURE_GUARD_PAGES	_BITULL(3)	/* PAGE_GUARD, one-shot */
#define NTVM_FEATURE_COMPAT32		_BITULL(4)	/* 32-bit callers */
#define NTVM_FEATURE_LARGE_PAGES	_BITULL(5)	/* MEM_LARGE_PAGES (THP) */
#define NTVM_FEATURE_PLACEHOLDER	_BITULL(6)	/* placeholders */
#define NTVM_FEATURE_SECTIONS		_BITULL(7)	/* sections and views */
#define NTVM_FEATURE_SHARED_STATE	_BITULL(8)	/* mmap: struct ntvm_shared */
#define NTVM_FEATURES_ALL		(_BITULL(9) - 1)

struct ntvm_api {
	__u32 size;
	__u32 flags;			/* in: zero */
	__u64 api;			/* in/out */
	__u64 features;			/* in/out */
	__u64 ioctls;			/* out */
	__u64 version;			/* out: major << 32 | minor << 16 | patch */
	__u64 page_size;		/* out: NTVM_PAGE_SIZE */
	__u64 granularity;		/* out: NTVM_GRANULARITY */
	__u64 min_address;		/* out: lowest usable address */
	__u64 max_address;		/* out: highest usable address (inclusive) */
};

#define NTVM_API_SIZE_VER0		72

/*
 * NTVM_IOC_ALLOCATE: NtAllocateVirtualMemory(Ex) on the calling process.
 * type is MEM_RESERVE, MEM_COMMIT, MEM_RESET or MEM_RESET_UNDO (and
 * MEM_TOP_DOWN, MEM_WRITE_WATCH), validated with NT's rules, order and
 * statuses; with NTVM_ALLOC_EX also MEM_RESERVE_PLACEHOLDER and
 * MEM_REPLACE_PLACEHOLDER.  NTVM_IOC_FREE's type may be MEM_RELEASE |
 * MEM_PRESERVE_PLACEHOLDER or MEM_RELEASE | MEM_COALESCE_PLACEHOLDERS.
 * With NTVM_ALLOC_REQUIREMENTS, lowest/highest/alignment carry a
 * MEM_ADDRESS_REQUIREMENTS; without it they must be zero.
 *
 * MEM_RESET_UNDO succeeds only when every page of the range is certainly
 * intact, and fails with STATUS_UNSUCCESSFUL when some page may have been
 * discarded since its MEM_RESET.  A MEM_RESET that answers
 * NTVM_APPLY_MADV_FREE must be followed, after the madvise(), by
 * NTVM_IOC_RESET_DONE (until then the module ignores the caller's own
 * discards of that range, so that it can tell them from the kernel's).
 * Over memory that the shared NT state publishes (below), the caller's
 * madvise(MADV_FREE) alone is a MEM_RESET: the module sees it and watches
 * the range from then on.
 *
 * On success *base_ptr and *size_ptr receive the range, which base and
 * region_size also hold, and apply tells user space which page-table
 * change it has to finish itself, because the kernel exports no way for a
 * module to make it: NTVM_APPLY_MPROTECT means "mprotect(base,
 * region_size, apply_prot)", NTVM_APPLY_MADV_FREE means "madvise(base,
 * region_size, MADV_FREE)".  Both are safe to skip: the NT state then
 * reads back as if the change had not been asked for.
 */
#define NTVM_ALLOC_REQUIREMENTS		0x1u
/*
 * The call is NtAllocateVirtualMemoryEx: only it takes the placeholder
 * types (MEM_RESERVE_PLACEHOLDER, MEM_REPLACE_PLACEHOLDER; spec 6.1.2).
 */
#define NTVM_ALLOC_EX			0x2u

#define NTVM_APPLY_MPROTECT		0x1u
#define NTVM_APPLY_MADV_FREE		0x2u

/*
 * out_flags of NTVM_IOC_ALLOCATE, NTVM_IOC_FREE and NTVM_IOC_PROTECT, set
 * on success only.  NTVM_OUT_WRITE_WATCH: the range acted on (base and
 * region_size; a whole decommit by size 0 reports size 0, and its range is
 * the allocation NTVM_IOC_WATCH describes) lies in an allocation made with
 * MEM_WRITE_WATCH, or lay in one before a release.  The module alone
 * knows which allocations are watched; user space, which tracks the
 * writes there, asks it this way instead of keeping a list of its own
 * (Documentation/ntvm.rst, "Write watch").
 */
#define NTVM_OUT_WRITE_WATCH		0x1u

struct ntvm_alloc_args {
	__u32 size;
	__u32 flags;			/* in: NTVM_ALLOC_*, NTVM_ARGS_* */
	__u64 base_ptr;			/* in: PVOID *BaseAddress */
	__u64 size_ptr;			/* in: SIZE_T *RegionSize */
	__u64 zero_bits;		/* in: NT ZeroBits (count or mask) */
	__u64 lowest;			/* in: LowestStartingAddress */
	__u64 highest;			/* in: HighestEndingAddress */
	__u64 alignment;		/* in: Alignment */
	__u32 type;			/* in: MEM_* */
	__u32 protect;			/* in: PAGE_* */
	__u32 status;			/* out: NTSTATUS */
	__u32 apply;			/* out: NTVM_APPLY_* */
	__u64 base;			/* out */
	__u64 region_size;		/* out */
	__u32 apply_prot;		/* out: PROT_* for NTVM_APPLY_MPROTECT */
	__u32 out_flags;		/* out: NTVM_OUT_* */
};

#define NTVM_ALLOC_SIZE_VER0		96

/*
 * NTVM_IOC_FREE: NtFreeVirtualMemory, type MEM_DECOMMIT or MEM_RELEASE.
 * A range that holds the argument block, or the caller's BaseAddress or
 * RegionSize variable, is not freed: STATUS_ACCESS_VIOLATION, because the
 * results could not be reported.  out_flags came with the second version
 * of the structure; an older caller's size does not reach it and it is
 * not written.
 */
struct ntvm_free_args {
	__u32 size;
	__u32 flags;			/* in: NTVM_ARGS_* */
	__u64 base_ptr;			/* in: PVOID *BaseAddress */
	__u64 size_ptr;			/* in: SIZE_T *RegionSize */
	__u32 type;			/* in: MEM_DECOMMIT or MEM_RELEASE */
	__u32 status;			/* out: NTSTATUS */
	__u64 base;			/* out */
	__u64 region_size;		/* out */
	/* Second version (56 bytes): */
	__u32 out_flags;		/* out: NTVM_OUT_* */
	__u32 pad;			/* zero */
};

#define NTVM_FREE_SIZE_VER0		48

/*
 * NTVM_IOC_PROTECT: NtProtectVirtualMemory.  The module validates the
 * change, records what VMAs cannot hold (guard bits), writes *old_protect_ptr
 * (PAGE_NOACCESS on the failures where Windows writes it), and user space
 * then applies apply_prot with mprotect(2) when NTVM_APPLY_MPROTECT is set.
 */
struct ntvm_protect_args {
	__u32 size;
	__u32 flags;			/* in: NTVM_ARGS_* */
	__u64 base_ptr;			/* in: PVOID *BaseAddress */
	__u64 size_ptr;			/* in: SIZE_T *RegionSize */
	__u64 old_protect_ptr;		/* in: ULONG *OldProtect */
	__u32 protect;			/* in: PAGE_* */
	__u32 status;			/* out: NTSTATUS */
	__u64 base;			/* out */
	__u64 region_size;		/* out */
	__u32 apply;			/* out: NTVM_APPLY_* */
	__u32 apply_prot;		/* out: PROT_* */
	__u32 old_protect;		/* out */
	__u32 out_flags;		/* out: NTVM_OUT_* */
};

#define NTVM_PROTECT_SIZE_VER0		72

/* One MEMORY_BASIC_INFORMATION, with what ntvm knows besides. */
#define NTVM_REGION_WRITE_WATCH		0x1u	/* in a MEM_WRITE_WATCH allocation */

struct ntvm_region {
	__u64 base;
	__u64 allocation_base;
	__u64 size;
	__u32 allocation_protect;
	__u32 state;			/* MEM_COMMIT, MEM_RESERVE or MEM_FREE */
	__u32 protect;
	__u32 type;			/* MEM_PRIVATE, MEM_MAPPED, or 0 if free */
	__u32 flags;			/* NTVM_REGION_* */
	__u32 pad;
};

#define NTVM_REGION_SIZE_VER0		48

/*
 * NTVM_IOC_QUERY: NtQueryVirtualMemory(MemoryBasicInformation), single or
 * bulk.  Fills up to count regions starting with the one that contains
 * address, stopping at the first region that starts at or above end
 * (end = 0 means address + 1, a single query).  count is written back.
 * Regions are described exactly as NT coalesces them (spec 3.5), each
 * region_size bytes apart in the array (at least NTVM_REGION_SIZE_VER0;
 * bytes the module does not know are zeroed).  A bulk query is made in
 * steps, each exact at its time: another thread of the process may change
 * memory between two of them.
 *
 * NTVM_QUERY_INFO (size NTVM_QUERY_SIZE_VER1): the call is
 * NtQueryVirtualMemory(MemoryBasicInformation): regions is the caller's
 * buffer of info_length bytes, ret_len_ptr its ReturnLength (a SIZE_T, 0
 * for none); count is 1, end and region_size 0.  The module writes NT's
 * MEMORY_BASIC_INFORMATION for the caller's word width (48 bytes, or 28),
 * after NT's checks in NT's order: the length
 * (STATUS_INFO_LENGTH_MISMATCH), the buffer as ProbeForWrite() checks it
 * (aligned to the caller's pointer size, else
 * STATUS_DATATYPE_MISALIGNMENT) and ReturnLength
 * (STATUS_ACCESS_VIOLATION), then the address and the process handle.
 */
#define NTVM_QUERY_INFO			0x2u

struct ntvm_query_args {
	__u32 size;
	__u32 flags;			/* in: NTVM_ARGS_*, NTVM_QUERY_INFO */
	__u64 address;			/* in */
	__u64 end;			/* in */
	__u64 regions;			/* in: user pointer to struct ntvm_region[] */
	__u32 region_size;		/* in: sizeof(struct ntvm_region) */
	__u32 count;			/* in: capacity; out: regions filled */
	__u32 status;			/* out: NTSTATUS */
	__u32 pad;			/* zero */
	__u64 info_length;		/* in: with NTVM_QUERY_INFO */
	__u64 ret_len_ptr;		/* in: SIZE_T *, with NTVM_QUERY_INFO */
};

#define NTVM_QUERY_SIZE_VER0		48
#define NTVM_QUERY_SIZE_VER1		64

/* NTVM_IOC_STATS: per-process statistics; takes no input. */
struct ntvm_stats {
	__u64 reserved_bytes;		/* sum of the allocations' sizes */
	__u64 committed_bytes;
	__u64 allocations;
	/*
	 * The address space the allocations take is reserved_bytes +
	 * granularity_waste: every 64K block an allocation touches, once.
	 */
	__u64 granularity_waste;
	/*
	 * Largest free 64K-aligned block NT placement could use: gaps between
	 * mappings, less the stack guard gap and the room kept for the heap.
	 */
	__u64 largest_free;
	__u64 reserved[3];		/* written as zero */
};

/*
 * NTVM_IOC_GUARD: a fault hit address; was it a guard page?  For user space
 * SIGSEGV handlers (see libntvm's ntvm_guard_fault()).  access says what
 * the faulting instruction did.  The module looks at the page atomically
 * with respect to every other NT call:
 *  - an armed guard page is disarmed (one-shot, spec 4.7): status
 *    STATUS_GUARD_PAGE_VIOLATION, base = the page, and NTVM_APPLY_MPROTECT
 *    with the protection the page returns to;
 *  - a committed page whose protection now allows the access (another
 *    thread disarmed it): STATUS_SUCCESS, the access can be retried;
 *  - anything else: STATUS_ACCESS_VIOLATION, a real fault.
 */
#define NTVM_ACCESS_READ		0u
#define NTVM_ACCESS_WRITE		1u
#define NTVM_ACCESS_EXECUTE		8u

struct ntvm_guard_args {
	__u32 size;
	__u32 flags;			/* in: zero */
	__u64 address;			/* in */
	__u64 base;			/* out */
	__u32 access;			/* in: NTVM_ACCESS_* */
	__u32 status;			/* out: NTSTATUS */
	__u32 apply;			/* out: NTVM_APPLY_* */
	__u32 apply_prot;		/* out: PROT_* */
};

#define NTVM_GUARD_SIZE_VER0		40

/*
 * NTVM_IOC_WATCH: the NT checks of NtGetWriteWatch/NtResetWriteWatch
 * (spec 5.13): [base, base + length) must lie inside one allocation made
 * with MEM_WRITE_WATCH, else STATUS_INVALID_PARAMETER.  On success,
 * alloc_base and alloc_size describe that allocation (also for a single
 * page, to learn the allocation of a whole decommit).  The write tracking
 * itself is libntvm's (Documentation/ntvm.rst, "Write watch").
 *
 * With NTVM_WATCH_PROBE (size NTVM_WATCH_SIZE_VER1), the array that
 * NtGetWriteWatch will fill, [array, array + array_size), is probed first,
 * as NT probes it before the range: STATUS_DATATYPE_MISALIGNMENT unless
 * it is aligned to the caller's pointer size, STATUS_ACCESS_VIOLATION
 * unless every page of it is writable.  Without the flag both fields must
 * be zero.
 */
struct ntvm_watch_args {
	__u32 size;
	__u32 flags;			/* in: NTVM_WATCH_PROBE */
	__u64 base;			/* in */
	__u64 length;			/* in */
	__u64 alloc_base;		/* out */
	__u64 alloc_size;		/* out */
	__u32 status;			/* out: NTSTATUS */
	__u32 pad;			/* zero */
	__u64 array;			/* in: with NTVM_WATCH_PROBE */
	__u64 array_size;		/* in: bytes, with NTVM_WATCH_PROBE */
};

#define NTVM_WATCH_PROBE		0x1u

#define NTVM_WATCH_SIZE_VER0		48
#define NTVM_WATCH_SIZE_VER1		64

/*
 * NTVM_IOC_WW_SCAN: which pages of a range of a MEM_WRITE_WATCH allocation
 * were written, from their soft-dirty bits, and optionally reset them;
 * each page is tested and reset atomically, so no concurrent write is
 * lost.  Only on kernels before 6.3 with soft-dirty bits (the ioctls
 * bitmask of NTVM_IOC_API says; later kernels answer -ENOTTY and have
 * userfaultfd's WP_ASYNC and PAGEMAP_SCAN instead).
 *
 * in:  base and length, page aligned (else -EINVAL), inside one
 *      write-watch allocation (else STATUS_INVALID_PARAMETER, as
 *      NTVM_IOC_WATCH); bitmap, a user pointer to __u64 words; max_count,
 *      the most written pages to report (0: examine none); flags,
 *      NTVM_WW_RESET to reset the pages reported.
 * out: count, the written pages reported; scanned, the bytes of the range
 *      examined from base.  A call examines at most NTVM_WW_SCAN_MAX_PAGES
 *      pages, and stops right after the max_count-th written page: pages
 *      after scanned were neither reported nor reset.  Bit i (bit i % 64
 *      of word i / 64) of the bitmap says whether page base + i * 4096
 *      was written; the words covering the pages examined are written,
 *      and the bitmap must have room for the words of
 *      min(length / 4096, NTVM_WW_SCAN_MAX_PAGES) pages (else -EFAULT
 *      before anything changes) when max_count is not 0.
 *
 * Every call, max_count 0 included, also makes the mappings of the range
 * track writes again (their soft-dirty flag, which a new mapping sets,
 * would let mprotect(2) make a clean page writable without a fault):
 * libntvm calls it with max_count 0 after each commit or decommit in a
 * watched allocation.
 */
#define NTVM_WW_RESET			0x1u
#define NTVM_WW_SCAN_MAX_PAGES		32768

struct ntvm_ww_scan_args {
	__u32 size;
	__u32 flags;			/* in: NTVM_WW_* */
	__u64 base;			/* in */
	__u64 length;			/* in */
	__u64 bitmap;			/* in: user pointer to __u64[] */
	__u64 max_count;		/* in */
	__u64 count;			/* out */
	__u64 scanned;			/* out */
	__u32 status;			/* out: NTSTATUS */
	__u32 pad;			/* zero */
};

#define NTVM_WW_SCAN_SIZE_VER0		64

/*
 * NTVM_IOC_UNDO: take back the last NTVM_IOC_ALLOCATE (MEM_COMMIT) or
 * NTVM_IOC_PROTECT of this process that answered NTVM_APPLY_MPROTECT,
 * when that mprotect(2) failed, so that the failed call changes nothing.
 * base and region_size are the ones that call returned.  The first call
 * puts the NT state back and decommits the pages the call committed; each
 * call then fills up to max_count struct ntvm_undo_range at ranges: the
 * protections user space puts back with mprotect(2) (its own, partly
 * applied change).  more: call again.  status: STATUS_SUCCESS, or
 * STATUS_INVALID_PARAMETER when there is nothing (any more) to take back
 * (any other NT call forgets it), or STATUS_INSUFFICIENT_RESOURCES when
 * the kernel could not put memory back as it was: the NT state then
 * describes memory as it is.  The fast path never calls it.
 */
struct ntvm_undo_range {
	__u64 base;
	__u64 size;
	__u32 prot;			/* PROT_* */
	__u32 pad;
};

struct ntvm_undo_args {
	__u32 size;
	__u32 flags;			/* zero */
	__u64 base;			/* in */
	__u64 region_size;		/* in */
	__u64 ranges;			/* in: user pointer to ntvm_undo_range[] */
	__u32 max_count;		/* in: at most NTVM_UNDO_MAX_RANGES */
	__u32 count;			/* out */
	__u32 status;			/* out: NTSTATUS */
	__u32 more;			/* out: 1, call again */
};

#define NTVM_UNDO_SIZE_VER0		48
#define NTVM_UNDO_MAX_RANGES		64

/*
 * The shared NT state (NTVM_FEATURE_SHARED_STATE): a read-only view of NT
 * facts the module keeps exact, for user space to act on without a kernel
 * entry.  mmap(NULL, NTVM_SHARED_SIZE, PROT_READ, MAP_SHARED, fd,
 * NTVM_SHARED_OFFSET), only by the address space that opened fd; it cannot
 * be made writable or executable, and a child does not inherit it.
 *
 * ranges[0..count) are disjoint and sorted by base.  Each one says: every
 * page of [base, end) is committed private memory of the allocation at
 * allocation_base (not a view, not MEM_WRITE_WATCH, not MEM_LARGE_PAGES,
 * no cache attribute), no page is a guard page, and every page has the
 * NT protection protect, a base protection without modifier bits.  The
 * module publishes a range when a MEM_COMMIT finds it so (every page
 * committed already) and leaves it so, and withdraws it before anything
 * may make the statement false: any other NT call that may change it, an
 * munmap(), mremap() or mmap(MAP_FIXED) of it behind ntvm's back, and an
 * mprotect() of it that the kernel sees (see Documentation/ntvm.rst, "The
 * shared NT state").  A range may be absent although its statement is
 * true: the ranges are a cache of facts, not the NT state.
 *
 * seq is odd while the module changes the ranges: a reader reads seq
 * (acquire), the ranges, then seq again (after an acquire fence), and
 * uses what it read only if both reads gave the same even value.
 */
#define NTVM_SHARED_OFFSET		0
#define NTVM_SHARED_SIZE		4096
#define NTVM_SHARED_MAX_RANGES		127

struct ntvm_shared_range {
	__u64 base;			/* the first byte */
	__u64 end;			/* one past the last byte */
	__u64 allocation_base;
	__u32 protect;			/* PAGE_* */
	__u32 flags;			/* zero */
};

struct ntvm_shared {
	__u32 seq;
	__u32 count;
	__u32 max_count;		/* NTVM_SHARED_MAX_RANGES */
	__u32 range_size;		/* sizeof(struct ntvm_shared_range) */
	__u64 reserved[2];		/* zero */
	struct ntvm_shared_range ranges[NTVM_SHARED_MAX_RANGES];
};

#define NTVM_IOC_TYPE		'N'
#define NTVM_IOC_BASE_NR	0xa0

#define NTVM_IOWR_VER0(nr, size) \
	_IOC(_IOC_READ | _IOC_WRITE, NTVM_IOC_TYPE, (nr), (size))

#define NTVM_IOC_API		NTVM_IOWR_VER0(0xa0, NTVM_API_SIZE_VER0)
#define NTVM_IOC_ALLOCATE	NTVM_IOWR_VER0(0xa1, NTVM_ALLOC_SIZE_VER0)
#define NTVM_IOC_FREE		NTVM_IOWR_VER0(0xa2, NTVM_FREE_SIZE_VER0)
#define NTVM_IOC_PROTECT	NTVM_IOWR_VER0(0xa3, NTVM_PROTECT_SIZE_VER0)
#define NTVM_IOC_QUERY		NTVM_IOWR_VER0(0xa4, NTVM_QUERY_SIZE_VER0)
#define NTVM_IOC_STATS		_IOR(NTVM_IOC_TYPE, 0xa5, struct ntvm_stats)
#define NTVM_IOC_GUARD		NTVM_IOWR_VER0(0xa6, NTVM_GUARD_SIZE_VER0)
#define NTVM_IOC_WATCH		NTVM_IOWR_VER0(0xa7, NTVM_WATCH_SIZE_VER0)
/* No argument (0): the madvise() of a MEM_RESET is done. */
#define NTVM_IOC_RESET_DONE	_IO(NTVM_IOC_TYPE, 0xa8)
#define NTVM_IOC_WW_SCAN	NTVM_IOWR_VER0(0xa9, NTVM_WW_SCAN_SIZE_VER0)
#define NTVM_IOC_UNDO		NTVM_IOWR_VER0(0xaa, NTVM_UNDO_SIZE_VER0)

/*
 * Sections and views (issue 10), frame v2: each structure starts with its
 * size (as the caller compiled it) and flags; the command number encodes
 * the size of the first version.  Unknown flags and non-zero padding:
 * -EINVAL; a larger structure whose tail is not zero: -E2BIG.
 *
 * NTVM_IOC_SECTION_CREATE: NtCreateSection.  file_fd is -1 for a section
 * backed by memory (the pagefile), else a Linux file descriptor open for
 * reading (and writing for a writable section).  On success section_fd is
 * a new descriptor (O_CLOEXEC) that is the section handle, with the
 * rights in access; it can be passed to another process (SCM_RIGHTS),
 * which maps it with its own /dev/ntvm.  max_size comes back as the
 * section's size.
 *
 * NTVM_SECTION_CREATE_VARS (size NTVM_SECTION_CREATE_SIZE_VER1): NT's
 * SectionHandle (handle_ptr, a HANDLE as wide as the caller's pointers)
 * and MaximumSize (max_size_ptr, a LARGE_INTEGER, 0 for none) are read and
 * written by the module where NT probes them: a bad one is
 * STATUS_ACCESS_VIOLATION and creates nothing.  max_size must then be
 * zero; the handle is written before the descriptor is installed.
 */
#define NTVM_SECTION_CREATE_VARS	0x1u

struct ntvm_section_create_args {
	__u32 size;
	__u32 flags;			/* NTVM_SECTION_CREATE_VARS */
	__u64 max_size;			/* in: 0 = the file's size; out */
	__u32 attrs;			/* in: SEC_* */
	__u32 protect;			/* in: PAGE_* */
	__s32 file_fd;			/* in: -1, or the file */
	__u32 access;			/* in: SECTION_* rights of the handle */
	__u32 status;			/* out: NTSTATUS */
	__s32 section_fd;		/* out */
	__u64 reserved;			/* must be zero */
	__u64 handle_ptr;		/* in: HANDLE *, with the flag */
	__u64 max_size_ptr;		/* in: LARGE_INTEGER *, or 0 */
};

#define NTVM_SECTION_CREATE_SIZE_VER0	48
#define NTVM_SECTION_CREATE_SIZE_VER1	64

/*
 * NTVM_IOC_SECTION_QUERY: the section's size, attributes and the handle's
 * rights.  NTVM_SECTION_QUERY_INFO (size NTVM_SECTION_QUERY_SIZE_VER1):
 * the call is NtQuerySection(info_class, info_ptr, info_length,
 * ret_len_ptr) and the module writes NT's structure for the caller's word
 * width.  It checks in NT's order: the buffer as ProbeForWrite() would
 * (aligned to 4 bytes, else STATUS_DATATYPE_MISALIGNMENT; every page of
 * info_length bytes writable), ReturnLength (a SIZE_T), the class, the
 * length, the handle, its rights; a bad pointer is
 * STATUS_ACCESS_VIOLATION.
 */
#define NTVM_SECTION_QUERY_INFO		0x1u
/* SECTION_INFORMATION_CLASS */
#define NTVM_SECTION_BASIC_INFORMATION	0u
#define NTVM_SECTION_IMAGE_INFORMATION	1u

struct ntvm_section_query_args {
	__u32 size;
	__u32 flags;			/* NTVM_SECTION_QUERY_INFO */
	__s32 section_fd;		/* in */
	__u32 status;			/* out: NTSTATUS */
	__u64 max_size;			/* out */
	__u32 attrs;			/* out: SEC_* */
	__u32 access;			/* out: the handle's rights */
	__u32 info_class;		/* in: SECTION_INFORMATION_CLASS */
	__u32 pad;			/* must be zero */
	__u64 info_ptr;			/* in: SectionInformation */
	__u64 info_length;		/* in: SectionInformationLength */
	__u64 ret_len_ptr;		/* in: SIZE_T *ReturnLength, or 0 */
};

#define NTVM_SECTION_QUERY_SIZE_VER0	32
#define NTVM_SECTION_QUERY_SIZE_VER1	64

/*
 * NTVM_IOC_MAP_VIEW: NtMapViewOfSection(Ex) into the calling process.
 * With NTVM_MAP_REQUIREMENTS, lowest/highest/alignment carry a
 * MEM_ADDRESS_REQUIREMENTS.  base, view_size and offset come back on
 * success.  NTVM_MAP_EX: the call is NtMapViewOfSectionEx.
 *
 * NTVM_MAP_VARS (size NTVM_MAP_VIEW_SIZE_VER1): base, view_size and offset
 * are NT's variables, read from and written to the caller's BaseAddress
 * (base_ptr), ViewSize (size_ptr) and SectionOffset (offset_ptr, 0 for
 * none) at the point where NT probes them, as NTVM_IOC_ALLOCATE does: a
 * bad one is STATUS_ACCESS_VIOLATION.  The fields themselves must then be
 * zero; they still come back on success.
 */
#define NTVM_MAP_REQUIREMENTS		0x1u
#define NTVM_MAP_EX			0x2u
#define NTVM_MAP_VARS			0x4u
#define NTVM_MAP_FLAGS			(NTVM_MAP_REQUIREMENTS | NTVM_MAP_EX | \
					 NTVM_MAP_VARS)

struct ntvm_map_view_args {
	__u32 size;
	__u32 flags;			/* NTVM_MAP_* */
	__s32 section_fd;		/* in */
	__u32 status;			/* out: NTSTATUS */
	__u64 base;			/* in/out */
	__u64 view_size;		/* in/out */
	__u64 offset;			/* in/out */
	__u64 zero_bits;		/* in */
	__u64 commit_size;		/* in */
	__u64 lowest;			/* in */
	__u64 highest;			/* in */
	__u64 alignment;		/* in */
	__u32 type;			/* in: AllocationType */
	__u32 protect;			/* in: Win32Protect */
	__u32 inherit;			/* in: InheritDisposition */
	__u32 pad;			/* must be zero */
	__u64 base_ptr;			/* in: PVOID *, with NTVM_MAP_VARS */
	__u64 size_ptr;			/* in: SIZE_T *, with NTVM_MAP_VARS */
	__u64 offset_ptr;		/* in: LARGE_INTEGER *, or 0 */
};

#define NTVM_MAP_VIEW_SIZE_VER0		96
#define NTVM_MAP_VIEW_SIZE_VER1		120

/*
 * NTVM_IOC_UNMAP_VIEW: NtUnmapViewOfSectionEx; unmap_flags are NT's
 * (MEM_PRESERVE_PLACEHOLDER, MEM_UNMAP_WITH_TRANSIENT_BOOST), checked
 * with NT's status, then an address above the user range
 * (STATUS_NOT_MAPPED_VIEW), then the process handle
 * (NTVM_ARGS_OTHER_PROCESS, accepted since 0.3.0).
 */
struct ntvm_unmap_view_args {
	__u32 size;
	__u32 flags;			/* NTVM_ARGS_OTHER_PROCESS */
	__u64 base;			/* in */
	__u32 unmap_flags;		/* in */
	__u32 status;			/* out: NTSTATUS */
};

#define NTVM_UNMAP_VIEW_SIZE_VER0	24

#define NTVM_IOC_SECTION_CREATE	_IOC(_IOC_READ | _IOC_WRITE, NTVM_IOC_TYPE, 0xb0, \
				     NTVM_SECTION_CREATE_SIZE_VER0)
#define NTVM_IOC_SECTION_QUERY	_IOC(_IOC_READ | _IOC_WRITE, NTVM_IOC_TYPE, 0xb1, \
				     NTVM_SECTION_QUERY_SIZE_VER0)
/*
 * NTVM_IOC_SECTION_OPEN (struct ntvm_section_query_args): a new handle, in
 * section_fd, to the section of section_fd, with the rights in access;
 * max_size and attrs come back as NTVM_IOC_SECTION_QUERY gives them.
 */
#define NTVM_IOC_SECTION_OPEN	_IOC(_IOC_READ | _IOC_WRITE, NTVM_IOC_TYPE, 0xb4, \
				     NTVM_SECTION_QUERY_SIZE_VER0)
#define NTVM_IOC_MAP_VIEW	_IOC(_IOC_READ | _IOC_WRITE, NTVM_IOC_TYPE, 0xb2, \
				     NTVM_MAP_VIEW_SIZE_VER0)
#define NTVM_IOC_UNMAP_VIEW	_IOC(_IOC_READ | _IOC_WRITE, NTVM_IOC_TYPE, 0xb3, \
				     NTVM_UNMAP_VIEW_SIZE_VER0)

#define NTVM_IOC_BIT(cmd)	_BITULL(_IOC_NR(cmd) - NTVM_IOC_BASE_NR)

/*
 * ---- Issue 11: the rest of the NT memory API (commands 0xc0..0xcf) ----
 * Frame v2 (see the coordinator's FRAME): size, then flags; the kernel reads
 * size bytes with copy_struct_from_user() and writes outputs back only
 * inside them.
 *
 * NTVM_IOC_MEMCTL: one NT query or check at a time, op is NTVM_MEMCTL_*:
 *  - REGION: NtQueryVirtualMemory(MemoryRegionInformation(Ex)) of the
 *    allocation holding base: alloc_base, alloc_size, alloc_protect,
 *    commit_size, type, and in lock NTVM_MEMCTL_LARGE_PAGES,
 *    NTVM_MEMCTL_PAGE_FILE (a view of a section backed by memory, not by
 *    a file), NTVM_MEMCTL_PLACEHOLDER (a free placeholder) and
 *    NTVM_MEMCTL_WRITE_WATCH (a MEM_WRITE_WATCH allocation).
 *    STATUS_INVALID_PARAMETER above the user range, then
 *    STATUS_INVALID_HANDLE with NTVM_ARGS_OTHER_PROCESS, then
 *    STATUS_INVALID_ADDRESS where nothing is mapped.
 *  - PAGE: for MemoryWorkingSetExInformation: state, protect and type of
 *    the page at base, lock (NTVM_MEMCTL_LOCKED_ALL when it is VM_LOCKED),
 *    and [out_base, out_base + out_size), the run of pages from base's page
 *    where all of these stay the same.
 *  - LOCK, UNLOCK: the NT checks of NtLockVirtualMemory and
 *    NtUnlockVirtualMemory for [base, base + length) with MapType
 *    map_type.  On success out_base/out_size is the page-rounded range and
 *    lock says whether none, some or all of its pages are locked
 *    (VM_LOCKED) now; UNLOCK fails with STATUS_NOT_LOCKED unless all are.
 *    User space then makes the mlock(2) or munlock(2).  Large pages are
 *    neither locked nor unlocked, as NT leaves them: a LOCK of a range
 *    that meets a MEM_LARGE_PAGES allocation fails with
 *    STATUS_INCOMPATIBLE_FILE_MAP; an UNLOCK that meets one has
 *    NTVM_MEMCTL_LARGE_PAGES in lock and that allocation's start in the
 *    range in alloc_base, and checks and unlocks only
 *    [out_base, alloc_base).  A LOCK that meets
 *    an armed guard page disarms it and fails with
 *    STATUS_GUARD_PAGE_VIOLATION, with NTVM_APPLY_MPROTECT for that page
 *    (out_base, 4096 bytes) in apply/apply_prot.
 *  - FLUSH: the NT checks of NtFlushVirtualMemory for [base, base +
 *    length): out_base/out_size is the page-rounded range, inside one view
 *    (length 0: to the view's end) or one mapping ntvm did not make.
 *    STATUS_NOT_MAPPED_DATA for other memory, STATUS_INVALID_PARAMETER for
 *    a range past the view's end.  User space then makes the msync(2).
 *  - SAME_FILES: NtAreMappedFilesTheSame(base, other) (size
 *    NTVM_MEMCTL_SIZE_VER2; other is zero for every other op): success
 *    when both addresses lie in views of one section,
 *    STATUS_NOT_SAME_DEVICE for views of two, else, base's first,
 *    STATUS_CONFLICTING_ADDRESSES for an address in memory that is no
 *    view and STATUS_INVALID_ADDRESS for one in no mapping.
 *  - PROBE: NT's ProbeForWrite() of [base, base + length), then, unless
 *    size_ptr is 0, of the caller's SIZE_T there (written back with the
 *    value it holds), for the outputs that user space writes itself (the
 *    buffer and ReturnLength of a query class it fills, NtGetWriteWatch's
 *    granularity and count; its array goes with NTVM_IOC_WATCH):
 *    STATUS_DATATYPE_MISALIGNMENT unless base is a multiple of map_type,
 *    the alignment ProbeForWrite() is given (0 or 1: none; 2, 4 or 8),
 *    then STATUS_ACCESS_VIOLATION unless all of it is writable user
 *    memory; length 0 probes no range.  Nothing else is read or changed;
 *    other, flags and base_ptr must be zero.
 *
 * NTVM_MEMCTL_VARS (LOCK, UNLOCK, FLUSH; size NTVM_MEMCTL_SIZE_VER1):
 * base and length are NT's BaseAddress and RegionSize variables, read
 * from base_ptr and size_ptr where NT probes them, as NTVM_IOC_ALLOCATE
 * reads them; a bad one is STATUS_ACCESS_VIOLATION.  base and length must
 * then be zero.  The module does not write the variables: user space
 * does, once its own system call has succeeded.  NTVM_ARGS_OTHER_PROCESS
 * is accepted with these ops.
 */
#define NTVM_STATUS_NOT_LOCKED			0xC000002Au
#define NTVM_STATUS_INCOMPATIBLE_FILE_MAP	0xC000004Du
#define NTVM_STATUS_WORKING_SET_QUOTA		0xC00000A1u

#define NTVM_MEMCTL_REGION		1
#define NTVM_MEMCTL_LOCK		2
#define NTVM_MEMCTL_UNLOCK		3
#define NTVM_MEMCTL_PAGE		4
#define NTVM_MEMCTL_FLUSH		5
#define NTVM_MEMCTL_SAME_FILES		6
#define NTVM_MEMCTL_PROBE		7

#define NTVM_MEMCTL_VARS		0x1u	/* flags: base_ptr, size_ptr */

#define NTVM_MEMCTL_LOCKED_SOME		0x1u	/* some pages are VM_LOCKED */
#define NTVM_MEMCTL_LOCKED_ALL		0x2u	/* every page is */
#define NTVM_MEMCTL_LARGE_PAGES		0x4u	/* REGION, PAGE, UNLOCK: MEM_LARGE_PAGES */
#define NTVM_MEMCTL_PAGE_FILE		0x8u	/* REGION: a memory section's view */
#define NTVM_MEMCTL_PLACEHOLDER		0x10u	/* REGION: a free placeholder */
#define NTVM_MEMCTL_WRITE_WATCH		0x20u	/* REGION: MEM_WRITE_WATCH */

/*
 * MEM_LARGE_PAGES (NTVM_IOC_ALLOCATE, issue 11): the module reserves and
 * commits a range aligned to 2 MiB, mapped writable, and answers
 * NTVM_APPLY_LARGE_PAGES: user space backs it with transparent huge pages
 * (madvise MADV_HUGEPAGE, MADV_POPULATE_WRITE), locks it (mlock), checks
 * that it got huge pages, and mprotects it to apply_prot; if any of it
 * fails it releases the allocation again (STATUS_INSUFFICIENT_RESOURCES).
 */
#define NTVM_APPLY_LARGE_PAGES		0x4u

struct ntvm_memctl_args {
	__u32 size;			/* in: sizeof(struct ntvm_memctl_args) */
	__u32 flags;			/* in: NTVM_MEMCTL_VARS, ..._OTHER_PROCESS */
	__u32 op;			/* in: NTVM_MEMCTL_* */
	__u32 map_type;			/* in: LOCK/UNLOCK MapType, else 0 */
	__u64 base;			/* in */
	__u64 length;			/* in: LOCK/UNLOCK, else 0 */
	__u64 out_base;			/* out */
	__u64 out_size;			/* out */
	__u64 alloc_base;		/* out: REGION */
	__u64 alloc_size;		/* out: REGION */
	__u64 commit_size;		/* out: REGION */
	__u32 alloc_protect;		/* out: REGION */
	__u32 type;			/* out: MEM_PRIVATE, MEM_MAPPED or 0 */
	__u32 state;			/* out: PAGE */
	__u32 protect;			/* out: PAGE */
	__u32 lock;			/* out: NTVM_MEMCTL_LOCKED_* and flags */
	__u32 status;			/* out: NTSTATUS */
	__u32 apply;			/* out: NTVM_APPLY_MPROTECT */
	__u32 apply_prot;		/* out: PROT_* */
	__u64 base_ptr;			/* in: PVOID *, with NTVM_MEMCTL_VARS */
	__u64 size_ptr;			/* in: SIZE_T *, with NTVM_MEMCTL_VARS */
	__u64 other;			/* in: SAME_FILES: the second address */
};

#define NTVM_MEMCTL_SIZE_VER0		104
#define NTVM_MEMCTL_SIZE_VER1		120
#define NTVM_MEMCTL_SIZE_VER2		128
#define NTVM_IOC_MEMCTL		_IOC(_IOC_READ | _IOC_WRITE, NTVM_IOC_TYPE, 0xc0, \
				     NTVM_MEMCTL_SIZE_VER0)

#endif /* _UAPI_LINUX_NTVM_H */
