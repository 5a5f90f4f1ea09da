# plots/re_cifar10/erasing_effect.gp — Random Erasing, Table 1 (CIFAR-10): re_fmnist's figure
# (plots/re_fmnist/erasing_effect.gp: the change in best-epoch test error erasing brings, per
# depth, this suite's mean with ± 1 std bars beside the published values) for this study. The
# suite's CIFAR-10 is the JPEG re-encode of ../shared/data: the effects compare, the errors do not.
# usage: gnuplot -e "dir='results/re_cifar10'; tier='cpu'; out='plots/re_cifar10/erasing_effect'" erasing_effect.gp
study = 're_cifar10'
setname = 'CIFAR-10 (JPEG re-encodes)'
load 'plots/re_fmnist/erasing_effect.gp'
