# plots/re_fmnist/erasing_effect.gp — Random Erasing, Table 1 (Fashion-MNIST) as the paper's point:
# the change in test error that random erasing brings, per depth: error with erasing minus error
# of the baseline (best epoch, percentage points; below 0, erasing helps). This suite's tier
# (mean over seeds; bars ± one std of the difference where there are several seeds) and the
# published values (paper tier: 300 epochs) on one axis, each point labelled.
# Data: DIR/points.csv (bin/repro export DIR), results/published.csv. The same figure draws
# re_cifar10's (plots/re_cifar10/erasing_effect.gp sets study and setname, then loads this file).
# usage: gnuplot -e "dir='results/re_fmnist'; tier='cpu'; out='plots/re_fmnist/erasing_effect'" erasing_effect.gp
if (!exists("study")) study = 're_fmnist'
if (!exists("setname")) setname = 'Fashion-MNIST'
if (!exists("dir")) dir = 'results/'.study
if (!exists("tier")) tier = 'cpu'
if (!exists("out")) out = 'plots/'.study.'/erasing_effect'
if (!exists("published")) published = 'results/published.csv'
set datafile separator comma
depths = "20 32 44 56 110"
n = words(depths)
sd(c) = valid(c) ? column(c) : 0
array mine[n]; array mine_sd[n]; array theirs[n]
do for [k=1:n] {
    a = 'd'.word(depths, k).'_re'; b = 'd'.word(depths, k).'_base'
    m = 0; v = 0; ok = 0; p = 0
    # points.csv: 1 tier, 2 label, 7 best_top1, 8 best_top1_std; error = 100 - best_top1
    undefine STATS_*; stats dir.'/points.csv' using ((strcol(1) eq tier && strcol(2) eq a) ? $7 : NaN) nooutput
    if (exists("STATS_records")) { m = m - STATS_max; ok = ok + 1 }
    undefine STATS_*; stats dir.'/points.csv' using ((strcol(1) eq tier && strcol(2) eq b) ? $7 : NaN) nooutput
    if (exists("STATS_records")) { m = m + STATS_max; ok = ok + 1 }
    undefine STATS_*; stats dir.'/points.csv' using ((strcol(1) eq tier && (strcol(2) eq a || strcol(2) eq b)) ? sd(8)**2 : NaN) nooutput
    if (exists("STATS_records")) { v = STATS_sum }
    mine[k] = ok == 2 ? m : NaN
    mine_sd[k] = sqrt(v)
    # published.csv: 1 study, 2 label, 4 metric, 5 published, 6 tolerance: the paper's own best-epoch
    # errors (its Table 1, on the pre-2017 Fashion-MNIST: shown, not judged, tolerance -), not the
    # current-release rerun's rows beside them
    undefine STATS_*; stats published using ((strcol(1) eq study && strcol(2) eq a && strcol(4) eq "best_error" \
                                              && strcol(6) eq "-") ? $5 : NaN) nooutput
    p = exists("STATS_records") ? STATS_max : NaN
    undefine STATS_*; stats published using ((strcol(1) eq study && strcol(2) eq b && strcol(4) eq "best_error" \
                                              && strcol(6) eq "-") ? $5 : NaN) nooutput
    theirs[k] = exists("STATS_records") ? p - STATS_max : NaN
}
set print $D
do for [k=1:n] { print sprintf("%s %s %g %s", word(depths, k), mine[k] == mine[k] ? sprintf("%g", mine[k]) : "NaN", mine_sd[k], theirs[k] == theirs[k] ? sprintf("%g", theirs[k]) : "NaN") }
set print
set title sprintf("Random Erasing on %s (Table 1): test error with erasing minus without, by depth\nthis suite: tier %s; published: 300 epochs. Below 0: erasing helps", setname, tier)
set xlabel "ResNet depth (layers)"
set ylabel "test error difference, best epoch (percentage points)"
set logscale x
set xtics (20, 32, 44, 56, 110)
set xrange [17:130]
set xzeroaxis lt -1
set offsets 0, 0, 0.5, 0.5
set key below horizontal box
set grid
set datafile separator whitespace
do for [term in "pngcairo svg"] {
    if (term eq "svg") { set terminal svg size 1000,560 font ",11"; set output out.'.svg' } \
    else { set terminal pngcairo size 1000,560 font ",11"; set output out.'.png' }
    plot $D using ($1 * 0.97):2:3 with yerrorbars pt 7 ps 1.8 lw 2 lc rgb "#1f77b4" \
             title sprintf("this suite (tier %s; bars: ± 1 std where there are several seeds)", tier), \
         $D using ($1 * 0.97):2:(sprintf("%+.2f", $2)) with labels right offset -1.2,0 font ",9" tc rgb "#1f77b4" notitle, \
         $D using ($1 * 1.03):4 with points pt 6 ps 1.8 lw 2 lc rgb "#d62728" title "published (300 epochs, 5 runs)", \
         $D using ($1 * 1.03):4:(sprintf("%+.2f", $4)) with labels left offset 1.2,0 font ",9" tc rgb "#d62728" notitle
}
