"""The body templates `kb new` writes, one per kind: each section heading with a one-line prompt.

The prompts are also how `kb check` recognises an article published before it was written (KB206).
"""

from __future__ import annotations

#: kind -> (section heading, one-line prompt for the writer), in the order the sample articles use
SECTIONS: dict[str, tuple[tuple[str, str], ...]] = {
    "manual": (
        ("适用场景", "（说明什么情况下使用本手册：适用的客户、产品模块和前提条件）"),
        ("操作步骤", "（按顺序写出每一步：入口菜单、要填写的内容、预期结果）"),
        ("注意事项", "（写出容易出错的地方、限制和计费影响）"),
        ("常见问题", "（列出客户常问的问题和简短回答）"),
        ("相关文章", "（链接相关的手册、Sender ID 指南或案例）"),
    ),
    "senderid": (
        ("概览", "（是否需要注册、Sender ID 类型、审核方和审核周期）"),
        ("所需材料", "（列出客户需要提供的材料，并同步填写 front matter 的 documents）"),
        ("内容限制", "（发送时段、内容限制、链接和模板要求，并同步填写 restrictions）"),
        ("常见拒绝原因", "（列出审核被拒的常见原因和应对方法）"),
        ("常见问题", "（列出客户常问的问题和简短回答）"),
        ("相关文章", "（链接相关的手册和案例）"),
    ),
    "case": (
        ("现象", "（描述客户看到的问题：时间、国家、号段、比例）"),
        ("原因", "（写出排查过程和最终确认的原因）"),
        ("解决方案", "（写出采取的措施、结果，以及以后如何预防）"),
        ("后续跟进", "（写出回访结果、遗留事项和负责人；没有可删除本节）"),
        ("相关文章", "（链接相关的手册、Sender ID 指南或同类案例）"),
    ),
}
#: what an imported ticket writes into an empty section (kb.tickets)
IMPORT_PLACEHOLDER = "（待补充）"
#: every line that means "not written yet"
PLACEHOLDER_LINES: frozenset[str] = frozenset(
    {prompt for sections in SECTIONS.values() for _, prompt in sections} | {IMPORT_PLACEHOLDER, "待补充。"})
