"""Shared pieces of the paper's figure scripts: labels, colours, sizes (one theme for all)."""

from __future__ import annotations

from functools import cache

from connection import plots

GROUP_LABEL = {"social_media_moms": "Social-media moms", "other_moms": "Other moms"}
CATEGORY_LABEL = {"all": "Both categories", "banking": "Banking", "ereaders": "eReaders"}
CATEGORY_COLOUR = {"all": plots.PALETTE["neutral"], "banking": plots.PALETTE["banking"],
                   "ereaders": plots.PALETTE["ereaders"]}
GROUP_COLOUR = {"social_media_moms": plots.PALETTE["social_moms"],
                "other_moms": plots.PALETTE["other_moms"]}
# outcome items as the study counts them (events after reverse-coding; promoters = 9-10)
EVENT_LABEL = {"adv_recommend": "Promoter (recommend 9-10)",
               "adv_social": "Posts about the brand on social media",
               "loy_stay": "Will stay", "loy_switch": "Would not switch for a better deal",
               "rep_more": "Will buy more"}
TERM_COLOUR = {"connection": plots.PALETTE["connection"],
               "satisfaction": plots.PALETTE["satisfaction"]}


@cache
def item_labels() -> dict[str, str]:
    """Item id -> its short label in the default instrument ("belong with other customers")."""
    from connection import instruments

    return {item_id: item.label for item_id, item in instruments.default().items.items()}


def label(name: str) -> str:
    """A readable label for an item id, construct, group or category."""
    name = str(name)
    if name in GROUP_LABEL:
        return GROUP_LABEL[name]
    if name in CATEGORY_LABEL:
        return CATEGORY_LABEL[name]
    if name in EVENT_LABEL:
        return EVENT_LABEL[name]
    text = item_labels().get(name, name.replace("_", " "))
    return text[:1].upper() + text[1:]


def cell_label(cell: str) -> str:
    """"banking / social_media_moms" -> "Banking, social-media moms"."""
    category, _, group = str(cell).partition(" / ")
    return f"{CATEGORY_LABEL.get(category, category)}, {GROUP_LABEL.get(group, group).lower()}"


def legend_on_top(fig, handles, labels, *, ncol: int, gap: float = 0.08, **kwargs):
    """A figure legend just above the axes, with no empty band between them."""
    top = max(ax.get_position().y1 for ax in fig.axes)
    titled = any(ax.get_title(loc="left") or ax.get_title() for ax in fig.axes)
    y = top + (0.22 if titled else gap) / fig.get_figheight()
    kwargs = {"frameon": False, "handletextpad": 0.3, "columnspacing": 1.0, **kwargs}
    return fig.legend(handles, labels, loc="lower center", bbox_to_anchor=(0.5, y), ncol=ncol,
                      **kwargs)
