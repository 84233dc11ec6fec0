/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libntvm: the Windows NT virtual-memory API on Linux, backed by /dev/ntvm.
 *
 * Programs written against the NT (Nt*) or Win32 (Virtual*) memory API
 * include this header and link with -lntvm.  All functions act on the
 * calling process: NtCurrentProcess() is the only process handle.
 */
#ifndef NTVM_H
#define NTVM_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/ntvm.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Types ---- */
typedef int32_t NTSTATUS;
typedef void *HANDLE;
typedef void *PVOID;
typedef void *LPVOID;
typedef const void *LPCVOID;
typedef size_t SIZE_T;
typedef SIZE_T *PSIZE_T;
typedef uint32_t ULONG;
typedef ULONG *PULONG;
typedef uint32_t DWORD;
typedef DWORD *PDWORD;
typedef uint16_t WORD;
typedef uint64_t DWORD64;
typedef uintptr_t ULONG_PTR;
typedef uintptr_t DWORD_PTR;
typedef int BOOL;
typedef unsigned int UINT;

#ifndef TRUE
#define TRUE 1
#define FALSE 0
#endif

typedef struct _MEMORY_BASIC_INFORMATION {
	PVOID BaseAddress;
	PVOID AllocationBase;
	DWORD AllocationProtect;
	WORD PartitionId;
	SIZE_T RegionSize;
	DWORD State;
	DWORD Protect;
	DWORD Type;
} MEMORY_BASIC_INFORMATION, *PMEMORY_BASIC_INFORMATION;

typedef struct _MEM_ADDRESS_REQUIREMENTS {
	PVOID LowestStartingAddress;
	PVOID HighestEndingAddress;
	SIZE_T Alignment;
} MEM_ADDRESS_REQUIREMENTS, *PMEM_ADDRESS_REQUIREMENTS;

typedef enum MEM_EXTENDED_PARAMETER_TYPE {
	MemExtendedParameterInvalidType = 0,
	MemExtendedParameterAddressRequirements,
	MemExtendedParameterNumaNode,
	MemExtendedParameterPartitionHandle,
	MemExtendedParameterUserPhysicalHandle,
	MemExtendedParameterAttributeFlags,
	MemExtendedParameterImageMachine,
	MemExtendedParameterMax
} MEM_EXTENDED_PARAMETER_TYPE;

typedef struct MEM_EXTENDED_PARAMETER {
	struct {
		DWORD64 Type : 8;
		DWORD64 Reserved : 56;
	};
	union {
		DWORD64 ULong64;
		PVOID Pointer;
		SIZE_T Size;
		HANDLE Handle;
		DWORD ULong;
	};
} MEM_EXTENDED_PARAMETER, *PMEM_EXTENDED_PARAMETER;

typedef enum _MEMORY_INFORMATION_CLASS {
	MemoryBasicInformation = 0,
} MEMORY_INFORMATION_CLASS;

typedef struct _SYSTEM_INFO {
	union {
		DWORD dwOemId;
		struct {
			WORD wProcessorArchitecture;
			WORD wReserved;
		};
	};
	DWORD dwPageSize;
	LPVOID lpMinimumApplicationAddress;
	LPVOID lpMaximumApplicationAddress;
	DWORD_PTR dwActiveProcessorMask;
	DWORD dwNumberOfProcessors;
	DWORD dwProcessorType;
	DWORD dwAllocationGranularity;
	WORD wProcessorLevel;
	WORD wProcessorRevision;
} SYSTEM_INFO, *LPSYSTEM_INFO;

#define PROCESSOR_ARCHITECTURE_AMD64	9
#define PROCESSOR_AMD_X8664		8664

/*
 * What Windows puts in the EXCEPTION_RECORD of a guard-page fault:
 * ExceptionInformation[0] is the access (0 read, 1 write, 8 execute) and
 * [1] the address.
 */
typedef struct _NTVM_GUARD_EXCEPTION {
	NTSTATUS ExceptionCode;
	ULONG NumberParameters;
	PVOID ExceptionAddress;
	ULONG_PTR ExceptionInformation[2];
} NTVM_GUARD_EXCEPTION;

typedef void (*NTVM_GUARD_CALLBACK)(const NTVM_GUARD_EXCEPTION *exception,
				    void *context);

#define EXCEPTION_READ_FAULT	0
#define EXCEPTION_WRITE_FAULT	1
#define EXCEPTION_EXECUTE_FAULT	8

#define NtCurrentProcess() ((HANDLE)(intptr_t)-1)

/* ---- Constants ---- */
#define MEM_COMMIT			NTVM_MEM_COMMIT
#define MEM_RESERVE			NTVM_MEM_RESERVE
#define MEM_DECOMMIT			NTVM_MEM_DECOMMIT
#define MEM_RELEASE			NTVM_MEM_RELEASE
#define MEM_FREE			NTVM_MEM_FREE
#define MEM_PRIVATE			NTVM_MEM_PRIVATE
#define MEM_MAPPED			NTVM_MEM_MAPPED
#define MEM_RESET			NTVM_MEM_RESET
#define MEM_TOP_DOWN			NTVM_MEM_TOP_DOWN
#define MEM_WRITE_WATCH			NTVM_MEM_WRITE_WATCH
#define MEM_PHYSICAL			NTVM_MEM_PHYSICAL
#define MEM_RESET_UNDO			NTVM_MEM_RESET_UNDO
#define MEM_IMAGE			0x01000000
#define MEM_LARGE_PAGES			NTVM_MEM_LARGE_PAGES
#define MEM_RESERVE_PLACEHOLDER		NTVM_MEM_RESERVE_PLACEHOLDER
#define MEM_REPLACE_PLACEHOLDER		NTVM_MEM_REPLACE_PLACEHOLDER
#define MEM_COALESCE_PLACEHOLDERS	NTVM_MEM_COALESCE_PLACEHOLDERS
#define MEM_PRESERVE_PLACEHOLDER	NTVM_MEM_PRESERVE_PLACEHOLDER
#define AT_ROUND_TO_PAGE		NTVM_AT_ROUND_TO_PAGE
#define WRITE_WATCH_FLAG_RESET		0x01

#define PAGE_NOACCESS			NTVM_PAGE_NOACCESS
#define PAGE_READONLY			NTVM_PAGE_READONLY
#define PAGE_READWRITE			NTVM_PAGE_READWRITE
#define PAGE_WRITECOPY			NTVM_PAGE_WRITECOPY
#define PAGE_EXECUTE			NTVM_PAGE_EXECUTE
#define PAGE_EXECUTE_READ		NTVM_PAGE_EXECUTE_READ
#define PAGE_EXECUTE_READWRITE		NTVM_PAGE_EXECUTE_READWRITE
#define PAGE_EXECUTE_WRITECOPY		NTVM_PAGE_EXECUTE_WRITECOPY
#define PAGE_GUARD			NTVM_PAGE_GUARD
#define PAGE_NOCACHE			NTVM_PAGE_NOCACHE
#define PAGE_WRITECOMBINE		NTVM_PAGE_WRITECOMBINE

#define STATUS_SUCCESS			((NTSTATUS)NTVM_STATUS_SUCCESS)
#define STATUS_GUARD_PAGE_VIOLATION	((NTSTATUS)NTVM_STATUS_GUARD_PAGE_VIOLATION)
#define STATUS_UNSUCCESSFUL		((NTSTATUS)NTVM_STATUS_UNSUCCESSFUL)
#define STATUS_INVALID_INFO_CLASS	((NTSTATUS)NTVM_STATUS_INVALID_INFO_CLASS)
#define STATUS_INFO_LENGTH_MISMATCH	((NTSTATUS)NTVM_STATUS_INFO_LENGTH_MISMATCH)
#define STATUS_ACCESS_VIOLATION		((NTSTATUS)NTVM_STATUS_ACCESS_VIOLATION)
#define STATUS_INVALID_HANDLE		((NTSTATUS)NTVM_STATUS_INVALID_HANDLE)
#define STATUS_INVALID_PARAMETER	((NTSTATUS)NTVM_STATUS_INVALID_PARAMETER)
#define STATUS_NO_MEMORY		((NTSTATUS)NTVM_STATUS_NO_MEMORY)
#define STATUS_CONFLICTING_ADDRESSES	((NTSTATUS)NTVM_STATUS_CONFLICTING_ADDRESSES)
#define STATUS_NOT_MAPPED_VIEW		((NTSTATUS)NTVM_STATUS_NOT_MAPPED_VIEW)
#define STATUS_UNABLE_TO_FREE_VM	((NTSTATUS)NTVM_STATUS_UNABLE_TO_FREE_VM)
#define STATUS_ALREADY_COMMITTED	((NTSTATUS)NTVM_STATUS_ALREADY_COMMITTED)
#define STATUS_ACCESS_DENIED		((NTSTATUS)NTVM_STATUS_ACCESS_DENIED)
#define STATUS_NOT_COMMITTED		((NTSTATUS)NTVM_STATUS_NOT_COMMITTED)
#define STATUS_INVALID_PAGE_PROTECTION	((NTSTATUS)NTVM_STATUS_INVALID_PAGE_PROTECTION)
#define STATUS_PRIVILEGE_NOT_HELD	((NTSTATUS)NTVM_STATUS_PRIVILEGE_NOT_HELD)
#define STATUS_INSUFFICIENT_RESOURCES	((NTSTATUS)NTVM_STATUS_INSUFFICIENT_RESOURCES)
#define STATUS_FREE_VM_NOT_AT_BASE	((NTSTATUS)NTVM_STATUS_FREE_VM_NOT_AT_BASE)
#define STATUS_MEMORY_NOT_ALLOCATED	((NTSTATUS)NTVM_STATUS_MEMORY_NOT_ALLOCATED)
#define STATUS_NOT_SUPPORTED		((NTSTATUS)NTVM_STATUS_NOT_SUPPORTED)
#define STATUS_INVALID_PARAMETER_1	((NTSTATUS)NTVM_STATUS_INVALID_PARAMETER_1)
#define STATUS_INVALID_PARAMETER_2	((NTSTATUS)NTVM_STATUS_INVALID_PARAMETER_2)
#define STATUS_INVALID_PARAMETER_3	((NTSTATUS)NTVM_STATUS_INVALID_PARAMETER_3)
#define STATUS_INVALID_PARAMETER_4	((NTSTATUS)NTVM_STATUS_INVALID_PARAMETER_4)
#define STATUS_INVALID_PARAMETER_5	((NTSTATUS)NTVM_STATUS_INVALID_PARAMETER_5)
#define STATUS_INVALID_PARAMETER_6	((NTSTATUS)NTVM_STATUS_INVALID_PARAMETER_6)
#define STATUS_COMMITMENT_LIMIT		((NTSTATUS)NTVM_STATUS_COMMITMENT_LIMIT)
#define STATUS_INVALID_ADDRESS		((NTSTATUS)NTVM_STATUS_INVALID_ADDRESS)
/* The spec's other statuses: ntvm does not return them, programs test them. */
#define STATUS_WORKING_SET_LIMIT_RANGE	((NTSTATUS)0x40000002)
#define STATUS_WAS_LOCKED		((NTSTATUS)0x40000019)
#define STATUS_PARTIAL_COPY		((NTSTATUS)0x8000000D)
#define STATUS_UNABLE_TO_DELETE_SECTION	((NTSTATUS)0xC000001B)
#define STATUS_NOT_LOCKED		((NTSTATUS)0xC000002A)
#define STATUS_SECTION_PROTECTION	((NTSTATUS)0xC000004E)
#define STATUS_INVALID_USER_BUFFER	((NTSTATUS)0xC00000E8)
#define STATUS_STACK_OVERFLOW		((NTSTATUS)0xC00000FD)
#define STATUS_PROCESS_IS_TERMINATING	((NTSTATUS)0xC000010A)
#define STATUS_MAPPED_ALIGNMENT		((NTSTATUS)0xC0000220)

/* Win32 error codes set by the Win32 functions. */
#define ERROR_SUCCESS			0
#define ERROR_INVALID_HANDLE		6
#define ERROR_NOT_ENOUGH_MEMORY		8
#define ERROR_ACCESS_DENIED		5
#define ERROR_BAD_LENGTH		24
#define ERROR_GEN_FAILURE		31
#define ERROR_NOT_SUPPORTED		50
#define ERROR_INVALID_PARAMETER		87
#define ERROR_INVALID_ADDRESS		487
#define ERROR_NOACCESS			998
#define ERROR_PRIVILEGE_NOT_HELD	1314
#define ERROR_NO_SYSTEM_RESOURCES	1450
#define ERROR_COMMITMENT_LIMIT		1455
#define ERROR_MR_MID_NOT_FOUND		317

/* ---- NT API ---- */
NTSTATUS NtAllocateVirtualMemory(HANDLE process, PVOID *base, ULONG_PTR zero_bits,
				 PSIZE_T size, ULONG type, ULONG protect);
NTSTATUS NtAllocateVirtualMemoryEx(HANDLE process, PVOID *base, PSIZE_T size,
				   ULONG type, ULONG protect,
				   MEM_EXTENDED_PARAMETER *params, ULONG count);
NTSTATUS NtFreeVirtualMemory(HANDLE process, PVOID *base, PSIZE_T size, ULONG type);
NTSTATUS NtQueryVirtualMemory(HANDLE process, LPCVOID base,
			      MEMORY_INFORMATION_CLASS info_class, PVOID info,
			      SIZE_T length, PSIZE_T result_length);
NTSTATUS NtProtectVirtualMemory(HANDLE process, PVOID *base, PSIZE_T size,
				ULONG new_protect, PULONG old_protect);
NTSTATUS NtGetWriteWatch(HANDLE process, ULONG flags, PVOID base, SIZE_T size,
			 PVOID *addresses, ULONG_PTR *count, ULONG *granularity);
NTSTATUS NtResetWriteWatch(HANDLE process, PVOID base, SIZE_T size);
ULONG RtlNtStatusToDosError(NTSTATUS status);

/*
 * ---- Win32 API ----
 * Define NTVM_NO_WIN32 before including this header in a program that has
 * a Win32 layer of its own; see README ("Linking next to your own
 * VirtualAlloc").
 */
#ifndef NTVM_NO_WIN32
LPVOID VirtualAlloc(LPVOID address, SIZE_T size, DWORD type, DWORD protect);
BOOL VirtualFree(LPVOID address, SIZE_T size, DWORD type);
SIZE_T VirtualQuery(LPCVOID address, PMEMORY_BASIC_INFORMATION info, SIZE_T length);
BOOL VirtualProtect(LPVOID address, SIZE_T size, DWORD new_protect, PDWORD old_protect);
/* 0 on success, (UINT)-1 with GetLastError() on failure. */
UINT GetWriteWatch(DWORD flags, PVOID base, SIZE_T size, PVOID *addresses,
		   ULONG_PTR *count, ULONG *granularity);
UINT ResetWriteWatch(LPVOID base, SIZE_T size);
DWORD GetLastError(void);
void SetLastError(DWORD error);
void GetSystemInfo(LPSYSTEM_INFO info);
#endif /* NTVM_NO_WIN32 */

/* ---- ntvm extensions ---- */
/* The process's /dev/ntvm descriptor (opened on first use), or -1. */
int ntvm_fd(void);
/* Per-process statistics (reserved, committed, waste, largest free). */
NTSTATUS ntvm_stats(struct ntvm_stats *stats);
/*
 * Every region in [start, end), at most count, in one call; returns the
 * number filled in *count.
 */
NTSTATUS ntvm_query_regions(LPCVOID start, LPCVOID end,
			    MEMORY_BASIC_INFORMATION *regions, ULONG *count);

/*
 * Guard pages.  libntvm installs no signal handler of its own.  A program's
 * SIGSEGV handler (SA_SIGINFO) calls ntvm_guard_fault() with its siginfo
 * and ucontext:
 *  - STATUS_GUARD_PAGE_VIOLATION: the fault hit an armed guard page, which
 *    is now disarmed (one-shot); *exception describes it.  Returning from
 *    the handler runs the access again, and it succeeds.
 *  - STATUS_SUCCESS: another thread disarmed that page first; return from
 *    the handler and the access succeeds.
 *  - STATUS_ACCESS_VIOLATION: not a guard page, a real fault.
 * ntvm_install_guard_handler() installs such a handler: it calls callback
 * (if not NULL) for each guard-page fault, and hands other faults to the
 * SIGSEGV handler installed before it, or the default action.
 */
NTSTATUS ntvm_guard_fault(const siginfo_t *si, const void *ucontext,
			  NTVM_GUARD_EXCEPTION *exception);
int ntvm_install_guard_handler(NTVM_GUARD_CALLBACK callback, void *context);

/*
 * How this process tracks writes to MEM_WRITE_WATCH memory, chosen at the
 * first use by what the kernel offers (see README, "Write watch"):
 *  - NTVM_WRITE_WATCH_UFFD: userfaultfd asynchronous write-protection and
 *    PAGEMAP_SCAN (Linux 6.7+); a reset is atomic against concurrent writes.
 *  - NTVM_WRITE_WATCH_MODULE: soft-dirty page bits, read and reset by the
 *    module (NTVM_IOC_WW_SCAN, kernels before 6.3); a reset is atomic
 *    against concurrent writes.
 *  - NTVM_WRITE_WATCH_SOFT_DIRTY: soft-dirty page bits through /proc, the
 *    last resort; a write racing with a reset (or with a commit in a
 *    watched allocation) can be lost.
 *  - NTVM_WRITE_WATCH_NONE: neither; NtGetWriteWatch and NtResetWriteWatch
 *    return STATUS_NOT_SUPPORTED.
 */
#define NTVM_WRITE_WATCH_NONE		0
#define NTVM_WRITE_WATCH_UFFD		1
#define NTVM_WRITE_WATCH_SOFT_DIRTY	2
#define NTVM_WRITE_WATCH_MODULE		3
int ntvm_write_watch_mode(void);

/*
 * ---- Placeholders, sections and views (issue 10) ----
 * See README, "Sections and placeholders".
 */
#define MEM_EXTENDED_PARAMETER_GRAPHICS			0x01
#define MEM_EXTENDED_PARAMETER_NONPAGED			0x02
#define MEM_EXTENDED_PARAMETER_ZERO_PAGES_OPTIONAL	0x04
#define MEM_EXTENDED_PARAMETER_NONPAGED_LARGE		0x08
#define MEM_EXTENDED_PARAMETER_NONPAGED_HUGE		0x10
#define MEM_EXTENDED_PARAMETER_SOFT_FAULT_PAGES		0x20
#define MEM_EXTENDED_PARAMETER_EC_CODE			0x40
#define NUMA_NO_PREFERRED_NODE				0xffffffffu
#define MEM_UNMAP_WITH_TRANSIENT_BOOST			0x1

/*
 * Handles: a section handle is a Linux file descriptor (an anonymous
 * inode of /dev/ntvm); so is a file handle given to NtCreateSection or
 * CreateFileMapping.  The descriptor can be passed to another process
 * (fork, SCM_RIGHTS) and mapped there.  Descriptor 0 cannot be a handle
 * (it is NULL).
 */
#define NTVM_FD_TO_HANDLE(fd)	((HANDLE)(intptr_t)(fd))
#define NTVM_HANDLE_TO_FD(h)	((int)(intptr_t)(h))
#define INVALID_HANDLE_VALUE	((HANDLE)(intptr_t)-1)

typedef ULONG ACCESS_MASK;
typedef int32_t LONG;
typedef union _LARGE_INTEGER {
	struct {
		DWORD LowPart;
		LONG HighPart;
	};
	int64_t QuadPart;
} LARGE_INTEGER, *PLARGE_INTEGER;

typedef enum _SECTION_INHERIT {
	ViewShare = 1,
	ViewUnmap = 2,
} SECTION_INHERIT;

typedef enum _SECTION_INFORMATION_CLASS {
	SectionBasicInformation = 0,
	SectionImageInformation = 1,
} SECTION_INFORMATION_CLASS;

typedef struct _SECTION_BASIC_INFORMATION {
	PVOID BaseAddress;
	ULONG Attributes;
	LARGE_INTEGER Size;
} SECTION_BASIC_INFORMATION;

#define NT_SUCCESS(st)			((NTSTATUS)(st) >= 0)

#define SEC_FILE			NTVM_SEC_FILE
#define SEC_IMAGE			NTVM_SEC_IMAGE
#define SEC_RESERVE			NTVM_SEC_RESERVE
#define SEC_COMMIT			NTVM_SEC_COMMIT
#define SEC_NOCACHE			NTVM_SEC_NOCACHE
#define SEC_WRITECOMBINE		NTVM_SEC_WRITECOMBINE
#define SEC_LARGE_PAGES			NTVM_SEC_LARGE_PAGES

#define STANDARD_RIGHTS_REQUIRED	0x000F0000
#define SECTION_QUERY			NTVM_SECTION_QUERY
#define SECTION_MAP_WRITE		NTVM_SECTION_MAP_WRITE
#define SECTION_MAP_READ		NTVM_SECTION_MAP_READ
#define SECTION_MAP_EXECUTE		NTVM_SECTION_MAP_EXECUTE
#define SECTION_EXTEND_SIZE		NTVM_SECTION_EXTEND_SIZE
#define SECTION_MAP_EXECUTE_EXPLICIT	NTVM_SECTION_MAP_EXECUTE_EXPLICIT
#define SECTION_ALL_ACCESS		NTVM_SECTION_ALL_ACCESS
#define FILE_MAP_COPY			0x0001
#define FILE_MAP_WRITE			0x0002
#define FILE_MAP_READ			0x0004
#define FILE_MAP_EXECUTE		0x0020
#define FILE_MAP_ALL_ACCESS		SECTION_ALL_ACCESS

#define STATUS_INVALID_VIEW_SIZE	((NTSTATUS)NTVM_STATUS_INVALID_VIEW_SIZE)
#define STATUS_INVALID_FILE_FOR_SECTION	((NTSTATUS)NTVM_STATUS_INVALID_FILE_FOR_SECTION)
#define STATUS_OBJECT_TYPE_MISMATCH	((NTSTATUS)NTVM_STATUS_OBJECT_TYPE_MISMATCH)
#define STATUS_OBJECT_NAME_NOT_FOUND	((NTSTATUS)0xC0000034)
#define STATUS_OBJECT_NAME_EXISTS	((NTSTATUS)0x40000035)
#define STATUS_SECTION_TOO_BIG		((NTSTATUS)NTVM_STATUS_SECTION_TOO_BIG)
#define STATUS_SECTION_NOT_IMAGE	((NTSTATUS)NTVM_STATUS_SECTION_NOT_IMAGE)
#define STATUS_NOT_MAPPED_DATA		((NTSTATUS)NTVM_STATUS_NOT_MAPPED_DATA)
#define STATUS_INVALID_PARAMETER_7	((NTSTATUS)NTVM_STATUS_INVALID_PARAMETER_7)
#define STATUS_INVALID_PARAMETER_8	((NTSTATUS)NTVM_STATUS_INVALID_PARAMETER_8)
#define STATUS_INVALID_PARAMETER_9	((NTSTATUS)NTVM_STATUS_INVALID_PARAMETER_9)
#define STATUS_INVALID_PARAMETER_10	((NTSTATUS)NTVM_STATUS_INVALID_PARAMETER_10)
#define STATUS_MAPPED_FILE_SIZE_ZERO	((NTSTATUS)NTVM_STATUS_MAPPED_FILE_SIZE_ZERO)

#define ERROR_FILE_NOT_FOUND		2
#define ERROR_ALREADY_EXISTS		183
#define ERROR_BAD_EXE_FORMAT		193
#define ERROR_FILE_INVALID		1006
#define ERROR_MAPPED_ALIGNMENT		1132
#define ERROR_USER_MAPPED_FILE		1224

NTSTATUS NtCreateSection(HANDLE *section, ACCESS_MASK access, PVOID attributes,
			 PLARGE_INTEGER max_size, ULONG protect,
			 ULONG alloc_attrs, HANDLE file);
NTSTATUS NtQuerySection(HANDLE section, SECTION_INFORMATION_CLASS info_class,
			PVOID info, SIZE_T length, PSIZE_T result_length);
NTSTATUS NtMapViewOfSection(HANDLE section, HANDLE process, PVOID *base,
			    ULONG_PTR zero_bits, SIZE_T commit_size,
			    PLARGE_INTEGER offset, PSIZE_T size,
			    SECTION_INHERIT inherit, ULONG type, ULONG protect);
NTSTATUS NtMapViewOfSectionEx(HANDLE section, HANDLE process, PVOID *base,
			      PLARGE_INTEGER offset, PSIZE_T size, ULONG type,
			      ULONG protect, MEM_EXTENDED_PARAMETER *params,
			      ULONG count);
NTSTATUS NtUnmapViewOfSection(HANDLE process, PVOID base);
NTSTATUS NtUnmapViewOfSectionEx(HANDLE process, PVOID base, ULONG flags);
NTSTATUS NtFlushVirtualMemory(HANDLE process, PVOID *base, PSIZE_T size,
			      PVOID io_status);
NTSTATUS NtClose(HANDLE handle);

#ifndef NTVM_NO_WIN32
/*
 * Names are the process's own: another process opens a section through
 * its descriptor (see README, "Sections and placeholders").
 */
HANDLE CreateFileMappingA(HANDLE file, PVOID attributes, DWORD protect,
			  DWORD size_high, DWORD size_low, const char *name);
HANDLE OpenFileMappingA(DWORD access, BOOL inherit, const char *name);
#define CreateFileMapping CreateFileMappingA
#define OpenFileMapping OpenFileMappingA
LPVOID MapViewOfFile(HANDLE mapping, DWORD access, DWORD offset_high,
		     DWORD offset_low, SIZE_T size);
LPVOID MapViewOfFileEx(HANDLE mapping, DWORD access, DWORD offset_high,
		       DWORD offset_low, SIZE_T size, LPVOID address);
/* A NULL process is the current process. */
PVOID MapViewOfFile3(HANDLE mapping, HANDLE process, PVOID base,
		     DWORD64 offset, SIZE_T size, ULONG type, ULONG protect,
		     MEM_EXTENDED_PARAMETER *params, ULONG count);
PVOID MapViewOfFile3FromApp(HANDLE mapping, HANDLE process, PVOID base,
			    DWORD64 offset, SIZE_T size, ULONG type,
			    ULONG protect, MEM_EXTENDED_PARAMETER *params,
			    ULONG count);
/* CreateFileMapping2 with a narrow name; extended parameters: none. */
HANDLE CreateFileMapping2(HANDLE file, PVOID attributes, ULONG access,
			  ULONG protect, ULONG alloc_attrs, DWORD64 max_size,
			  const char *name, MEM_EXTENDED_PARAMETER *params,
			  ULONG count);
PVOID MapViewOfFileFromApp(HANDLE mapping, ULONG access, DWORD64 offset,
			   SIZE_T size);
PVOID MapViewOfFileNuma2(HANDLE mapping, HANDLE process, DWORD64 offset,
			 PVOID base, SIZE_T size, ULONG type, ULONG protect,
			 ULONG node);
PVOID MapViewOfFile2(HANDLE mapping, HANDLE process, DWORD64 offset,
		     PVOID base, SIZE_T size, ULONG type, ULONG protect);
BOOL UnmapViewOfFile(LPCVOID address);
BOOL UnmapViewOfFileEx(PVOID address, ULONG flags);
BOOL UnmapViewOfFile2(HANDLE process, PVOID address, ULONG flags);
BOOL FlushViewOfFile(LPCVOID address, SIZE_T size);
BOOL CloseHandle(HANDLE handle);
/* A NULL process is the current process. */
PVOID VirtualAlloc2(HANDLE process, PVOID address, SIZE_T size, ULONG type,
		    ULONG protect, MEM_EXTENDED_PARAMETER *params, ULONG count);
/* As VirtualAlloc2; executable protections: ERROR_INVALID_PARAMETER. */
PVOID VirtualAlloc2FromApp(HANDLE process, PVOID address, SIZE_T size,
			   ULONG type, ULONG protect,
			   MEM_EXTENDED_PARAMETER *params, ULONG count);
BOOL VirtualFreeEx(HANDLE process, LPVOID address, SIZE_T size, DWORD type);
#endif /* NTVM_NO_WIN32 */

#ifdef __cplusplus
}
#endif

#endif /* NTVM_H */
