"""The README's papermill example runs as printed: the command is taken from README.md, only the notebook (and the
executed copy's path), the preset and the value of out_dir are swapped (Theorem 1 at smoke, into a temporary folder), and the outputs land where the
printed out_dir, read from the printed --cwd, says: the repository's figures/."""
import json, os, re, shlex, shutil, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAPERMILL = str(Path(sys.executable).parent/'papermill')

def readme_command()->list:
    "The papermill command of README.md's code block, split as a shell would."
    found = re.findall(r'^```\n(papermill nbs/paper/\S+\.ipynb .*)\n```$', (ROOT/'README.md').read_text(), re.M)
    assert len(found) == 1, f"expected one papermill command in a README code block, found {found}"
    return shlex.split(found[0])

def option(argv:list, flag:str, name:str)->int:
    "Index of the value of `flag name value` (papermill's -p) in argv."
    hits = [i for i in range(len(argv) - 2) if argv[i] == flag and argv[i + 1] == name]
    assert len(hits) == 1, f"expected one `{flag} {name} ...` in {argv}"
    return hits[0] + 2

def test_readme_papermill_command(tmp_path, smoke_batch):
    argv = readme_command()
    cwd = Path(argv[argv.index('--cwd') + 1])
    out = option(argv, '-p', 'out_dir')
    assert (ROOT/cwd/argv[out]).resolve() == ROOT/'figures'              # as printed, the outputs go to the repo's figures/
    overrides = [a for a in argv if a.startswith('overrides:')]
    assert len(overrides) == 1 and argv[argv.index(overrides[0]) - 1] == '-y'   # a dict goes through -y, not -p
    argv[0], argv[1], argv[2] = PAPERMILL, 'nbs/paper/theorem1.ipynb', str(tmp_path/'theorem1-run.ipynb')
    argv[option(argv, '-p', 'preset')] = 'smoke'
    argv[out] = str(tmp_path/'figures')
    shutil.copytree(smoke_batch['cache'], tmp_path/'cache')   # a copy of the smoke batch's store: its alpha* and hypernetwork serve
    env = {**os.environ, 'EDGENES_CACHE': str(tmp_path/'cache'), 'OMP_NUM_THREADS': '1'}
    p = subprocess.run(argv, cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    base = tmp_path/'figures'/'smoke'
    for suffix in ('.csv', '.md', '.png', '.json'): assert (base/f'theorem1{suffix}').stat().st_size > 0
    rec = json.loads((base/'theorem1.json').read_text())
    import yaml
    want = yaml.safe_load(overrides[0])['overrides']
    assert isinstance(rec['params']['overrides'], dict) and rec['params']['overrides'] == want
    assert all(rec['preset'][k] == v for k, v in want.items())           # the override reached the preset
