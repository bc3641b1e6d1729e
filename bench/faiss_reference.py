#!/usr/bin/env python3
"""The faiss side of `arf-bench retrieval`: times exact search (IndexFlatIP) and an inverted
file index (IVF<lists>,Flat, inner product) on the vectors arf-bench wrote, with the same
threads, k, lists, nprobe, k-means iterations and training-sample size, and prints one JSON
object. Both indexes' result ids are written next to the data so that arf-bench measures
every recall against the same exact answer.

  python3 bench/faiss_reference.py --base base.f32 --queries queries.f32 --dim 512 \\
      --k 16 --lists 4096 --nprobe 16 --threads 2 --iterations 10 --training-size 159744

Needs `pip install faiss-cpu numpy`. The base file is memory-mapped, not read, so that this
process holds the vectors once (inside the index), not twice.
"""
import argparse
import json
import resource
import statistics
import time

import faiss
import numpy as np


def timed(fn, reps):
    samples = []
    result = None
    for _ in range(reps):
        start = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base", required=True, help="raw float32 rows, row-major")
    parser.add_argument("--queries", required=True, help="raw float32 rows, row-major")
    parser.add_argument("--dim", type=int, required=True)
    parser.add_argument("--k", type=int, default=16)
    parser.add_argument("--lists", type=int, default=4096)
    parser.add_argument("--nprobe", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--training-size", type=int, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--reps", type=int, default=3, help="repetitions of the IVF search")
    parser.add_argument("--flat-ids", help="write the exact search's ids here (int64)")
    parser.add_argument("--ivf-ids", help="write the IVF search's ids here (int64)")
    args = parser.parse_args()

    faiss.omp_set_num_threads(args.threads)
    base = np.memmap(args.base, dtype=np.float32, mode="r").reshape(-1, args.dim)
    queries = np.fromfile(args.queries, dtype=np.float32).reshape(-1, args.dim)
    result = {"engine": "faiss " + faiss.__version__, "threads": args.threads,
              "rows": base.shape[0], "queries": queries.shape[0]}

    flat = faiss.IndexFlatIP(args.dim)
    start = time.perf_counter()
    flat.add(base)
    result["flat_build_s"] = time.perf_counter() - start
    seconds, (_, flat_ids) = timed(lambda: flat.search(queries, args.k), 1)
    result["flat_per_s"] = queries.shape[0] / seconds
    if args.flat_ids:
        flat_ids.astype(np.int64).tofile(args.flat_ids)
    del flat

    ivf = faiss.index_factory(args.dim, f"IVF{args.lists},Flat", faiss.METRIC_INNER_PRODUCT)
    ivf.cp.niter = args.iterations
    ivf.cp.seed = args.seed
    rng = np.random.default_rng(args.seed)
    sample = np.sort(rng.choice(base.shape[0], size=args.training_size, replace=False))
    start = time.perf_counter()
    ivf.train(np.ascontiguousarray(base[sample]))
    result["ivf_train_s"] = time.perf_counter() - start
    ivf.add(base)
    result["ivf_build_s"] = time.perf_counter() - start
    ivf.nprobe = args.nprobe
    ivf.search(queries[:10], args.k)
    seconds, (_, ivf_ids) = timed(lambda: ivf.search(queries, args.k), args.reps)
    result["ivf_per_s"] = queries.shape[0] / seconds
    if args.ivf_ids:
        ivf_ids.astype(np.int64).tofile(args.ivf_ids)

    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


if __name__ == "__main__":
    main()
