# plots/effv2_progressive/progressive.gp — EfficientNetV2's progressive learning (section 4, Table 6)
# as three panels: (a) each arm's final top-1 against its training wall time (mean over seeds, bars
# ± 1 std both ways; the claim: progressive reaches fixed-size accuracy in less time); (b) the test
# top-1 (EMA weights where kept) of seed 1 of each arm after every epoch against the wall time
# spent so far; (c) the
# schedule: the training image size of every epoch (seed 1), with each arm's RandAugment range in
# the key. Evaluation is at model.res throughout.
# Data: DIR/points.csv and DIR/<tier>_<arm>_s1.csv (bin/repro export DIR).
# usage: gnuplot -e "dir='results/effv2_progressive'; tier='cpu'; out='plots/effv2_progressive/progressive'" progressive.gp
if (!exists("dir")) dir = 'results/effv2_progressive'
if (!exists("tier")) tier = 'cpu'
if (!exists("out")) out = 'plots/effv2_progressive/progressive'
if (!exists("data")) data = "tier ".tier
set datafile separator comma
arms = "fixed resize code paper"
what(a) = a eq "fixed" ? "fixed size (RandAugment at its final magnitude)" : \
          a eq "resize" ? "sizes grow, RandAugment fixed at its final magnitude" : \
          a eq "code" ? "released code's rule: sizes and RandAugment 5..10 grow" : \
                        "paper's rule: sizes, RandAugment 5..15, dropout 0.1..0.3 grow"
colour(i) = word("#7f7f7f #ff7f0e #1f77b4 #2ca02c", i)
run(a) = sprintf("%s/%s_%s_s1.csv", dir, tier, a)
sd(c) = valid(c) ? column(c) : 0
# points.csv: 1 tier, 2 label, 5 top1, 6 top1_std, 9 wall_s, 10 wall_s_std
mine(a) = (strcol(1) eq tier && strcol(2) eq a) ? $9 / 60 : NaN
# the run CSVs: 3 image_size, 7 eval_top1, 9 ema_top1, 13 seconds (the epoch with its evaluations);
# the EMA weights' top-1 where the run keeps an EMA, as points.csv's top1 (panel a) reports it
top1(dummy) = valid(9) ? $9 : $7
cum = 0
minutes(dummy) = (cum = ($0 == 0 ? 0 : cum) + $13, cum / 60)
do for [term in "pngcairo svg"] {
    if (term eq "svg") { set terminal svg size 1500,520 font ",11"; set output out.'.svg' } \
    else { set terminal pngcairo size 1500,520 font ",11"; set output out.'.png' }
    set multiplot layout 1,3 title sprintf("EfficientNetV2 progressive learning, tier %s on %s (EfficientNetV2-S; eval at model.res)", tier, data)
    set grid
    set key below vertical Left reverse font ",9"
    set bmargin 8
    set title "(a) final top-1 vs training wall time\n(mean over seeds, bars: ± 1 std)"
    set xlabel "wall time per run (minutes)"
    set ylabel "test top-1 (%)"
    plot for [i=1:4] dir.'/points.csv' using (mine(word(arms, i))):5:(sd(10) / 60):(sd(6)) with xyerrorbars \
             pt 7 ps 1.3 lw 2 lc rgb colour(i) title word(arms, i)
    set title "(b) test top-1 after each epoch vs wall time so far\n(seed 1)"
    set xlabel "wall time (minutes)"
    plot for [i=1:4] run(word(arms, i)) using (minutes(0)):(top1(0)) skip 1 with linespoints pt 7 ps 0.5 lw 2 \
             lc rgb colour(i) title word(arms, i)
    set title "(c) the schedule: training image size per epoch\n(seed 1)"
    set xlabel "epoch"
    set ylabel "training image size (px)"
    plot for [i=1:4] run(word(arms, i)) using 1:($3 + (i - 2.5) * 0.6) skip 1 with steps lw 2 lc rgb colour(i) \
             title what(word(arms, i))
    unset multiplot
}
