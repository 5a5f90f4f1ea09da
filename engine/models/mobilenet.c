/* engine/models/mobilenet.c — the MobileNet V1-V4 configurations, for efficientnet.c's builder.
 *
 * Block strings, stems and heads copied from timm 1.0: _gen_mobilenet_v1 and _gen_mobilenet_v2
 * (timm's EfficientNet class: ReLU6, conv_head before pooling; mobilenetv2_110d with width 1.1,
 * depth 1.2 and fix_stem_head: stem, head and the first and last stages' depths unscaled),
 * _gen_mobilenet_v3 (MobileNetV3 class: hard-swish, SE on the expansion with a ReLU and a hard
 * sigmoid, conv_head with bias after pooling) and _gen_mobilenet_v4 (conv variants: ReLU, UIB
 * blocks, conv_head without bias then norm_head after pooling). Default resolutions are timm's
 * input sizes.
 */
#include <math.h> // INFINITY

#include "efficientnet.h"

#define MNV_COMMON .round_limit = 0.9, .fused_stages = -1, \
    .in_chans = 3, .num_classes = 1000
#define MNV12(w, d, stem_fixed, head_c, scale) MNV_COMMON, .width = w, .depth = d, .stem = 32, .stem_fixed_below = stem_fixed, \
    .head = MB_HEAD_EFFNET, .head_chs = head_c, .head_scale = scale, .act = ACT_RELU6, \
    .se_style = EFFNET_SE_IN
#define MNV2_ARCH "ds_r1_k3_s1_c16", "ir_r2_k3_s2_e6_c24", "ir_r3_k3_s2_e6_c32", \
    "ir_r4_k3_s2_e6_c64", "ir_r3_k3_s1_e6_c96", "ir_r3_k3_s2_e6_c160", "ir_r1_k3_s1_e6_c320"
#define MNV3(head_c) MNV_COMMON, .width = 1, .depth = 1, .stem = 16, .stem_fixed_below = 0.75, .head = MB_HEAD_MNV3, \
    .head_chs = head_c, .head_scale = EFFNET_HEAD_FIXED, .act = ACT_HSWISH, .se_style = EFFNET_SE_MID
#define MNV4(stem_c) MNV_COMMON, .width = 1, .depth = 1, .stem = stem_c, .stem_fixed_below = 1.0, .head = MB_HEAD_MNV4, \
    .head_chs = 1280, .head_scale = EFFNET_HEAD_FIXED, .act = ACT_RELU, .se_style = EFFNET_SE_MID

const EffNetNamed mobilenet_models[] = {
    {"mobilenetv1_100", 224, {MNV12(1, 1, 0, 0, EFFNET_HEAD_FIXED),
        .arch = {"dsa_r1_k3_s1_c64", "dsa_r2_k3_s2_c128", "dsa_r2_k3_s2_c256", "dsa_r6_k3_s2_c512",
                 "dsa_r2_k3_s2_c1024"}}},
    {"mobilenetv2_100", 224, {MNV12(1, 1, 0, 1280, EFFNET_HEAD_AT_LEAST), .arch = {MNV2_ARCH}}},
    {"mobilenetv2_110d", 224, {MNV12(1.1, 1.2, INFINITY, 1280, EFFNET_HEAD_FIXED),
        .arch = {MNV2_ARCH}, .fix_first_last = true}},
    {"mobilenetv3_large_100", 224, {MNV3(1280),
        .arch = {"ds_r1_k3_s1_e1_c16_nre",
                 "ir_r1_k3_s2_e4_c24_nre ir_r1_k3_s1_e3_c24_nre",
                 "ir_r3_k5_s2_e3_c40_se0.25_nre",
                 "ir_r1_k3_s2_e6_c80 ir_r1_k3_s1_e2.5_c80 ir_r2_k3_s1_e2.3_c80",
                 "ir_r2_k3_s1_e6_c112_se0.25",
                 "ir_r3_k5_s2_e6_c160_se0.25",
                 "cn_r1_k1_s1_c960"}}},
    {"mobilenetv3_small_100", 224, {MNV3(1024),
        .arch = {"ds_r1_k3_s2_e1_c16_se0.25_nre",
                 "ir_r1_k3_s2_e4.5_c24_nre ir_r1_k3_s1_e3.67_c24_nre",
                 "ir_r1_k5_s2_e4_c40_se0.25 ir_r2_k5_s1_e6_c40_se0.25",
                 "ir_r2_k5_s1_e3_c48_se0.25",
                 "ir_r3_k5_s2_e6_c96_se0.25",
                 "cn_r1_k1_s1_c576"}}},
    {"mobilenetv4_conv_small", 224, {MNV4(32),
        .arch = {"cn_r1_k3_s2_e1_c32 cn_r1_k1_s1_e1_c32",
                 "cn_r1_k3_s2_e1_c96 cn_r1_k1_s1_e1_c64",
                 "uir_r1_a5_k5_s2_e3_c96 uir_r4_a0_k3_s1_e2_c96 uir_r1_a3_k0_s1_e4_c96",
                 "uir_r1_a3_k3_s2_e6_c128 uir_r1_a5_k5_s1_e4_c128 uir_r1_a0_k5_s1_e4_c128 "
                 "uir_r1_a0_k5_s1_e3_c128 uir_r2_a0_k3_s1_e4_c128",
                 "cn_r1_k1_s1_c960"}}},
    {"mobilenetv4_conv_medium", 256, {MNV4(32),
        .arch = {"er_r1_k3_s2_e4_c48",
                 "uir_r1_a3_k5_s2_e4_c80 uir_r1_a3_k3_s1_e2_c80",
                 "uir_r1_a3_k5_s2_e6_c160 uir_r2_a3_k3_s1_e4_c160 uir_r1_a3_k5_s1_e4_c160 "
                 "uir_r1_a3_k3_s1_e4_c160 uir_r1_a3_k0_s1_e4_c160 uir_r1_a0_k0_s1_e2_c160 "
                 "uir_r1_a3_k0_s1_e4_c160",
                 "uir_r1_a5_k5_s2_e6_c256 uir_r1_a5_k5_s1_e4_c256 uir_r2_a3_k5_s1_e4_c256 "
                 "uir_r1_a0_k0_s1_e4_c256 uir_r1_a3_k0_s1_e4_c256 uir_r1_a3_k5_s1_e2_c256 "
                 "uir_r1_a5_k5_s1_e4_c256 uir_r2_a0_k0_s1_e4_c256 uir_r1_a5_k0_s1_e2_c256",
                 "cn_r1_k1_s1_c960"}}},
    {"mobilenetv4_conv_large", 384, {MNV4(24),
        .arch = {"er_r1_k3_s2_e4_c48",
                 "uir_r1_a3_k5_s2_e4_c96 uir_r1_a3_k3_s1_e4_c96",
                 "uir_r1_a3_k5_s2_e4_c192 uir_r3_a3_k3_s1_e4_c192 uir_r1_a3_k5_s1_e4_c192 "
                 "uir_r5_a5_k3_s1_e4_c192 uir_r1_a3_k0_s1_e4_c192",
                 "uir_r4_a5_k5_s2_e4_c512 uir_r1_a5_k0_s1_e4_c512 uir_r1_a5_k3_s1_e4_c512 "
                 "uir_r2_a5_k0_s1_e4_c512 uir_r1_a5_k3_s1_e4_c512 uir_r1_a5_k5_s1_e4_c512 "
                 "uir_r3_a5_k0_s1_e4_c512",
                 "cn_r1_k1_s1_c960"}}},
};
const int mobilenet_models_count = LEN(mobilenet_models);
