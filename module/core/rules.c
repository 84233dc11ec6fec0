// SPDX-License-Identifier: GPL-2.0
/*
 * NT rules that depend only on the arguments: protection values, ZeroBits
 * and the mapping between NT and Linux protections.  Plain C (see nt.h).
 */
#include "nt.h"

/*
 * Protection values for private memory (spec 1.5, 4.4): exactly one of the
 * six base values, optionally with PAGE_GUARD or one cache attribute.
 * PAGE_WRITECOPY and PAGE_EXECUTE_WRITECOPY are for views only.  The
 * combinations ReactOS rejects (modelled on Windows, spec 1.5.4) are
 * rejected too.  Returns 0 or STATUS_INVALID_PAGE_PROTECTION.
 */
u32 nt_check_protect(u32 prot)
{
	u32 base = prot & 0xff;
	u32 mods = prot & ~0xffu;

	if (prot & ~0x7ffu)
		return NTVM_STATUS_INVALID_PAGE_PROTECTION;
	switch (base) {
	case NTVM_PAGE_NOACCESS:
	case NTVM_PAGE_READONLY:
	case NTVM_PAGE_READWRITE:
	case NTVM_PAGE_EXECUTE:
	case NTVM_PAGE_EXECUTE_READ:
	case NTVM_PAGE_EXECUTE_READWRITE:
		break;
	default:
		return NTVM_STATUS_INVALID_PAGE_PROTECTION;
	}
	/* At most one of GUARD, NOCACHE, WRITECOMBINE ... */
	if (mods & (mods - 1))
		return NTVM_STATUS_INVALID_PAGE_PROTECTION;
	/* ... and none of them with PAGE_NOACCESS. */
	if (mods && base == NTVM_PAGE_NOACCESS)
		return NTVM_STATUS_INVALID_PAGE_PROTECTION;
	return NTVM_STATUS_SUCCESS;
}

/*
 * ZeroBits to an inclusive upper address limit (spec 1.6): 0 means none;
 * 1..21 mean "the top N bits of a 32-bit address are zero"; 22..31 are
 * invalid; larger values are a mask whose leading zeros count.  Masks below
 * 0x10000 can only describe addresses below the lowest usable one; Wine
 * rejects them as invalid, and so does ntvm.  A 32-bit process (max_addr,
 * its highest user address, below 4 GiB) has no mask form (spec 1.4.3).
 * The statuses name parameter 3, NtAllocateVirtualMemory's; the map calls
 * rename them.
 */
u32 nt_zero_bits_limit(u64 zero_bits, u64 max_addr, u64 *limit)
{
	int bit;

	if (!zero_bits) {
		*limit = ~0ULL;
		return NTVM_STATUS_SUCCESS;
	}
	if (zero_bits <= 21) {
		*limit = (1ULL << (32 - zero_bits)) - 1;
		return NTVM_STATUS_SUCCESS;
	}
	if (zero_bits < 0x10000 || max_addr <= 0xffffffffULL)
		return NTVM_STATUS_INVALID_PARAMETER_3;
	for (bit = 63; !(zero_bits & (1ULL << bit)); bit--)
		;
	*limit = bit == 63 ? ~0ULL : (1ULL << (bit + 1)) - 1;
	return NTVM_STATUS_SUCCESS;
}

/* Linux protection of a committed page with NT protection prot. */
u32 nt_to_lprot(u32 prot)
{
	if (prot & NTVM_PAGE_GUARD)
		return 0;
	switch (prot & 0xff) {
	case NTVM_PAGE_READONLY:
		return NT_LPROT_R;
	case NTVM_PAGE_READWRITE:
		return NT_LPROT_R | NT_LPROT_W;
	case NTVM_PAGE_EXECUTE:
		return NT_LPROT_X;
	case NTVM_PAGE_EXECUTE_READ:
		return NT_LPROT_R | NT_LPROT_X;
	case NTVM_PAGE_EXECUTE_READWRITE:
		return NT_LPROT_R | NT_LPROT_W | NT_LPROT_X;
	default:
		return 0;
	}
}

/* NT base protection of a Linux protection (write without read is RW). */
u32 nt_from_lprot(u32 lprot)
{
	if (lprot & NT_LPROT_W)
		return lprot & NT_LPROT_X ? NTVM_PAGE_EXECUTE_READWRITE :
					    NTVM_PAGE_READWRITE;
	if (lprot & NT_LPROT_R)
		return lprot & NT_LPROT_X ? NTVM_PAGE_EXECUTE_READ :
					    NTVM_PAGE_READONLY;
	return lprot & NT_LPROT_X ? NTVM_PAGE_EXECUTE : NTVM_PAGE_NOACCESS;
}
