"""Simplified Chinese for one proposal's suggestions (quick entry, workbench, API; issue 14)."""

ZH = {
    "May be the same as these projects or proposals": "可能与以下项目/提议相同",
    "%(n)s proposal": "%(n)s条提议",
    "Loose proposal": "未归并提议",
    "Move into project": "移入项目",
    "Make a project of both": "合为一个项目",
    "Moving proposals into projects opens with the merge stage.": "移入项目要到合并阶段才开放。",
    "No similar project or proposal in this community.": "本社区没有相似的项目或提议。",
    "similar?": "相似？",
    "%(field)s: proposals %(ids)s are not proposals of this community in this cycle.":
        "%(field)s：提议 %(ids)s 不是本周期本社区的提议。",
}
