# plots/effv2_fused/fused.gp — EfficientNetV2 Table 3 as four panels per Fused-MBConv placement in
# EfficientNet-B4 (none, stages 1-3, 1-5, 1-7): parameters, MACs per image, training images/s on
# this machine (mean over the epochs of each done run, then over seeds) and top-1 (mean over seeds,
# bars ± 1 std), the published ImageNet top-1 beside this suite's (Table 3's parameters are of the
# full-size B4, and its throughput a V100's and a TPU's: another scale and machine than these).
# Data: DIR/summary.csv, DIR/points.csv (bin/repro export DIR), results/published.csv.
# usage: gnuplot -e "dir='results/effv2_fused'; tier='cpu'; out='plots/effv2_fused/fused'" fused.gp
if (!exists("dir")) dir = 'results/effv2_fused'
if (!exists("tier")) tier = 'cpu'
if (!exists("out")) out = 'plots/effv2_fused/fused'
if (!exists("published")) published = 'results/published.csv'
if (!exists("data")) data = "tier ".tier
set datafile separator comma
labels = "none fused3 fused5 fused7"
names = "none 1-3 1-5 1-7"
# points.csv: 1 tier, 2 label, 5 top1, 6 top1_std, 11 macs, 12 params; summary.csv: 3 tier, 4 label,
# 7 status, 20 img_per_s
at(l) = l eq "none" ? 0 : l eq "fused3" ? 1 : l eq "fused5" ? 2 : l eq "fused7" ? 3 : NaN
mine(dummy) = strcol(1) eq tier ? at(strcol(2)) : NaN
theirs(dummy) = strcol(1) eq "effv2_fused" ? at(strcol(2)) + 0.2 : NaN
sd(c) = valid(c) ? column(c) : 0
# images/s per placement: the mean over its runs in summary.csv
array ips[4]
do for [i=1:4] {
    undefine STATS_*
    stats dir.'/summary.csv' using ((strcol(3) eq tier && strcol(4) eq word(labels, i) && strcol(7) eq "done") ? $20 : NaN) nooutput
    ips[i] = exists("STATS_mean") ? STATS_mean : NaN
}
set style fill solid 0.85 border -1
set boxwidth 0.35
set grid ytics
set xrange [-0.6:3.6]
set xtics ("none" 0, "1-3" 1, "1-5" 2, "1-7" 3)
set xlabel "stages with Fused-MBConv"
set key top left font ",9"
do for [term in "pngcairo svg"] {
    if (term eq "svg") { set terminal svg size 1500,480 font ",11"; set output out.'.svg' } \
    else { set terminal pngcairo size 1500,480 font ",11"; set output out.'.png' }
    set multiplot layout 1,4 title sprintf("EfficientNetV2 Table 3: Fused-MBConv placement in EfficientNet-B4 (this suite: tier %s on %s)", tier, data)
    set title "parameters (millions)"
    set yrange [0:*]
    plot dir.'/points.csv' using (mine(0)):($12 / 1e6) with boxes lc rgb "#1f77b4" title "this suite", \
         '' using (mine(0)):($12 / 1e6):(sprintf("%.2f", $12 / 1e6)) with labels offset 0,0.7 font ",8" notitle
    set title "MACs per image (millions)"
    plot dir.'/points.csv' using (mine(0)):($11 / 1e6) with boxes lc rgb "#1f77b4" title "this suite", \
         '' using (mine(0)):($11 / 1e6):(sprintf("%.0f", $11 / 1e6)) with labels offset 0,0.7 font ",8" notitle
    set title "training images/s (this machine)"
    set datafile separator whitespace # gnuplot 5.4 cannot plot an array under a comma separator
    plot ips using ($1 - 1):2 with boxes lc rgb "#ff7f0e" title "this suite", \
         ips using ($1 - 1):2:(sprintf("%.0f", $2)) with labels offset 0,0.7 font ",8" notitle
    set datafile separator comma
    set title "test top-1 (%)"
    set yrange [*:*]
    set boxwidth 0.3
    plot dir.'/points.csv' using (mine(0) - 0.2):5 with boxes lc rgb "#1f77b4" title "this suite (± 1 std)", \
         '' using (mine(0) - 0.2):5:(sd(6)) with yerrorbars lc rgb "black" pt -1 notitle, \
         published using (theirs(0)):5 with boxes lc rgb "#d62728" title "published (ImageNet)"
    unset multiplot
}
