"""Simplified Chinese for open data and the statistics dashboard (civicbudget.opendata)."""

ZH = {
    "Open data": "开放数据", "Statistics": "统计", "Open data and statistics": "开放数据与统计",
    "Streets": "街道", "Communities": "社区", "Funds (yuan)": "资金（元）", "Population": "人口",
    "Turnout": "投票率", "Spent (yuan)": "支出（元）", "Satisfaction": "满意度",
    "Cost per participant (yuan)": "人均参与成本（元）", "Who voted": "谁参与了投票",
    "Every public table of the cycle, as CSV (opens in a spreadsheet) or JSON. Names and phone numbers of residents are never published.":
        "本期所有公开数据表，提供CSV（可用表格软件打开）和JSON格式。居民姓名和电话从不公开。",
    "Table": "数据表", "Columns": "字段", "Download": "下载", "Ballots (pabulib)": "选票（pabulib格式）",
    "Each ballot scope as an anonymised pabulib file: check the count with civicbudget tally FILE.pb or pabutools.":
        "每个投票范围一份匿名化的pabulib文件：可用 civicbudget tally FILE.pb 或 pabutools 复核计票。",
    "No ballots yet.": "暂无选票。", "The same from the command line:": "命令行导出：",
    "Projects selected": "入选项目", "Spending against allocation (yuan)": "资金支出与核定金额（元）",
    "Satisfaction (1-5)": "满意度（1-5分）", "Average rating": "平均评分",
    "Turnout by channel, %(year)s": "%(year)s年各渠道投票", "Turnout by age band, %(year)s": "%(year)s年各年龄段投票",
    "Turnout by community, %(year)s": "%(year)s年各社区投票率", "Voters per resident": "投票人数占居民比例",
}
