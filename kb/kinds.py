"""The article kinds, in one table: folder, label, required body sections, enums and nav behaviour.

Configuration, importers, `kb new`, generated pages, the plugin's nav, reports and the search UI (labels
via the static index manifest) all read this module; a test keeps it equal to the JSON Schemas' enums.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: front-matter enums every kind shares (common.schema.json)
STATUSES: tuple[str, ...] = ("draft", "published", "archived")
VISIBILITIES: tuple[str, ...] = ("public", "internal")
STATUS_LABELS: dict[str, str] = {"draft": "草稿", "published": "已发布", "archived": "已归档"}
VISIBILITY_LABELS: dict[str, str] = {"public": "公开", "internal": "内部"}

#: case enums (case.schema.json), in the order the team lists them
CASE_CATEGORIES: tuple[str, ...] = ("客户问题", "技术问题", "业务问题", "沟通问题")
SEVERITIES: tuple[str, ...] = ("low", "medium", "high", "critical")
SEVERITY_LABELS: dict[str, str] = {"low": "低", "medium": "中", "high": "高", "critical": "紧急"}
CHANNELS: tuple[str, ...] = ("工单", "邮件", "电话", "微信", "企业微信", "钉钉", "即时通讯", "其他")
#: senderid enums (senderid.schema.json)
SENDER_TYPES: tuple[str, ...] = ("alphanumeric", "numeric", "shortcode")
SENDER_TYPE_LABELS: dict[str, str] = {"alphanumeric": "字母签名", "numeric": "数字号码", "shortcode": "短代码"}


@dataclass(frozen=True)
class Kind:
    """One article kind. `sections`: level-2 headings its body must have. `list_in_nav`: its articles
    appear one by one in the nav (cases never do: there are thousands; they are listed on generated pages).
    `nav_pages`: generated pages shown in its nav section after its index page."""

    name: str
    folder: str
    label: str
    sections: tuple[str, ...] = ()
    enums: dict[str, tuple[str, ...]] = field(default_factory=dict)
    list_in_nav: bool = True
    nav_pages: tuple[str, ...] = ()

    @property
    def index_page(self) -> str:
        return f"{self.folder}/index.md"


KINDS: tuple[Kind, ...] = (
    Kind("manual", "manuals", "操作手册"),
    Kind("senderid", "senderid", "Sender ID 指南", enums={"sender_type": SENDER_TYPES},
         nav_pages=("senderid/matrix.md",)),
    Kind("case", "cases", "已解决案例", sections=("现象", "原因", "解决方案"),
         enums={"category": CASE_CATEGORIES, "severity": SEVERITIES, "channel": CHANNELS},
         list_in_nav=False, nav_pages=("cases/by-category.md", "cases/by-month.md")),
)
#: enums of the common schema, for every kind
COMMON_ENUMS: dict[str, tuple[str, ...]] = {
    "kind": tuple(k.name for k in KINDS), "status": STATUSES, "visibility": VISIBILITIES,
}

KIND_NAMES: tuple[str, ...] = tuple(k.name for k in KINDS)
BY_NAME: dict[str, Kind] = {k.name: k for k in KINDS}
BY_FOLDER: dict[str, Kind] = {k.folder: k for k in KINDS}
#: kind name -> label (the static index manifest carries this to the search UI)
LABELS: dict[str, str] = {k.name: k.label for k in KINDS}


def label(kind: str | None) -> str:
    """The kind's Chinese label; an unknown kind shows as itself."""
    return LABELS.get(kind or "", kind or "")


def folder_kind(folder: str) -> str | None:
    """The kind whose folder this is, or None."""
    k = BY_FOLDER.get(folder)
    return k.name if k else None
