"""The test command (`make test`, what .ci/run runs): install, gates, the notebooks' tests, pytest; then a summary.

    python3 tools/run_tests.py [--workers 2]

Stages, in order, each timed:
  install     `make install`: the venv from requirements.lock and the package (a no-op when up to date)
  gates       `make gates`: nbdev_clean and nbdev_export change nothing
  nbdev_test  every notebook's examples and tests, one notebook at a time (`tools/nb_outputs.py test`: nbdev_test,
              keeping each notebook's outputs for the docs site),
  pytest      side by side with it: tests/ but the site on `--workers` processes (pytest-xdist, one test file per
              worker at a time), with the 15 slowest tests and every skip's reason;
  site        tests/test_site.py, started once nbdev_test is done, so that the site it builds shows the outputs
              that run kept instead of executing every notebook again.
Both run on the CPU's best kernel path, named explicitly (ATEN_CPU_CAPABILITY); tests/test_kernels.py reruns the
fast-vs-plain checks under each other path the machine supports.
Some tests use Debian packages (chromium for the docs site, dataset-fashion-mnist for the full data set, slurm-wlm,
munge, slurmdbd and mariadb-server for the Slurm cluster): where they
are missing and this is root, their apt-get install runs in the background from the start (it waits on the network
and the disk more than on the cores) and pytest starts once it is done.
A failed stage does not stop the later ones (except install): one run shows every failure. The exit code is 0 only
if every stage passed. It runs with the system Python (standard library only), since the venv may not exist yet.

Each worker runs PyTorch with one thread (OMP_NUM_THREADS=1): two workers on a 2-core machine with PyTorch's
default of one OpenMP thread per core put four spinning threads on two cores, and small kernels then wait on
descheduled threads (measured: a depthwise convolution of the search cell took 11.8 ms with two threads on a busy
machine, 0.17 ms with one).
"""
import argparse, os, re, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT/'.venv'/'bin'
sys.path.insert(0, str(ROOT))
from edgenes.provenance import cpu_model     # the source tree's module: it imports the standard library only


def native_path()->str:
    "The best `ATEN_CPU_CAPABILITY` this CPU runs (edgenes.numerics.kernel_paths, read without importing torch)."
    flags = set()
    try: flags = set(Path('/proc/cpuinfo').read_text().split())
    except OSError: pass
    if {'avx512f', 'avx512bw', 'avx512vl', 'avx512dq'} <= flags: return 'avx512'
    return 'avx2' if {'avx2', 'fma'} <= flags else 'default'


def launch(name:str, cmd:list, env:dict)->tuple:
    "Start `cmd` with its output going to a log file; return (name, process, start time, log path)."
    log = ROOT/f'.test-{name}.log'
    print(f"\n=== {name} (started, output after it ends): {' '.join(map(str, cmd))}", flush=True)
    return name, subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=open(log, 'w'), stderr=subprocess.STDOUT), time.perf_counter(), log


def finish(job:tuple, lines:list)->tuple:
    "Wait for a launched stage, print its output, collect its lines; return (seconds, exit code)."
    name, p, t0, log = job
    rc = p.wait(); dt = time.perf_counter() - t0
    print(f"\n=== {name}: output", flush=True)
    for line in log.read_text(errors='replace').splitlines(): print(line); lines.append(line)
    return dt, rc


def stage(name:str, cmd:list, env:dict|None=None, log:list|None=None)->tuple:
    "Run `cmd` with its output streamed; return (seconds, exit code)."
    print(f"\n=== {name}: {' '.join(map(str, cmd))}", flush=True)
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
    for line in p.stdout:
        sys.stdout.write(line)
        if log is not None: log.append(line.rstrip('\n'))
    rc = p.wait()
    return time.perf_counter() - t0, rc


APT = {'chromium': '/usr/bin/chromium', 'chromium-driver': '/usr/bin/chromedriver',    # the docs-site test
       'dataset-fashion-mnist': '/usr/share/datasets/fashion-mnist',                   # the full Fashion-MNIST test
       'slurm-wlm': '/usr/sbin/slurmctld', 'munge': '/usr/sbin/munged',                  # the Slurm executor's test
       'slurmdbd': '/usr/sbin/slurmdbd', 'mariadb-server': '/usr/sbin/mariadbd'}          # (tools/slurm_cluster.py)


def start_apt_install():
    "Start `apt-get install` of the Debian packages the tests use that are missing, in the background (root only); else None."
    missing = [pkg for pkg, path in APT.items() if not Path(path).exists()]
    if not missing or not hasattr(os, 'geteuid') or os.geteuid() != 0 or not Path('/usr/bin/apt-get').exists(): return None
    log = open(ROOT/'.apt-install.log', 'w')
    env = {**os.environ, 'DEBIAN_FRONTEND': 'noninteractive'}
    print(f"Debian packages for the tests: installing {' '.join(missing)} in the background (apt-get)", flush=True)
    return subprocess.Popen(['sh', '-c', f"apt-get update -qq && apt-get install -y -qq {' '.join(missing)}"],
                            stdout=log, stderr=subprocess.STDOUT, env=env)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--workers', type=int, default=2, help='notebooks / pytest processes at a time (default 2: the 2 cores)')
    a = ap.parse_args()
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'PATH': f"{BIN}:{os.environ.get('PATH', '')}",
           'ATEN_CPU_CAPABILITY': native_path()}
    start, rows, nb_log, py_log, site_log = time.perf_counter(), [], [], [], []
    make = os.environ.get('MAKE', 'make')

    apt = start_apt_install()
    s, rc = stage('install', [make, '--no-print-directory', 'install'])
    rows.append(('install', s, rc))
    if rc == 0:
        s, rc = stage('gates', [make, '--no-print-directory', 'gates']); rows.append(('gates', s, rc))
        # The notebooks and pytest run side by side (one notebook at a time, pytest on `--workers` processes), so that
        # both cores stay busy to the end; pytest starts once the Debian packages its tests use are in place.
        nb = launch('nbdev_test', [BIN/'python', 'tools/nb_outputs.py', 'test'], env)
        if apt is not None:
            t0 = time.perf_counter(); arc = apt.wait()
            print(f"apt-get install {'done' if arc == 0 else f'FAILED (exit {arc}; see .apt-install.log)'}, "
                  f"waited {time.perf_counter() - t0:.0f} s for it", flush=True)
        py = launch('pytest', [BIN/'python', '-m', 'pytest', '-q', '-n', str(a.workers), '--dist', 'loadfile', '--no-loadscope-reorder',
                               '--durations=15', '-rs', '--ignore', 'tests/test_site.py', 'tests'], env)
        s, rc = finish(nb, nb_log); rows.append(('nbdev_test', s, rc))
        site = launch('site', [BIN/'python', '-m', 'pytest', '-q', '--durations=5', '-rs', 'tests/test_site.py'], env)
        s, rc = finish(py, py_log); rows.append(('pytest', s, rc))
        s, rc = finish(site, site_log); rows.append(('site', s, rc))
    total = time.perf_counter() - start

    print('\n' + '=' * 78)
    print(f"test command summary: {cpu_model()}, {os.cpu_count()} cores; nbdev_test (1 worker) and pytest "
          f"({a.workers} workers) side by side, then the site's tests, each process on one thread; kernels {native_path()}")
    slow_nbs = [l for l in nb_log if re.match(r'^\S+\.ipynb: \d+ secs$', l)][:5]
    for name, s, rc in rows:
        extra = ''
        if name == 'nbdev_test' and slow_nbs: extra = '  slowest: ' + ', '.join(l.replace(' secs', ' s') for l in slow_nbs)
        print(f"  {name:<11} {s:7.1f} s  {'ok' if rc == 0 else f'FAILED (exit {rc})'}{extra}")
    print(f"  {'total':<11} {total:7.1f} s  ({total / 60:.1f} min; budget 12 min)")
    if py_log:
        i = next((k for k, l in enumerate(py_log) if 'slowest 15 durations' in l), None)
        if i is not None:
            print("pytest's 15 slowest:")
            for l in py_log[i + 1:]:
                if not re.match(r'^\d+\.\d+s ', l): break
                print('  ' + l)
        skips = [l for l in py_log + site_log if l.startswith('SKIPPED')]
        if skips: print('skipped, with the reason:'); [print('  ' + l) for l in skips]
        counts = {}
        for log in (py_log, site_log):     # the two pytest runs (tests/ but the site, and the site), added up
            final = next((l for l in reversed(log) if re.search(r'\d+ (passed|failed|errors?)', l)), '')
            for v, k in re.findall(r'(\d+) (passed|failed|skipped|error)s?', final): counts[k] = counts.get(k, 0) + int(v)
        if counts:
            print(f"pytest: {counts.get('passed', 0)} passed, {counts.get('failed', 0) + counts.get('error', 0)} failed"
                  + (f", {counts['skipped']} skipped" if counts.get('skipped') else ''))
    sys.exit(0 if rows and all(rc == 0 for _, _, rc in rows) and len(rows) == 5 else 1)


if __name__ == '__main__': main()
