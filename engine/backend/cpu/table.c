/* engine/backend/cpu/table.c — the fast CPU backend's op table: every op of ops.h, as cpu_<op>,
 * and the backward ops that write their activation gradients when asked (GradSet, ops.h): those
 * of a ResNet's (and GhostNet's gated) training step, and the activations and squeeze-excitation
 * gates of the compact networks, where a zero fill and a read per tensor are worth saving; and the
 * optional 1x1 -> depthwise chain (dwconv.c).
 */
#include "cpu.h"

const OpTable cpu_ops = {FOR_EACH_OP(OP_ENTRY, cpu).set_ok = OP_BIT(conv2d_backward) | OP_BIT(batchnorm_backward) |
                                                          OP_BIT(add_backward) | OP_BIT(chanpad_backward) |
                                                          OP_BIT(mul_backward) | OP_BIT(act_backward) |
                                                          OP_BIT(chanmul_backward),
                         .conv2d_chain_forward = cpu_conv2d_chain_forward};
