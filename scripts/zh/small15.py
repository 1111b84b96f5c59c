"""Simplified Chinese for the 403 page, permission words, screening wording and the open-data
page's table and column descriptions (issue 15)."""

ZH = {
    # accounts.permissions.CONFIG_LABELS: "您的角色（…）无权%(action)s。"
    "use the back-office": "使用后台", "edit streets and communities": "编辑街道和社区",
    "manage staff accounts": "管理工作人员账号", "create and run cycles": "创建和推进项目期",
    "read the audit trail": "查看审计记录",
    # Screening: the label is the criterion the project did NOT meet.
    "Criteria not met by the projects screened out:": "未通过项目未满足的标准：",
    "Screening saved: screened out (criterion not met: %(reason)s).": "筛选已保存：未通过（未满足：%(reason)s）。",
    # The 403 page.
    "Not allowed": "无权访问", "You cannot open this page": "您无权打开此页面",
    "Your roles:": "您的角色：",
    "If your work needs it, ask a district admin to give your account the role that allows it.":
        "如工作需要，请联系区管理员为您的账号授予相应角色。",
    "Back to the back-office": "返回后台首页",
    "Your account holds no staff role: a district admin gives roles.": "您的账号没有工作人员角色；角色由区管理员授予。",
    # opendata.labels: tables.
    "The cycle": "项目期", "Stages and their dates": "各阶段及日期",
    "Participating streets and communities": "参与的街道和社区",
    "Proposals (without names or phones)": "提议（不含姓名和电话）", "Screening results": "筛选结果",
    "Vote results": "投票结果", "Publication and objections": "公示与异议",
    "Final state of the proposals": "提议的最终状态", "Replies to proposers": "对提议人的答复",
    "Implementation of the winning projects": "入选项目的实施", "Spending": "资金支出",
    "Changes to allocations": "核定金额变更", "Co-funding": "配套资金", "Progress reports": "进度报告",
    "Residents' ratings": "居民评价",
    # opendata.labels: columns.
    "number": "编号", "cycle template": "项目期模板", "street code": "街道代码",
    "community code": "社区代码", "population": "人口", "project number": "项目编号", "type": "类型",
    "number of proposals": "提议数", "kind of proposer": "提议人类型", "criterion": "标准",
    "counting rule": "计票规则", "ballots cast": "投票数", "total cost (yuan)": "总费用（元）",
    "winning project numbers": "入选项目编号", "winning projects": "入选项目",
    "fingerprint of the counted ballots": "所计选票的指纹（哈希）", "counted at": "计票时间",
    "grouped by": "分组依据", "group": "分组", "residents old enough to vote": "达到投票年龄的居民",
    "time": "时间", "notice period ends": "公示期截止", "state": "状态", "number of messages": "消息数",
    "spent (yuan)": "已支出（元）", "co-funded (yuan)": "配套资金（元）", "satisfaction": "满意度",
    "number of ratings": "评价数", "approved at": "批准时间", "percent": "百分比",
    "Each ballot scope as an anonymised pabulib file: check the count with <code>civicbudget tally FILE.pb</code> or <code>pabutools</code>.":
        "每个投票范围一份匿名化的pabulib文件：可用 <code>civicbudget tally FILE.pb</code> 或 <code>pabutools</code> 复核计票。",
    # the separator between the items of a list
    ", ": "、",
}
