#!/usr/bin/env python3
"""Summarises a scripts/fault-scenarios.sh run: per phase, every neuron's steps and loss, and
every metagraph view over time (docs/reliability.md). Usage: fault-report.py WORKDIR N"""
import csv, os, re, statistics, sys

work, n = sys.argv[1], int(sys.argv[2])
phases = []
for line in open(os.path.join(work, 'phases.log')):
    parts = line.split()
    if len(parts) == 2 and parts[1].isdigit():
        phases.append((parts[0], int(parts[1])))
at = dict(phases)
notes = [l.strip() for l in open(os.path.join(work, 'phases.log')) if l.startswith('latency')]

keys = {}      # node -> list of neuron keys (one per start)
synapse_keys = {}  # node -> list of synapse keys (one per start): what the views list
resumed = {}
for i in range(1, n + 1):
    try:
        text = open(os.path.join(work, f'n{i}', 'out.log'), errors='replace').read()
    except FileNotFoundError:
        continue
    keys[i] = re.findall(r'neuron (0x[0-9a-f]{64}) up', text)
    synapse_keys[i] = re.findall(r'synapse (0x[0-9a-f]{64})', text)
    resumed[i] = re.findall(r'Resumed from .*', text)

rows = {}
for i in range(1, n + 1):
    path = os.path.join(work, f'n{i}', 'logs', 'metrics.csv')
    if os.path.exists(path):
        rows[i] = [r for r in csv.DictReader(open(path)) if r['phase'].upper() == 'TRAIN']

def train_at(i, t):
    """The last TRAIN row of node i at or before t."""
    before = [r for r in rows.get(i, []) if int(r['time_ms']) <= t]
    return before[-1] if before else None

def loss_near(i, t, k=5):
    before = [float(r['loss']) for r in rows.get(i, []) if int(r['time_ms']) <= t]
    return statistics.mean(before[-k:]) if before else float('nan')

views = []  # (t, node index, ok, set of key prefixes)
for line in open(os.path.join(work, 'views.log')):
    p = line.split()
    if len(p) < 4:
        continue
    node = int(p[1].split(':')[0].rsplit('.', 1)[1])
    views.append((int(p[0]), node, p[2] == 'ok', set() if p[4:] in ([], ['-']) else set(p[4].split(','))))

prefix = {i: ks[0][2:10] for i, ks in synapse_keys.items() if ks}
everyone = set(prefix.values())

def first_time(t0, t1, cond):
    """Seconds after t0 at which cond(samples at one probe instant) first holds, before t1."""
    by_t = {}
    for t, node, ok, ks in views:
        if t0 <= t <= t1:
            by_t.setdefault(t, {})[node] = (ok, ks)
    for t in sorted(by_t):
        if cond(by_t[t]):
            return (t - t0) / 1000
    return None

def steps_table(name, t0, t1, nodes):
    print(f'  {"node":>4} {"steps start":>11} {"steps end":>9} {"loss first":>10} {"loss start":>10} {"loss end":>8}')
    for i in nodes:
        a, b = train_at(i, t0), train_at(i, t1)
        first = float(rows[i][0]['loss']) if rows.get(i) else float('nan')
        print(f'  {i:>4} {a["step"] if a else "-":>11} {b["step"] if b else "-":>9} {first:>10.3f} '
              f'{loss_near(i, t0):>10.3f} {loss_near(i, t1):>8.3f}')

end = at.get('end', max(t for t, *_ in views) if views else 0)
print(f'neurons: {n}; keys: ' + ', '.join(f'n{i}={p}' for i, p in sorted(prefix.items())))
full = first_time(at['settle'], end, lambda s: len(s) == n and all(ok and ks >= everyone for ok, ks in s.values()))
print(f'settle: every view full {full} s after the probe started')

if 'loss' in at:
    t0, t1 = at['loss'], at['loss-end']
    print(f'\nloss: 5 % on every link for {(t1 - t0) / 1000:.0f} s ({"; ".join(notes) or "latency not tried"})')
    steps_table('loss', t0, t1, range(1, n + 1))
    kept = all(ok and ks >= everyone for t, node, ok, ks in views if t0 + 15000 <= t <= t1)
    print(f'  every view stayed full throughout: {kept}')

if 'cut' in at:
    t0, t1, t2 = at['cut'], at['heal'], at['heal-end']
    half = lambda i: {1, 2} if i <= 2 else {3, 4, 5}
    own = lambda i: {prefix[j] for j in half(i) if j in prefix}
    split = first_time(t0, t1, lambda s: len(s) == n and all(ok and ks == own(i) for i, (ok, ks) in s.items()))
    print(f'\npartition {{1,2}} | {{3,4,5}} for {(t1 - t0) / 1000:.0f} s: every view down to its own half after {split} s (bound: expiry horizon 120 s + a round)')
    steps_table('cut', t0, t1, range(1, n + 1))
    healed = first_time(t1, t2, lambda s: len(s) == n and all(ok and ks >= everyone for ok, ks in s.values()))
    print(f'  healed: every view full again {healed} s after the heal'
          + (f' (= {healed / 10:.1f} gossip rounds of 10 s)' if healed is not None else ''))

if 'blackhole' in at:
    t0, t1 = at['blackhole'], at['blackhole-end']
    print(f'\nblackhole: node 5 frozen (SIGSTOP) for {(t1 - t0) / 1000:.0f} s; Dendrite deadline 5 s')
    for i in range(1, 5):
        def step_secs(a, b):
            rs = [r for r in rows.get(i, []) if a <= int(r['time_ms']) <= b]
            out = []
            for x, y in zip(rs, rs[1:]):
                ds = int(y['step']) - int(x['step'])
                if ds > 0:
                    out.append((int(y['time_ms']) - int(x['time_ms'])) / 1000 / ds)
            return out
        before, during = step_secs(t0 - 60000, t0), step_secs(t0, t1)
        fmt = lambda v: f'median {statistics.median(v):.2f} s, max {max(v):.2f} s' if v else 'no rows'
        print(f'  node {i}: seconds per step before {fmt(before)}; during {fmt(during)}')
    steps_table('blackhole', t0, t1, range(1, 5))

if 'kill' in at:
    t0, t1, t2 = at['kill'], at['restart'], at['restart-end']
    dead = {prefix[4], prefix[5]} if 4 in prefix and 5 in prefix else set()
    gone = first_time(t0, t1, lambda s: all(ok and not (ks & dead) for i, (ok, ks) in s.items() if i <= 3))
    print(f'\nkill -9 of nodes 4 and 5: gone from every surviving view after {gone} s (bound: 120 s expiry horizon + probe interval)')
    steps_table('kill', t0, t1, range(1, 4))
    k4 = keys.get(4, [])
    print(f'  restart of node 4: key before {k4[0][:18] if k4 else "?"}…, after {k4[-1][:18] if len(k4) > 1 else "?"}…, '
          f'same key: {len(k4) > 1 and k4[0] == k4[-1]}')
    print(f'  resumed: {resumed.get(4, ["no checkpoint line"])[-1] if resumed.get(4) else "no Resumed line"}')
    back = first_time(t1, t2, lambda s: all(ok and prefix[4] in ks for i, (ok, ks) in s.items() if i <= 4))
    print(f'  node 4 back in every live view after {back} s')
    steps_table('restart', t1, t2, range(1, 5))
