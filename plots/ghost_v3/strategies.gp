# plots/ghost_v3/strategies.gp — GhostNetV3's training strategies, one bar per grid point: the
# teacher, the base strategy (3 re-parameterizable branches, distillation, cosine, no EMA, no
# Mixup/CutMix), then one change each: 1 and 2 branches, no distillation, EMA, the step schedule
# (without and with EMA), Mixup, CutMix, RandAugment, random erasing. Bars: final test top-1 (the
# EMA weights' where a run keeps one), the mean over seeds, ± 1 std (one seed: no bar); the dashed
# line is the base's mean. The paper's numbers are ImageNet GhostNetV3's (1.0x 77.1%): another
# data set and scale, named in the title, not drawn.
# Data: DIR/points.csv (bin/repro export DIR).
# usage: gnuplot -e "dir='results/ghost_v3'; tier='cpu'; out='plots/ghost_v3/strategies'" strategies.gp
if (!exists("dir")) dir = 'results/ghost_v3'
if (!exists("tier")) tier = 'cpu'
if (!exists("out")) out = 'plots/ghost_v3/strategies'
if (!exists("data")) data = "tier ".tier
set datafile separator comma
labels = "teacher base b1 b2 no_kd ema step step_ema mixup cutmix randaug erasing"
at(l) = sum [i=1:words(labels)] (word(labels, i) eq l ? i - 1 : 0) + (strstrt(" ".labels." ", " ".l." ") ? 0 : NaN)
# points.csv: 1 tier, 2 label, 5 top1, 6 top1_std, 7 seeds
mine(dummy) = strcol(1) eq tier ? at(strcol(2)) : NaN
teacher(dummy) = strcol(1) eq tier && strcol(2) eq "teacher" ? 0 : NaN
arm(dummy) = strcol(1) eq tier && strcol(2) ne "teacher" ? at(strcol(2)) : NaN
sd(c) = valid(c) ? column(c) : 0
undefine STATS_*
stats dir.'/points.csv' using ((strcol(1) eq tier && strcol(2) eq "base") ? $5 : NaN) nooutput
base = exists("STATS_mean") ? STATS_mean : NaN
set style fill solid 0.85 border -1
set boxwidth 0.6
set grid ytics
set xrange [-0.6:11.6]
set xtics ("teacher\n(R-50 x0.25)" 0, "base" 1, "1 branch" 2, "2 branches" 3, "no KD" 4, "+ EMA" 5, "step" 6, \
           "step\n+ EMA" 7, "+ Mixup" 8, "+ CutMix" 9, "+ Rand-\nAugment" 10, "+ erasing" 11) font ",9"
set ylabel "test top-1 (%)"
set bmargin 4
set key top right font ",9"
do for [term in "pngcairo svg"] {
    if (term eq "svg") { set terminal svg size 1200,520 font ",11"; set output out.'.svg' } \
    else { set terminal pngcairo size 1200,520 font ",11"; set output out.'.png' }
    set title sprintf("GhostNetV3 1.0x's training strategies (this suite: tier %s on %s; the paper: ImageNet, 77.1%%)", tier, data)
    plot dir.'/points.csv' using (teacher(0)):5 with boxes lc rgb "#7f7f7f" title "teacher (one seed)", \
         '' using (arm(0)):5 with boxes lc rgb "#1f77b4" title "GhostNetV3 (mean ± 1 std over seeds)", \
         '' using (arm(0)):5:(sd(6)) with yerrorbars lc rgb "black" pt -1 notitle, \
         '' using (mine(0)):5:(sprintf("%.1f", $5)) with labels offset 0,0.8 font ",8" notitle, \
         base with lines dt 2 lc rgb "#d62728" title "base"
}
