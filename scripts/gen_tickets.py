"""Generate a messy historical ticket export (CSV + JSONL) for `kb import tickets`, with a fixed seed.

Mixed date formats, full-width digits, empty fields, ~3% duplicates, phones / e-mails / keys / company
names inside the text, out-of-order timestamps, unknown owners, broken JSON lines and invalid UTF-8
(raw bytes lines in the JSONL; a separate CSV variant `tickets-broken.csv`).
Usage: python scripts/gen_tickets.py [N] [--out DIR] [--seed S]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import random
from pathlib import Path

COLUMNS = ["工单号", "标题", "问题描述", "原因", "处理方案", "客户名称", "分类", "子类", "优先级", "来源",
           "处理人", "创建时间", "首次响应时间", "解决时间"]
TZ = dt.timezone(dt.timedelta(hours=8))
OWNERS = ["张伟", "李娜", "王芳", "刘洋", "陈静", "赵磊", "孙浩", "zhang.wei"]
UNKNOWN_OWNERS = ["外包小明", "实习生", ""]
CITIES = ["深圳", "广州", "杭州", "上海", "北京", "成都", "厦门", "苏州", "南京", "武汉"]
WORDS = ["飞鸿", "云帆", "星河", "蓝海", "启航", "恒信", "优联", "速达", "华拓", "金桥", "万象", "鼎盛"]
TRADES = ["科技", "网络科技", "信息技术", "电子商务", "贸易", "软件"]
SUFFIXES = ["有限公司", "有限公司", "股份有限公司", "集团"]
CATEGORIES = ["咨询", "故障", "技术故障", "商务", "计费", "沟通", "投诉", "技术问题", "", "其它类"]
SUBCATEGORIES = ["送达", "回执", "签名", "盗刷/异常流量", "账号", "充值", "接口", "模板", "通道", "日志查询", "", "杂项"]
SEVERITIES = ["P1", "P2", "P3", "P4", "紧急", "高", "中", "低", "", "high"]
CHANNELS = ["工单系统", "email", "电话", "微信群", "企微", "钉钉群", "Telegram", "WhatsApp", "", "现场"]
REGIONS = ["印尼", "泰国", "越南", "菲律宾", "马来西亚", "印度", "巴西", "尼日利亚", "沙特", "墨西哥"]
TOPICS = ["验证码收不到", "回执状态一直是 ACCEPTD", "Sender ID 被拒", "短链接被拦截", "余额扣费异常",
          "子账号无法登录", "接口返回 401", "营销短信夜间被丢弃", "回填率偏低", "异常流量盗刷"]
INTL = ["+62 812 3456 {a}", "+66 81 234 {a}", "+84 912 345 {a}", "+63 917 123 {a}", "+1 415 555 {a}",
        "+234 803 123 {a}", "+55 11 98765 {a}", "+91 98765 4{a}", "+60 12-345 {a}", "+966 50 123 {a}"]


def _cn_mobile(rng: random.Random) -> str:
    d = f"1{rng.choice('3456789')}{rng.randint(0, 9)}{rng.randint(0, 99999999):08d}"
    style = rng.randrange(6)
    if style == 0:
        return d
    if style == 1:
        return f"+86 {d}"
    if style == 2:
        return f"{d[:3]} {d[3:7]} {d[7:]}"
    if style == 3:
        return f"{d[:3]}-{d[3:7]}-{d[7:]}"
    if style == 4:
        return d.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"})  # full-width
    return f"+86-{d}"


def _secret(rng: random.Random) -> str:
    chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    tok = "".join(rng.choice(chars) for _ in range(rng.randint(20, 32)))
    return rng.choice([f"api_key={tok}", f"Authorization: Bearer {tok}", f"sk_live_{tok}",
                       f"密码：{tok[:10]}", f"token: {tok}", f"AppSecret={tok}"])


def _company(rng: random.Random) -> str:
    return rng.choice(CITIES) + rng.choice(WORDS) + rng.choice(TRADES) + rng.choice(SUFFIXES)


def _fmt_time(t: dt.datetime, rng: random.Random) -> str:
    style = rng.randrange(9)
    if style == 0:
        s = t.strftime("%Y-%m-%d %H:%M")
    elif style == 1:
        s = f"{t.year}/{t.month}/{t.day} {t.hour}:{t.minute:02d}"
    elif style == 2:
        s = f"{t.year}年{t.month}月{t.day}日 {t.hour:02d}:{t.minute:02d}"
    elif style == 3:
        s = t.strftime("%d/%m/%Y %H:%M")
    elif style == 4:
        s = t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    elif style == 5:
        s = str(int(t.timestamp()))
    elif style == 6:
        s = t.isoformat()
    elif style == 7:
        s = t.strftime("%Y-%m-%d %H:%M:%S")
    else:
        s = t.strftime("%Y-%m-%d %H:%M")
        return s.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"})  # full-width digits
    return s


def _ticket(i: int, rng: random.Random, plant: str) -> dict[str, str]:
    customer = _company(rng)
    region, topic = rng.choice(REGIONS), rng.choice(TOPICS)
    reported = dt.datetime(2024, 1, 1, tzinfo=TZ) + dt.timedelta(minutes=rng.randint(0, 2 * 365 * 24 * 60))
    first = reported + dt.timedelta(minutes=rng.randint(1, 240))
    resolved = first + dt.timedelta(minutes=rng.randint(30, 10 * 24 * 60))
    contact = rng.choice(["张", "李", "王", "陈", "刘"]) + rng.choice(["建国", "丽", "强", "小红", "伟"])
    symptom = (f"{customer}反馈{region}{topic}，影响约 {rng.randint(1, 90)}% 的请求。"
               f"联系人：{contact}，电话 {_cn_mobile(rng)}，邮箱 {rng.choice(['ops', 'li.hua', 'tech'])}"
               f"@{rng.choice(['feihong', 'yunfan', 'xinghe'])}{i % 7}.com.cn。")
    if rng.random() < 0.4:
        symptom += f"\n客户测试号码 {rng.choice(INTL).format(a=f'{rng.randint(0, 9999):04d}')}。"
    if rng.random() < 0.3:
        symptom += f"\n客户在工单里贴了配置：{_secret(rng)}"
    if rng.random() < 0.2:
        symptom += f"\n{contact}先生表示同事 {_cn_mobile(rng)} 也收不到。"
    cause = "" if rng.random() < 0.12 else rng.choice([
        f"{region}运营商调整了过滤策略，未报备的签名被拦截。",
        f"备用通道回执异常，{_company(rng)}的上游路由不稳定。",
        "客户服务端回调地址返回 500，回执推送失败。",
        "子账号未勾选数据权限。",
    ])
    solution = "" if rng.random() < 0.1 else rng.choice([
        "切换回主通道，并通知客户重新报备签名。",
        f"已重置密钥并告知客户，客户邮箱 {rng.choice(['admin', 'it'])}@{rng.choice(['acme', 'globex'])}.net。",
        "补充报备短链接域名，次日恢复。",
        "为子账号开启数据权限后恢复正常。",
    ])
    owner = rng.choice(OWNERS)
    row = {
        "工单号": f"TK-{reported.year}-{i:06d}",
        "标题": f"{region}{topic}（{i}）",
        "问题描述": symptom, "原因": cause, "处理方案": solution, "客户名称": customer,
        "分类": rng.choice(CATEGORIES), "子类": rng.choice(SUBCATEGORIES), "优先级": rng.choice(SEVERITIES),
        "来源": rng.choice(CHANNELS), "处理人": owner,
        "创建时间": _fmt_time(reported, rng),
        "首次响应时间": "" if rng.random() < 0.05 else _fmt_time(first, rng),
        "解决时间": "" if rng.random() < 0.05 else _fmt_time(resolved, rng),
    }
    if rng.random() < 0.03:
        row["工单号"] = row["工单号"].translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789TK-"})
    if plant == "missing_field":
        row[rng.choice(["标题", "创建时间", "工单号"])] = ""
    elif plant == "bad_timestamp":
        row["创建时间"] = rng.choice(["昨天下午", "2024-13-45 10:00", "N/A", "15/31/2024 09:00"])
    elif plant == "timestamp_order":
        row["解决时间"] = _fmt_time(reported - dt.timedelta(hours=rng.randint(1, 48)), rng)
    elif plant == "unknown_owner":
        row["处理人"] = rng.choice(UNKNOWN_OWNERS)
    elif plant == "masking_failed":  # a half-starred password the masker leaves for the checks to catch
        row["原因"] = f"客户把登录密码：ab**{rng.randint(1000, 9999)}xy 发在群里。"
    return row


PLANTS = [("missing_field", 0.01), ("bad_timestamp", 0.01), ("timestamp_order", 0.01),
          ("unknown_owner", 0.01), ("masking_failed", 0.003)]


def generate(out_dir: Path, n: int = 10_000, seed: int = 20240315) -> dict[str, object]:
    """Write tickets.csv, tickets.jsonl, tickets-broken.csv into out_dir; return paths and planted counts."""
    rng = random.Random(seed)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, str]] = []
    planted: dict[str, int] = {}
    for i in range(1, n + 1):
        r = rng.random()
        plant, acc = "", 0.0
        for name, p in PLANTS:
            acc += p
            if r < acc:
                plant = name
                break
        if plant:
            planted[plant] = planted.get(plant, 0) + 1
        rows.append(_ticket(i, rng, plant))
    # ~3% duplicates: exact re-exports of an earlier ticket, and re-submissions with a new number
    for k in range(int(n * 0.03)):
        src = dict(rows[rng.randrange(len(rows))])
        if k % 4 == 0:
            src["工单号"] = f"TK-DUP-{k:05d}"
        rows.insert(rng.randrange(len(rows) + 1), src)
    planted["duplicate_rows"] = int(n * 0.03)

    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    csv_path = out_dir / "tickets.csv"
    csv_path.write_bytes(buf.getvalue().encode("utf-8-sig"))

    # broken CSV: same rows, a few with raw invalid bytes inside a field
    broken = out_dir / "tickets-broken.csv"
    lines = buf.getvalue().encode("utf-8").split(b"\r\n")
    bad_lines = 0
    for j in range(1, len(lines) - 1):
        if rng.random() < 0.005 and b"\n" not in lines[j]:
            lines[j] = lines[j].replace("问题".encode(), b"\xff\xfe\x80", 1) if "问题".encode() in lines[j] \
                else lines[j] + b"\xff"
            bad_lines += 1
    broken.write_bytes(b"\r\n".join(lines))

    jsonl_path = out_dir / "tickets.jsonl"
    n_bad_json = n_bad_utf8 = 0
    with open(jsonl_path, "wb") as fh:
        for row in rows:
            r = rng.random()
            obj = dict(row)
            if r < 0.003:
                line = json.dumps(obj, ensure_ascii=False)[: rng.randint(10, 60)].encode("utf-8")
                n_bad_json += 1
            elif r < 0.006:
                line = json.dumps(obj, ensure_ascii=False).encode("utf-8").replace(b'"', b'"\xc3\x28', 1)
                n_bad_utf8 += 1
            else:
                if rng.random() < 0.1 and obj["创建时间"].isdigit():
                    obj["创建时间"] = int(obj["创建时间"])  # epoch as a JSON number
                line = json.dumps(obj, ensure_ascii=False).encode("utf-8")
            fh.write(line + b"\n")
    planted.update({"bad_json": n_bad_json, "decode_error_jsonl": n_bad_utf8, "decode_error_csv": bad_lines})
    return {"csv": csv_path, "jsonl": jsonl_path, "broken_csv": broken, "rows": len(rows), "planted": planted}


def main() -> None:
    ap = argparse.ArgumentParser(description="生成杂乱的历史工单导出（CSV + JSONL）")
    ap.add_argument("n", nargs="?", type=int, default=10_000, help="工单数（不含重复行）")
    ap.add_argument("--out", type=Path, default=Path("bench-results/tickets"), help="输出目录")
    ap.add_argument("--seed", type=int, default=20240315)
    args = ap.parse_args()
    info = generate(args.out, args.n, args.seed)
    print(json.dumps({k: str(v) if isinstance(v, Path) else v for k, v in info.items()}, ensure_ascii=False))


if __name__ == "__main__":
    main()
