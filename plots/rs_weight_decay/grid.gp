# plots/rs_weight_decay/grid.gp — ResNet-RS Table 2 as a chart: top-1 for weight decay 1e-4 and
# 4e-5 under each regularization set, per model; this suite's tier (filled) beside the published
# ImageNet values (hollow, right axis).
# Data: DIR/summary.csv (bin/repro export DIR), results/published.csv.
# usage: gnuplot -e "dir='results/rs_weight_decay'; tier='cpu'; out='plots/rs_weight_decay/grid'" grid.gp
if (!exists("dir")) dir = 'results/rs_weight_decay'
if (!exists("tier")) tier = 'cpu'
if (!exists("out")) out = 'plots/rs_weight_decay/grid'
if (!exists("published")) published = 'results/published.csv'
set datafile separator comma
# the six regularization cells in the table's order; x = cell, the two weight decays side by side
cells = "r50_none r50_rals r50_ralsdo r200_none r200_rals r200_ralssddo"
cell(l) = (i = 0, sum [k=1:words(cells)] (strstrt(l, word(cells, k)."_wd") == 1 ? k : 0))
wd4(l) = strstrt(l, "wd4e5") > 0
mine(w) = (strcol(3) eq tier && strcol(7) eq "done" && wd4(strcol(4)) == w) ? cell(strcol(4)) - 0.15 + 0.3 * w : NaN
theirs(w) = (strcol(1) eq "rs_weight_decay" && wd4(strcol(2)) == w) ? cell(strcol(2)) - 0.15 + 0.3 * w : NaN
reported(dummy) = valid(18) ? $18 : $14
data = (tier eq "paper") ? "ImageNet" : "Fashion-MNIST" # this suite's data set at this tier
set title sprintf("ResNet-RS weight decay x regularization (Table 2)\ntier %s, %s; published: ImageNet", tier, data)
set xtics ("r50\nnone" 1, "r50\nRA+LS" 2, "r50\nRA+LS+DO" 3, "r200\nnone" 4, "r200\nRA+LS" 5, "r200\nRA+LS+SD+DO" 6)
set xrange [0.4:6.6]
set ylabel sprintf("top-1 on %s test, this suite (%%)", data)
set y2label "top-1, published ImageNet (%)"
set y2tics
set ytics nomirror
set key outside right top box
set grid ytics
set bmargin 5
set terminal pngcairo size 1100,600 font ",11"
set output out.'.png'
plot dir.'/summary.csv' using (mine(0)):(reported(0)) with points pt 7 ps 2 lc rgb "#1f77b4" title "wd 1e-4 (this suite)", \
     ''                 using (mine(1)):(reported(0)) with points pt 5 ps 2 lc rgb "#ff7f0e" title "wd 4e-5 (this suite)", \
     published using (theirs(0)):5 axes x1y2 with points pt 6 ps 2 lc rgb "#1f77b4" title "wd 1e-4 (published, right axis)", \
     published using (theirs(1)):5 axes x1y2 with points pt 4 ps 2 lc rgb "#ff7f0e" title "wd 4e-5 (published, right axis)"
set terminal svg size 1100,600 font ",11"
set output out.'.svg'
replot
