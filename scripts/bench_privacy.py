"""Personal-data table (tests/fixtures/privacy/samples.yml) through the detector of a kb tree:
per kind, how many samples were tried, caught by `kb check` (KB3xx), leaked through ticket masking,
and how many look-alikes raised a false alarm.

    .venv/bin/python scripts/bench_privacy.py                     # this tree
    PYTHONPATH=/path/to/other/tree .venv/bin/python scripts/bench_privacy.py --label before

Works with the old API (kb.checks.body.check_sensitive + kb.mask.Masker) and the new one (kb.privacy).
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
TABLE = REPO / "tests" / "fixtures" / "privacy" / "samples.yml"
OWNERS = ("张伟", "李娜", "王芳", "刘洋", "陈静", "赵磊", "孙浩")


def _checker():  # type: ignore[no-untyped-def]
    try:
        from kb.privacy import detect, mask

        return (lambda t: bool(detect(t, OWNERS, kinds=("secret", "email", "id_card", "bank_card", "phone",
                                                           "wechat", "person", "company"))),
                lambda t: mask(t, OWNERS)[0])
    except ImportError:
        from kb.checks.body import check_sensitive  # the detector before kb.privacy

        from kb.mask import Masker
        from kb.model import Article

        def flagged(t: str) -> bool:
            a = Article(path=Path("x.md"), rel="x.md", text=t, meta={}, key_positions={}, value_positions={},
                        body=t, body_line=1, has_front_matter=False)
            return bool(check_sensitive(a))

        return flagged, lambda t: Masker().text(t)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--label", default="after")
    args = ap.parse_args()
    flagged, masker = _checker()
    table = yaml.safe_load(TABLE.read_text(encoding="utf-8"))
    tried, caught, leaked = Counter(), Counter(), Counter()
    for s in table["positives"]:
        k = s["kind"]
        tried[k] += 1
        caught[k] += flagged(s["text"])
        out = masker(s["text"])
        leaked[k] += s["value"] in out or flagged(out)
    alarms = [t for t in table["lookalikes"] if flagged(t)]
    print(f"{'kind':<10} {'tried':>5} {'caught':>6} {'missed':>6} {'leaked':>6}")
    for k in tried:
        print(f"{k:<10} {tried[k]:>5} {caught[k]:>6} {tried[k] - caught[k]:>6} {leaked[k]:>6}")
    total = sum(tried.values())
    print(f"{'total':<10} {total:>5} {sum(caught.values()):>6} {total - sum(caught.values()):>6} "
          f"{sum(leaked.values()):>6}")
    print(f"look-alikes: {len(table['lookalikes'])}, false alarms: {len(alarms)}")
    for t in alarms:
        print("  alarm:", t)
    out = REPO / "bench-results" / f"privacy-{args.label}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"tried": tried, "caught": caught, "leaked": leaked, "lookalikes":
                               len(table["lookalikes"]), "false_alarms": alarms}, ensure_ascii=False, indent=1),
                   encoding="utf-8")


if __name__ == "__main__":
    main()
