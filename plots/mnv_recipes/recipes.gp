# plots/mnv_recipes/recipes.gp — the MobileNet baselines, three panels: (1) each model under its
# original recipe and under ra4 at the same epochs; (2) MobileNetV4-Conv-Small at 1x and 4x the
# epochs under both (does ra4's gain grow with training?); (3) ra4's unusual choices on that model:
# beta1 0.9 instead of 0.6, no random erasing, repeated augmentation 3. Bars: final test top-1 (the
# EMA weights' where a run keeps one), mean over seeds ± 1 std. The published numbers are ImageNet's
# at 224 after 350-3600 epochs (MobileNet-V1 70.9 -> 75.4, B0 76.7 -> 78.6): named in the title,
# not drawn.
# Data: DIR/points.csv (bin/repro export DIR).
# usage: gnuplot -e "dir='results/mnv_recipes'; tier='cpu'; out='plots/mnv_recipes/recipes'" recipes.gp
if (!exists("dir")) dir = 'results/mnv_recipes'
if (!exists("tier")) tier = 'cpu'
if (!exists("out")) out = 'plots/mnv_recipes/recipes'
if (!exists("data")) data = "tier ".tier
set datafile separator comma
# points.csv: 1 tier, 2 label, 5 top1, 6 top1_std
models = "mnv1 mnv2 mnv3l mnv4s b0"
mi(l) = sum [i=1:5] ((l eq "orig_".word(models, i) || l eq "ra4_".word(models, i)) ? i - 1 : 0) + \
        (strstrt(l, "_e4x") || strstrt(l, "_beta") || strstrt(l, "_noerase") || strstrt(l, "_repeat") ? NaN : 0)
orig(dummy) = strcol(1) eq tier && strstrt(strcol(2), "orig_") == 1 ? mi(strcol(2)) - 0.2 : NaN
ra4(dummy) = strcol(1) eq tier && strstrt(strcol(2), "ra4_") == 1 ? mi(strcol(2)) + 0.2 : NaN
ax(l) = l eq "orig_mnv4s" ? -0.2 : l eq "ra4_mnv4s" ? 0.2 : l eq "orig_mnv4s_e4x" ? 0.8 : l eq "ra4_mnv4s_e4x" ? 1.2 : NaN
axo(dummy) = strcol(1) eq tier && strstrt(strcol(2), "orig_") == 1 ? ax(strcol(2)) : NaN
axr(dummy) = strcol(1) eq tier && strstrt(strcol(2), "ra4_") == 1 ? ax(strcol(2)) : NaN
ab(l) = l eq "ra4_mnv4s" ? 0 : l eq "ra4_mnv4s_beta09" ? 1 : l eq "ra4_mnv4s_noerase" ? 2 : l eq "ra4_mnv4s_repeat3" ? 3 : NaN
abl(dummy) = strcol(1) eq tier ? ab(strcol(2)) : NaN
sd(c) = valid(c) ? column(c) : 0
set style fill solid 0.85 border -1
set grid ytics
set key top left font ",9"
set ylabel "test top-1 (%)"
set bmargin 4
do for [term in "pngcairo svg"] {
    if (term eq "svg") { set terminal svg size 1500,500 font ",11"; set output out.'.svg' } \
    else { set terminal pngcairo size 1500,500 font ",11"; set output out.'.png' }
    set multiplot layout 1,3 title sprintf("MobileNet baselines: original recipes vs timm's ra4 (this suite: tier %s on %s; ImageNet: MNv1 70.9 -> 75.4, B0 76.7 -> 78.6 at 3600 epochs)", tier, data)
    set title "each model, the same epochs"
    set boxwidth 0.38
    set xrange [-0.6:4.6]
    set xtics ("MNv1" 0, "MNv2" 1, "MNv3-L" 2, "MNv4-S" 3, "B0" 4)
    plot dir.'/points.csv' using (orig(0)):5 with boxes lc rgb "#7f7f7f" title "original", \
         '' using (orig(0)):5:(sd(6)) with yerrorbars lc rgb "black" pt -1 notitle, \
         '' using (ra4(0)):5 with boxes lc rgb "#1f77b4" title "ra4", \
         '' using (ra4(0)):5:(sd(6)) with yerrorbars lc rgb "black" pt -1 notitle
    set title "MobileNetV4-Conv-Small: 1x vs 4x the epochs"
    set xrange [-0.6:1.6]
    set xtics ("1x" 0, "4x" 1)
    plot dir.'/points.csv' using (axo(0)):5 with boxes lc rgb "#7f7f7f" title "original", \
         '' using (axo(0)):5:(sd(6)) with yerrorbars lc rgb "black" pt -1 notitle, \
         '' using (axr(0)):5 with boxes lc rgb "#1f77b4" title "ra4", \
         '' using (axr(0)):5:(sd(6)) with yerrorbars lc rgb "black" pt -1 notitle
    set title "ra4's choices (MobileNetV4-Conv-Small)"
    set boxwidth 0.6
    set xrange [-0.6:3.6]
    set xtics ("ra4" 0, "beta1 0.9" 1, "no erasing" 2, "repeated\naug. 3" 3)
    plot dir.'/points.csv' using (abl(0)):5 with boxes lc rgb "#1f77b4" title "ra4 and one change", \
         '' using (abl(0)):5:(sd(6)) with yerrorbars lc rgb "black" pt -1 notitle, \
         '' using (abl(0)):5:(sprintf("%.1f", $5)) with labels offset 0,0.8 font ",8" notitle
    unset multiplot
}
