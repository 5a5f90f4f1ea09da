# plots/meal_v2/meal_v2.gp — MEAL V2's parts, one bar per grid point: the two teachers and the
# supervised student (its start), then each arm from that start: as many more epochs on hard labels,
# one teacher, the two-teacher ensemble, + the discriminator (MEAL V2), + hard labels, and MEAL V2
# from a random start. Bars: final test top-1, the mean over seeds, ± 1 std (the teachers: one seed).
# MEAL V2's published numbers are ImageNet ResNet-50's (76.1 -> 80.67): another data set and scale,
# named in the title, not drawn.
# Data: DIR/points.csv (bin/repro export DIR).
# usage: gnuplot -e "dir='results/meal_v2'; tier='cpu'; out='plots/meal_v2/meal_v2'" meal_v2.gp
if (!exists("dir")) dir = 'results/meal_v2'
if (!exists("tier")) tier = 'cpu'
if (!exists("out")) out = 'plots/meal_v2/meal_v2'
if (!exists("data")) data = "tier ".tier
set datafile separator comma
labels = "teacher_a teacher_b sup sup_more kd_one kd_ens meal meal_hard meal_scratch"
# points.csv: 1 tier, 2 label, 5 top1, 6 top1_std
at(l) = l eq "teacher_a" ? 0 : l eq "teacher_b" ? 1 : l eq "sup" ? 2 : l eq "sup_more" ? 3 : l eq "kd_one" ? 4 : \
        l eq "kd_ens" ? 5 : l eq "meal" ? 6 : l eq "meal_hard" ? 7 : l eq "meal_scratch" ? 8 : NaN
teacher(dummy) = strcol(1) eq tier && at(strcol(2)) < 2 ? at(strcol(2)) : NaN
student(dummy) = strcol(1) eq tier && at(strcol(2)) >= 2 ? at(strcol(2)) : NaN
sd(c) = valid(c) ? column(c) : 0
set style fill solid 0.85 border -1
set boxwidth 0.6
set grid ytics
set xrange [-0.6:8.6]
set xtics ("teacher A" 0, "teacher B" 1, "supervised" 2, "+ epochs,\nhard labels" 3, "KD, one\nteacher" 4, \
           "KD, two\nteachers" 5, "MEAL V2\n(+ discr.)" 6, "+ hard\nlabels" 7, "MEAL V2 from\nscratch" 8) font ",9"
set ylabel "test top-1 (%)"
set bmargin 4
set key top left font ",9"
do for [term in "pngcairo svg"] {
    if (term eq "svg") { set terminal svg size 1100,520 font ",11"; set output out.'.svg' } \
    else { set terminal pngcairo size 1100,520 font ",11"; set output out.'.png' }
    set title sprintf("MEAL V2's parts (this suite: tier %s on %s; the paper: ImageNet ResNet-50 76.1 -> 80.67)", tier, data)
    plot dir.'/points.csv' using (teacher(0)):5 with boxes lc rgb "#7f7f7f" title "teachers (one seed)", \
         '' using (student(0)):5 with boxes lc rgb "#1f77b4" title "student (mean ± 1 std over seeds)", \
         '' using (student(0)):5:(sd(6)) with yerrorbars lc rgb "black" pt -1 notitle, \
         '' using (at(strcol(2))):5:(sprintf("%.2f", $5)) with labels offset 0,0.8 font ",8" notitle
}
