// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libntvm: placeholders' and sections' NT-level helpers.
 *
 * Placeholders travel through the existing NTVM_IOC_ALLOCATE and
 * NTVM_IOC_FREE commands (their types are MEM_* bits, and
 * NtAllocateVirtualMemoryEx says so with NTVM_ALLOC_EX); the module owns
 * every placeholder rule and status.
 */
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
