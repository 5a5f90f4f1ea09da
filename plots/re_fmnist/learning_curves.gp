# plots/re_fmnist/learning_curves.gp — test error per epoch of every depth, baseline (dashed) and
# with random erasing (solid), seed 1 of this tier's runs.
# Data: DIR/<tier>_d<depth>_{base,re}_s1.csv (bin/repro export DIR).
# usage: gnuplot -e "dir='results/re_fmnist'; tier='cpu'; out='plots/re_fmnist/learning_curves'" learning_curves.gp
if (!exists("dir")) dir = 'results/re_fmnist'
if (!exists("tier")) tier = 'cpu'
if (!exists("out")) out = 'plots/re_fmnist/learning_curves'
set datafile separator comma
depths = "20 32 44 56 110"
run(d, kind) = sprintf("%s/%s_d%s_%s_s1.csv", dir, tier, d, kind)
have(f) = system("test -f '".f."' && echo 1 || echo 0") + 0
set title sprintf("Random Erasing on Fashion-MNIST: learning curves (tier %s, seed 1; dashed: baseline, solid: erasing)", tier)
set xlabel "epoch"
set ylabel "test error (%)"
set key below horizontal box maxrows 2 width -2
set bmargin 7
set grid
set logscale y
set ytics (2, 3, 4, 5, 7, 10, 15, 20, 30, 40, 50, 70, 100)
# whole epochs: a tick per epoch on a short run (smoke 2, cpu 4), gnuplot's own on the paper's 300
if (tier ne "paper") { set xtics 1 }
# the depths that have a run file of each kind (a study in progress draws what it has)
base = ""; re = ""
do for [d in depths] {
    if (have(run(d, "base"))) { base = base." ".d }
    if (have(run(d, "re"))) { re = re." ".d }
}
dcolor(d) = d eq "20" ? 1 : d eq "32" ? 2 : d eq "44" ? 3 : d eq "56" ? 4 : 7
set terminal pngcairo size 1000,600 font ",11"
set output out.'.png'
plot for [d in base] run(d, "base") using 1:(100 - $7) with linespoints dt 2 lw 1.5 lc dcolor(d) pt 6 \
         title sprintf("ResNet-%s baseline", d), \
     for [d in re] run(d, "re") using 1:(100 - $7) with linespoints dt 1 lw 2 lc dcolor(d) pt 7 \
         title sprintf("ResNet-%s erasing", d)
set terminal svg size 1000,600 font ",11"
set output out.'.svg'
replot
