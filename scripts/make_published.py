#!/usr/bin/env python3
"""scripts/make_published.py — results/published.csv from the shared published tables.

Reads ../shared/published/published.csv (ImageNet tables) and small_data.csv (CIFAR, Fashion-MNIST
...) and writes every row that holds a number: the rows a study reproduces with the grid point
(label) and tier that reproduce each, the metric and a tolerance; the rows beside them (another
data release, a third party's rerun) with tolerance "-" (shown, not judged); every other row with
no study, so `repro check` lists what nothing reproduces yet. The source column is kept as read.
Run it again when the shared tables or the studies' labels change; the output is committed.

usage: scripts/make_published.py [SHARED_DIR] [OUT]   (defaults ../shared/published, results/published.csv)
"""
import csv, os, re, sys

shared = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), '..', '..', 'shared', 'published')
out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(__file__), '..', 'results', 'published.csv')
cols = ['study', 'label', 'tier', 'metric', 'published', 'tolerance', 'paper', 'table', 'note', 'source']
rows = []

used = set()  # (file, row number) of the rows written with a study

def erasing_table_row(i, r, m, study, column, about):
    """a row of the Random Erasing paper's own Table 1 (small_data.csv row i, model match m) for
    study's paper tier: best-epoch error, shown beside the reproduction, not judged"""
    kind = 're' if 'with Random Erasing' in r['setting'] else 'base'
    std = re.search(r'std=([0-9.]+)', r['setting'])
    rows.append(dict(study=study, label=f'd{m.group(1)}_{kind}', tier='paper', metric='best_error',
                     published=r['value'], tolerance='-', paper='Zhong et al. 2020 (arXiv 1708.04896)',
                     table=f'Table 1, {column}',
                     note=f"{about}; mean of 5 runs, std {std.group(1) if std else '?'}", source=r['source']))
    used.add(('small', i))


# Random Erasing on Fashion-MNIST, ResNet-20..110 at the published schedule (300 epochs), the paper
# tier of re_fmnist, on Debian's Fashion-MNIST: the CURRENT release. Judged against the current-
# release rows (a 2026 third-party reproduction with the authors' recipe, 5 seeds, best- and
# final-epoch error; its constant erasing fill is ours): tolerance 0.3 pp = twice the largest
# per-arm std of Table 1's ResNet-20 (0.14) plus rounding; check adds twice our seeds' std.
# The paper's own column (the pre-31-Aug-2017 release, which the author says scores ~0.4 lower) is
# shown beside them and not judged (small_data.md §0).
for i, r in enumerate(csv.DictReader(open(os.path.join(shared, 'small_data.csv')))):
    m = re.fullmatch(r'ResNet-(20|32|44|56|110)', r['model'])
    if not (r['paper'].startswith('Random Erasing') and r['dataset'].startswith('Fashion-MNIST') and m):
        continue
    if 'zhunzhong07/Random-Erasing README' in r['source']:  # the paper's own table
        erasing_table_row(i, r, m, 're_fmnist', 'Fashion-MNIST', f"{r['dataset']}, another release than Debian's")
    elif 'reproduction (2026)' in r['paper'] and r['dataset'] == 'Fashion-MNIST (current release)' and \
            ('baseline' in r['setting'] or 'constant fill' in r['setting']):
        kind = 'base' if 'baseline' in r['setting'] else 're'
        metric = 'best_error' if 'best-epoch' in r['setting'] else 'error'
        rows.append(dict(study='re_fmnist', label=f'd{m.group(1)}_{kind}', tier='paper', metric=metric,
                         published=r['value'], tolerance='0.3', paper=r['paper'], table='current-release rerun',
                         note=f"{r['dataset']}; {r['setting']}", source=r['source']))
        used.add(('small', i))

# Random Erasing on CIFAR-10, ResNet-20..110 (the paper's own Table 1 column), the paper tier of
# re_cifar10. The suite's CIFAR-10 is the JPEG re-encode of ../shared/data, not the paper's pixels:
# shown beside the reproduction (its effect, erasing minus baseline, is what compares), not judged
for i, r in enumerate(csv.DictReader(open(os.path.join(shared, 'small_data.csv')))):
    m = re.fullmatch(r'ResNet-(20|32|44|56|110)', r['model'])
    if not (r['paper'].startswith('Random Erasing') and r['dataset'] == 'CIFAR-10' and m
            and 'zhunzhong07/Random-Erasing README' in r['source']):
        continue
    erasing_table_row(i, r, m, 're_cifar10', 'CIFAR-10',
                      "CIFAR-10's own pixels (the suite reads JPEG re-encodes: compare the effect)")

# ResNet-RS Table 1 (additive, ResNet-200) and Table 2 (weight decay x regularization). ImageNet
# top-1; the tolerance 0.5 pp is about twice the run-to-run spread the paper reports elsewhere.
seen = set()
for i, r in enumerate(csv.DictReader(open(os.path.join(shared, 'published.csv')))):
    if not r['paper'].startswith('ResNet-RS'):
        continue
    if r['table'].startswith('T1'):
        step = re.match(r'step(\d+):', r['variant']).group(1)
        label = f'step{int(step):02d}'
        study = 'rs_additive'
    elif r['table'].startswith('T2'):
        reg, wd = re.match(r'reg=(\S+) wd=(\S+)', r['variant']).groups()
        m = {'ResNet-50': 'r50', 'ResNet-200': 'r200'}[r['model']]
        label = f"{m}_{reg.lower().replace('-', '')}_wd{wd.replace('-', '').replace('e0', 'e')}"
        study = 'rs_weight_decay'
    else:
        continue
    used.add(('pub', i))
    if (study, label) in seen:
        continue
    seen.add((study, label))
    rows.append(dict(study=study, label=label, tier='paper', metric='top1', published=r['top1'], tolerance='0.5',
                     paper='Bello et al. 2021 (arXiv 2103.07579)', table=r['table'],
                     note=f"{r['model']} {r['variant']}; {r['note']}", source=r['source']))

# EfficientNetV2 (Tan & Le 2021): Table 5 (size x RandAugment, EfficientNetV2-S, mean of 3 runs ±
# std) for effv2_size_reg, Table 3 (Fused-MBConv placement in EfficientNet-B4) for effv2_fused, and
# the released EfficientNetV2-S (progressive learning by the code's rule) for effv2_progressive's
# code arm; paper tiers, tolerance 0.5 pp (Table 5's stds are 0.05-0.16)
for i, r in enumerate(csv.DictReader(open(os.path.join(shared, 'published.csv')))):
    if not r['paper'].startswith('EfficientNetV2'):
        continue
    m5 = re.fullmatch(r'size=(128|192|300) RandAug m=(5|10|15)', r['variant'])
    m3 = re.fullmatch(r'(No fused|Fused stage1-([357]))', r['variant'])
    if r['table'].startswith('T5') and m5:
        study, label = 'effv2_size_reg', {'128': 'small', '192': 'mid', '300': 'large'}[m5.group(1)] + f'_m{m5.group(2)}'
    elif r['table'].startswith('T3') and m3:
        study, label = 'effv2_fused', 'none' if m3.group(1) == 'No fused' else f'fused{m3.group(2)}'
    elif r['table'].startswith('official ckpt table (ImageNet1K)') and r['model'] == 'EffNetV2-S':
        study, label = 'effv2_progressive', 'code'
    else:
        continue
    used.add(('pub', i))
    rows.append(dict(study=study, label=label, tier='paper', metric='top1', published=r['top1'], tolerance='0.5',
                     paper='Tan & Le 2021 (arXiv 2104.00298)', table=r['table'],
                     note=f"{r['model']} {r['variant']}; {r['note']}", source=r['source']))

# every other row that holds a number: no study reproduces it (yet)
def number(v):
    try:
        return float(v)
    except ValueError:
        return None


no_number = 0
for i, r in enumerate(csv.DictReader(open(os.path.join(shared, 'published.csv')))):
    if ('pub', i) in used:
        continue
    metric, v = ('top1', r['top1']) if number(r['top1']) is not None else ('top5', r['top5'])
    if number(v) is None:
        no_number += 1
        continue
    rows.append(dict(study='', label=f"{r['model']} {r['variant']}".strip(), tier='', metric=metric, published=v,
                     tolerance='-', paper=r['paper'], table=r['table'], note=r['note'], source=r['source']))
for i, r in enumerate(csv.DictReader(open(os.path.join(shared, 'small_data.csv')))):
    if ('small', i) in used:
        continue
    if number(r['value']) is None:
        no_number += 1
        continue
    metric = {'test_error_pct': 'error', 'test_acc_pct': 'top1'}.get(r['metric'], r['metric'])
    rows.append(dict(study='', label=f"{r['model']} ({r['dataset']})", tier='', metric=metric, published=r['value'],
                     tolerance='-', paper=r['paper'], table=r['dataset'], note=r['setting'], source=r['source']))

os.makedirs(os.path.dirname(out), exist_ok=True)
with open(out, 'w', newline='') as f:
    w = csv.DictWriter(f, fieldnames=cols, quoting=csv.QUOTE_MINIMAL, lineterminator='\n')
    w.writeheader()
    w.writerows(rows)
print(f'{out}: {len(rows)} rows ({sum(1 for r in rows if r["study"])} with a study); {no_number} rows without a '
      f'number left out')
