"""Simplified Chinese for every UI string: ``python scripts/zh_hans.py`` fills the .po, then compiles.

Run after ``civicbudget manage makemessages -l zh_Hans``; strings missing here are listed
and the test suite fails on untranslated entries.
"""

import sys
from pathlib import Path

import polib

ZH = {
    "Staff accounts": "工作人员账号", "full name": "姓名", "district admin": "区管理员",
    "street officer": "街道工作人员", "community officer": "社区工作人员",
    "department reviewer": "职能部门审核员", "polling officer": "投票点工作人员",
    "observer / auditor": "监督员/审计员", "role": "角色", "active": "有效",
    "role assignment": "角色授权", "role assignments": "角色授权",
    "Only staff with a role can do this.": "只有具有角色的工作人员才能执行此操作。",
    "Your role (%(roles)s) does not allow you to %(action)s.": "您的角色（%(roles)s）无权%(action)s。",
    "%(place)s is not part of this cycle's district.": "%(place)s不属于本期项目所在的区。",
    "Your role covers %(scopes)s, not %(place)s.": "您的角色范围是%(scopes)s，不包括%(place)s。",
    "This action belongs to a cycle stage, and no cycle was given.": "此操作属于某期项目的阶段，但未指定项目期。",
    "draft": "筹备中", "finished": "已结束",
    "The cycle is %(state)s: you cannot %(action)s now.": "本期项目%(state)s：现在不能%(action)s。",
    "The current stage “%(stage)s” does not allow you to %(action)s.": "当前阶段“%(stage)s”不允许%(action)s。",
    "Give a user name of 1 to 150 characters.": "请填写1至150个字符的用户名。",
    "The user name %(name)s is taken.": "用户名%(name)s已被使用。",
    "Unknown role “%(role)s”.": "未知角色“%(role)s”。",
    "A %(role)s is scoped to a %(kinds)s.": "%(role)s的范围必须是%(kinds)s。",
    "Audit trail": "审计记录", "done": "已完成", "refused": "已拒绝", "at": "时间", "actor": "操作人",
    "action": "操作", "outcome": "结果", "object type": "对象类型", "object id": "对象编号",
    "object": "对象", "before": "修改前", "after": "修改后", "message": "说明",
    "audit event": "审计事件", "audit events": "审计事件", "Cycles": "项目期",
    "name": "名称", "English name": "英文名称", "year": "年度", "template": "模板",
    "description": "说明", "total budget (yuan)": "总预算（元）",
    "Optional ceiling: the pools may not add up to more.": "可选上限：各资金池合计不得超过此数。",
    "configuration": "配置", "cycle": "项目期", "cycles": "项目期", "order": "顺序", "kind": "类型",
    "planned opening": "计划开始", "planned closing": "计划结束", "started at": "实际开始",
    "finished at": "实际结束", "stage": "阶段", "stages": "阶段", "street level": "街道层面",
    "community level": "社区层面", "level": "层级", "amount (yuan)": "金额（元）",
    "budget pool": "资金池", "budget pools": "资金池",
    "Unknown template “%(key)s”.": "未知模板“%(key)s”。",
    "Give the cycle a name of 1 to 200 characters.": "请为项目期填写1至200个字符的名称。",
    "The year %(year)s is out of range.": "年度%(year)s超出范围。",
    "The total budget must be a positive number of yuan.": "总预算必须是正整数（元）。",
    "%(district)s already has a cycle named %(name)s.": "%(district)s已有名为%(name)s的项目期。",
    "%(place)s is not in %(district)s.": "%(place)s不在%(district)s。",
    "%(community)s takes part but its street %(street)s does not.": "%(community)s参与了，但其所在的%(street)s没有参与。",
    "The amount must be a whole number of yuan, not “%(value)s”.": "金额必须是整数元，而不是“%(value)s”。",
    "The amount must be more than 0 yuan.": "金额必须大于0元。",
    "The amount %(value)s yuan is not plausible for one pool.": "单个资金池%(value)s元的金额不合理。",
    "This cycle has no street-level pools.": "本期项目没有街道层面资金池。",
    "%(place)s does not take part in this cycle.": "%(place)s没有参与本期项目。",
    "This cycle has no community-level pools.": "本期项目没有社区层面资金池。",
    "The pools would add up to %(total)s yuan, more than the cycle's %(budget)s.": "各资金池合计将达%(total)s元，超过本期总预算%(budget)s元。",
    "The stage is over: its window can no longer change.": "该阶段已结束，时间不能再修改。",
    "Give the time with its time zone.": "请填写带时区的时间。",
    "The stage must close after it opens.": "阶段结束时间必须晚于开始时间。",
    "No street or community takes part yet.": "还没有街道或社区参与。",
    "No street-level pool for: %(names)s.": "以下街道没有街道层面资金池：%(names)s。",
    "No community-level pool for: %(names)s.": "以下社区没有社区层面资金池：%(names)s。",
    "The cycle is finished: there is no next stage.": "本期项目已结束，没有下一阶段。",
    "The cycle has no stages.": "本期项目没有阶段。",
    "The cycle has moved on already: “%(stage)s” is running now.": "本期项目已进入下一阶段：现在是“%(stage)s”。",
    "“%(stage)s” is planned to close on %(when)s; give a reason to close it early.": "“%(stage)s”计划于%(when)s结束；提前结束须填写理由。",
    "The cycle cannot move on: %(reasons)s": "本期项目不能进入下一阶段：%(reasons)s",
    "Launch": "项目启动", "Collect proposals": "征集提议", "Screen and merge": "项目筛选",
    "Community deliberation": "社区商议", "Street review": "街道审议", "Government menu": "政府列出菜单",
    "Body decides": "议事机构票决", "Residents vote": "居民投票", "Publish": "公示",
    "Reply to proposers": "集中回复", "Implement": "项目实施", "Evaluate": "项目评价",
    "configure the cycle": "配置本期项目", "submit proposals": "提交提议", "merge proposals": "合并提议",
    "screen projects": "筛选项目", "review projects": "审核项目", "deliberate and shortlist": "协商推选",
    "vote": "投票", "publish results": "公示结果", "reply to proposers": "回复提议人",
    "implement projects": "实施项目", "evaluate projects": "评价项目", "Places": "地区",
    "administrative code": "区划代码", "resident population": "常住人口", "district": "区",
    "districts": "区", "street": "街道", "streets": "街道", "community": "社区", "communities": "社区",
    "department": "职能部门", "departments": "职能部门", "The name is empty.": "名称为空。",
    "The name is longer than %(max)d characters.": "名称超过%(max)d个字符。",
    "The name contains characters that are not allowed (< > or NUL).": "名称包含不允许的字符（< > 或空字符）。",
    "The population must be a whole number ≥ 0, not “%(value)s”.": "人口必须是不小于0的整数，而不是“%(value)s”。",
    "The population %(value)s is not plausible.": "人口%(value)s不合理。",
    "The code must be up to 20 letters or digits.": "代码最多为20位字母或数字。",
    "Only an operator can create a district.": "只有平台运维人员才能创建区。",
    "%(district)s already has a street named %(name)s.": "%(district)s已有名为%(name)s的街道。",
    "%(street)s already has a community named %(name)s.": "%(street)s已有名为%(name)s的社区。",
    "Another place there already has that name.": "同一上级下已有同名地区。",
    "This department exists already.": "该职能部门已存在。",
    "The header has no “street” (街道) column; found: %(found)s.": "表头中没有“街道”列；找到的是：%(found)s。",
    "The file has a header but no rows.": "文件只有表头，没有数据行。",
    "more cells than header columns": "单元格数多于表头列数",
    "community %(name)s appears twice (first on line %(first)d)": "社区%(name)s重复出现（首次在第%(first)d行）",
    "street %(name)s appears twice (first on line %(first)d)": "街道%(name)s重复出现（首次在第%(first)d行）",
    "street %(name)s is neither in %(district)s nor on a row of this file": "街道%(name)s既不在%(district)s，也不在本文件中",
    "Nothing was imported: %(count)d problem(s) in the file.": "未导入任何数据：文件中有%(count)d处问题。",
    "imported from %(file)s": "从%(file)s导入",
    "The file is not text in UTF-8 or GB18030: save it as “CSV UTF-8”.": "文件不是UTF-8或GB18030文本：请另存为“CSV UTF-8”。",
    "The CSV file is malformed: %(error)s": "CSV文件格式错误：%(error)s", "The file is empty.": "文件为空。",
    "The file is not a valid XLSX workbook.": "文件不是有效的XLSX工作簿。",
    "The file is %(size)d MB; the limit is %(limit)d MB.": "文件大小为%(size)d MB，上限为%(limit)d MB。",
    "The file is binary, not CSV text.": "文件是二进制文件，不是CSV文本。",
    "Upload a .csv or .xlsx file, not “%(name)s”.": "请上传.csv或.xlsx文件，而不是“%(name)s”。",
    "The file has more than %(max)d rows.": "文件超过%(max)d行。",
    "Web pages": "网页", "Street name": "街道名称", "Resident population": "常住人口",
    "Administrative code": "区划代码", "Street": "街道", "Community name": "社区名称",
    "CSV or XLSX file": "CSV或XLSX文件", "Name": "名称", "Year": "年度", "Template": "模板",
    "First stage opens on": "第一阶段开始日期", "Total budget (yuan)": "总预算（元）",
    "Reason (needed to close a stage early)": "理由（提前结束阶段时必填）", "in preparation": "筹备中",
    "Participatory budgeting": "参与式预算", "Micro-projects · participatory budgeting": "微实事 · 参与式预算",
    "Back-office": "后台管理", "API": "接口", "Language": "语言", "Switch": "切换", "Log out": "退出",
    "Staff login": "工作人员登录",
    "civicbudget: residents decide how a slice of public money is spent.": "civicbudget：由居民决定一部分公共资金怎么花。",
    "yuan in budget pools": "资金池总额（元）", "streets take part": "个街道参与",
    "communities take part": "个社区参与", "residents covered": "覆盖人口", "Stages": "阶段",
    "Stage timeline": "阶段时间线", "now": "进行中", "planned": "计划中", "Open now:": "当前可进行：",
    "Budget pools": "资金池", "Street / community": "街道 / 社区", "Residents": "人口",
    "Street-level pool (yuan)": "街道层面资金（元）", "Community-level pool (yuan)": "社区层面资金（元）",
    "No street takes part yet.": "还没有街道参与。", "Total": "合计", "participatory budgeting": "参与式预算",
    "residents": "常住人口", "No cycle yet.": "还没有项目期。",
    "Participatory budgeting in every district": "各区参与式预算", "No district is set up yet.": "还没有设置区。",
    "all outcomes": "全部结果", "Filter": "筛选", "When": "时间", "Who": "操作人", "Action": "操作",
    "Outcome": "结果", "Object": "对象", "Before → after / message": "修改前 → 修改后 / 说明",
    "No event.": "没有记录。", "Public page": "公开页面", "Stage": "阶段", "Kind": "类型", "Allows": "允许",
    "Planned": "计划", "Started": "开始", "Finished": "结束",
    "Finish this stage and start the next": "结束本阶段并进入下一阶段", "Start the first stage": "开始第一阶段",
    "Participants and budget pools": "参与地区与资金池", "Save participants": "保存参与地区",
    "Pool (yuan)": "资金池（元）", "Save": "保存", "New cycle": "新建项目期",
    "New cycle from a template": "按模板新建项目期", "Create": "创建", "Templates": "模板", "days": "天",
    "Your roles": "您的角色", "Operator (all districts)": "平台运维（全部区）", "Cycle": "项目期",
    "User name": "用户名", "Password": "密码", "Log in": "登录",
    "Residents do not need an account to follow a cycle.": "居民无需账号即可关注项目进展。",
    "Problems in the file (nothing was imported)": "文件中的问题（未导入任何数据）", "Line": "行",
    "Field": "字段", "Problem": "问题", "Code": "代码", "No street yet.": "还没有街道。",
    "New street": "新建街道", "New community": "新建社区", "Import from CSV or XLSX": "从CSV或XLSX导入",
    "Columns: street (街道), community (社区, empty on the street's own row), population (人口), code (代码). Every row is imported, or none.": "列：街道、社区（街道本身的行留空）、人口、代码。要么全部导入，要么都不导入。",
    "Import": "导入", "This page is for staff with a role.": "此页面仅供有角色的工作人员使用。",
    "This district is outside your roles.": "该区不在您的角色范围内。",
    "Street %(name)s created.": "已创建街道%(name)s。", "Community %(name)s created.": "已创建社区%(name)s。",
    "Imported: %(created)d created, %(updated)d updated, %(unchanged)d unchanged.": "导入完成：新建%(created)d个，更新%(updated)d个，未变%(unchanged)d个。",
    "Cycle created from its template.": "已按模板创建项目期。", "This cycle is outside your roles.": "该项目期不在您的角色范围内。",
    "Participants saved.": "已保存参与地区。", "Pool of %(place)s saved.": "已保存%(place)s的资金池。",
    "Now running: %(stage)s.": "当前阶段：%(stage)s。", "The cycle is finished.": "本期项目已结束。",
    "Only observers, auditors and district admins read the audit trail.": "只有监督员、审计员和区管理员可以查看审计记录。",
}


def main() -> int:
    root = Path(__file__).resolve().parent.parent / "src" / "civicbudget" / "locale"
    po_path = root / "zh_Hans" / "LC_MESSAGES" / "django.po"
    po = polib.pofile(str(po_path))
    missing = []
    for entry in po:
        if entry.obsolete:
            continue
        text = ZH.get(entry.msgid)
        if text is None:
            missing.append(entry.msgid)
            continue
        entry.msgstr = text
        if "fuzzy" in entry.flags:
            entry.flags.remove("fuzzy")
    po.metadata["Language"] = "zh_Hans"
    po.metadata["Content-Type"] = "text/plain; charset=UTF-8"
    po.save()
    po.save_as_mofile(str(po_path.with_suffix(".mo")))
    for msgid in missing:
        print(f"untranslated: {msgid!r}", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
