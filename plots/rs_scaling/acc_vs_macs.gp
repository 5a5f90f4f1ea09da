# plots/rs_scaling/acc_vs_macs.gp — ResNet-RS Figures 2-3: top-1 against MACs, one curve per
# scaling axis (width, depth, resolution, all through the common base), one panel per epoch regime,
# each point labelled with its scaled value (width multiplier x, depth in layers, resolution in px).
# Data: DIR/points.csv (bin/repro export DIR: mean over seeds); labels <axis>_<value>_e<epochs>.
# Error bars: one standard deviation over the seeds where a point has several (the claimed points).
# usage: gnuplot -e "dir='results/rs_scaling'; tier='cpu'; out='plots/rs_scaling/acc_vs_macs'" acc_vs_macs.gp
if (!exists("dir")) dir = 'results/rs_scaling'
if (!exists("tier")) tier = 'cpu'
if (!exists("out")) out = 'plots/rs_scaling/acc_vs_macs'
set datafile separator comma
f = dir.'/points.csv'
if (!exists("data")) data = "tier ".tier # the data set of the runs (scripts/plots.sh passes it)
epochs(l) = int(l[strstrt(l, "_e") + 2:*])
axis_of(l) = l[1:strstrt(l, "_") - 1]
value_of(l) = (r = l[strstrt(l, "_") + 1:*], r[1:strstrt(r, "_e") - 1])
tag(l) = axis_of(l) eq "width" ? "x".value_of(l) : axis_of(l) eq "depth" ? value_of(l) : axis_of(l) eq "res" ? value_of(l)."px" : "base"
# points.csv: 1 tier, 2 label, 5 top1 (EMA weights' where kept), 6 its std over seeds, 11 macs
on(a, e) = strcol(1) eq tier && epochs(strcol(2)) == e && (axis_of(strcol(2)) eq a || axis_of(strcol(2)) eq "base")
reported(dummy) = $5
sd(c) = valid(c) ? column(c) : 0
regimes = system("tail -n +2 '".f."' | cut -d, -f1,2 | grep '^\"".tier."\"' | sed 's/.*_e\\([0-9]*\\)\"$/\\1/' | sort -n | uniq | tr '\\n' ' '")
n = words(regimes)
if (n == 0) { regimes = "0"; n = 1 }
set logscale x
set xlabel "MACs per image (forward, millions)"
set ylabel sprintf("top-1 on %s test (%%)", data)
set grid
set key top left
# each axis's points of regime e, base included, into a datablock: a filter on the summary leaves
# gaps (undefined points) between rows that would cut its line into single points
do for [term in "pngcairo svg"] {
    if (term eq "svg") { set terminal svg size 1400,480 font ",11"; set output out.'.svg' } \
    else { set terminal pngcairo size 1400,480 font ",11"; set output out.'.png' }
    set multiplot layout 1, n title sprintf("ResNet-RS scaling (Figs. 2-3): top-1 vs MACs by scaling axis, tier %s, %s", tier, data)
    do for [k=1:n] {
        e = int(word(regimes, k))
        set datafile separator comma
        set table $W
        plot f using ($11 / 1e6):(reported(0)):(sd(6)) with table if (on("width", e))
        set table $D
        plot f using ($11 / 1e6):(reported(0)):(sd(6)) with table if (on("depth", e))
        set table $R
        plot f using ($11 / 1e6):(reported(0)):(sd(6)) with table if (on("res", e))
        set table $L
        plot f using ($11 / 1e6):(reported(0)):(tag(strcol(2))) with table if (strcol(1) eq tier && epochs(strcol(2)) == e)
        unset table
        set datafile separator whitespace
        set title sprintf("%d epoch%s", e, e == 1 ? "" : "s")
        plot $W using 1:2 smooth unique with linespoints lw 2 pt 7 lc 1 title "width", \
             $W using 1:2:3 with yerrorbars lc 1 pt -1 notitle, \
             $D using 1:2 smooth unique with linespoints lw 2 pt 5 lc 2 title "depth", \
             $D using 1:2:3 with yerrorbars lc 2 pt -1 notitle, \
             $R using 1:2 smooth unique with linespoints lw 2 pt 9 lc 3 title "resolution", \
             $R using 1:2:3 with yerrorbars lc 3 pt -1 notitle, \
             $L using 1:2:3 with labels left offset 0.8,0.5 font ",8" tc rgb "#555555" notitle
    }
    unset multiplot
}
