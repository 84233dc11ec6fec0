/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libntvm: the Windows NT virtual-memory API on Linux, backed by /dev/ntvm.
 *
 * Programs written against the NT (Nt*) or Win32 (Virtual*) memory API
 * include this header and link with -lntvm.  All functions act on the
 * calling process: NtCurrentProcess() is the only process handle.
 *
 * Next to Windows headers: a program that includes Wine's or MinGW's
 * <windows.h> first gets that header set's NT types and names, and this
 * header defines only what is missing (see ntvm(3)).  The Win32 functions
 * are then not declared here (NTVM_NO_WIN32 is implied): <windows.h>
 * declares them, with its own calling convention, for the includer's own
 * Win32 layer; call ntvm through the Nt* functions.
 */
#ifndef NTVM_H
#define NTVM_H

#include <stddef.h>
#include <stdint.h>
#ifndef _WIN32
#include <signal.h>
#endif
/* The ABI header (uapi/linux/ntvm.h), installed next to this one. */
#include "ntvm/ntvm.h"
/* NTVM_VERSION_*: generated from the source tree's VERSION file. */
#include "ntvm/version.h"

/* True when the library is at least version major.minor.patch. */
#define NTVM_CHECK_VERSION(major, minor, patch)				\
	(NTVM_VERSION_MAJOR > (major) ||				\
	 (NTVM_VERSION_MAJOR == (major) &&				\
	  (NTVM_VERSION_MINOR > (minor) ||				\
	   (NTVM_VERSION_MINOR == (minor) && NTVM_VERSION_PATCH >= (patch)))))

/* Wine's and MinGW's <windows.h> (windef.h and winnt.h) came first. */
#if defined(_WINDEF_) && defined(_WINNT_)
#define NTVM_WINDOWS_HEADERS 1
#ifndef NTVM_NO_WIN32
#define NTVM_NO_WIN32
#endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Types ---- */
#ifdef NTVM_WINDOWS_HEADERS
/* NTSTATUS is in winternl.h, ntdef.h or bcrypt.h, not in <windows.h>. */
#if !defined(WINE_NTSTATUS_DECLARED) && !defined(_NTDEF_) && \
	!defined(_NTSTATUS_PSDK)
#define WINE_NTSTATUS_DECLARED
#define _NTSTATUS_PSDK
typedef LONG NTSTATUS, *PNTSTATUS;
#endif
#else /* !NTVM_WINDOWS_HEADERS */
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
#if UINTPTR_MAX > 0xffffffffu
	WORD PartitionId;		/* 64-bit Windows' only: 28 bytes else */
#endif
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
#endif /* !NTVM_WINDOWS_HEADERS */

/* In winternl.h (Wine's; MinGW has none). */
#if !defined(__WINE_WINTERNL_H)
typedef enum _MEMORY_INFORMATION_CLASS {
	MemoryBasicInformation = 0,
} MEMORY_INFORMATION_CLASS;
#endif

/* In winbase.h. */
#if !defined(__WINE_WINBASE_H) && !defined(_WINBASE_)
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
#endif

#ifndef PROCESSOR_ARCHITECTURE_INTEL
#define PROCESSOR_ARCHITECTURE_INTEL	0
#endif
#ifndef PROCESSOR_ARCHITECTURE_AMD64
#define PROCESSOR_ARCHITECTURE_AMD64	9
#endif
#ifndef PROCESSOR_INTEL_PENTIUM
#define PROCESSOR_INTEL_PENTIUM		586
#endif
#ifndef PROCESSOR_AMD_X8664
#define PROCESSOR_AMD_X8664		8664
#endif

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

#ifndef EXCEPTION_READ_FAULT
#define EXCEPTION_READ_FAULT	0
#endif
#ifndef EXCEPTION_WRITE_FAULT
#define EXCEPTION_WRITE_FAULT	1
#endif
#ifndef EXCEPTION_EXECUTE_FAULT
#define EXCEPTION_EXECUTE_FAULT	8
#endif

#ifndef NtCurrentProcess
#define NtCurrentProcess() ((HANDLE)(intptr_t)-1)
#endif

/* ---- Constants (each only where the includer has none) ---- */
#ifndef MEM_COMMIT
#define MEM_COMMIT			NTVM_MEM_COMMIT
#endif
#ifndef MEM_RESERVE
#define MEM_RESERVE			NTVM_MEM_RESERVE
#endif
#ifndef MEM_DECOMMIT
#define MEM_DECOMMIT			NTVM_MEM_DECOMMIT
#endif
#ifndef MEM_RELEASE
#define MEM_RELEASE			NTVM_MEM_RELEASE
#endif
#ifndef MEM_FREE
#define MEM_FREE			NTVM_MEM_FREE
#endif
#ifndef MEM_PRIVATE
#define MEM_PRIVATE			NTVM_MEM_PRIVATE
#endif
#ifndef MEM_MAPPED
#define MEM_MAPPED			NTVM_MEM_MAPPED
#endif
#ifndef MEM_RESET
#define MEM_RESET			NTVM_MEM_RESET
#endif
#ifndef MEM_TOP_DOWN
#define MEM_TOP_DOWN			NTVM_MEM_TOP_DOWN
#endif
#ifndef MEM_WRITE_WATCH
#define MEM_WRITE_WATCH			NTVM_MEM_WRITE_WATCH
#endif
#ifndef MEM_PHYSICAL
#define MEM_PHYSICAL			NTVM_MEM_PHYSICAL
#endif
#ifndef MEM_RESET_UNDO
#define MEM_RESET_UNDO			NTVM_MEM_RESET_UNDO
#endif
#ifndef MEM_IMAGE
#define MEM_IMAGE			0x01000000
#endif
#ifndef MEM_LARGE_PAGES
#define MEM_LARGE_PAGES			NTVM_MEM_LARGE_PAGES
#endif
#ifndef MEM_RESERVE_PLACEHOLDER
#define MEM_RESERVE_PLACEHOLDER		NTVM_MEM_RESERVE_PLACEHOLDER
#endif
#ifndef MEM_REPLACE_PLACEHOLDER
#define MEM_REPLACE_PLACEHOLDER		NTVM_MEM_REPLACE_PLACEHOLDER
#endif
#ifndef MEM_COALESCE_PLACEHOLDERS
#define MEM_COALESCE_PLACEHOLDERS	NTVM_MEM_COALESCE_PLACEHOLDERS
#endif
#ifndef MEM_PRESERVE_PLACEHOLDER
#define MEM_PRESERVE_PLACEHOLDER	NTVM_MEM_PRESERVE_PLACEHOLDER
#endif
#ifndef AT_ROUND_TO_PAGE
#define AT_ROUND_TO_PAGE		NTVM_AT_ROUND_TO_PAGE
#endif
#ifndef WRITE_WATCH_FLAG_RESET
#define WRITE_WATCH_FLAG_RESET		0x01
#endif

#ifndef PAGE_NOACCESS
#define PAGE_NOACCESS			NTVM_PAGE_NOACCESS
#endif
#ifndef PAGE_READONLY
#define PAGE_READONLY			NTVM_PAGE_READONLY
#endif
#ifndef PAGE_READWRITE
#define PAGE_READWRITE			NTVM_PAGE_READWRITE
#endif
#ifndef PAGE_WRITECOPY
#define PAGE_WRITECOPY			NTVM_PAGE_WRITECOPY
#endif
#ifndef PAGE_EXECUTE
#define PAGE_EXECUTE			NTVM_PAGE_EXECUTE
#endif
#ifndef PAGE_EXECUTE_READ
#define PAGE_EXECUTE_READ		NTVM_PAGE_EXECUTE_READ
#endif
#ifndef PAGE_EXECUTE_READWRITE
#define PAGE_EXECUTE_READWRITE		NTVM_PAGE_EXECUTE_READWRITE
#endif
#ifndef PAGE_EXECUTE_WRITECOPY
#define PAGE_EXECUTE_WRITECOPY		NTVM_PAGE_EXECUTE_WRITECOPY
#endif
#ifndef PAGE_GUARD
#define PAGE_GUARD			NTVM_PAGE_GUARD
#endif
#ifndef PAGE_NOCACHE
#define PAGE_NOCACHE			NTVM_PAGE_NOCACHE
#endif
#ifndef PAGE_WRITECOMBINE
#define PAGE_WRITECOMBINE		NTVM_PAGE_WRITECOMBINE
#endif

#ifndef STATUS_SUCCESS
#define STATUS_SUCCESS			((NTSTATUS)NTVM_STATUS_SUCCESS)
#endif
#ifndef STATUS_GUARD_PAGE_VIOLATION
#define STATUS_GUARD_PAGE_VIOLATION	((NTSTATUS)NTVM_STATUS_GUARD_PAGE_VIOLATION)
#endif
#ifndef STATUS_DATATYPE_MISALIGNMENT
#define STATUS_DATATYPE_MISALIGNMENT	((NTSTATUS)NTVM_STATUS_DATATYPE_MISALIGNMENT)
#endif
#ifndef STATUS_UNSUCCESSFUL
#define STATUS_UNSUCCESSFUL		((NTSTATUS)NTVM_STATUS_UNSUCCESSFUL)
#endif
#ifndef STATUS_INVALID_INFO_CLASS
#define STATUS_INVALID_INFO_CLASS	((NTSTATUS)NTVM_STATUS_INVALID_INFO_CLASS)
#endif
#ifndef STATUS_INFO_LENGTH_MISMATCH
#define STATUS_INFO_LENGTH_MISMATCH	((NTSTATUS)NTVM_STATUS_INFO_LENGTH_MISMATCH)
#endif
#ifndef STATUS_ACCESS_VIOLATION
#define STATUS_ACCESS_VIOLATION		((NTSTATUS)NTVM_STATUS_ACCESS_VIOLATION)
#endif
#ifndef STATUS_INVALID_HANDLE
#define STATUS_INVALID_HANDLE		((NTSTATUS)NTVM_STATUS_INVALID_HANDLE)
#endif
#ifndef STATUS_INVALID_PARAMETER
#define STATUS_INVALID_PARAMETER	((NTSTATUS)NTVM_STATUS_INVALID_PARAMETER)
#endif
#ifndef STATUS_NO_MEMORY
#define STATUS_NO_MEMORY		((NTSTATUS)NTVM_STATUS_NO_MEMORY)
#endif
#ifndef STATUS_CONFLICTING_ADDRESSES
#define STATUS_CONFLICTING_ADDRESSES	((NTSTATUS)NTVM_STATUS_CONFLICTING_ADDRESSES)
#endif
#ifndef STATUS_NOT_MAPPED_VIEW
#define STATUS_NOT_MAPPED_VIEW		((NTSTATUS)NTVM_STATUS_NOT_MAPPED_VIEW)
#endif
#ifndef STATUS_UNABLE_TO_FREE_VM
#define STATUS_UNABLE_TO_FREE_VM	((NTSTATUS)NTVM_STATUS_UNABLE_TO_FREE_VM)
#endif
#ifndef STATUS_ALREADY_COMMITTED
#define STATUS_ALREADY_COMMITTED	((NTSTATUS)NTVM_STATUS_ALREADY_COMMITTED)
#endif
#ifndef STATUS_ACCESS_DENIED
#define STATUS_ACCESS_DENIED		((NTSTATUS)NTVM_STATUS_ACCESS_DENIED)
#endif
#ifndef STATUS_NOT_COMMITTED
#define STATUS_NOT_COMMITTED		((NTSTATUS)NTVM_STATUS_NOT_COMMITTED)
#endif
#ifndef STATUS_INVALID_PAGE_PROTECTION
#define STATUS_INVALID_PAGE_PROTECTION	((NTSTATUS)NTVM_STATUS_INVALID_PAGE_PROTECTION)
#endif
#ifndef STATUS_PRIVILEGE_NOT_HELD
#define STATUS_PRIVILEGE_NOT_HELD	((NTSTATUS)NTVM_STATUS_PRIVILEGE_NOT_HELD)
#endif
#ifndef STATUS_INSUFFICIENT_RESOURCES
#define STATUS_INSUFFICIENT_RESOURCES	((NTSTATUS)NTVM_STATUS_INSUFFICIENT_RESOURCES)
#endif
#ifndef STATUS_FREE_VM_NOT_AT_BASE
#define STATUS_FREE_VM_NOT_AT_BASE	((NTSTATUS)NTVM_STATUS_FREE_VM_NOT_AT_BASE)
#endif
#ifndef STATUS_MEMORY_NOT_ALLOCATED
#define STATUS_MEMORY_NOT_ALLOCATED	((NTSTATUS)NTVM_STATUS_MEMORY_NOT_ALLOCATED)
#endif
#ifndef STATUS_NOT_SUPPORTED
#define STATUS_NOT_SUPPORTED		((NTSTATUS)NTVM_STATUS_NOT_SUPPORTED)
#endif
#ifndef STATUS_INVALID_PARAMETER_1
#define STATUS_INVALID_PARAMETER_1	((NTSTATUS)NTVM_STATUS_INVALID_PARAMETER_1)
#endif
#ifndef STATUS_INVALID_PARAMETER_2
#define STATUS_INVALID_PARAMETER_2	((NTSTATUS)NTVM_STATUS_INVALID_PARAMETER_2)
#endif
#ifndef STATUS_INVALID_PARAMETER_3
#define STATUS_INVALID_PARAMETER_3	((NTSTATUS)NTVM_STATUS_INVALID_PARAMETER_3)
#endif
#ifndef STATUS_INVALID_PARAMETER_4
#define STATUS_INVALID_PARAMETER_4	((NTSTATUS)NTVM_STATUS_INVALID_PARAMETER_4)
#endif
#ifndef STATUS_INVALID_PARAMETER_5
#define STATUS_INVALID_PARAMETER_5	((NTSTATUS)NTVM_STATUS_INVALID_PARAMETER_5)
#endif
#ifndef STATUS_INVALID_PARAMETER_6
#define STATUS_INVALID_PARAMETER_6	((NTSTATUS)NTVM_STATUS_INVALID_PARAMETER_6)
#endif
#ifndef STATUS_COMMITMENT_LIMIT
#define STATUS_COMMITMENT_LIMIT		((NTSTATUS)NTVM_STATUS_COMMITMENT_LIMIT)
#endif
#ifndef STATUS_INVALID_ADDRESS
#define STATUS_INVALID_ADDRESS		((NTSTATUS)NTVM_STATUS_INVALID_ADDRESS)
#endif
#ifndef STATUS_INCOMPATIBLE_FILE_MAP
#define STATUS_INCOMPATIBLE_FILE_MAP	((NTSTATUS)NTVM_STATUS_INCOMPATIBLE_FILE_MAP)
#endif
/*
 * More of the spec's statuses, by value: some ntvm returns (the lock
 * statuses, the section ones), the others are for programs that test them.
 */
#ifndef STATUS_WORKING_SET_LIMIT_RANGE
#define STATUS_WORKING_SET_LIMIT_RANGE	((NTSTATUS)0x40000002)
#endif
#ifndef STATUS_WAS_LOCKED
#define STATUS_WAS_LOCKED		((NTSTATUS)0x40000019)
#endif
#ifndef STATUS_PARTIAL_COPY
#define STATUS_PARTIAL_COPY		((NTSTATUS)0x8000000D)
#endif
#ifndef STATUS_UNABLE_TO_DELETE_SECTION
#define STATUS_UNABLE_TO_DELETE_SECTION	((NTSTATUS)0xC000001B)
#endif
#ifndef STATUS_NOT_LOCKED
#define STATUS_NOT_LOCKED		((NTSTATUS)0xC000002A)
#endif
#ifndef STATUS_SECTION_PROTECTION
#define STATUS_SECTION_PROTECTION	((NTSTATUS)0xC000004E)
#endif
#ifndef STATUS_INVALID_USER_BUFFER
#define STATUS_INVALID_USER_BUFFER	((NTSTATUS)0xC00000E8)
#endif
#ifndef STATUS_STACK_OVERFLOW
#define STATUS_STACK_OVERFLOW		((NTSTATUS)0xC00000FD)
#endif
#ifndef STATUS_PROCESS_IS_TERMINATING
#define STATUS_PROCESS_IS_TERMINATING	((NTSTATUS)0xC000010A)
#endif
#ifndef STATUS_MAPPED_ALIGNMENT
#define STATUS_MAPPED_ALIGNMENT		((NTSTATUS)0xC0000220)
#endif

/* Win32 error codes set by the Win32 functions. */
#ifndef ERROR_SUCCESS
#define ERROR_SUCCESS			0
#endif
#ifndef ERROR_INVALID_HANDLE
#define ERROR_INVALID_HANDLE		6
#endif
#ifndef ERROR_NOT_ENOUGH_MEMORY
#define ERROR_NOT_ENOUGH_MEMORY		8
#endif
#ifndef ERROR_ACCESS_DENIED
#define ERROR_ACCESS_DENIED		5
#endif
#ifndef ERROR_BAD_LENGTH
#define ERROR_BAD_LENGTH		24
#endif
#ifndef ERROR_GEN_FAILURE
#define ERROR_GEN_FAILURE		31
#endif
#ifndef ERROR_NOT_SUPPORTED
#define ERROR_NOT_SUPPORTED		50
#endif
#ifndef ERROR_INVALID_PARAMETER
#define ERROR_INVALID_PARAMETER		87
#endif
#ifndef ERROR_INVALID_ADDRESS
#define ERROR_INVALID_ADDRESS		487
#endif
#ifndef ERROR_NOACCESS
#define ERROR_NOACCESS			998
#endif
#ifndef ERROR_PRIVILEGE_NOT_HELD
#define ERROR_PRIVILEGE_NOT_HELD	1314
#endif
#ifndef ERROR_NO_SYSTEM_RESOURCES
#define ERROR_NO_SYSTEM_RESOURCES	1450
#endif
#ifndef ERROR_COMMITMENT_LIMIT
#define ERROR_COMMITMENT_LIMIT		1455
#endif
#ifndef ERROR_MR_MID_NOT_FOUND
#define ERROR_MR_MID_NOT_FOUND		317
#endif

/*
 * ---- NT API ----
 * Wine's winternl.h declares these with the Windows calling convention
 * (ms_abi); libntvm's use the System V one.  A program with that header
 * (Wine's own ntdll, say) defines NTVM_NO_NT and keeps the types, constants
 * and ntvm_* functions of this header.
 */
#ifndef NTVM_NO_NT
#ifdef __WINE_WINTERNL_H
#error "<ntvm.h> after Wine's <winternl.h>: define NTVM_NO_NT (see ntvm(3))"
#endif
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
#endif /* NTVM_NO_NT */

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

/*
 * Can ntvm be used here?  Decided once, at the first call of any libntvm
 * function that needs /dev/ntvm (or of ntvm_availability()), and kept for
 * the life of the process.  When it is not NTVM_AVAILABLE, every NT
 * function returns STATUS_NOT_SUPPORTED and every Win32 function fails with
 * ERROR_NOT_SUPPORTED, changing nothing; GetSystemInfo() still answers, with
 * the fixed values of 64-bit Windows.  With NTVM_DEBUG=1 in the
 * environment, the first such failure prints one line on stderr: what is
 * wrong and what to do (the text of ntvm_diagnostic()).
 */
enum ntvm_availability {
	NTVM_AVAILABLE = 0,		/* /dev/ntvm opened, handshake agreed */
	NTVM_NO_DEVICE = 1,		/* no /dev/ntvm: the module is not loaded */
	NTVM_NO_PERMISSION = 2,		/* /dev/ntvm may not be opened */
	NTVM_ABI_MISMATCH = 3,		/* the module speaks another NTVM_API */
	NTVM_UNSUPPORTED_KERNEL = 4,	/* this kernel cannot run ntvm */
	NTVM_OPEN_FAILED = 5,		/* open(2) failed otherwise (EMFILE, ...): tried again */
};
enum ntvm_availability ntvm_availability(void);
/* A short fixed text for an availability value ("no device", ...). */
const char *ntvm_availability_string(enum ntvm_availability availability);
/*
 * One line on the current availability, with what is known (errno, both
 * ABI numbers and versions) and a hint ("try 'modprobe ntvm'").
 */
const char *ntvm_diagnostic(void);
/* The library's version at run time ("0.3.0"); NTVM_VERSION_STRING at build time. */
const char *ntvm_library_version(void);
/* The loaded module's version (/sys/module/ntvm/version), or NULL. */
const char *ntvm_module_version(void);
/*
 * The ABI number (NTVM_API) the module speaks, 0 when unknown (no module);
 * the library's own is NTVM_API.
 */
unsigned int ntvm_module_api(void);

/* The process's /dev/ntvm descriptor (opened on first use), or -1. */
int ntvm_fd(void);
/* Per-process statistics (reserved, committed, waste, largest free). */
NTSTATUS ntvm_get_stats(struct ntvm_stats *stats);
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
 *  - STATUS_SUCCESS: another thread disarmed that page first, and its
 *    protection now allows the access (read, write or execute, from the
 *    fault's error code on x86-64); return from the handler and the access
 *    succeeds.
 *  - STATUS_ACCESS_VIOLATION: not a guard page, or one whose protection
 *    does not allow the access (a write to a read-only page): a real fault.
 * ntvm_install_guard_handler() installs such a handler: it calls callback
 * (if not NULL) for each guard-page fault, and hands other faults to the
 * SIGSEGV handler installed before it, or the default action.
 */
#ifndef _WIN32
NTSTATUS ntvm_guard_fault(const siginfo_t *si, const void *ucontext,
			  NTVM_GUARD_EXCEPTION *exception);
int ntvm_install_guard_handler(NTVM_GUARD_CALLBACK callback, void *context);
#endif

/*
 * How this process tracks writes to MEM_WRITE_WATCH memory, chosen at the
 * first use by what the kernel offers (Documentation/ntvm.rst, "Write
 * watch"):
 *  - NTVM_WRITE_WATCH_UFFD: userfaultfd asynchronous write-protection and
 *    PAGEMAP_SCAN (Linux 6.7+); a reset is atomic against concurrent writes.
 *  - NTVM_WRITE_WATCH_MODULE: soft-dirty page bits, read and reset by the
 *    module (NTVM_IOC_WW_SCAN, kernels before 6.3); a reset is atomic
 *    against concurrent writes.
 *  - NTVM_WRITE_WATCH_NONE: neither (Linux 6.3 to 6.6); NtGetWriteWatch
 *    and NtResetWriteWatch return STATUS_NOT_SUPPORTED.
 * (2 was the /proc soft-dirty fallback, removed: it is not reused.)
 */
#define NTVM_WRITE_WATCH_NONE		0
#define NTVM_WRITE_WATCH_UFFD		1
#define NTVM_WRITE_WATCH_MODULE		3
int ntvm_write_watch_mode(void);

/*
 * ==== Issue 11: the rest of the NT memory API (userlib/memapi.c) ====
 * Kept apart from the declarations above; see README's API table.
 */
/* The NT types are winternl.h's (Wine's; MinGW has none). */
#if !defined(__WINE_WINTERNL_H)
#define MemoryWorkingSetInformation		((MEMORY_INFORMATION_CLASS)1)
#define MemoryMappedFilenameInformation		((MEMORY_INFORMATION_CLASS)2)
#define MemoryRegionInformation			((MEMORY_INFORMATION_CLASS)3)
#define MemoryWorkingSetExInformation		((MEMORY_INFORMATION_CLASS)4)
#define MemoryRegionInformationEx		((MEMORY_INFORMATION_CLASS)7)

typedef struct _MEMORY_REGION_INFORMATION {
	PVOID AllocationBase;
	ULONG AllocationProtect;
	union {
		ULONG RegionType;
		struct {
			ULONG Private : 1;
			ULONG MappedDataFile : 1;
			ULONG MappedImage : 1;
			ULONG MappedPageFile : 1;
			ULONG MappedPhysical : 1;
			ULONG DirectMapped : 1;
			ULONG SoftwareEnclave : 1;
			ULONG PageSize64K : 1;
			ULONG PlaceholderReservation : 1;
			ULONG MappedAwe : 1;
			ULONG MappedWriteWatch : 1;
			ULONG PageSizeLarge : 1;
			ULONG PageSizeHuge : 1;
			ULONG Reserved : 19;
		};
	};
	SIZE_T RegionSize;
	SIZE_T CommitSize;
	ULONG_PTR PartitionId;
	ULONG_PTR NodePreference;
} MEMORY_REGION_INFORMATION, *PMEMORY_REGION_INFORMATION;

typedef union _MEMORY_WORKING_SET_EX_BLOCK {
	ULONG_PTR Flags;
	struct {
		ULONG_PTR Valid : 1;
		ULONG_PTR ShareCount : 3;
		ULONG_PTR Win32Protection : 11;
		ULONG_PTR Shared : 1;
		ULONG_PTR Node : 6;
		ULONG_PTR Locked : 1;
		ULONG_PTR LargePage : 1;
		ULONG_PTR Reserved : 7;
		ULONG_PTR Bad : 1;
		ULONG_PTR ReservedUlong : 32;
	};
	struct {
		ULONG_PTR Valid : 1;
		ULONG_PTR Reserved0 : 14;
		ULONG_PTR Shared : 1;
		ULONG_PTR Reserved1 : 15;
		ULONG_PTR Bad : 1;
		ULONG_PTR ReservedUlong : 32;
	} Invalid;
} MEMORY_WORKING_SET_EX_BLOCK;

typedef struct _MEMORY_WORKING_SET_EX_INFORMATION {
	PVOID VirtualAddress;
	MEMORY_WORKING_SET_EX_BLOCK VirtualAttributes;
} MEMORY_WORKING_SET_EX_INFORMATION;

/* NtSetInformationVirtualMemory / PrefetchVirtualMemory. */
typedef enum _VIRTUAL_MEMORY_INFORMATION_CLASS {
	VmPrefetchInformation = 0,
	VmPagePriorityInformation,
	VmCfgCallTargetInformation,
	VmPageDirtyStateInformation,
} VIRTUAL_MEMORY_INFORMATION_CLASS;

typedef struct _MEMORY_RANGE_ENTRY {
	PVOID VirtualAddress;
	SIZE_T NumberOfBytes;
} MEMORY_RANGE_ENTRY, *PMEMORY_RANGE_ENTRY;
#endif /* !__WINE_WINTERNL_H */

/*
 * The Win32 types are windows.h's (memoryapi.h, psapi.h): with Windows'
 * headers the Win32 functions are theirs too (NTVM_NO_WIN32).
 */
#ifndef NTVM_NO_WIN32
typedef MEMORY_WORKING_SET_EX_BLOCK PSAPI_WORKING_SET_EX_BLOCK;
typedef MEMORY_WORKING_SET_EX_INFORMATION PSAPI_WORKING_SET_EX_INFORMATION,
	*PPSAPI_WORKING_SET_EX_INFORMATION;

/* Win32: QueryVirtualMemoryInformation's class and structure. */
typedef enum WIN32_MEMORY_INFORMATION_CLASS {
	MemoryRegionInfo = 0,
} WIN32_MEMORY_INFORMATION_CLASS;

typedef struct WIN32_MEMORY_REGION_INFORMATION {
	PVOID AllocationBase;
	ULONG AllocationProtect;
	union {
		ULONG Flags;
		struct {
			ULONG Private : 1;
			ULONG MappedDataFile : 1;
			ULONG MappedImage : 1;
			ULONG MappedPageFile : 1;
			ULONG MappedPhysical : 1;
			ULONG DirectMapped : 1;
			ULONG Reserved : 26;
		};
	};
	SIZE_T RegionSize;
	SIZE_T CommitSize;
} WIN32_MEMORY_REGION_INFORMATION;

typedef MEMORY_RANGE_ENTRY WIN32_MEMORY_RANGE_ENTRY, *PWIN32_MEMORY_RANGE_ENTRY;

/* OfferVirtualMemory's priorities. */
typedef enum OFFER_PRIORITY {
	VmOfferPriorityVeryLow = 1,
	VmOfferPriorityLow,
	VmOfferPriorityBelowNormal,
	VmOfferPriorityNormal,
} OFFER_PRIORITY;
#endif /* !NTVM_NO_WIN32 */

/* NtLockVirtualMemory's MapType. */
#ifndef MAP_PROCESS
#define MAP_PROCESS			1
#define MAP_SYSTEM			2
#endif

#ifndef NUMA_NO_PREFERRED_NODE
#define NUMA_NO_PREFERRED_NODE		((DWORD)-1)
#endif

#ifndef STATUS_WORKING_SET_QUOTA
#define STATUS_WORKING_SET_QUOTA	((NTSTATUS)0xC00000A1)
#endif
#ifndef ERROR_BUSY
#define ERROR_BUSY			170
#endif
#ifndef ERROR_NOT_LOCKED
#define ERROR_NOT_LOCKED		158
#endif
#ifndef ERROR_WORKING_SET_QUOTA
#define ERROR_WORKING_SET_QUOTA		1453
#endif

#ifndef NTVM_NO_NT
NTSTATUS NtLockVirtualMemory(HANDLE process, PVOID *base, PSIZE_T size,
			     ULONG map_type);
NTSTATUS NtUnlockVirtualMemory(HANDLE process, PVOID *base, PSIZE_T size,
			       ULONG map_type);
NTSTATUS NtFlushInstructionCache(HANDLE process, LPCVOID base, SIZE_T size);
NTSTATUS NtFlushProcessWriteBuffers(void);
NTSTATUS NtSetInformationVirtualMemory(HANDLE process,
				       VIRTUAL_MEMORY_INFORMATION_CLASS info_class,
				       ULONG_PTR count, PMEMORY_RANGE_ENTRY entries,
				       PVOID info, ULONG length);
#endif /* !NTVM_NO_NT */

#ifndef NTVM_NO_WIN32
#define GetCurrentProcess() ((HANDLE)(intptr_t)-1)
LPVOID VirtualAllocEx(HANDLE process, LPVOID address, SIZE_T size, DWORD type,
		      DWORD protect);
LPVOID VirtualAllocExNuma(HANDLE process, LPVOID address, SIZE_T size,
			  DWORD type, DWORD protect, DWORD node);
BOOL VirtualFreeEx(HANDLE process, LPVOID address, SIZE_T size, DWORD type);
SIZE_T VirtualQueryEx(HANDLE process, LPCVOID address,
		      PMEMORY_BASIC_INFORMATION info, SIZE_T length);
BOOL VirtualProtectEx(HANDLE process, LPVOID address, SIZE_T size,
		      DWORD new_protect, PDWORD old_protect);
BOOL VirtualLock(LPVOID address, SIZE_T size);
BOOL VirtualUnlock(LPVOID address, SIZE_T size);
BOOL QueryWorkingSetEx(HANDLE process, PVOID info, DWORD length);
BOOL QueryVirtualMemoryInformation(HANDLE process, LPCVOID address,
				   WIN32_MEMORY_INFORMATION_CLASS info_class,
				   PVOID info, SIZE_T length, PSIZE_T result_length);
DWORD DiscardVirtualMemory(PVOID address, SIZE_T size);
DWORD OfferVirtualMemory(PVOID address, SIZE_T size, OFFER_PRIORITY priority);
DWORD ReclaimVirtualMemory(LPCVOID address, SIZE_T size);
BOOL PrefetchVirtualMemory(HANDLE process, ULONG_PTR count,
			   PWIN32_MEMORY_RANGE_ENTRY entries, ULONG flags);
BOOL FlushInstructionCache(HANDLE process, LPCVOID base, SIZE_T size);
void FlushProcessWriteBuffers(void);
SIZE_T GetLargePageMinimum(void);
#endif /* NTVM_NO_WIN32 */
/* ==== end of issue 11 ==== */

/*
 * ---- Placeholders, sections and views (issue 10) ----
 * See README, "Sections and placeholders".
 */
#ifndef MEM_EXTENDED_PARAMETER_GRAPHICS
#define MEM_EXTENDED_PARAMETER_GRAPHICS			0x01
#endif
#ifndef MEM_EXTENDED_PARAMETER_NONPAGED
#define MEM_EXTENDED_PARAMETER_NONPAGED			0x02
#endif
#ifndef MEM_EXTENDED_PARAMETER_ZERO_PAGES_OPTIONAL
#define MEM_EXTENDED_PARAMETER_ZERO_PAGES_OPTIONAL	0x04
#endif
#ifndef MEM_EXTENDED_PARAMETER_NONPAGED_LARGE
#define MEM_EXTENDED_PARAMETER_NONPAGED_LARGE		0x08
#endif
#ifndef MEM_EXTENDED_PARAMETER_NONPAGED_HUGE
#define MEM_EXTENDED_PARAMETER_NONPAGED_HUGE		0x10
#endif
#ifndef MEM_EXTENDED_PARAMETER_SOFT_FAULT_PAGES
#define MEM_EXTENDED_PARAMETER_SOFT_FAULT_PAGES		0x20
#endif
#ifndef MEM_EXTENDED_PARAMETER_EC_CODE
#define MEM_EXTENDED_PARAMETER_EC_CODE			0x40
#endif
#ifndef MEM_UNMAP_WITH_TRANSIENT_BOOST
#define MEM_UNMAP_WITH_TRANSIENT_BOOST			0x1
#endif

/*
 * Handles: a section handle is a Linux file descriptor (an anonymous
 * inode of /dev/ntvm); so is a file handle given to NtCreateSection or
 * CreateFileMapping.  The descriptor can be passed to another process
 * (fork, SCM_RIGHTS) and mapped there.  Descriptor 0 cannot be a handle
 * (it is NULL).
 */
#define NTVM_FD_TO_HANDLE(fd)	((HANDLE)(intptr_t)(fd))
#define NTVM_HANDLE_TO_FD(h)	((int)(intptr_t)(h))
#ifndef INVALID_HANDLE_VALUE
#define INVALID_HANDLE_VALUE	((HANDLE)(intptr_t)-1)
#endif

#ifndef NTVM_WINDOWS_HEADERS
typedef ULONG ACCESS_MASK;
typedef int32_t LONG;
/*
 * Windows' WCHAR, a UTF-16 code unit: u"" literals are strings of it (and
 * L"" ones with -fshort-wchar).
 */
#if defined(__cplusplus) && __cplusplus >= 201103L
typedef char16_t WCHAR;
#else
typedef uint16_t WCHAR;
#endif
typedef const WCHAR *LPCWSTR, *PCWSTR;
typedef union _LARGE_INTEGER {
	struct {
		DWORD LowPart;
		LONG HighPart;
	};
	int64_t QuadPart;
} LARGE_INTEGER, *PLARGE_INTEGER;
#endif /* !NTVM_WINDOWS_HEADERS */

/* In winternl.h (Wine's). */
#if !defined(__WINE_WINTERNL_H)
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
#endif /* !__WINE_WINTERNL_H */

#ifndef NT_SUCCESS
#define NT_SUCCESS(st)			((NTSTATUS)(st) >= 0)
#endif

#ifndef SEC_FILE
#define SEC_FILE			NTVM_SEC_FILE
#endif
#ifndef SEC_IMAGE
#define SEC_IMAGE			NTVM_SEC_IMAGE
#endif
#ifndef SEC_RESERVE
#define SEC_RESERVE			NTVM_SEC_RESERVE
#endif
#ifndef SEC_COMMIT
#define SEC_COMMIT			NTVM_SEC_COMMIT
#endif
#ifndef SEC_NOCACHE
#define SEC_NOCACHE			NTVM_SEC_NOCACHE
#endif
#ifndef SEC_WRITECOMBINE
#define SEC_WRITECOMBINE		NTVM_SEC_WRITECOMBINE
#endif
#ifndef SEC_LARGE_PAGES
#define SEC_LARGE_PAGES			NTVM_SEC_LARGE_PAGES
#endif

#ifndef STANDARD_RIGHTS_REQUIRED
#define STANDARD_RIGHTS_REQUIRED	0x000F0000
#endif
#ifndef SECTION_QUERY
#define SECTION_QUERY			NTVM_SECTION_QUERY
#endif
#ifndef SECTION_MAP_WRITE
#define SECTION_MAP_WRITE		NTVM_SECTION_MAP_WRITE
#endif
#ifndef SECTION_MAP_READ
#define SECTION_MAP_READ		NTVM_SECTION_MAP_READ
#endif
#ifndef SECTION_MAP_EXECUTE
#define SECTION_MAP_EXECUTE		NTVM_SECTION_MAP_EXECUTE
#endif
#ifndef SECTION_EXTEND_SIZE
#define SECTION_EXTEND_SIZE		NTVM_SECTION_EXTEND_SIZE
#endif
#ifndef SECTION_MAP_EXECUTE_EXPLICIT
#define SECTION_MAP_EXECUTE_EXPLICIT	NTVM_SECTION_MAP_EXECUTE_EXPLICIT
#endif
#ifndef SECTION_ALL_ACCESS
#define SECTION_ALL_ACCESS		NTVM_SECTION_ALL_ACCESS
#endif
#ifndef FILE_MAP_COPY
#define FILE_MAP_COPY			0x0001
#endif
#ifndef FILE_MAP_WRITE
#define FILE_MAP_WRITE			0x0002
#endif
#ifndef FILE_MAP_READ
#define FILE_MAP_READ			0x0004
#endif
#ifndef FILE_MAP_EXECUTE
#define FILE_MAP_EXECUTE		0x0020
#endif
#ifndef FILE_MAP_ALL_ACCESS
#define FILE_MAP_ALL_ACCESS		SECTION_ALL_ACCESS
#endif

#ifndef STATUS_INVALID_VIEW_SIZE
#define STATUS_INVALID_VIEW_SIZE	((NTSTATUS)NTVM_STATUS_INVALID_VIEW_SIZE)
#endif
#ifndef STATUS_INVALID_FILE_FOR_SECTION
#define STATUS_INVALID_FILE_FOR_SECTION	((NTSTATUS)NTVM_STATUS_INVALID_FILE_FOR_SECTION)
#endif
#ifndef STATUS_INVALID_IMAGE_NOT_MZ
#define STATUS_INVALID_IMAGE_NOT_MZ	((NTSTATUS)NTVM_STATUS_INVALID_IMAGE_NOT_MZ)
#endif
#ifndef STATUS_OBJECT_TYPE_MISMATCH
#define STATUS_OBJECT_TYPE_MISMATCH	((NTSTATUS)NTVM_STATUS_OBJECT_TYPE_MISMATCH)
#endif
#ifndef STATUS_OBJECT_NAME_NOT_FOUND
#define STATUS_OBJECT_NAME_NOT_FOUND	((NTSTATUS)0xC0000034)
#endif
#ifndef STATUS_OBJECT_NAME_EXISTS
#define STATUS_OBJECT_NAME_EXISTS	((NTSTATUS)0x40000035)
#endif
#ifndef STATUS_SECTION_TOO_BIG
#define STATUS_SECTION_TOO_BIG		((NTSTATUS)NTVM_STATUS_SECTION_TOO_BIG)
#endif
#ifndef STATUS_SECTION_NOT_IMAGE
#define STATUS_SECTION_NOT_IMAGE	((NTSTATUS)NTVM_STATUS_SECTION_NOT_IMAGE)
#endif
#ifndef STATUS_NOT_MAPPED_DATA
#define STATUS_NOT_MAPPED_DATA		((NTSTATUS)NTVM_STATUS_NOT_MAPPED_DATA)
#endif
#ifndef STATUS_NOT_SAME_DEVICE
#define STATUS_NOT_SAME_DEVICE		((NTSTATUS)NTVM_STATUS_NOT_SAME_DEVICE)
#endif
#ifndef STATUS_INVALID_PARAMETER_7
#define STATUS_INVALID_PARAMETER_7	((NTSTATUS)NTVM_STATUS_INVALID_PARAMETER_7)
#endif
#ifndef STATUS_INVALID_PARAMETER_8
#define STATUS_INVALID_PARAMETER_8	((NTSTATUS)NTVM_STATUS_INVALID_PARAMETER_8)
#endif
#ifndef STATUS_INVALID_PARAMETER_9
#define STATUS_INVALID_PARAMETER_9	((NTSTATUS)NTVM_STATUS_INVALID_PARAMETER_9)
#endif
#ifndef STATUS_INVALID_PARAMETER_10
#define STATUS_INVALID_PARAMETER_10	((NTSTATUS)NTVM_STATUS_INVALID_PARAMETER_10)
#endif
#ifndef STATUS_MAPPED_FILE_SIZE_ZERO
#define STATUS_MAPPED_FILE_SIZE_ZERO	((NTSTATUS)NTVM_STATUS_MAPPED_FILE_SIZE_ZERO)
#endif
#ifndef STATUS_NAME_TOO_LONG
#define STATUS_NAME_TOO_LONG		((NTSTATUS)0xC0000106)
#endif
#ifndef OBJ_INHERIT
#define OBJ_INHERIT			0x00000002
#endif

#ifndef ERROR_FILE_NOT_FOUND
#define ERROR_FILE_NOT_FOUND		2
#endif
#ifndef ERROR_ALREADY_EXISTS
#define ERROR_ALREADY_EXISTS		183
#endif
#ifndef ERROR_BAD_EXE_FORMAT
#define ERROR_BAD_EXE_FORMAT		193
#endif
#ifndef ERROR_FILENAME_EXCED_RANGE
#define ERROR_FILENAME_EXCED_RANGE	206
#endif
#ifndef ERROR_FILE_INVALID
#define ERROR_FILE_INVALID		1006
#endif
#ifndef ERROR_MAPPED_ALIGNMENT
#define ERROR_MAPPED_ALIGNMENT		1132
#endif
#ifndef ERROR_USER_MAPPED_FILE
#define ERROR_USER_MAPPED_FILE		1224
#endif

#ifndef NTVM_NO_NT
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
/* Views of one section: STATUS_SUCCESS; of two: STATUS_NOT_SAME_DEVICE. */
NTSTATUS NtAreMappedFilesTheSame(PVOID file1, PVOID file2);
NTSTATUS NtClose(HANDLE handle);
#endif /* !NTVM_NO_NT */

#ifndef NTVM_NO_WIN32
/*
 * Names are the process's own: another process opens a section through
 * its descriptor (see README, "Sections and placeholders").  A narrow
 * name is UTF-8, a wide one UTF-16, and the two name the same section
 * when they spell the same characters.
 */
HANDLE CreateFileMappingA(HANDLE file, PVOID attributes, DWORD protect,
			  DWORD size_high, DWORD size_low, const char *name);
HANDLE CreateFileMappingW(HANDLE file, PVOID attributes, DWORD protect,
			  DWORD size_high, DWORD size_low, LPCWSTR name);
HANDLE OpenFileMappingA(DWORD access, BOOL inherit, const char *name);
HANDLE OpenFileMappingW(DWORD access, BOOL inherit, LPCWSTR name);
#ifdef UNICODE
#define CreateFileMapping CreateFileMappingW
#define OpenFileMapping OpenFileMappingW
#else
#define CreateFileMapping CreateFileMappingA
#define OpenFileMapping OpenFileMappingA
#endif
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
/* CreateFileMapping2: extended parameters, none. */
HANDLE CreateFileMapping2(HANDLE file, PVOID attributes, ULONG access,
			  ULONG protect, ULONG alloc_attrs, DWORD64 max_size,
			  PCWSTR name, MEM_EXTENDED_PARAMETER *params,
			  ULONG count);
PVOID MapViewOfFileFromApp(HANDLE mapping, ULONG access, DWORD64 offset,
			   SIZE_T size);
/* CreateFileMapping with a 64-bit size; OpenFileMapping. */
HANDLE CreateFileMappingFromApp(HANDLE file, PVOID attributes, ULONG protect,
				DWORD64 max_size, PCWSTR name);
HANDLE OpenFileMappingFromApp(ULONG access, BOOL inherit, PCWSTR name);
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
/* As VirtualAlloc; executable protections: ERROR_INVALID_PARAMETER. */
PVOID VirtualAllocFromApp(PVOID address, SIZE_T size, ULONG type,
			  ULONG protect);
#endif /* NTVM_NO_WIN32 */

#ifdef __cplusplus
}
#endif

#endif /* NTVM_H */
