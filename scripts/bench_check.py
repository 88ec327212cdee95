"""Speed of `kb check` on a large generated content root.

Copies content/_kb (owners, schemas, config) into a temporary content root, writes N articles
(cases, manuals, Sender ID guides: valid front matter, ~1–2 KB of Chinese text, a few internal links
between them), then times `run_checks` in-process (3 runs: min and median) and
`kb check --content DIR --format json` as a subprocess (1 run). Prints a table, writes JSON to
bench-results/bench_check.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONTENT = ROOT / "content"
OUT = ROOT / "bench-results" / "bench_check.json"
KB = str(Path(sys.executable).with_name("kb"))

OWNERS = ["zhang.wei", "li.na", "wang.fang", "liu.yang", "chen.jing", "zhao.lei", "sun.hao"]
CATEGORIES = ["客户问题", "技术问题", "业务问题", "沟通问题"]
SUBCATEGORIES = ["送达率", "回填率", "SenderID 申请", "盗刷", "账号/子账号", "余额", "文档", "原厂支持",
                 "号码购买", "日志查询", "API 接入", "模板报备", "通道", "其他"]
SEVERITIES = ["low", "medium", "high", "critical"]
CHANNELS = ["工单", "邮件", "电话", "微信", "企业微信", "钉钉", "即时通讯"]
REGIONS = ["印尼", "泰国", "越南", "菲律宾", "马来西亚", "新加坡", "印度", "巴西", "墨西哥", "尼日利亚",
           "沙特", "阿联酋", "土耳其", "埃及", "巴基斯坦", "英国", "美国"]
TOPICS = ["验证码延迟", "回执缺失", "签名被替换", "模板报备被拒", "短链接被拦截", "余额扣费异常",
          "子账号无法登录", "接口签名错误", "营销短信夜间被丢弃", "号码购买失败", "通道切换后送达率下降",
          "异常流量盗刷", "日志查询超时", "回填率偏低"]
SENTENCES = [
    "客户反馈{region}地区的{topic}问题在最近一周明显增多，用户投诉主要集中在晚高峰时段。",
    "我们先在控制台的发送记录中按批次号筛选，确认失败集中在同一个运营商和同一条通道。",
    "对比主通道和备用通道的回执状态分布后发现，备用通道的 UNDELIV 比例远高于历史均值。",
    "原厂回复称上游运营商近期调整了过滤策略，未报备的签名和短链接会被直接拦截。",
    "建议客户在发送前完成 Sender ID 报备，并把短链接域名提交给原厂做白名单登记。",
    "排查过程中我们用三个测试号码做了拨测，拨测结果与客户描述一致，问题可以稳定复现。",
    "处理期间需要每天同步一次进展，避免客户在没有结论的情况下重复提交工单。",
    "如果回执长时间没有返回，应先检查回调地址是否可达，再确认客户服务端是否正确返回了 200。",
    "切换通道前要评估成本和送达率的变化，并提前告知客户可能出现的短暂延迟。",
    "异常流量通常表现为短时间内大量请求发往同一号段，且转化率极低，应尽快开启频率限制。",
    "子账号的权限由主账号统一分配，看不到发送记录时先确认是否勾选了对应的数据权限。",
    "余额扣费以运营商回执为准，失败短信的退款会在次日的对账单中体现。",
    "模板内容中的变量需要与报备时保持一致，多余的空格或标点都可能导致审核不通过。",
    "该问题解决后，我们把排查步骤整理进操作手册，方便值班同事下次直接按步骤处理。",
]


def paragraph(rng: random.Random, n: int, region: str, topic: str) -> str:
    return "".join(rng.choice(SENTENCES).format(region=region, topic=topic) for _ in range(n))


def manual_text(i: int, rng: random.Random, n_manuals: int, today: dt.date) -> str:
    topic = TOPICS[i % len(TOPICS)]
    region = REGIONS[i % len(REGIONS)]
    other = (i + 1) % n_manuals
    title = f"{topic}处理手册 {i:05d}"
    return f"""---
id: bench-manual-{i:05d}
title: {title}
kind: manual
owner: {OWNERS[i % len(OWNERS)]}
tags: [{topic}, 手册]
status: published
visibility: public
updated: {(today - dt.timedelta(days=30)).isoformat()}
review_by: {(today + dt.timedelta(days=365)).isoformat()}
summary: 说明{topic}的排查步骤和常见原因。
product: 短信控制台
applies_to: 控制台 > 发送记录
---

# {title}

{paragraph(rng, 2, region, topic)}

## 操作步骤

{paragraph(rng, 3, region, topic)}

## 注意事项

{paragraph(rng, 2, region, topic)}

## 相关文章

- [相关手册](bench-manual-{other:05d}.md#操作步骤)
"""


def senderid_text(i: int, rng: random.Random, countries: list[str], n_manuals: int, today: dt.date) -> str:
    region = REGIONS[i % len(REGIONS)]
    topic = TOPICS[i % len(TOPICS)]
    title = f"{region} Sender ID 注册指南 {i:05d}"
    return f"""---
id: bench-senderid-{i:05d}
title: {title}
kind: senderid
owner: {OWNERS[i % len(OWNERS)]}
tags: [{region}, SenderID, 报备]
status: published
visibility: public
updated: {(today - dt.timedelta(days=20)).isoformat()}
review_by: {(today + dt.timedelta(days=180)).isoformat()}
summary: {region}字母 Sender ID 需要按运营商逐家报备，约 10 个工作日。
country: "{countries[i % len(countries)]}"  # quoted: NO would be YAML false
sender_type: {["alphanumeric", "numeric", "shortcode"][i % 3]}
registration_required: {"true" if i % 2 else "false"}
lead_time_days: {5 + i % 20}
documents:
  - 公司营业执照
  - 品牌授权书 LOA
restrictions:
  - 营销短信仅允许白天发送
last_verified: {(today - dt.timedelta(days=30)).isoformat()}
---

# {title}

## 概览

{paragraph(rng, 3, region, topic)}

## 报备流程

{paragraph(rng, 3, region, topic)}

## 相关文章

- [操作手册](../manuals/bench-manual-{i % n_manuals:05d}.md#注意事项)
"""


def case_text(i: int, rng: random.Random, n_cases: int, n_manuals: int, today: dt.date) -> str:
    region = REGIONS[i % len(REGIONS)]
    topic = TOPICS[(i * 7) % len(TOPICS)]
    title = f"{region}{topic} 案例 {i:05d}"
    reported = dt.datetime(2026, 1, 1, 9, 0) + dt.timedelta(hours=i % 5000)
    first = reported + dt.timedelta(minutes=15 + i % 60)
    resolved = first + dt.timedelta(hours=4 + i % 72)
    fmt = "%Y-%m-%dT%H:%M:%S+08:00"
    other = (i + 1) % n_cases
    return f"""---
id: bench-case-{i:05d}
title: {title}
kind: case
owner: {OWNERS[i % len(OWNERS)]}
tags: [{region}, {topic}]
status: published
visibility: internal
updated: {(today - dt.timedelta(days=10)).isoformat()}
review_by: {(today + dt.timedelta(days=180)).isoformat()}
summary: {region}客户反馈{topic}，排查后确认原因并给出解决方案。
customer: 某{region}电商客户
category: {CATEGORIES[i % len(CATEGORIES)]}
subcategory: {SUBCATEGORIES[i % len(SUBCATEGORIES)]}
severity: {SEVERITIES[i % len(SEVERITIES)]}
channel: {CHANNELS[i % len(CHANNELS)]}
reported_at: "{reported.strftime(fmt)}"
first_response_at: "{first.strftime(fmt)}"
resolved_at: "{resolved.strftime(fmt)}"
---

# {title}

## 现象

{paragraph(rng, 2, region, topic)}

## 原因

{paragraph(rng, 2, region, topic)}

## 解决方案

{paragraph(rng, 2, region, topic)}

## 相关文章

- [操作手册](../manuals/bench-manual-{i % n_manuals:05d}.md#操作步骤)
- [类似案例](bench-case-{other:05d}.md#原因)
"""


def generate(dest: Path, n: int, seed: int = 42) -> dict[str, int]:
    import pycountry

    shutil.copytree(CONTENT / "_kb", dest / "_kb")
    for folder in ("cases", "manuals", "senderid"):
        (dest / folder).mkdir(parents=True)
    n_manuals = max(1, n // 5)
    n_senderid = max(1, n // 5)
    n_cases = max(1, n - n_manuals - n_senderid)
    rng = random.Random(seed)
    today = dt.date.today()
    countries = sorted(c.alpha_2 for c in pycountry.countries)
    for i in range(n_manuals):
        (dest / "manuals" / f"bench-manual-{i:05d}.md").write_text(
            manual_text(i, rng, n_manuals, today), encoding="utf-8")
    for i in range(n_senderid):
        (dest / "senderid" / f"bench-senderid-{i:05d}.md").write_text(
            senderid_text(i, rng, countries, n_manuals, today), encoding="utf-8")
    for i in range(n_cases):
        (dest / "cases" / f"bench-case-{i:05d}.md").write_text(
            case_text(i, rng, n_cases, n_manuals, today), encoding="utf-8")
    byte_sizes = [len(p.read_bytes()) for p in dest.rglob("*.md")]
    return {"cases": n_cases, "manuals": n_manuals, "senderid": n_senderid,
            "bytes_min": min(byte_sizes), "bytes_median": int(statistics.median(byte_sizes)),
            "bytes_max": max(byte_sizes), "bytes_total": sum(byte_sizes)}


def bench_in_process(dest: Path, runs: int) -> tuple[list[float], dict[str, int]]:
    from kb.checks import run_checks
    from kb.config import ContentRoot

    times: list[float] = []
    summary: dict[str, int] = {}
    for _ in range(runs):
        t = time.perf_counter()
        report = run_checks(ContentRoot.load(dest))
        times.append(time.perf_counter() - t)
        summary = {"files": report.files, "errors": report.errors, "warnings": report.warnings}
    return times, summary


def bench_subprocess(dest: Path) -> tuple[float, dict[str, int], int]:
    t = time.perf_counter()
    proc = subprocess.run([KB, "check", "--content", str(dest), "--format", "json"],
                          capture_output=True, text=True)
    elapsed = time.perf_counter() - t
    try:
        summary = json.loads(proc.stdout)["summary"]
    except (ValueError, KeyError):
        sys.stderr.write(proc.stderr)
        raise
    return elapsed, summary, proc.returncode


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=5000, help="number of generated articles (default 5000)")
    ap.add_argument("--runs", type=int, default=3, help="in-process runs (default 3)")
    ap.add_argument("--out", type=Path, default=OUT, help=f"JSON output (default {OUT.relative_to(ROOT)})")
    args = ap.parse_args()

    from rich.console import Console
    from rich.table import Table

    console = Console()
    with tempfile.TemporaryDirectory(prefix="kb-bench-check-") as tmp:
        dest = Path(tmp) / "content"
        t = time.perf_counter()
        corpus = generate(dest, args.n)
        gen_s = time.perf_counter() - t
        console.print(f"generated {args.n} articles in {gen_s:.1f} s under {dest} "
                      f"(median {corpus['bytes_median']} bytes, {corpus['bytes_total'] / 1e6:.1f} MB)")
        times, summary = bench_in_process(dest, args.runs)
        sub_s, sub_summary, sub_rc = bench_subprocess(dest)

    files = summary["files"]
    t_min, t_med = min(times), statistics.median(times)
    rows = [
        ("run_checks, in-process (min)", files, files / t_min, t_min),
        (f"run_checks, in-process (median of {len(times)})", files, files / t_med, t_med),
        ("kb check --format json, subprocess (1 run)", sub_summary["files"], sub_summary["files"] / sub_s, sub_s),
    ]
    table = Table(title=f"kb check on {args.n} generated articles")
    table.add_column("run")
    table.add_column("articles", justify="right")
    table.add_column("files/s", justify="right")
    table.add_column("seconds", justify="right")
    for name, n, fps, secs in rows:
        table.add_row(name, f"{n:,}", f"{fps:,.0f}", f"{secs:.2f}")
    console.print(table)
    console.print(f"diagnostics: {summary['errors']} errors, {summary['warnings']} warnings "
                  f"(subprocess exit code {sub_rc})")

    result = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "n": args.n,
        "corpus": corpus,
        "generate_seconds": round(gen_s, 3),
        "in_process": {"runs": [round(x, 4) for x in times], "min_seconds": round(t_min, 4),
                       "median_seconds": round(t_med, 4), "files": files,
                       "files_per_second_min": round(files / t_min, 1),
                       "files_per_second_median": round(files / t_med, 1), "summary": summary},
        "subprocess": {"command": "kb check --content DIR --format json", "seconds": round(sub_s, 4),
                       "files": sub_summary["files"],
                       "files_per_second": round(sub_summary["files"] / sub_s, 1),
                       "exit_code": sub_rc, "summary": sub_summary},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    console.print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
