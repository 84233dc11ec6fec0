// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libntvm's Win32 layer for placeholders, sections and views: kernelbase's
 * VirtualAlloc2, VirtualFreeEx and friends on top of the NT functions.
 * Like win32.c, an object of its own (see there).
 */
#include <stdlib.h>

#include "ntvm.h"
#include "internal.h"

static BOOL win32_ok(NTSTATUS st)
{
	if (st) {
		SetLastError(RtlNtStatusToDosError(st));
		return FALSE;
	}
	return TRUE;
}

/* kernelbase's is_exec_prot(): the *FromApp functions refuse these. */
static int is_exec_prot(ULONG prot)
{
	return prot & (PAGE_EXECUTE | PAGE_EXECUTE_READ |
		       PAGE_EXECUTE_READWRITE | PAGE_EXECUTE_WRITECOPY);
}

NTVM_EXPORT PVOID VirtualAlloc2(HANDLE process, PVOID address, SIZE_T size,
				ULONG type, ULONG protect,
				MEM_EXTENDED_PARAMETER *params, ULONG count)
{
	PVOID base = address;

	/* A NULL process is the current one (spec 6.5.7). */
	if (!process)
		process = NtCurrentProcess();
	if (!win32_ok(NtAllocateVirtualMemoryEx(process, &base, &size, type,
						protect, params, count)))
		return NULL;
	return base;
}

NTVM_EXPORT PVOID VirtualAlloc2FromApp(HANDLE process, PVOID address,
				       SIZE_T size, ULONG type, ULONG protect,
				       MEM_EXTENDED_PARAMETER *params,
				       ULONG count)
{
	if (is_exec_prot(protect)) {
		SetLastError(ERROR_INVALID_PARAMETER);
		return NULL;
	}
	return VirtualAlloc2(process, address, size, type, protect, params,
			     count);
}

/* VirtualAllocFromApp (spec 2.8.6): VirtualAlloc without execution. */
NTVM_EXPORT PVOID VirtualAllocFromApp(PVOID address, SIZE_T size, ULONG type,
				      ULONG protect)
{
	return VirtualAlloc2FromApp(NULL, address, size, type, protect, NULL,
				    0);
}

/* ---- File mappings ---- */

/* CreateFileMapping's handle rights for a protection (spec 1.4.4). */
static ACCESS_MASK mapping_access(ULONG prot)
{
	switch (prot) {
	case PAGE_READONLY:
	case PAGE_WRITECOPY:
		return STANDARD_RIGHTS_REQUIRED | SECTION_QUERY | SECTION_MAP_READ;
	case PAGE_READWRITE:
		return STANDARD_RIGHTS_REQUIRED | SECTION_QUERY |
		       SECTION_MAP_READ | SECTION_MAP_WRITE;
	case PAGE_EXECUTE_READ:
	case PAGE_EXECUTE_WRITECOPY:
		return STANDARD_RIGHTS_REQUIRED | SECTION_QUERY |
		       SECTION_MAP_READ | SECTION_MAP_EXECUTE;
	case PAGE_EXECUTE_READWRITE:
		return STANDARD_RIGHTS_REQUIRED | SECTION_QUERY |
		       SECTION_MAP_READ | SECTION_MAP_WRITE | SECTION_MAP_EXECUTE;
	default:
		return 0;
	}
}

struct create_args {
	HANDLE file;
	ACCESS_MASK access;
	LARGE_INTEGER size;
	ULONG prot, sec;
	bool inherit;
};

/*
 * SECURITY_ATTRIBUTES, as far as ntvm reads it: bInheritHandle makes the
 * handle inheritable (ntvm_handle_inherit()); there is no security
 * descriptor to apply.  kernelbase reads the structure without a probe,
 * and so does this.
 */
struct security_attributes {
	DWORD length;
	PVOID descriptor;
	BOOL inherit;
};

static bool inherit_asked(const void *attributes)
{
	const struct security_attributes *sa = attributes;

	return sa && sa->inherit;
}

static NTSTATUS create_section(void *ctx, HANDLE *out)
{
	struct create_args *c = ctx;

	return NtCreateSection(out, c->access, NULL, &c->size, c->prot,
			       c->sec, c->file);
}

/*
 * The section of a CreateFileMapping call, named or not, as a Win32
 * result; the last error is set on success too (spec 1.5.2).
 */
static HANDLE create_mapping(struct create_args *c, const char *name)
{
	HANDLE h = NULL;
	NTSTATUS st;

	if (name)
		st = ntvm_named_section(name, c->access, create_section, c, &h);
	else
		st = create_section(c, &h);
	if (!NT_SUCCESS(st)) {
		SetLastError(RtlNtStatusToDosError(st));
		return NULL;
	}
	if (c->inherit)
		ntvm_handle_inherit(h);
	SetLastError(st == STATUS_OBJECT_NAME_EXISTS ? ERROR_ALREADY_EXISTS :
						       ERROR_SUCCESS);
	return h;
}

/*
 * How long a name may be.  kernelbase turns an ANSI name into the
 * thread's static UNICODE_STRING (Basep8BitStringToStaticUnicodeString:
 * 261 units with the terminator) before anything else, and a longer one
 * fails with ERROR_FILENAME_EXCED_RANGE; "Local\\" counts, as it is part
 * of the string.  A wide name becomes a UNICODE_STRING, whose length is
 * 16 bits of bytes: a name of more than 32,766 units is STATUS_NAME_TOO_LONG
 * (RtlInitUnicodeStringEx), ERROR_FILENAME_EXCED_RANGE again.
 */
#define ANSI_NAME_MAX	260
#define WIDE_NAME_MAX	32766

/*
 * Does a narrow name, as UTF-8, fit in ANSI_NAME_MAX UTF-16 code units?
 * If not, the last error says so.  Each byte that starts a character
 * counts: a four-byte lead two units (a surrogate pair), any other one.
 * Continuation bytes count nothing, so a name that is not well-formed
 * UTF-8 may count fewer units than Windows' conversion, which makes
 * U+FFFD of a stray one, would.
 */
static bool ansi_name_fits(const char *name)
{
	const unsigned char *s = (const unsigned char *)name;
	size_t units = 0;

	for (; *s && units <= ANSI_NAME_MAX; s++)
		if ((*s & 0xc0) != 0x80)
			units += *s >= 0xf0 && *s < 0xf5 ? 2 : 1;
	if (units <= ANSI_NAME_MAX)
		return true;
	SetLastError(ERROR_FILENAME_EXCED_RANGE);
	return false;
}

static HANDLE create_file_mapping(HANDLE file, const void *attributes,
				  DWORD protect, DWORD size_high,
				  DWORD size_low, const char *name)
{
	struct create_args c = {
		.file = file == INVALID_HANDLE_VALUE ? NULL : file,
		.inherit = inherit_asked(attributes),
		.sec = protect & 0xfff00000u,
		.prot = protect & 0x000fffffu,
	};

	/* kernelbase: no SEC_* bit means SEC_COMMIT (spec 1.2.2). */
	if (!c.sec)
		c.sec = SEC_COMMIT;
	c.access = mapping_access(c.prot);
	c.size.QuadPart = (int64_t)(((uint64_t)size_high << 32) | size_low);
	/* kernelbase's own checks (spec 1.4.1, 1.3.5). */
	if (!c.access || (!c.file && !c.size.QuadPart)) {
		SetLastError(ERROR_INVALID_PARAMETER);
		return NULL;
	}
	return create_mapping(&c, name);
}

NTVM_EXPORT HANDLE CreateFileMappingA(HANDLE file, PVOID attributes,
				      DWORD protect, DWORD size_high,
				      DWORD size_low, const char *name)
{
	if (name && !ansi_name_fits(name))
		return NULL;
	return create_file_mapping(file, attributes, protect, size_high,
				   size_low, name);
}

/*
 * A wide name as the names are kept (section.c): in UTF-8, so that
 * CreateFileMappingW(u"x") and OpenFileMappingA("x") meet, as the ANSI
 * and the wide calls meet on Windows.  Windows takes any code unit in a
 * name; a lone surrogate is encoded by itself, in three bytes (as WTF-8
 * does), so that two different wide names stay two names.  *out is NULL
 * for no name, else to be freed; -1, with the last error set, for a name
 * that is too long or no memory for it.
 */
static int narrow_name(LPCWSTR w, char **out)
{
	size_t n = 0, i, o = 0;
	uint32_t c;
	char *s;

	*out = NULL;
	if (!w)
		return 0;
	while (w[n])
		n++;
	if (n > WIDE_NAME_MAX) {
		SetLastError(ERROR_FILENAME_EXCED_RANGE);
		return -1;
	}
	/* A code unit takes at most 3 bytes, a surrogate pair 4. */
	s = n < (SIZE_MAX - 1) / 3 ? malloc(3 * n + 1) : NULL;
	if (!s) {
		SetLastError(ERROR_NOT_ENOUGH_MEMORY);
		return -1;
	}
	for (i = 0; i < n; i++) {
		c = w[i];
		/* w[n] is 0: the unit after the last is no low surrogate. */
		if (c >= 0xd800 && c < 0xdc00 && w[i + 1] >= 0xdc00 &&
		    w[i + 1] < 0xe000)
			c = 0x10000 + ((c - 0xd800) << 10) + (w[++i] - 0xdc00);
		if (c < 0x80) {
			s[o++] = (char)c;
			continue;
		}
		if (c < 0x800) {
			s[o++] = (char)(0xc0 | c >> 6);
		} else if (c < 0x10000) {
			s[o++] = (char)(0xe0 | c >> 12);
			s[o++] = (char)(0x80 | (c >> 6 & 0x3f));
		} else {
			s[o++] = (char)(0xf0 | c >> 18);
			s[o++] = (char)(0x80 | (c >> 12 & 0x3f));
			s[o++] = (char)(0x80 | (c >> 6 & 0x3f));
		}
		s[o++] = (char)(0x80 | (c & 0x3f));
	}
	s[o] = 0;
	*out = s;
	return 0;
}

NTVM_EXPORT HANDLE CreateFileMappingW(HANDLE file, PVOID attributes,
				      DWORD protect, DWORD size_high,
				      DWORD size_low, LPCWSTR name)
{
	char *narrow;
	HANDLE h;

	if (narrow_name(name, &narrow))
		return NULL;
	h = create_file_mapping(file, attributes, protect, size_high, size_low,
				narrow);
	free(narrow);
	return h;
}

/*
 * OpenFileMapping's rights: FILE_MAP_COPY alone reads (spec 1.5.5).  Its
 * value is SECTION_QUERY's, which any other mask keeps as that right.
 */
static HANDLE open_file_mapping(DWORD access, BOOL inherit, const char *name)
{
	HANDLE h = NULL;
	NTSTATUS st;

	if (access == FILE_MAP_COPY)
		access = SECTION_MAP_READ;
	st = ntvm_named_section(name, access, NULL, NULL, &h);
	if (!NT_SUCCESS(st)) {
		SetLastError(RtlNtStatusToDosError(st));
		return NULL;
	}
	if (inherit)
		ntvm_handle_inherit(h);
	return h;
}

NTVM_EXPORT HANDLE OpenFileMappingA(DWORD access, BOOL inherit,
				    const char *name)
{
	if (!name) {
		SetLastError(ERROR_INVALID_PARAMETER);
		return NULL;
	}
	if (!ansi_name_fits(name))
		return NULL;
	return open_file_mapping(access, inherit, name);
}

NTVM_EXPORT HANDLE OpenFileMappingW(DWORD access, BOOL inherit, LPCWSTR name)
{
	char *narrow;
	HANDLE h;

	if (!name) {
		SetLastError(ERROR_INVALID_PARAMETER);
		return NULL;
	}
	if (narrow_name(name, &narrow))
		return NULL;
	h = open_file_mapping(access, inherit, narrow);
	free(narrow);
	return h;
}

/* MapViewOfFileEx's protection for an access (spec 2.8.1). */
static ULONG view_protection(DWORD access)
{
	int exec = access & FILE_MAP_EXECUTE;

	access &= ~FILE_MAP_EXECUTE;
	if (access == FILE_MAP_COPY)
		return exec ? PAGE_EXECUTE_WRITECOPY : PAGE_WRITECOPY;
	if (access & FILE_MAP_WRITE)
		return exec ? PAGE_EXECUTE_READWRITE : PAGE_READWRITE;
	if (access & FILE_MAP_READ)
		return exec ? PAGE_EXECUTE_READ : PAGE_READONLY;
	return PAGE_NOACCESS;
}

NTVM_EXPORT LPVOID MapViewOfFileEx(HANDLE mapping, DWORD access,
				   DWORD offset_high, DWORD offset_low,
				   SIZE_T size, LPVOID address)
{
	LARGE_INTEGER off;
	PVOID base = address;

	off.QuadPart = (int64_t)(((uint64_t)offset_high << 32) | offset_low);
	if (!win32_ok(NtMapViewOfSection(mapping, NtCurrentProcess(), &base, 0,
					 0, &off, &size, ViewShare, 0,
					 view_protection(access))))
		return NULL;
	return base;
}

NTVM_EXPORT LPVOID MapViewOfFile(HANDLE mapping, DWORD access,
				 DWORD offset_high, DWORD offset_low,
				 SIZE_T size)
{
	return MapViewOfFileEx(mapping, access, offset_high, offset_low, size,
			       NULL);
}

NTVM_EXPORT PVOID MapViewOfFile3(HANDLE mapping, HANDLE process, PVOID base,
				 DWORD64 offset, SIZE_T size, ULONG type,
				 ULONG protect,
				 MEM_EXTENDED_PARAMETER *params, ULONG count)
{
	LARGE_INTEGER off;
	PVOID addr = base;

	off.QuadPart = (int64_t)offset;
	/* A NULL process is the current one (spec 2.8.4). */
	if (!process)
		process = NtCurrentProcess();
	if (!win32_ok(NtMapViewOfSectionEx(mapping, process, &addr, &off,
					   &size, type, protect, params,
					   count)))
		return NULL;
	return addr;
}

NTVM_EXPORT PVOID MapViewOfFile3FromApp(HANDLE mapping, HANDLE process,
					PVOID base, DWORD64 offset,
					SIZE_T size, ULONG type, ULONG protect,
					MEM_EXTENDED_PARAMETER *params,
					ULONG count)
{
	if (is_exec_prot(protect)) {
		SetLastError(ERROR_INVALID_PARAMETER);
		return NULL;
	}
	return MapViewOfFile3(mapping, process, base, offset, size, type,
			      protect, params, count);
}

NTVM_EXPORT BOOL UnmapViewOfFile(LPCVOID address)
{
	return win32_ok(NtUnmapViewOfSection(NtCurrentProcess(),
					     (PVOID)address));
}

NTVM_EXPORT BOOL UnmapViewOfFileEx(PVOID address, ULONG flags)
{
	return win32_ok(NtUnmapViewOfSectionEx(NtCurrentProcess(), address,
					       flags));
}

/* No NULL-process translation here (spec 3.5). */
NTVM_EXPORT BOOL UnmapViewOfFile2(HANDLE process, PVOID address, ULONG flags)
{
	return win32_ok(NtUnmapViewOfSectionEx(process, address, flags));
}

NTVM_EXPORT BOOL FlushViewOfFile(LPCVOID address, SIZE_T size)
{
	PVOID base = (PVOID)address;
	NTSTATUS st = NtFlushVirtualMemory(NtCurrentProcess(), &base, &size,
					   NULL);

	/* kernelbase swallows STATUS_NOT_MAPPED_DATA (spec 5.4). */
	return win32_ok(st == STATUS_NOT_MAPPED_DATA ? STATUS_SUCCESS : st);
}

NTVM_EXPORT BOOL CloseHandle(HANDLE handle)
{
	return win32_ok(NtClose(handle));
}

/*
 * CreateFileMapping2 (yuzu, ZGC; spec 1.7.1): access is the handle's
 * rights, as given, as NtCreateSectionEx takes them (unlike
 * CreateFileMapping, which adds SECTION_QUERY and the map rights its
 * protection implies); extended parameters are refused (the AWE one is
 * out of scope).
 */
NTVM_EXPORT HANDLE CreateFileMapping2(HANDLE file, PVOID attributes,
				      ULONG access, ULONG protect,
				      ULONG alloc_attrs, DWORD64 max_size,
				      PCWSTR name,
				      MEM_EXTENDED_PARAMETER *params,
				      ULONG count)
{
	struct create_args c = {
		.file = file == INVALID_HANDLE_VALUE ? NULL : file,
		.sec = alloc_attrs, .prot = protect,
		.access = access, .inherit = inherit_asked(attributes),
	};
	char *narrow;
	HANDLE h;

	(void)params;
	if (count) {
		SetLastError(ERROR_NOT_SUPPORTED);
		return NULL;
	}
	if (narrow_name(name, &narrow))
		return NULL;
	c.size.QuadPart = (int64_t)max_size;
	h = create_mapping(&c, narrow);
	free(narrow);
	return h;
}

/*
 * CreateFileMappingFromApp: CreateFileMapping with a 64-bit size.  It does
 * not refuse executable protections: the handle gets SECTION_MAP_EXECUTE
 * with PAGE_EXECUTE_READWRITE (spec 1.4.4).
 */
NTVM_EXPORT HANDLE CreateFileMappingFromApp(HANDLE file, PVOID attributes,
					    ULONG protect, DWORD64 max_size,
					    PCWSTR name)
{
	return CreateFileMappingW(file, attributes, protect,
				  (DWORD)(max_size >> 32), (DWORD)max_size,
				  name);
}

/*
 * OpenFileMappingFromApp: the rights asked for, exactly (FILE_MAP_READ is
 * SECTION_MAP_READ alone, FILE_MAP_EXECUTE SECTION_MAP_EXECUTE alone;
 * spec 1.5.5), as OpenFileMapping gives them.
 */
NTVM_EXPORT HANDLE OpenFileMappingFromApp(ULONG access, BOOL inherit,
					  PCWSTR name)
{
	if (access & FILE_MAP_EXECUTE)
		access = (access & ~FILE_MAP_EXECUTE) | SECTION_MAP_EXECUTE;
	return OpenFileMappingW(access, inherit, name);
}

/* MapViewOfFileFromApp: MapViewOfFile with a 64-bit offset (spec 2.8.4). */
NTVM_EXPORT PVOID MapViewOfFileFromApp(HANDLE mapping, ULONG access,
				       DWORD64 offset, SIZE_T size)
{
	return MapViewOfFileEx(mapping, access, (DWORD)(offset >> 32),
			       (DWORD)offset, size, NULL);
}

/* MapViewOfFileNuma2 (spec 2.8.5): a node, or NUMA_NO_PREFERRED_NODE. */
NTVM_EXPORT PVOID MapViewOfFileNuma2(HANDLE mapping, HANDLE process,
				     DWORD64 offset, PVOID base, SIZE_T size,
				     ULONG type, ULONG protect, ULONG node)
{
	MEM_EXTENDED_PARAMETER p;

	memset(&p, 0, sizeof(p));
	p.Type = MemExtendedParameterNumaNode;
	p.ULong = node;
	return MapViewOfFile3(mapping, process, base, offset, size, type,
			      protect, node == NUMA_NO_PREFERRED_NODE ? NULL : &p,
			      node == NUMA_NO_PREFERRED_NODE ? 0 : 1);
}

NTVM_EXPORT PVOID MapViewOfFile2(HANDLE mapping, HANDLE process,
				 DWORD64 offset, PVOID base, SIZE_T size,
				 ULONG type, ULONG protect)
{
	return MapViewOfFileNuma2(mapping, process, offset, base, size, type,
				  protect, NUMA_NO_PREFERRED_NODE);
}
