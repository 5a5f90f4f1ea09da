# plots/effv2_size_reg/size_reg.gp — EfficientNetV2 Table 5 as grouped bars: top-1 by training image
# size (groups) and RandAugment magnitude (bars), (a) this suite's tier (mean over seeds, bars ± 1
# std) and (b) the published EfficientNetV2-S ImageNet values (mean of 3 runs). The paper's
# observation: the best magnitude grows with the size.
# Data: DIR/points.csv (bin/repro export DIR), results/published.csv.
# usage: gnuplot -e "dir='results/effv2_size_reg'; tier='cpu'; out='plots/effv2_size_reg/size_reg'" size_reg.gp
if (!exists("dir")) dir = 'results/effv2_size_reg'
if (!exists("tier")) tier = 'cpu'
if (!exists("out")) out = 'plots/effv2_size_reg/size_reg'
if (!exists("published")) published = 'results/published.csv'
if (!exists("data")) data = "tier ".tier
set datafile separator comma
mags = "5 10 15"
colour(i) = word("#9ecae1 #3182bd #08519c", i)
group(l) = strstrt(l, "small_") == 1 ? 0 : strstrt(l, "mid_") == 1 ? 1 : strstrt(l, "large_") == 1 ? 2 : NaN
is_mag(l, m) = strstrt(l, "_m".m) > 0 && l[strstrt(l, "_m") + 2:] eq m
sd(c) = valid(c) ? column(c) : 0
# points.csv: 1 tier, 2 label, 5 top1, 6 top1_std; published.csv: 1 study, 2 label, 3 tier, 5 published
mine(i) = (strcol(1) eq tier && is_mag(strcol(2), word(mags, i))) ? group(strcol(2)) + (i - 2) * 0.27 : NaN
theirs(i) = (strcol(1) eq "effv2_size_reg" && is_mag(strcol(2), word(mags, i))) ? group(strcol(2)) + (i - 2) * 0.27 : NaN
set style fill solid 0.9 border -1
set boxwidth 0.25
set grid ytics
set key below horizontal
set bmargin 6
set xrange [-0.6:2.6]
set ylabel "test top-1 (%)"
do for [term in "pngcairo svg"] {
    if (term eq "svg") { set terminal svg size 1200,520 font ",11"; set output out.'.svg' } \
    else { set terminal pngcairo size 1200,520 font ",11"; set output out.'.png' }
    set multiplot layout 1,2 title "EfficientNetV2 Table 5: image size x RandAugment magnitude (EfficientNetV2-S)"
    set title sprintf("(a) this suite: tier %s on %s\n(mean over seeds, bars: ± 1 std)", tier, data)
    set xtics ("small (cpu 43 px)" 0, "mid (64 px)" 1, "large (100 px)" 2)
    set yrange [*:*]
    plot for [i=1:3] dir.'/points.csv' using (mine(i)):5 with boxes lc rgb colour(i) title "RandAugment m ".word(mags, i), \
         for [i=1:3] '' using (mine(i)):5:(sd(6)) with yerrorbars lc rgb "black" pt -1 notitle, \
         for [i=1:3] '' using (mine(i)):5:(sprintf("%.1f", $5)) with labels offset 0,1.2 font ",8" notitle
    set title "(b) published: ImageNet, mean of 3 runs\n(128 / 192 / 300 px)"
    set xtics ("128 px" 0, "192 px" 1, "300 px" 2)
    set yrange [76:84]
    plot for [i=1:3] published using (theirs(i)):5 with boxes lc rgb colour(i) title "RandAugment m ".word(mags, i), \
         for [i=1:3] '' using (theirs(i)):5:(sprintf("%.1f", $5)) with labels offset 0,0.8 font ",8" notitle
    unset multiplot
}
