// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libntvm: placeholders' and sections' NT-level helpers.
 *
 * Placeholders travel through the existing NTVM_IOC_ALLOCATE and
 * NTVM_IOC_FREE commands (their types are MEM_* bits, and
 * NtAllocateVirtualMemoryEx says so with NTVM_ALLOC_EX); the module owns
 * every placeholder rule and status.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ntvm.h"
#include "internal.h"

/*
 * MemExtendedParameterAttributeFlags (spec 6.10.3): Windows accepts 0;
 * ntvm also takes the hints it satisfies anyway (pages are always
 * zeroed and always demand-faulted).  EC code is ARM64EC only, and
 * the rest asks for memory ntvm cannot give (non-paged, large, graphics).
 */
NTSTATUS ntvm_ext_attribute_flags(DWORD64 flags)
{
	if (flags & MEM_EXTENDED_PARAMETER_EC_CODE)
		return STATUS_INVALID_PARAMETER;
	if (flags & ~(DWORD64)(MEM_EXTENDED_PARAMETER_ZERO_PAGES_OPTIONAL |
			       MEM_EXTENDED_PARAMETER_SOFT_FAULT_PAGES))
		return STATUS_NOT_SUPPORTED;
	return STATUS_SUCCESS;
}

/* ---- Sections and views ---- */

/* One frame-v2 ioctl under the library lock. */
static NTSTATUS sec_ioctl(unsigned long cmd, void *args, const __u32 *status)
{
	NTSTATUS st;

	ntvm_lib_lock();
	st = ntvm_ioctl_locked(cmd, args, status);
	ntvm_lib_unlock();
	return st;
}

/* NT's OBJECT_ATTRIBUTES, which ntvm.h does not declare (winternl.h does). */
struct object_attributes {
	ULONG length;
	HANDLE root_directory;
	PVOID object_name;
	ULONG attributes;
	PVOID security_descriptor;
	PVOID security_qos;
};

/*
 * NtCreateSection's ObjectAttributes.  ntvm has no object namespace (the
 * Win32 names live in this library, ntvm_named_section()), so a name or
 * a directory to put it in is STATUS_NOT_SUPPORTED rather than a section
 * made without it.  OBJ_INHERIT makes the handle inheritable
 * (ntvm_handle_inherit()); the rest is taken and ignored: there is no
 * security descriptor to apply.  NT captures the attributes when it creates the
 * object, after the section's own checks; ntvm reads them first, so a
 * call with a name and another fault says STATUS_NOT_SUPPORTED.
 */
static NTSTATUS object_attributes_check(const void *attributes, bool *inherit)
{
	struct object_attributes oa;

	*inherit = false;
	if (!attributes)
		return STATUS_SUCCESS;
	if (ntvm_copy_user_memory(&oa, attributes, sizeof(oa)))
		return STATUS_ACCESS_VIOLATION;
	if (oa.length != sizeof(oa))
		return STATUS_INVALID_PARAMETER;
	if (oa.object_name || oa.root_directory)
		return STATUS_NOT_SUPPORTED;
	*inherit = oa.attributes & OBJ_INHERIT;
	return STATUS_SUCCESS;
}

/*
 * An inheritable handle (OBJ_INHERIT, SECURITY_ATTRIBUTES' bInheritHandle,
 * OpenFileMapping's bInheritHandle) is, on Linux, a descriptor that is
 * kept across exec: the module makes every handle close-on-exec, and a
 * child made by fork() has them all, as it has every descriptor.
 */
void ntvm_handle_inherit(HANDLE h)
{
	fcntl(NTVM_HANDLE_TO_FD(h), F_SETFD, 0);
}

/*
 * The module reads MaximumSize and writes SectionHandle itself, where NT
 * probes them (NTVM_SECTION_CREATE_VARS): a bad pointer is
 * STATUS_ACCESS_VIOLATION, not a fault here, and creates nothing.
 */
NTVM_EXPORT NTSTATUS NtCreateSection(HANDLE *section, ACCESS_MASK access,
				     PVOID attributes, PLARGE_INTEGER max_size,
				     ULONG protect, ULONG alloc_attrs,
				     HANDLE file)
{
	struct ntvm_section_create_args c = {
		.size = sizeof(c), .flags = NTVM_SECTION_CREATE_VARS,
		.attrs = alloc_attrs, .protect = protect,
		.file_fd = file ? NTVM_HANDLE_TO_FD(file) : -1,
		.access = access,
		.handle_ptr = (uintptr_t)section,
		.max_size_ptr = (uintptr_t)max_size,
	};
	bool inherit;
	NTSTATUS st = object_attributes_check(attributes, &inherit);

	if (st)
		return st;
	st = sec_ioctl(NTVM_IOC_SECTION_CREATE, &c, &c.status);
	if (!st && inherit)
		ntvm_handle_inherit(*section);
	return st;
}

/*
 * The module checks the buffer and ReturnLength as NT probes them, the
 * class and the length, and writes the structure
 * (NTVM_SECTION_QUERY_INFO).
 */
NTVM_EXPORT NTSTATUS NtQuerySection(HANDLE section,
				    SECTION_INFORMATION_CLASS info_class,
				    PVOID info, SIZE_T length,
				    PSIZE_T result_length)
{
	struct ntvm_section_query_args q = {
		.size = sizeof(q), .flags = NTVM_SECTION_QUERY_INFO,
		.section_fd = NTVM_HANDLE_TO_FD(section),
		.info_class = info_class, .info_ptr = (uintptr_t)info,
		.info_length = length, .ret_len_ptr = (uintptr_t)result_length,
	};

	return sec_ioctl(NTVM_IOC_SECTION_QUERY, &q, &q.status);
}

/* A new handle to a section, with other rights (no security here). */
NTSTATUS ntvm_section_open(HANDLE section, ACCESS_MASK access, HANDLE *out)
{
	struct ntvm_section_query_args q = {
		.size = sizeof(q), .section_fd = NTVM_HANDLE_TO_FD(section),
		.access = access,
	};
	NTSTATUS st = sec_ioctl(NTVM_IOC_SECTION_OPEN, &q, &q.status);

	if (!st)
		*out = NTVM_FD_TO_HANDLE(q.section_fd);
	return st;
}

/*
 * The module reads and writes BaseAddress, ViewSize and SectionOffset
 * itself, where NT probes them (NTVM_MAP_VARS), and checks the process
 * handle in NT's order: a bad variable is STATUS_ACCESS_VIOLATION, not a
 * fault here, and a failed call leaves them as they were.
 */
static NTSTATUS map_view(HANDLE section, HANDLE process, PVOID *base,
			 PLARGE_INTEGER offset, PSIZE_T size,
			 struct ntvm_map_view_args *m)
{
	m->size = sizeof(*m);
	m->flags |= NTVM_MAP_VARS | ntvm_process_flags(process);
	m->section_fd = NTVM_HANDLE_TO_FD(section);
	m->base_ptr = (uintptr_t)base;
	m->size_ptr = (uintptr_t)size;
	m->offset_ptr = (uintptr_t)offset;
	return sec_ioctl(NTVM_IOC_MAP_VIEW, m, &m->status);
}

NTVM_EXPORT NTSTATUS NtMapViewOfSection(HANDLE section, HANDLE process,
					PVOID *base, ULONG_PTR zero_bits,
					SIZE_T commit_size,
					PLARGE_INTEGER offset, PSIZE_T size,
					SECTION_INHERIT inherit, ULONG type,
					ULONG protect)
{
	struct ntvm_map_view_args m = {
		.zero_bits = zero_bits, .commit_size = commit_size,
		.inherit = inherit, .type = type, .protect = protect,
	};

	return map_view(section, process, base, offset, size, &m);
}

/* The extended parameters of NtMapViewOfSectionEx (spec 2.6, 6.10). */
static NTSTATUS view_params(struct ntvm_map_view_args *m,
			    MEM_EXTENDED_PARAMETER *params, ULONG count)
{
	MEM_ADDRESS_REQUIREMENTS req;
	bool has_req;
	NTSTATUS st = ntvm_ext_params(params, count, &req, &has_req);

	if (!st && has_req) {
		m->flags |= NTVM_MAP_REQUIREMENTS;
		m->lowest = (uintptr_t)req.LowestStartingAddress;
		m->highest = (uintptr_t)req.HighestEndingAddress;
		m->alignment = req.Alignment;
	}
	return st;
}

NTVM_EXPORT NTSTATUS NtMapViewOfSectionEx(HANDLE section, HANDLE process,
					  PVOID *base, PLARGE_INTEGER offset,
					  PSIZE_T size, ULONG type,
					  ULONG protect,
					  MEM_EXTENDED_PARAMETER *params,
					  ULONG count)
{
	struct ntvm_map_view_args m = {
		.flags = NTVM_MAP_EX, .inherit = ViewShare, .type = type,
		.protect = protect,
	};
	NTSTATUS st = view_params(&m, params, count);

	return st ? st : map_view(section, process, base, offset, size, &m);
}

NTVM_EXPORT NTSTATUS NtUnmapViewOfSectionEx(HANDLE process, PVOID base,
					    ULONG flags)
{
	struct ntvm_unmap_view_args u = {
		.size = sizeof(u), .flags = ntvm_process_flags(process),
		.base = (uintptr_t)base, .unmap_flags = flags,
	};

	return sec_ioctl(NTVM_IOC_UNMAP_VIEW, &u, &u.status);
}

NTVM_EXPORT NTSTATUS NtUnmapViewOfSection(HANDLE process, PVOID base)
{
	return NtUnmapViewOfSectionEx(process, base, 0);
}

/*
 * Named sections (spec 1.5): a name lives while a handle opened with it
 * does.  The namespace is the process's own (see README): handles made
 * by CreateFileMapping or OpenFileMapping with a name are listed here,
 * and NtClose/CloseHandle take them off.
 */
struct name_entry {
	struct name_entry *next;
	HANDLE handle;
	char name[];
};

static struct name_entry *names;
static pthread_mutex_t names_lock = PTHREAD_MUTEX_INITIALIZER;

/*
 * Held across fork() (ntapi.c), so that a child never starts with the
 * lock held by a thread it does not have; the forking thread, the child's
 * only one, lets it go there.
 */
void ntvm_names_lock(void)
{
	pthread_mutex_lock(&names_lock);
}

void ntvm_names_unlock(void)
{
	pthread_mutex_unlock(&names_lock);
}

/* A handle named name, or NULL; the caller holds names_lock. */
static HANDLE name_find(const char *name)
{
	struct name_entry *e;

	for (e = names; e; e = e->next)
		if (!strcmp(e->name, name))
			return e->handle;
	return NULL;
}

static int name_add(const char *name, HANDLE h)
{
	size_t len = strlen(name) + 1;
	struct name_entry *e = malloc(sizeof(*e) + len);

	if (!e)
		return -1;
	memcpy(e->name, name, len);
	e->handle = h;
	e->next = names;
	names = e;
	return 0;
}

/*
 * Open the section called name with access, or create it with create()
 * when there is none (create NULL: open only).  Returns the status;
 * STATUS_OBJECT_NAME_EXISTS (success-class) when it existed.
 *
 * "Local\\name" is "name": both are in the session's namespace on Windows
 * (spec 1.5.3).  "Global\\name" stays a name of its own, as the global
 * namespace is another directory there.
 */
NTSTATUS ntvm_named_section(const char *name, ACCESS_MASK access,
			    NTSTATUS (*create)(void *ctx, HANDLE *out),
			    void *ctx, HANDLE *out)
{
	static const char local[] = "Local\\";
	HANDLE h;
	NTSTATUS st;

	if (!strncmp(name, local, sizeof(local) - 1))
		name += sizeof(local) - 1;
	pthread_mutex_lock(&names_lock);
	h = name_find(name);
	if (h) {
		st = ntvm_section_open(h, access, out);
		if (!st)
			st = STATUS_OBJECT_NAME_EXISTS;
	} else if (!create) {
		st = STATUS_OBJECT_NAME_NOT_FOUND;
	} else {
		st = create(ctx, out);
	}
	if (NT_SUCCESS(st) && name_add(name, *out)) {
		close(NTVM_HANDLE_TO_FD(*out));
		st = STATUS_NO_MEMORY;
	}
	pthread_mutex_unlock(&names_lock);
	return st;
}

NTVM_EXPORT NTSTATUS NtClose(HANDLE handle)
{
	struct name_entry **pe, *e;
	NTSTATUS st;

	/* NULL is no handle: descriptor 0 is never closed through it. */
	if (!handle)
		return STATUS_INVALID_HANDLE;
	pthread_mutex_lock(&names_lock);
	for (pe = &names; (e = *pe);) {
		if (e->handle == handle) {
			*pe = e->next;
			free(e);
		} else {
			pe = &e->next;
		}
	}
	st = close(NTVM_HANDLE_TO_FD(handle)) ? STATUS_INVALID_HANDLE :
						STATUS_SUCCESS;
	pthread_mutex_unlock(&names_lock);
	return st;
}

/* The statuses of sections and views (spec 0.2); 0 when not one. */
ULONG ntvm_section_dos_error(NTSTATUS status)
{
	switch ((uint32_t)status) {
	case NTVM_STATUS_MAPPED_ALIGNMENT:
		return ERROR_MAPPED_ALIGNMENT;
	case NTVM_STATUS_INVALID_VIEW_SIZE:
		return ERROR_ACCESS_DENIED;
	case NTVM_STATUS_SECTION_PROTECTION:
	case NTVM_STATUS_UNABLE_TO_DELETE_SECTION:
	case NTVM_STATUS_INVALID_PARAMETER_7:
	case NTVM_STATUS_INVALID_PARAMETER_8:
	case NTVM_STATUS_INVALID_PARAMETER_9:
	case NTVM_STATUS_INVALID_PARAMETER_10:
	case NTVM_STATUS_SECTION_NOT_IMAGE:
		return ERROR_INVALID_PARAMETER;
	case NTVM_STATUS_OBJECT_TYPE_MISMATCH:
		return ERROR_INVALID_HANDLE;
	case 0xC0000034u:	/* STATUS_OBJECT_NAME_NOT_FOUND */
		return ERROR_FILE_NOT_FOUND;
	case 0x40000035u:	/* STATUS_OBJECT_NAME_EXISTS */
		return ERROR_ALREADY_EXISTS;
	case 0xC0000106u:	/* STATUS_NAME_TOO_LONG */
		return ERROR_FILENAME_EXCED_RANGE;
	case NTVM_STATUS_INVALID_FILE_FOR_SECTION:
	case NTVM_STATUS_INVALID_IMAGE_NOT_MZ:
		return ERROR_BAD_EXE_FORMAT;
	case NTVM_STATUS_MAPPED_FILE_SIZE_ZERO:
		return ERROR_FILE_INVALID;
	case NTVM_STATUS_SECTION_TOO_BIG:
		return ERROR_NOT_ENOUGH_MEMORY;
	case NTVM_STATUS_NOT_MAPPED_DATA:
		return ERROR_INVALID_ADDRESS;
	default:
		return 0;
	}
}
