# plots/rs_weight_decay/grid.gp — ResNet-RS Table 2 as a chart. The paper's point is a difference:
# with more regularization, the lower weight decay (4e-5) catches up with or beats 1e-4. So this
# draws, per regularization cell, top-1 at wd 4e-5 minus top-1 at wd 1e-4 (percentage points),
# this suite's tier and the published ImageNet values on one axis; bars ± one std of the
# difference where the runs have several seeds; each point labelled with its difference.
# Data: DIR/points.csv (bin/repro export DIR), results/published.csv.
# usage: gnuplot -e "dir='results/rs_weight_decay'; tier='cpu'; out='plots/rs_weight_decay/grid'" grid.gp
if (!exists("dir")) dir = 'results/rs_weight_decay'
if (!exists("tier")) tier = 'cpu'
if (!exists("out")) out = 'plots/rs_weight_decay/grid'
if (!exists("published")) published = 'results/published.csv'
set datafile separator comma
if (!exists("data")) data = "tier ".tier # the data set of the runs (scripts/plots.sh passes it)
cells = "r50_none r50_rals r50_ralsdo r200_none r200_rals r200_ralssddo"
n = words(cells)
sd(c) = valid(c) ? column(c) : 0
array mine[n]; array mine_sd[n]; array theirs[n]
do for [k=1:n] {
    a = word(cells, k).'_wd4e5'; b = word(cells, k).'_wd1e4'
    m = 0; s = 0; p = 0; v = 0; ok = 0
    undefine STATS_*; stats dir.'/points.csv' using ((strcol(1) eq tier && strcol(2) eq a) ? $5 : NaN) nooutput
    if (exists("STATS_records")) { m = STATS_max; ok = ok + 1 }
    undefine STATS_*; stats dir.'/points.csv' using ((strcol(1) eq tier && strcol(2) eq a) ? sd(6) : NaN) nooutput
    if (exists("STATS_records")) { v = v + STATS_max**2 }
    undefine STATS_*; stats dir.'/points.csv' using ((strcol(1) eq tier && strcol(2) eq b) ? $5 : NaN) nooutput
    if (exists("STATS_records")) { m = m - STATS_max; ok = ok + 1 }
    undefine STATS_*; stats dir.'/points.csv' using ((strcol(1) eq tier && strcol(2) eq b) ? sd(6) : NaN) nooutput
    if (exists("STATS_records")) { v = v + STATS_max**2 }
    mine[k] = ok == 2 ? m : NaN
    mine_sd[k] = sqrt(v)
    undefine STATS_*; stats published using ((strcol(1) eq "rs_weight_decay" && strcol(2) eq a) ? $5 : NaN) nooutput
    p = exists("STATS_records") ? STATS_max : NaN
    undefine STATS_*; stats published using ((strcol(1) eq "rs_weight_decay" && strcol(2) eq b) ? $5 : NaN) nooutput
    theirs[k] = exists("STATS_records") ? p - STATS_max : NaN
}
# the cells as rows: x, this suite's difference and its std, the published difference
set print $D
do for [k=1:n] { print sprintf("%d %s %g %s", k, mine[k] == mine[k] ? sprintf("%g", mine[k]) : "NaN", mine_sd[k], theirs[k] == theirs[k] ? sprintf("%g", theirs[k]) : "NaN") }
set print
set title sprintf("ResNet-RS weight decay x regularization (Table 2): top-1 at wd 4e-5 minus top-1 at wd 1e-4\nthis suite: tier %s, %s; published: ImageNet. Above 0: the lower weight decay is better", tier, data)
set xtics ("r50\nnone" 1, "r50\nRA+LS" 2, "r50\nRA+LS+DO" 3, "r200\nnone" 4, "r200\nRA+LS" 5, "r200\nRA+LS+SD+DO" 6)
set xrange [0.4:6.6]
set ylabel "top-1 difference, wd 4e-5 minus wd 1e-4 (percentage points)"
set grid ytics
set xzeroaxis lt -1
set offsets 0, 0, 0.3, 0.3
set key below horizontal box
set bmargin 7
do for [term in "pngcairo svg"] {
    if (term eq "svg") { set terminal svg size 1100,600 font ",11"; set output out.'.svg' } \
    else { set terminal pngcairo size 1100,600 font ",11"; set output out.'.png' }
    set datafile separator whitespace
    plot $D using ($1 - 0.1):2:3 with yerrorbars pt 7 ps 2 lw 2 lc rgb "#1f77b4" \
             title sprintf("this suite (tier %s, %s; bars: ± 1 std where there are several seeds)", tier, data), \
         $D using ($1 - 0.1):2:(sprintf("%+.2f", $2)) with labels right offset -1.5,0 font ",9" tc rgb "#1f77b4" notitle, \
         $D using ($1 + 0.1):4 with points pt 6 ps 2 lw 2 lc rgb "#d62728" title "published (ImageNet)", \
         $D using ($1 + 0.1):4:(sprintf("%+.1f", $4)) with labels left offset 1.5,0 font ",9" tc rgb "#d62728" notitle
    set datafile separator comma
}
