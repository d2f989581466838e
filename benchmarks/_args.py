"""What the benchmarks that build an `Experiment` share on their command line."""
import argparse


def experiment_parser(doc:str, seed_help:str)->argparse.ArgumentParser:
    "A parser with --preset, --seed and --cache_dir (the store is <cache_dir>/<preset>; in memory without it)."
    ap = argparse.ArgumentParser(description=doc.split('\n')[0])
    ap.add_argument('--preset', default='quick', help='smoke | quick | medium | paper')
    ap.add_argument('--seed', type=int, default=0, help=seed_help)
    ap.add_argument('--cache_dir', default='', help='the store is <cache_dir>/<preset> (default: in memory)')
    return ap
