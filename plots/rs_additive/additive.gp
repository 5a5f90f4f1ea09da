# plots/rs_additive/additive.gp — ResNet-RS Table 1 as a chart: the gain in top-1 over the
# baseline after each cumulative step, this suite's tier and the published ResNet-200 ImageNet
# values on one axis (percentage points: an effect is comparable across data sets where a top-1
# is not). This suite: mean over seeds (EMA weights where the run keeps an EMA), bars ± one std
# where there are several seeds; every point labelled with its top-1.
# Data: DIR/points.csv (bin/repro export DIR), results/published.csv.
# usage: gnuplot -e "dir='results/rs_additive'; tier='cpu'; out='plots/rs_additive/additive'" additive.gp
if (!exists("dir")) dir = 'results/rs_additive'
if (!exists("tier")) tier = 'cpu'
if (!exists("out")) out = 'plots/rs_additive/additive'
if (!exists("published")) published = 'results/published.csv'
set datafile separator comma
if (!exists("data")) data = "tier ".tier # the data set of the runs (scripts/plots.sh passes it)
digit(c) = strstrt("0123456789", c) - 1
stp(l) = 10 * digit(l[5:5]) + digit(l[6:6])
# points.csv: 1 tier, 2 label, 4 n, 5 top1, 6 top1_std
mine(dummy) = (strcol(1) eq tier && substr(strcol(2), 1, 4) eq "step") ? stp(strcol(2)) : NaN
theirs(dummy) = (strcol(1) eq "rs_additive") ? stp(strcol(2)) : NaN
undefine STATS_*
stats dir.'/points.csv' using (strcol(1) eq tier && strcol(2) eq "step00" ? $5 : NaN) nooutput
base = exists("STATS_max") ? STATS_max : NaN
undefine STATS_*
stats published using (strcol(1) eq "rs_additive" && strcol(2) eq "step00" ? $5 : NaN) nooutput
pbase = exists("STATS_max") ? STATS_max : NaN
sd(c) = valid(c) ? column(c) : 0
set title sprintf("ResNet-RS additive study (Table 1): gain over the baseline after each step\nthis suite: tier %s, ResNet-50 on %s (baseline %.2f%%); published: ResNet-200 on ImageNet (baseline %.1f%%)", tier, data, base, pbase)
set xtics rotate by -30 ("baseline" 0, "+cosine LR" 1, "+longer training" 2, "+EMA" 3, "+label smoothing" 4, \
    "+stochastic depth" 5, "+RandAugment" 6, "+dropout" 7, "+less weight decay" 8, "+SE" 9, "+ResNet-D" 10)
set xrange [-0.5:10.5]
set ylabel "top-1 minus the baseline's (percentage points)"
set grid
set key below horizontal box
set bmargin 9
set xzeroaxis lt -1
do for [term in "pngcairo svg"] {
    if (term eq "svg") { set terminal svg size 1100,620 font ",11"; set output out.'.svg' } \
    else { set terminal pngcairo size 1100,620 font ",11"; set output out.'.png' }
    plot dir.'/points.csv' using (mine(0)):($5 - base):(sd(6)) with yerrorlines lw 2 pt 7 lc rgb "#1f77b4" \
             title sprintf("this suite (tier %s, %s; bars: ± 1 std over seeds where there are several)", tier, data), \
         ''                using (mine(0)):($5 - base):(sprintf("%.1f", $5)) with labels offset 0,1 font ",9" tc rgb "#1f77b4" notitle, \
         published using (theirs(0)):($5 - pbase) with linespoints dt 2 lw 2 pt 6 lc rgb "#d62728" title "published (ResNet-200, ImageNet)", \
         published using (theirs(0)):($5 - pbase):(sprintf("%.1f", $5)) with labels offset 0,-1 font ",9" tc rgb "#d62728" notitle
}
