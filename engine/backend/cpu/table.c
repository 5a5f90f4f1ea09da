/* engine/backend/cpu/table.c — the fast CPU backend's op table: every op of ops.h, as cpu_<op>. */
#include "cpu.h"

const OpTable cpu_ops = OPS_TABLE(cpu);
