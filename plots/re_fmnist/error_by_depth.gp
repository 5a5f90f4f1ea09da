# plots/re_fmnist/error_by_depth.gp — Random Erasing, Table 1 (Fashion-MNIST) as a chart: test error
# against depth, baseline and with random erasing, reproduced (this tier's runs, mean over seeds)
# beside the published values (paper tier: 300 epochs).
# Data: DIR/summary.csv (bin/repro export DIR), results/published.csv.
# usage: gnuplot -e "dir='results/re_fmnist'; tier='cpu'; out='plots/re_fmnist/error_by_depth'" error_by_depth.gp
if (!exists("dir")) dir = 'results/re_fmnist'
if (!exists("tier")) tier = 'cpu'
if (!exists("out")) out = 'plots/re_fmnist/error_by_depth'
if (!exists("published")) published = 'results/published.csv'
set datafile separator comma
set datafile missing NaN
depth(l) = real(l[2:strstrt(l, "_") - 1])
is_re(l) = strstrt(l, "_re") > 0
# summary.csv: 3 tier, 4 label, 7 status, 16 best_top1
mine(re) = (strcol(3) eq tier && strcol(7) eq "done" && is_re(strcol(4)) == re) ? depth(strcol(4)) : NaN
# published.csv: 1 study, 2 label, 5 published (best-epoch error)
theirs(re) = (strcol(1) eq "re_fmnist" && is_re(strcol(2)) == re) ? depth(strcol(2)) : NaN
set title sprintf("Random Erasing on Fashion-MNIST: test error by depth (tier %s; published: 300 epochs)", tier)
set xlabel "ResNet depth (layers)"
set ylabel "test error, best epoch (%)"
set logscale x
set xtics (20, 32, 44, 56, 110)
set xrange [17:130]
set key outside right top box
set grid
set terminal pngcairo size 1000,560 font ",11"
set output out.'.png'
plot dir.'/summary.csv' using (mine(0)):(100 - $16) smooth unique with linespoints lw 2 pt 7 lc rgb "#1f77b4" title "baseline (this suite)", \
     ''                 using (mine(1)):(100 - $16) smooth unique with linespoints lw 2 pt 5 lc rgb "#d62728" title "random erasing p=0.5 (this suite)", \
     published          using (theirs(0)):5 with linespoints dt 2 pt 6 lc rgb "#1f77b4" title "baseline (published)", \
     published          using (theirs(1)):5 with linespoints dt 2 pt 4 lc rgb "#d62728" title "random erasing (published)"
set terminal svg size 1000,560 font ",11"
set output out.'.svg'
replot
