/* engine/backend/ref/table.c — the oracle's op table: every op of ops.h, as ref_<op>. */
#include "ref.h"

// the oracle stays plain: ops.c zero-fills for set bits; the chain as its two convolutions
const OpTable ref_ops = {FOR_EACH_OP(OP_ENTRY, ref).set_ok = 0, .conv2d_chain_forward = ref_conv2d_chain_forward};
