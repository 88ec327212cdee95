"""Fill a vector cache for a content root ahead of `kb index` (benchmarks: the 27,413 answers take ~1 h on
2 cores; the cache makes every later run reuse them). Uses the same chunks and keys as the index pipeline.

    python scripts/embed_cache.py CONTENT_DIR CACHE.sqlite [--threads N]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kb.config import ContentRoot  # noqa: E402
from kb.embed import LocalE5, VectorCache, chunks, embed_passages  # noqa: E402
from kb.model import load_articles  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("content")
    ap.add_argument("cache")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--order", help="file of article ids to embed first, in this order (the rest follow)")
    ap.add_argument("--shard", default="0/1", help="i/n: embed every n-th chunk from the i-th (parallel runs)")
    args = ap.parse_args()
    root = ContentRoot.load(args.content)
    arts, _ = load_articles(root)
    if args.order:
        rank = {x.strip(): i for i, x in enumerate(Path(args.order).read_text().split())}
        arts.sort(key=lambda a: rank.get(a.id, len(rank)))
    texts = [c.text for a in arts if a.kind and not a.is_index
             for c in chunks(a.title, a.body, str(a.meta.get("summary") or ""))]
    i, n = (int(x) for x in args.shard.split("/"))
    texts = texts[i::n]
    print(f"{len(arts)} articles, {len(texts)} chunks in shard {args.shard}", flush=True)
    cache = VectorCache(args.cache)
    emb = LocalE5(threads=args.threads)
    t0 = time.time()
    done = [0]

    def tick(n: int) -> None:
        done[0] += n
        if done[0] % 500 < n:
            el = time.time() - t0
            print(f"{done[0]}/{len(texts)} {el:.0f}s {done[0] / max(el, 1e-9):.1f}/s", flush=True)

    embed_passages(emb, texts, cache, progress=tick, batch=32)
    print(f"done {len(texts)} in {time.time() - t0:.0f}s", flush=True)


if __name__ == "__main__":
    main()
