"""Speed of the edgenes supernet against the plain DARTS formulation of the same network.

    .venv/bin/python benchmarks/supernet.py [--steps 20] [--device cpu] [--kinds plain,edgenes,compiled] [--classes 10]
                                            [--inputs 3x32,1x28] [--json figures/bench/supernet.json]

Configuration (issue 7): one reduction cell, C = 10, the 7 operations, batch 64, inputs 3x32x32 and 1x28x28.
For each formulation, input and step kind it runs a fresh subprocess (so peak memory is that of one
configuration), does 2 warm-up steps and times `--steps` steps:

- weight step: forward and backward of the supernet on one batch, SGD step on the weights;
- first-order iteration: an architecture step (forward, backward, Adam step on alpha and beta) on one
  batch, then a weight step on another. edgenes does it as `edgenes.search.DartsStepCB` does (each
  backward asks only for the gradients its step uses); the plain formulation as the DARTS code does
  (backward into every parameter, then zero the gradients the step does not use).

`--kinds compiled` adds the edgenes net under `torch.compile(fullgraph=True)` (CUDA graphs on CUDA, as
`Run(compile='on')` compiles a training's network); its warm-up (compiling) is reported apart from the timed steps.
The paper's shape is `--inputs 3x32 --classes 100` (CIFAR-100).

Images per second count the images of the timed steps (an iteration uses two batches). Peak memory is
the process's peak resident set size (ru_maxrss) minus the resident size after building the model and
the data, on the CPU; on CUDA it is torch.cuda.max_memory_allocated. Before timing, it checks that both
formulations give the same logits and gradients for the same weights.

The plain formulation is written here on purpose: every edge runs every operation on its own and sums
them with the weights (DARTS' MixedOp), with the same operation modules (edgenes.space.OPS) and the same
parameter names, so the edgenes network's state_dict loads into it.
"""
import argparse, json, os, resource, subprocess, sys, time, platform
from pathlib import Path
import torch
import torch.nn as nn
import torch.nn.functional as F
from edgenes.numerics import float_tol, rel_diff
from edgenes.space import OPS, PRIMITIVES, N_NODES, EDGE_OFFSETS, FactorizedReduce, ReLUConvBN, SearchNet, arch_weights

# ---- the plain DARTS formulation -------------------------------------------------------------
class PlainMixedOp(nn.Module):
    def __init__(self, C, stride):
        super().__init__()
        self.ops = nn.ModuleList(nn.Sequential(OPS[p](C, stride, False), nn.BatchNorm2d(C, affine=False)) if 'pool' in p
                                 else OPS[p](C, stride, False) for p in PRIMITIVES)
    def forward(self, x, w): return sum(wi * op(x) for wi, op in zip(w, self.ops))

class PlainCell(nn.Module):
    def __init__(self, C_pp, C_p, C, reduction):
        super().__init__()
        self.pre0, self.pre1 = ReLUConvBN(C_pp, C, 1, 1, 0, affine=False), ReLUConvBN(C_p, C, 1, 1, 0, affine=False)
        self.edges = nn.ModuleList(PlainMixedOp(C, 2 if reduction and j < 2 else 1) for i in range(N_NODES) for j in range(i + 2))
    def forward(self, s0, s1, wa, wb):
        states = [self.pre0(s0), self.pre1(s1)]
        for i, o in enumerate(EDGE_OFFSETS):
            states.append(sum(wb[o + j] * self.edges[o + j](h, wa[o + j]) for j, h in enumerate(states)))
        return torch.cat(states[2:], dim=1)

class PlainNet(nn.Module):
    "One reduction cell, as edgenes.space.SearchNet(layers=1), written the plain way."
    def __init__(self, C=10, n_classes=10, in_ch=3):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_ch, 3 * C, 3, padding=1, bias=False), nn.BatchNorm2d(3 * C))
        self.cells = nn.ModuleList([PlainCell(3 * C, 3 * C, 2 * C, True)])
        self.classifier = nn.Linear(N_NODES * 2 * C, n_classes)
    def forward(self, x, alpha, beta):
        wa, wb = arch_weights(alpha, beta)
        s = self.stem(x)
        return self.classifier(F.adaptive_avg_pool2d(self.cells[0](s, s, wa, wb), 1).flatten(1))

def build(kind, C, in_ch, seed=0, classes=10):
    torch.manual_seed(seed)
    fast = SearchNet(C, classes, in_ch, layers=1)
    if kind in ('edgenes', 'compiled'): return fast
    plain = PlainNet(C, classes, in_ch); plain.load_state_dict(fast.state_dict()); return plain

def longest_sum(C=10, size=32, bs=8)->int:
    "Terms in the longest sum behind the compared values: an architecture weight's gradient, over batch x 2C channels x (size/2)^2 pixels."
    return bs * 2 * C * (size // 2) ** 2

def grad_pairs(C=10, in_ch=3, size=32, bs=8, dtype=torch.float32)->list:
    "(edgenes, plain) pairs of logits, d/d alpha, d/d beta and every weight's gradient for the same weights and batch."
    torch.manual_seed(1)
    x, y = torch.randn(bs, in_ch, size, size, dtype=dtype), torch.randint(0, 10, (bs,))
    alpha, beta = 1e-3 * torch.randn(14, 7, dtype=dtype), 1e-3 * torch.randn(14, dtype=dtype)
    res = []
    for kind in ('edgenes', 'plain'):
        net = build(kind, C, in_ch).to(dtype); a, b = alpha.clone().requires_grad_(), beta.clone().requires_grad_()
        out = net(x, a, b); F.cross_entropy(out, y).backward()
        res.append([out.detach(), a.grad, b.grad] + [p.grad for p in net.parameters()])
    return list(zip(*res))

def max_diffs(C=10, in_ch=3, size=32, bs=8, dtype=torch.float32)->dict:
    """Largest absolute and relative differences of logits and every gradient, and the tolerance of edgenes.numerics
    (n x eps of the dtype, n the longest sum) they are judged by."""
    pairs = grad_pairs(C, in_ch, size, bs, dtype)
    return {'abs': max((u - v).abs().max().item() for u, v in pairs), 'rel': max(rel_diff(u, v) for u, v in pairs),
            'tol': float_tol(dtype, longest_sum(C, size, bs)), 'n': longest_sum(C, size, bs)}

# ---- one measurement (run in a fresh process) -------------------------------------------------
def rss_mib()->float: return int(open('/proc/self/statm').read().split()[1]) * os.sysconf('SC_PAGE_SIZE') / 2**20

def measure(kind, in_ch, size, step, steps, bs=64, C=10, device='cpu', classes=10)->dict:
    net = build(kind, C, in_ch, classes=classes).to(device)
    if kind == 'compiled':        # the edgenes net under torch.compile, as Run(compile='on') does (CUDA graphs on CUDA)
        net.compile(fullgraph=True, mode='reduce-overhead' if device == 'cuda' else None)
    alpha = (1e-3 * torch.randn(14, 7, device=device)).requires_grad_(); beta = (1e-3 * torch.randn(14, device=device)).requires_grad_()
    w_opt = torch.optim.SGD(net.parameters(), 0.025, momentum=0.9, weight_decay=3e-4)
    a_opt = torch.optim.Adam([alpha, beta], 3e-4, betas=(0.5, 0.999), weight_decay=1e-3)
    g = torch.Generator().manual_seed(0)
    batches = [(torch.randn(bs, in_ch, size, size, generator=g).to(device), torch.randint(0, classes, (bs,), generator=g).to(device))
               for _ in range(4)]
    # edgenes asks each backward pass only for the gradients its step uses (edgenes.search.DartsStepCB);
    # the plain formulation does what the DARTS code does: backward() into everything, then zero the rest.
    wps, aps = list(net.parameters()), [alpha, beta]
    def backward(loss, wanted): loss.backward(inputs=wanted) if kind != 'plain' else loss.backward()
    def one(k):
        if step == 'iteration':
            xa, ya = batches[(2 * k + 1) % 4]
            backward(F.cross_entropy(net(xa, alpha, beta), ya), aps); a_opt.step(); a_opt.zero_grad(); net.zero_grad()
        xw, yw = batches[(2 * k) % 4]
        backward(F.cross_entropy(net(xw, alpha, beta), yw), wps)
        nn.utils.clip_grad_norm_(wps, 5.); w_opt.step(); w_opt.zero_grad(); alpha.grad = beta.grad = None
    base = rss_mib()
    if device == 'cuda': torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    for k in range(2 if kind != 'compiled' else 3): one(k)        # warm-up (a compiled net: compiling, recording its graphs)
    if device == 'cuda': torch.cuda.synchronize()
    warm = time.perf_counter() - t0
    t0 = time.perf_counter()
    for k in range(steps): one(k)
    if device == 'cuda': torch.cuda.synchronize()
    dt = time.perf_counter() - t0
    imgs = steps * bs * (2 if step == 'iteration' else 1)
    peak = (torch.cuda.max_memory_allocated() / 2**20 if device == 'cuda'
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - base)
    return {'formulation': kind, 'input': f'{in_ch}x{size}x{size}', 'step': step, 'seconds_per_step': dt / steps,
            'images_per_s': imgs / dt, 'peak_mib': peak, 'warmup_s': warm, 'classes': classes}

INPUTS = [(3, 32), (1, 28)]
STEPS = ['weight', 'iteration']

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--steps', type=int, default=20); ap.add_argument('--device', default='cpu')
    ap.add_argument('--json', default=''); ap.add_argument('--one', default='', help=argparse.SUPPRESS)
    ap.add_argument('--kinds', default='plain,edgenes', help='formulations: plain (the DARTS code), edgenes (eager), compiled (edgenes under torch.compile)')
    ap.add_argument('--classes', type=int, default=10, help='classes of the classifier (the paper shape: 100, CIFAR-100)')
    ap.add_argument('--inputs', default='3x32,1x28', help='input shapes, channels x size')
    a = ap.parse_args()
    if a.one:                                   # child process: one configuration
        kind, in_ch, size, step = a.one.split(',')
        print(json.dumps(measure(kind, int(in_ch), int(size), step, a.steps, device=a.device, classes=a.classes))); return
    inputs = [tuple(int(v) for v in s.split('x')) for s in a.inputs.split(',')]
    kinds = a.kinds.split(',')
    d32, d64 = max_diffs(), max_diffs(dtype=torch.float64)
    print(f"same numbers: largest difference of logits and gradients, float32 {d32['abs']:.1e} (relative {d32['rel']:.1e}, tolerance {d32['tol']:.1e}), "
          f"float64 {d64['abs']:.1e} (relative {d64['rel']:.1e}, tolerance {d64['tol']:.1e}); kernels {torch.backends.cpu.get_cpu_capability()}")
    rows = []
    for in_ch, size in inputs:
        for step in STEPS:
            for kind in kinds:
                p = subprocess.run([sys.executable, __file__, '--one', f'{kind},{in_ch},{size},{step}', '--steps', str(a.steps),
                                    '--device', a.device, '--classes', str(a.classes)], capture_output=True, text=True, check=True)
                rows.append(json.loads(p.stdout.strip().splitlines()[-1]))
    print(f'\ntorch {torch.__version__}, {a.device}, {torch.get_num_threads()} threads, {platform.processor() or platform.machine()}, '
          f'{os.cpu_count()} cores; batch 64, C = 10, {a.classes} classes, one reduction cell, {a.steps} timed steps\n')
    print('| input | step | ' + ' | '.join(f'{k} ms/step' for k in kinds) + ' | ' + ' | '.join(f'{k} vs {kinds[0]}' for k in kinds[1:])
          + ' | ' + ' | '.join(f'{k} peak MiB' for k in kinds) + ' | warm-up s (' + ', '.join(kinds) + ') |')
    print('|---|---|' + '---|' * (3 * len(kinds)))
    for in_ch, size in inputs:
        for step in STEPS:
            rs = [next(r for r in rows if r['formulation'] == k and r['input'] == f'{in_ch}x{size}x{size}' and r['step'] == step) for k in kinds]
            print(f"| {rs[0]['input']} | {step} | " + ' | '.join(f"{1000 * r['seconds_per_step']:.1f}" for r in rs) + ' | '
                  + ' | '.join(f"{rs[0]['seconds_per_step'] / r['seconds_per_step']:.2f}x" for r in rs[1:]) + ' | '
                  + ' | '.join(f"{r['peak_mib']:.0f}" for r in rs) + ' | ' + ', '.join(f"{r['warmup_s']:.1f}" for r in rs) + ' |')
    if a.json:
        Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        Path(a.json).write_text(json.dumps({'rows': rows, 'max_diff': {'float32': d32, 'float64': d64}, 'torch': torch.__version__,
                                            'device': a.device, 'threads': torch.get_num_threads(), 'steps': a.steps, 'classes': a.classes,
                                            'kinds': kinds}, indent=1))

if __name__ == '__main__': main()
