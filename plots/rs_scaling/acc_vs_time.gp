# plots/rs_scaling/acc_vs_time.gp — top-1 against measured training time (wall seconds of the run,
# every segment of a resumed one) for every scaled model and regime: the speed side of ResNet-RS's
# scaling argument. Colour: the scaling axis; marker: the regime (epochs); each point labelled
# with its scaled value (width multiplier x, depth in layers, resolution in px).
# Data: DIR/points.csv (bin/repro export DIR); labels <axis>_<value>_e<epochs>.
# usage: gnuplot -e "dir='results/rs_scaling'; tier='cpu'; out='plots/rs_scaling/acc_vs_time'" acc_vs_time.gp
if (!exists("dir")) dir = 'results/rs_scaling'
if (!exists("tier")) tier = 'cpu'
if (!exists("out")) out = 'plots/rs_scaling/acc_vs_time'
set datafile separator comma
f = dir.'/points.csv'
axis_of(l) = l[1:strstrt(l, "_") - 1]
value_of(l) = (r = l[strstrt(l, "_") + 1:*], r[1:strstrt(r, "_e") - 1])
epochs(l) = int(l[strstrt(l, "_e") + 2:*])
tag(l) = axis_of(l) eq "width" ? "x".value_of(l) : axis_of(l) eq "depth" ? value_of(l) : axis_of(l) eq "res" ? value_of(l)."px" : "base"
if (!exists("data")) data = "tier ".tier # the data set of the runs (scripts/plots.sh passes it)
# points.csv: 1 tier, 2 label, 5 top1, 6 its std, 9 wall_s, 10 its std (error bars: one std over the seeds
# where a point has several)
sd(c) = valid(c) ? column(c) : 0
regimes = system("tail -n +2 '".f."' | cut -d, -f1,2 | grep '^\"".tier."\"' | sed 's/.*_e\\([0-9]*\\)\"$/\\1/' | sort -n | uniq | tr '\\n' ' '")
axes = "base width depth res"
names = "base width depth resolution"
colors = "#000000 #1f77b4 #2ca02c #ff7f0e"
markers = "7 5 9 13 11"
on(a, e) = strcol(1) eq tier && axis_of(strcol(2)) eq a && epochs(strcol(2)) == e
set title sprintf("ResNet-RS scaling: top-1 vs measured training time\ntier %s, %s; colour: scaling axis, marker: epochs", tier, data)
set logscale x
set xlabel "training time of the run (s, this machine; every segment)"
set ylabel sprintf("top-1 on %s test (%%)", data)
set grid
set key below horizontal box maxrows 2
set bmargin 7
do for [term in "pngcairo svg"] {
    if (term eq "svg") { set terminal svg size 1100,620 font ",11"; set output out.'.svg' } \
    else { set terminal pngcairo size 1100,620 font ",11"; set output out.'.png' }
    plot for [j=1:words(regimes)] for [i=1:4] f using (on(word(axes, i), int(word(regimes, j))) ? $9 : NaN):5 \
             with points pt int(word(markers, j)) ps 1.6 lc rgb word(colors, i) \
             title (j == 1 ? word(names, i) : ""), \
         for [j=1:words(regimes)] for [i=1:4] f using (on(word(axes, i), int(word(regimes, j))) ? $9 : NaN):5:(sd(10)):(sd(6)) \
             with xyerrorbars pt -1 lc rgb word(colors, i) notitle, \
         for [j=1:words(regimes)] NaN with points pt int(word(markers, j)) ps 1.6 lc rgb "#7f7f7f" \
             title sprintf("%s epoch%s", word(regimes, j), word(regimes, j) eq "1" ? "" : "s"), \
         f using (strcol(1) eq tier ? $9 : NaN):5:(tag(strcol(2))) with labels left offset 0.8,0.4 font ",8" tc rgb "#555555" notitle
}
