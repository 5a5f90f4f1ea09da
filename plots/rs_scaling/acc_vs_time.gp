# plots/rs_scaling/acc_vs_time.gp — top-1 against measured training time (wall seconds of the
# run) for every scaled model and regime: the speed side of ResNet-RS's scaling argument.
# Data: DIR/summary.csv (bin/repro export DIR).
# usage: gnuplot -e "dir='results/rs_scaling'; tier='cpu'; out='plots/rs_scaling/acc_vs_time'" acc_vs_time.gp
if (!exists("dir")) dir = 'results/rs_scaling'
if (!exists("tier")) tier = 'cpu'
if (!exists("out")) out = 'plots/rs_scaling/acc_vs_time'
set datafile separator comma
f = dir.'/summary.csv'
axis_of(l) = l[1:strstrt(l, "_") - 1]
on(a) = strcol(3) eq tier && strcol(7) eq "done" && axis_of(strcol(4)) eq a
reported(dummy) = valid(18) ? $18 : $14
data = (tier eq "paper") ? "ImageNet" : "Fashion-MNIST" # this suite's data set at this tier
set title sprintf("ResNet-RS scaling: top-1 vs measured training time, every regime\ntier %s, %s", tier, data)
set logscale x
set xlabel "training time of the run (s, this machine)"
set ylabel sprintf("top-1 on %s test (%%)", data)
set grid
set key bottom right
set terminal pngcairo size 1000,560 font ",11"
set output out.'.png'
plot f using (on("base") ? $21 : NaN):(reported(0)) with points pt 3 ps 2 lc rgb "black" title "base", \
     f using (on("width") ? $21 : NaN):(reported(0)) with points pt 7 ps 1.3 title "width", \
     f using (on("depth") ? $21 : NaN):(reported(0)) with points pt 5 ps 1.3 title "depth", \
     f using (on("res") ? $21 : NaN):(reported(0)) with points pt 9 ps 1.3 title "resolution"
set terminal svg size 1000,560 font ",11"
set output out.'.svg'
replot
