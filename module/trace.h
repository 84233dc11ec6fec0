/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ntvm: trace events, one per NT operation (Documentation/ntvm.rst,
 * "Seeing inside").  main.c defines CREATE_TRACE_POINTS and makes them;
 * handlers report through ntvm_trace_start() and ntvm_trace() (frame.h).
 * A disabled event costs a patched-out branch.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM ntvm

#if !defined(NTVM_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define NTVM_TRACE_H

#include <linux/tracepoint.h>

/* The operations, as the events name them. */
#ifndef NTVM_TRACE_OPS_ENUM
#define NTVM_TRACE_OPS_ENUM
enum ntvm_trace_op {
	NTVM_OP_ALLOCATE,
	NTVM_OP_FREE,
	NTVM_OP_PROTECT,
	NTVM_OP_QUERY,
	NTVM_OP_GUARD,
	NTVM_OP_WATCH,
	NTVM_OP_WW_SCAN,
	NTVM_OP_SECTION_CREATE,
	NTVM_OP_SECTION_QUERY,
	NTVM_OP_SECTION_OPEN,
	NTVM_OP_MAP_VIEW,
	NTVM_OP_UNMAP_VIEW,
	NTVM_OP_MEMCTL,
};
#endif

TRACE_DEFINE_ENUM(NTVM_OP_ALLOCATE);
TRACE_DEFINE_ENUM(NTVM_OP_FREE);
TRACE_DEFINE_ENUM(NTVM_OP_PROTECT);
TRACE_DEFINE_ENUM(NTVM_OP_QUERY);
TRACE_DEFINE_ENUM(NTVM_OP_GUARD);
TRACE_DEFINE_ENUM(NTVM_OP_WATCH);
TRACE_DEFINE_ENUM(NTVM_OP_WW_SCAN);
TRACE_DEFINE_ENUM(NTVM_OP_SECTION_CREATE);
TRACE_DEFINE_ENUM(NTVM_OP_SECTION_QUERY);
TRACE_DEFINE_ENUM(NTVM_OP_SECTION_OPEN);
TRACE_DEFINE_ENUM(NTVM_OP_MAP_VIEW);
TRACE_DEFINE_ENUM(NTVM_OP_UNMAP_VIEW);
TRACE_DEFINE_ENUM(NTVM_OP_MEMCTL);

/*
 * One NT operation: its NT status (0 when it succeeded), the range it
 * acted on (0, 0 if none) and the time of its part under ntvm_ctx.lock.
 */
DECLARE_EVENT_CLASS(ntvm_op_class,
		    TP_PROTO(unsigned int op, u32 status, u64 base, u64 size,
			     u64 ns),
		    TP_ARGS(op, status, base, size, ns),
		    TP_STRUCT__entry(__field(unsigned int, op)
				     __field(u32, status)
				     __field(u64, base)
				     __field(u64, size)
				     __field(u64, ns)),
		    TP_fast_assign(__entry->op = op;
				   __entry->status = status;
				   __entry->base = base;
				   __entry->size = size;
				   __entry->ns = ns;),
		    TP_printk("op=%s status=0x%x base=0x%llx size=0x%llx ns=%llu",
			      __print_symbolic(__entry->op,
					       { NTVM_OP_ALLOCATE, "allocate" },
					       { NTVM_OP_FREE, "free" },
					       { NTVM_OP_PROTECT, "protect" },
					       { NTVM_OP_QUERY, "query" },
					       { NTVM_OP_GUARD, "guard" },
					       { NTVM_OP_WATCH, "watch" },
					       { NTVM_OP_WW_SCAN, "ww_scan" },
					       { NTVM_OP_SECTION_CREATE, "section_create" },
					       { NTVM_OP_SECTION_QUERY, "section_query" },
					       { NTVM_OP_SECTION_OPEN, "section_open" },
					       { NTVM_OP_MAP_VIEW, "map_view" },
					       { NTVM_OP_UNMAP_VIEW, "unmap_view" },
					       { NTVM_OP_MEMCTL, "memctl" }),
			      __entry->status, __entry->base, __entry->size,
			      __entry->ns));

DEFINE_EVENT(ntvm_op_class, ntvm_op,
	     TP_PROTO(unsigned int op, u32 status, u64 base, u64 size, u64 ns),
	     TP_ARGS(op, status, base, size, ns));

#endif /* NTVM_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
