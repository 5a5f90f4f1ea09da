# plots/rs_additive/additive.gp — ResNet-RS Table 1 as a chart: top-1 after each cumulative step,
# this suite's tier (left axis; EMA weights where the run keeps an EMA) beside the published
# ResNet-200 ImageNet values (right axis: a different task, so its own scale).
# Data: DIR/summary.csv (bin/repro export DIR), results/published.csv.
# usage: gnuplot -e "dir='results/rs_additive'; tier='cpu'; out='plots/rs_additive/additive'" additive.gp
if (!exists("dir")) dir = 'results/rs_additive'
if (!exists("tier")) tier = 'cpu'
if (!exists("out")) out = 'plots/rs_additive/additive'
if (!exists("published")) published = 'results/published.csv'
set datafile separator comma
# the data set of this suite's runs: the paper tier trains on ImageNet, the others on Fashion-MNIST
data = (tier eq "paper") ? "ImageNet" : "Fashion-MNIST"
# the step number of "stepNN" (digit by digit: real("08") reads as a bad octal number)
digit(c) = strstrt("0123456789", c) - 1
stp(l) = 10 * digit(l[5:5]) + digit(l[6:6])
# summary.csv: 3 tier, 4 label, 7 status, 14 top1, 18 ema_top1
mine(c) = (strcol(3) eq tier && strcol(7) eq "done" && substr(strcol(4), 1, 4) eq "step") ? stp(strcol(4)) : NaN
reported(dummy) = valid(18) ? $18 : $14
theirs(dummy) = (strcol(1) eq "rs_additive") ? stp(strcol(2)) : NaN
set title sprintf("ResNet-RS additive study (Table 1): top-1 after each step\ntier %s, %s; published: ResNet-200, ImageNet", tier, data)
set xtics rotate by -30 ("baseline" 0, "+cosine LR" 1, "+longer training" 2, "+EMA" 3, "+label smoothing" 4, \
    "+stochastic depth" 5, "+RandAugment" 6, "+dropout" 7, "+less weight decay" 8, "+SE" 9, "+ResNet-D" 10)
set xrange [-0.5:10.5]
set ylabel sprintf("top-1 on %s test, this suite (%%)", data)
set y2label "top-1, published ImageNet (%)"
set y2tics
set ytics nomirror
set key outside right top box
set grid
set bmargin 7
set terminal pngcairo size 1100,600 font ",11"
set output out.'.png'
plot dir."/summary.csv" using (mine(0)):(reported(0)) smooth unique with linespoints lw 2 pt 7 lc rgb "#1f77b4" title "this suite", published using (theirs(0)):5 axes x1y2 with linespoints dt 2 pt 6 lc rgb "#7f7f7f" title "published (right axis)"
set terminal svg size 1100,600 font ",11"
set output out.'.svg'
replot
