"""Simplified Chinese for the public results tables, the rule in plain words and the cycle cards."""

ZH = {
    "%(n)s yuan": "%(n)s元",
    "Projects are funded in order of votes, from most to fewest, until the budget runs out; counting stops at the first project that no longer fits.":
        "按得票从高到低入选，直到预算用完；遇到第一个放不下的项目即停止。",
    "Projects are funded in order of votes, from most to fewest, until the budget runs out; a project that no longer fits is skipped.":
        "按得票从高到低入选，直到预算用完；放不下的项目跳过。",
    "The budget is shared out equally among the voters; a project is funded when its supporters can pay for it together from their shares, the project that costs each supporter least coming first.":
        "预算平均分给每位投票人；一个项目的支持者用各自的份额凑得够它的费用，就能入选，每位支持者出钱最少的项目优先。",
    "Money left over then funds the remaining projects in order of votes.":
        "剩下的钱再按得票从高到低安排其余项目。",
    "Round by round, the project is funded whose supporters, sharing its cost with what they already carry, end up carrying least; counting stops when the next project does not fit the budget.":
        "逐轮入选：每轮选出让支持者分摊费用（连同已分摊的）后负担最轻的项目；下一个项目放不下预算时停止。",
    "Of all the sets of projects that fit the budget, the one with the most votes in total is funded.":
        "在预算之内的所有项目组合中，选出总得票最多的那一组。",
    "Projects are selected by the rule published with the ballot.": "按选票上公布的规则选出项目。",
    "ranked %(rank)d by votes, the budget left was enough: selected": "得票第%(rank)d，预算够用，入选",
    "ranked %(rank)d by votes, funded from the money left over: selected": "得票第%(rank)d，用剩余预算安排，入选",
    "its supporters could pay for it from their equal shares (round %(round)s): selected":
        "支持者用各自的份额凑够了费用（第%(round)s轮），入选",
    "funded in round %(round)s: selected": "第%(round)s轮入选",
    "part of the set of projects with the most votes that fits the budget: selected": "属于预算内总得票最多的项目组合，入选",
    "ranked %(rank)d by votes, not enough budget left (%(left)s left, %(cost)s needed): not selected":
        "得票第%(rank)d，剩余预算不足（还剩%(left)s，需要%(cost)s），落选",
    "ranked %(rank)d by votes, it did not fit the budget left: not selected": "得票第%(rank)d，剩余预算放不下，落选",
    "ranked %(rank)d by votes, counting had stopped before it: not selected": "得票第%(rank)d，计票在它之前已停止，落选",
    "no votes: not selected": "没有得票，落选",
    "fewer votes than the minimum required: not selected": "得票未达到最低要求，落选",
    "its supporters' remaining shares (%(have)s) fell short of its cost (%(cost)s): not selected":
        "支持者剩余的份额（%(have)s）不够它的费用（%(cost)s），落选",
    "not part of the set of projects with the most votes that fits the budget: not selected":
        "不属于预算内总得票最多的项目组合，落选",
    "ranked %(rank)d by votes: not selected": "得票第%(rank)d，落选",
    "%(n)s voters on this ballot · %(w)s of %(p)s projects selected": "本选票%(n)s人投票 · %(p)s个项目中%(w)s个入选",
    "Budget used: %(used)s of %(budget)s yuan": "已用预算：%(used)s元，共%(budget)s元",
    "Rank": "排名",
    "Cost": "造价",
    "Votes": "得票",
    "not selected": "落选",
    "Every project on each ballot, ranked by votes. Percentages are of the voters on that ballot; each voter could support several projects.":
        "每张选票上的全部项目按得票排列。百分比是占该选票投票人数的比例；每位投票人可以支持多个项目。",
    "Technical details (for checking)": "技术细节（供核验）",
    "Rule": "规则代码",
    "Counting program": "计票程序",
    "Fingerprint of the counted ballots": "所计选票的校验指纹",
    "Counted at": "计票时间",
    "anyone can recount it with:": "任何人都可以用以下命令复核：",
    "%(n)s projects on the ballot": "%(n)s个项目参加投票",
    "%(n)s selected": "%(n)s个入选",
    "%(n)s implemented": "%(n)s个已完工",
    "voting under way": "投票进行中",
    "from %(start)s": "%(start)s起",
}
