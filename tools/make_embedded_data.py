"""Build `edgenes/data/fmnist_subset.npz`, the embedded default data set, from the real Fashion-MNIST.

Source: Debian's package `dataset-fashion-mnist` (`apt-get install dataset-fashion-mnist`), which
installs Zalando's original IDX files under /usr/share/datasets/fashion-mnist/.  The subset is
class-stratified and deterministic: for every class, the images are ordered by a fixed random
permutation (numpy PCG64, seed 0) and the first `--train-per-class` training and
`--test-per-class` test images are kept.  Re-running the script gives a byte-identical file.

    python tools/make_embedded_data.py [--src /usr/share/datasets/fashion-mnist] [--out edgenes/data]
"""
import argparse, gzip, hashlib, io, zipfile
from pathlib import Path
import numpy as np

def read_idx(path: Path) -> np.ndarray:
    "Read one gzipped IDX file (the MNIST format) into a uint8 array."
    with gzip.open(path, 'rb') as f: raw = f.read()
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4+4*i:8+4*i], 'big') for i in range(ndim))
    return np.frombuffer(raw, dtype=np.uint8, offset=4+4*ndim).reshape(shape)

def stratified(y: np.ndarray, per_class: int, seed: int) -> np.ndarray:
    "Indices of `per_class` examples of every class, chosen by a fixed permutation, sorted."
    rng = np.random.default_rng(seed)
    keep = [rng.permutation(np.flatnonzero(y == c))[:per_class] for c in range(int(y.max()) + 1)]
    return np.sort(np.concatenate(keep))

def write_npz(path: Path, arrays: dict) -> None:
    "Write arrays as a compressed .npz with fixed timestamps, so the bytes are reproducible."
    with zipfile.ZipFile(path, 'w', compression=zipfile.ZIP_DEFLATED) as zf:
        for name, arr in arrays.items():
            buf = io.BytesIO(); np.lib.format.write_array(buf, np.ascontiguousarray(arr), allow_pickle=False)
            info = zipfile.ZipInfo(f'{name}.npy', date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, buf.getvalue(), compresslevel=9)

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--src', default='/usr/share/datasets/fashion-mnist')
    ap.add_argument('--out', default=str(Path(__file__).resolve().parents[1]/'edgenes'/'data'))
    ap.add_argument('--train-per-class', type=int, default=600)
    ap.add_argument('--test-per-class', type=int, default=100)
    ap.add_argument('--seed', type=int, default=0)
    a = ap.parse_args()
    src, out = Path(a.src), Path(a.out)
    if not (src/'train-images-idx3-ubyte.gz').exists():
        raise SystemExit(f"Fashion-MNIST not found in {src}. Install it with: "
                         "apt-get update && apt-get install -y dataset-fashion-mnist")
    xtr, ytr = read_idx(src/'train-images-idx3-ubyte.gz'), read_idx(src/'train-labels-idx1-ubyte.gz')
    xte, yte = read_idx(src/'t10k-images-idx3-ubyte.gz'), read_idx(src/'t10k-labels-idx1-ubyte.gz')
    itr, ite = stratified(ytr, a.train_per_class, a.seed), stratified(yte, a.test_per_class, a.seed + 1)
    out.mkdir(parents=True, exist_ok=True)
    path = out/'fmnist_subset.npz'
    write_npz(path, dict(x_train=xtr[itr], y_train=ytr[itr], x_test=xte[ite], y_test=yte[ite],
                         train_index=itr.astype(np.int32), test_index=ite.astype(np.int32)))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    print(f'wrote {path} ({path.stat().st_size/1e6:.2f} MB): {len(itr)} train, {len(ite)} test images; sha256 {digest}')

if __name__ == '__main__': main()
