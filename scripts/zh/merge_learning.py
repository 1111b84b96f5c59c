"""Simplified Chinese for the merge workbench learning from officers' decisions."""

ZH = {
    "not the same": "不是同一件事", "Not the same": "不是同一件事",
    "A suggestion has at least two proposals.": "一条建议至少包含两条提议。",
    "Noted: these proposals will not be suggested together again.": "已记录：这些提议不会再被一起建议。",
    "These proposals will not be suggested together again (undo in the history).":
        "这些提议不会再被一起建议（可在历史记录中撤销）。",
    "the whole community": "整个社区",
    "Same place: %(place)s": "同一地点：%(place)s",
    "Shared key phrases: %(phrases)s": "共同关键词：%(phrases)s",
    "Same request: %(request)s": "相同诉求：%(request)s",
    "Similarity %(score).2f": "相似度 %(score).2f",
    "Like the proposals already in project “%(name)s”": "与已并入项目“%(name)s”的提议相似",
    "Proposals officers split apart are no longer suggested together": "曾被拆分开的提议不再一起建议",
    "Similar wording": "措辞相近",
    "Move into “%(name)s”": "移入“%(name)s”",
    "%(n)s proposal already in a project": "%(n)s条已在项目中的提议",
    "Show its proposals": "查看其中的提议",
}
