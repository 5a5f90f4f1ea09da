/* engine/backend/ref/table.c — the oracle's op table: every op of ops.h, as ref_<op>. */
#include "ref.h"

const OpTable ref_ops = OPS_TABLE_SET(ref, 0); // the oracle stays plain: ops.c zero-fills for set bits
