"""A single-node Slurm cluster on this machine, with accounting: for the Slurm executor's test and for trying it out.

    python3 tools/slurm_cluster.py install             apt-get Debian's slurm-wlm, munge, slurmdbd, mariadb-server (root)
    python3 tools/slurm_cluster.py start [--dir D]     munged, mariadbd, slurmdbd, slurmctld, slurmd (a no-op when running)
    python3 tools/slurm_cluster.py status [--dir D]    which of them run (pid), the node's state, the queue
    python3 tools/slurm_cluster.py stop [--dir D]      cancel its jobs, then end exactly the processes it started
    eval "$(python3 tools/slurm_cluster.py env)"        SLURM_CONF for sbatch, squeue, sacct and submitit in this shell

Everything lives under one folder (default /tmp/edgenes-slurm): the munge key and socket, the database, slurm.conf and
slurmdbd.conf, the controller's state, the logs (`log/`) and the started processes' ids (`pids.json`, with each
process's start time, so that a reused pid is never killed). Nothing is written to /etc: the client commands find the
cluster through `SLURM_CONF`. The daemons run as root without cgroups (proctrack/linuxproc, task/none), so it works
in a container; jobs are accounted by slurmdbd in MariaDB, so `sacct` and submitit see their real states (COMPLETED,
FAILED, CANCELLED) instead of "Bypassing sacct error" and UNKNOWN. Standard library only.
"""
import argparse, json, os, secrets, shutil, signal, socket, subprocess, sys, time
from pathlib import Path

DEFAULT_DIR = Path(os.environ.get('EDGENES_SLURM_DIR', '/tmp/edgenes-slurm'))
PACKAGES = {'slurm-wlm': '/usr/sbin/slurmctld', 'munge': '/usr/sbin/munged', 'slurmdbd': '/usr/sbin/slurmdbd',
            'mariadb-server': '/usr/sbin/mariadbd'}
ORDER = ('munged', 'mariadbd', 'slurmdbd', 'slurmctld', 'slurmd')   # start order; stop goes backwards
CLUSTER, PARTITION = 'edgenes', 'debug'


def sacct_seconds(t:str)->float:
    "Seconds of a time as sacct prints it (TotalCPU, Elapsed): [DD-][HH:]MM:SS[.mmm]."
    d, _, t = t.rpartition('-'); parts = [float(x) for x in t.split(':')]
    while len(parts) < 3: parts.insert(0, 0.)
    return (int(d) if d else 0) * 86400 + parts[0] * 3600 + parts[1] * 60 + parts[2]


def missing_packages()->list:
    "The Debian packages of the cluster that are not installed."
    return [p for p, path in PACKAGES.items() if not Path(path).exists()]


def install()->list:
    "apt-get install the missing packages (root only); return what was installed."
    missing = missing_packages()
    if not missing: return []
    if os.geteuid() != 0: sys.exit(f"slurm_cluster: {' '.join(missing)} missing; run as root or `sudo apt-get install -y {' '.join(missing)}`")
    env = {**os.environ, 'DEBIAN_FRONTEND': 'noninteractive'}
    for cmd in (['apt-get', 'update', '-qq'], ['apt-get', 'install', '-y', '-qq', *missing]):
        r = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if r.returncode: sys.exit(f"slurm_cluster: `{' '.join(cmd)}` failed ({r.returncode}): {r.stderr[-2000:]}")
    return missing


class Cluster:
    "The cluster's folder, its configuration files and the processes it started."
    def __init__(self, d:Path=DEFAULT_DIR, port_base:int=6817):
        self.d, self.port = Path(d).resolve(), port_base    # slurmctld, slurmd, slurmdbd, mariadb: port_base .. +3
        self.conf, self.dbd_conf, self.pids_file = self.d/'slurm.conf', self.d/'slurmdbd.conf', self.d/'pids.json'
        self.munge_sock, self.db_sock = self.d/'munge'/'munge.socket.2', self.d/'run'/'mysqld.sock'
        self.host = socket.gethostname().split('.')[0]

    # -- environment and processes -------------------------------------------------------------------------------
    def env(self)->dict:
        "The environment the client commands need (`SLURM_CONF`), on top of this process's."
        return {**os.environ, 'SLURM_CONF': str(self.conf)}

    def run(self, *cmd, check:bool=True, timeout:float=60)->subprocess.CompletedProcess:
        r = subprocess.run(list(map(str, cmd)), env=self.env(), capture_output=True, text=True, timeout=timeout)
        if check and r.returncode: raise RuntimeError(f"`{' '.join(map(str, cmd))}` failed ({r.returncode}): {r.stdout[-1000:]}{r.stderr[-2000:]}")
        return r

    def pids(self)->dict:
        try: return json.loads(self.pids_file.read_text())
        except (OSError, ValueError): return {}

    def _save_pids(self, pids:dict):
        tmp = self.pids_file.with_suffix('.tmp'); tmp.write_text(json.dumps(pids, indent=1)); os.replace(tmp, self.pids_file)

    @staticmethod
    def _proc(pid:int)->tuple|None:
        "(state, start time in clock ticks since boot) of a process, from /proc/pid/stat (fields 3 and 22); None if it is gone."
        try: stat = Path(f'/proc/{pid}/stat').read_text()
        except OSError: return None
        fields = stat.rsplit(')', 1)[1].split()
        return fields[0], fields[19]

    def alive(self, name:str)->int|None:
        "The pid of the daemon `name` this cluster started, if that very process still runs (not a zombie, not a reused pid)."
        p, st = self.pids().get(name), None
        if p: st = self._proc(p['pid'])
        return p['pid'] if st and st[0] != 'Z' and st[1] == p['start'] else None

    def _spawn(self, name:str, cmd:list):
        "Start a daemon in the foreground of its own session, output to log/<name>.out; record its pid and start time."
        out = open(self.d/'log'/f'{name}.out', 'ab')
        p = subprocess.Popen(list(map(str, cmd)), env=self.env(), stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                             start_new_session=True)
        st = self._proc(p.pid)                  # our child: it stays (as a zombie at worst) until we wait for it
        pids = self.pids(); pids[name] = {'pid': p.pid, 'start': st and st[1], 'cmd': [str(c) for c in cmd]}; self._save_pids(pids)
        return p

    def _wait(self, name:str, ready, what:str, timeout:float=60):
        "Wait until `ready()`; on time-out or if the daemon died, an error pointing to its logs."
        t0 = time.time()
        while time.time() - t0 < timeout:
            if self.alive(name) is None: break
            try:
                if ready(): return
            except Exception: pass
            time.sleep(0.2)
        logs = sorted((self.d/'log').glob(f'{name}*'))
        tail = ''.join(f"\n--- {p}:\n" + '\n'.join(p.read_text(errors='replace').splitlines()[-15:]) for p in logs)
        state = 'died' if self.alive(name) is None else f'not {what} after {timeout:.0f} s'
        raise RuntimeError(f"slurm_cluster: {name} {state}; its logs:{tail}")

    def _port_free(self, port:int)->bool:
        with socket.socket() as s:
            return s.connect_ex(('127.0.0.1', port)) != 0

    def _need_port(self, name:str, port:int):
        if not self._port_free(port):
            raise RuntimeError(f"slurm_cluster: port {port} (for {name}) is taken by a program this cluster did not start; "
                               f"stop it or pass --port_base (now {self.port}; ports {self.port}..{self.port + 3} are used)")

    @staticmethod
    def _connects(port:int)->bool:
        with socket.socket() as s: return s.connect_ex(('127.0.0.1', port)) == 0

    # -- configuration -------------------------------------------------------------------------------------------
    def node_line(self)->str:
        "This machine as `slurmd -C` sees it (its real CPUs, sockets, cores, threads and memory), named `hostname -s`."
        r = subprocess.run(['slurmd', '-C'], capture_output=True, text=True, timeout=30)
        line = next((l for l in r.stdout.splitlines() if l.startswith('NodeName=')), None)
        if line is None: raise RuntimeError(f"slurm_cluster: `slurmd -C` gave no NodeName line: {r.stdout}{r.stderr}")
        kv = dict(w.split('=', 1) for w in line.split())
        kv['NodeName'] = self.host
        return ' '.join(f'{k}={v}' for k, v in kv.items()) + ' NodeAddr=127.0.0.1 State=UNKNOWN'

    def write_config(self):
        "slurm.conf and slurmdbd.conf (mode 600, as slurmdbd asks), written once: a restart keeps them."
        d, auth = self.d, f'AuthType=auth/munge\nAuthInfo=socket={self.munge_sock}\n'
        secret = d/'db.secret'
        if not secret.exists(): secret.write_text(secrets.token_hex(16)); secret.chmod(0o600)
        if not self.dbd_conf.exists():
            self.dbd_conf.write_text(
                f"{auth}DbdHost=localhost\nDbdAddr=127.0.0.1\nDbdPort={self.port + 2}\nSlurmUser=root\n"
                f"PidFile={d}/run/slurmdbd.pid\nLogFile={d}/log/slurmdbd.log\nDebugLevel=info\n"
                f"StorageType=accounting_storage/mysql\nStorageHost=127.0.0.1\nStoragePort={self.port + 3}\n"
                f"StorageUser=slurm\nStoragePass={secret.read_text()}\nStorageLoc=slurm_acct_db\n")
            self.dbd_conf.chmod(0o600)
        if not self.conf.exists():
            self.conf.write_text(
                f"# A single-node cluster for edgenes' tests (tools/slurm_cluster.py); no cgroups, accounting in slurmdbd.\n"
                f"ClusterName={CLUSTER}\nSlurmctldHost={self.host}(127.0.0.1)\nSlurmUser=root\nSlurmdUser=root\n{auth}"
                f"SlurmctldPort={self.port}\nSlurmdPort={self.port + 1}\n"
                f"StateSaveLocation={d}/state\nSlurmdSpoolDir={d}/spool\n"
                f"SlurmctldPidFile={d}/run/slurmctld.pid\nSlurmdPidFile={d}/run/slurmd.pid\n"
                f"SlurmctldLogFile={d}/log/slurmctld.log\nSlurmdLogFile={d}/log/slurmd.log\n"
                "ProctrackType=proctrack/linuxproc\nTaskPlugin=task/none\nMpiDefault=none\n"
                "JobAcctGatherType=jobacct_gather/linux\nJobAcctGatherFrequency=30\n"
                f"AccountingStorageType=accounting_storage/slurmdbd\nAccountingStorageHost=127.0.0.1\n"
                f"AccountingStoragePort={self.port + 2}\nAccountingStoragePass={self.munge_sock}\nJobCompType=jobcomp/none\n"
                "SelectType=select/cons_tres\nSelectTypeParameters=CR_CPU\nSchedulerType=sched/backfill\n"
                "ReturnToService=2\nKillWait=2\n"   # a cancelled job is killed 2 s after SIGTERM (submitit ignores SIGTERM; Slurm default: 30 s)
                "MinJobAge=300\nInactiveLimit=0\nSlurmdTimeout=60\nWaittime=0\n"
                f"{self.node_line()}\nPartitionName={PARTITION} Nodes={self.host} Default=YES MaxTime=INFINITE State=UP\n")

    # -- the daemons ---------------------------------------------------------------------------------------------
    def _munged(self):
        key = self.d/'munge'/'munge.key'
        if not key.exists(): key.write_bytes(secrets.token_bytes(1024)); key.chmod(0o600)   # this cluster's own key
        self._spawn('munged', ['munged', '-F', '--force', f'--key-file={key}', f'--socket={self.munge_sock}',
                               f'--pid-file={self.d}/run/munged.pid', f'--log-file={self.d}/log/munged.log',
                               f'--seed-file={self.d}/munge/munged.seed'])
        self._wait('munged', lambda: subprocess.run(f"munge -n -S {self.munge_sock} | unmunge -S {self.munge_sock}", shell=True,
                                                    capture_output=True).returncode == 0, 'answering')

    def _mariadbd(self):
        data, fresh = self.d/'mysql', not (self.d/'mysql'/'mysql').exists()
        if fresh:
            shutil.rmtree(data, ignore_errors=True)
            r = subprocess.run(['mariadb-install-db', '--no-defaults', f'--datadir={data}', '--user=root', '--skip-test-db',
                                '--auth-root-authentication-method=socket'], capture_output=True, text=True, timeout=300)
            if r.returncode: raise RuntimeError(f"slurm_cluster: mariadb-install-db failed: {r.stdout[-1000:]}{r.stderr[-2000:]}")
        self._need_port('mariadbd', self.port + 3)
        self._spawn('mariadbd', ['mariadbd', '--no-defaults', f'--datadir={data}', f'--socket={self.db_sock}', '--user=root',
                                 f'--port={self.port + 3}', '--bind-address=127.0.0.1', '--skip-name-resolve',
                                 f'--pid-file={self.d}/run/mariadbd.pid', f'--log-error={self.d}/log/mariadbd.log',
                                 '--innodb-buffer-pool-size=32M', '--innodb-log-file-size=16M'])
        sql = ['mariadb', '--no-defaults', '-S', self.db_sock, '-u', 'root']
        self._wait('mariadbd', lambda: subprocess.run([*sql, '-e', 'select 1'], capture_output=True).returncode == 0, 'answering')
        pw = (self.d/'db.secret').read_text()
        r = subprocess.run([*sql, '-e', "CREATE DATABASE IF NOT EXISTS slurm_acct_db; "
                            f"CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY '{pw}'; "
                            "GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1'; FLUSH PRIVILEGES;"],
                           capture_output=True, text=True)
        if r.returncode: raise RuntimeError(f"slurm_cluster: creating slurmdbd's database failed: {r.stderr}")

    def _slurmdbd(self):
        self._need_port('slurmdbd', self.port + 2)
        self._spawn('slurmdbd', ['slurmdbd', '-D'])   # it reads slurmdbd.conf beside $SLURM_CONF
        self._wait('slurmdbd', lambda: self._connects(self.port + 2), 'listening')
        have = self.run('sacctmgr', '-n', '-P', 'show', 'cluster', 'format=cluster').stdout.split()
        if CLUSTER not in have: self.run('sacctmgr', '-i', 'add', 'cluster', CLUSTER)

    def _slurmctld(self):
        self._need_port('slurmctld', self.port)
        self._spawn('slurmctld', ['slurmctld', '-D'])
        self._wait('slurmctld', lambda: 'is UP' in self.run('scontrol', 'ping', check=False).stdout, 'answering `scontrol ping`')

    def _slurmd(self):
        self._need_port('slurmd', self.port + 1)
        self._spawn('slurmd', ['slurmd', '-D', '-N', self.host])
        ok = lambda: self.run('sinfo', '-h', '-n', self.host, '-o', '%T', check=False).stdout.strip().rstrip('*') in ('idle', 'mixed', 'allocated')
        self._wait('slurmd', ok, f'idle in `sinfo` (node {self.host})')

    # -- commands ------------------------------------------------------------------------------------------------
    def start(self)->dict:
        "Start what is not running, in order; return {daemon: pid}. Running daemons are left as they are."
        missing = missing_packages()
        if missing: raise RuntimeError(f"slurm_cluster: {' '.join(missing)} not installed: run `python3 tools/slurm_cluster.py install` (root)")
        for sub in ('munge', 'run', 'log', 'state', 'spool'): (self.d/sub).mkdir(parents=True, exist_ok=True)
        self.d.chmod(0o755); (self.d/'munge').chmod(0o700)
        self.write_config()
        for name in ORDER:
            if self.alive(name) is None: getattr(self, f'_{name}')()
        return {n: self.alive(n) for n in ORDER}

    def status(self)->dict:
        "{daemon: pid or None}, and the node's state and the queue when the controller runs."
        st = {n: self.alive(n) for n in ORDER}
        if st['slurmctld']:
            st['sinfo'] = self.run('sinfo', '-h', '-o', '%P %a %D %T %C', check=False).stdout.strip()
            st['squeue'] = self.run('squeue', '-h', '-o', '%i %j %T %M', check=False).stdout.strip()
        return st

    def stop(self, timeout:float=30)->dict:
        "Cancel the cluster's jobs, then end the processes it started by their recorded pids (TERM, then KILL); return what was ended."
        if self.alive('slurmctld') and self.alive('slurmd'):
            jobs = self.run('squeue', '-h', '-o', '%A', check=False).stdout.split()
            if jobs:
                self.run('scancel', *jobs, check=False)
                t0 = time.time()
                while time.time() - t0 < timeout and self.run('squeue', '-h', '-o', '%A', check=False).stdout.split(): time.sleep(0.5)
        ended = {}
        for name in reversed(ORDER):
            pid = self.alive(name)
            if pid is None: continue
            os.kill(pid, signal.SIGTERM)
            t0 = time.time()
            while time.time() - t0 < timeout and self.alive(name): time.sleep(0.1)
            if self.alive(name): os.kill(pid, signal.SIGKILL)
            ended[name] = pid
        self._save_pids({})
        return ended


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog='\n'.join(__doc__.splitlines()[1:]))
    ap.add_argument('cmd', choices=['install', 'start', 'stop', 'status', 'env'])
    ap.add_argument('--dir', type=Path, default=DEFAULT_DIR, help=f'the cluster folder (default {DEFAULT_DIR}, or $EDGENES_SLURM_DIR)')
    ap.add_argument('--port_base', type=int, default=6817, help='slurmctld, slurmd, slurmdbd and mariadb listen on this port and the three after it')
    a = ap.parse_args()
    c = Cluster(a.dir, a.port_base)
    try:
        if a.cmd == 'install': print(f"installed: {' '.join(install()) or 'nothing (all there)'}")
        elif a.cmd == 'env': print(f"export SLURM_CONF={c.conf}")
        elif a.cmd == 'start':
            t0 = time.time(); pids = c.start()
            print(f"slurm cluster {CLUSTER} up in {time.time() - t0:.1f} s (folder {c.d}): " + ', '.join(f'{n} {p}' for n, p in pids.items()))
            print(f"use it: export SLURM_CONF={c.conf}")
        elif a.cmd == 'stop':
            ended = c.stop()
            print('stopped: ' + (', '.join(f'{n} {p}' for n, p in ended.items()) or 'nothing was running'))
        else:
            for k, v in c.status().items(): print(f"{k:10} {'not running' if v is None else v}")
    except RuntimeError as e: sys.exit(str(e))


if __name__ == '__main__': main()
