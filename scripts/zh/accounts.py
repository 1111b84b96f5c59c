"""Simplified Chinese for staff account security: lock-out, two-factor sign-in, API tokens."""

ZH = {
    "This is the published demo password: choose another.": "这是公开的演示密码，请另选一个。",
    "Your password cannot be the published demo password.": "密码不能是公开的演示密码。",
    "name": "名称", "scopes": "权限范围", "expires at": "到期时间", "last used at": "最近使用",
    "revoked at": "撤销时间", "API token": "API 令牌", "API tokens": "API 令牌",
    "read staff data (lists, audit trail)": "读取工作数据（列表、审计记录）",
    "import places": "导入地点",
    "advance stages, set budget pools": "推进阶段、设置预算额度",
    "enter proposals, merge and split projects": "录入提议，合并与拆分项目",
    "screening, reviews, costing, roundtables, ballots, bodies":
        "筛选、部门审核、造价、议事会、选票、议事机构",
    "run and count votes": "组织投票与计票",
    "publish results and replies": "公示结果与答复",
    "record implementation and spending": "记录实施与支出",
    "Only the owner or an operator creates a token for an account.":
        "只有账号本人或平台运维可以为该账号创建令牌。",
    "Give the token a name of 1 to 100 characters.": "请为令牌起一个 1 到 100 个字符的名称。",
    "Choose scopes among: %(scopes)s.": "请从以下权限范围中选择：%(scopes)s。",
    "A token lasts 1 to %(max)d days.": "令牌有效期为 1 到 %(max)d 天。",
    "Only the owner or an operator revokes a token.": "只有账号本人或平台运维可以撤销令牌。",
    "CSRF check failed: a back-office session must send its CSRF token (X-CSRFToken header); "
    "machine clients use an API token.":
        "CSRF 校验失败：后台登录会话须发送 CSRF 令牌（X-CSRFToken 请求头）；程序调用请使用 API 令牌。",
    "The API token is not valid (unknown or revoked).": "API 令牌无效（不存在或已撤销）。",
    "The API token has expired.": "API 令牌已过期。",
    "The API token lacks the scope “%(scope)s” this endpoint needs.":
        "API 令牌缺少此接口所需的权限范围“%(scope)s”。",
    "Log in to the back-office, or send an API token (Authorization: Bearer).":
        "请登录后台，或发送 API 令牌（Authorization: Bearer）。",
    "That code is not right (or was already used). Enter the current code.":
        "验证码不正确（或已使用过），请输入当前的验证码。",
    "Authenticator app": "身份验证器应用",
    "Two-factor sign-in is set up.": "双重验证登录已设置好。",
    "That code is not right: scan again and enter the current code.":
        "验证码不正确：请重新扫描并输入当前的验证码。",
    "Token “%(name)s” revoked.": "令牌“%(name)s”已撤销。",
    "Two-factor sign-in": "双重验证登录",
    "Enter the 6-digit code your authenticator app shows for this account.":
        "请输入身份验证器应用中本账号显示的 6 位验证码。",
    "One-time code": "验证码", "Confirm": "确认", "Log out": "退出",
    "Set up two-factor sign-in": "设置双重验证登录",
    "Operators and district administrators sign in with a password and a code from an "
    "authenticator app. Set the app up before you continue.":
        "平台运维和区管理员登录时需要密码和身份验证器应用中的验证码。请先设置好应用再继续。",
    "Optional for your role: once set up, every sign-in asks for a code.":
        "您的角色可选用：设置后，每次登录都需要输入验证码。",
    "Scan this code with an authenticator app (e.g. Microsoft or Google Authenticator, FreeOTP):":
        "用身份验证器应用（如 Microsoft 或 Google Authenticator、FreeOTP）扫描此二维码：",
    "Cannot scan? Enter this key by hand": "无法扫描？请手动输入此密钥",
    "Enter the 6-digit code the app now shows:": "输入应用当前显示的 6 位验证码：",
    "Login locked": "登录已锁定",
    "Too many failed logins for this user name (%(limit)s in a row): it is locked for a "
    "while. Try again later or ask an operator to unlock it.":
        "此用户名连续登录失败次数过多（%(limit)s 次），已暂时锁定。请稍后再试，或请平台运维解锁。",
    "Machine clients call the API with a token (header Authorization: Bearer …), never with "
    "your login. A token acts with your roles, limited to its scopes, until it expires.":
        "程序通过令牌（请求头 Authorization: Bearer …）调用 API，而不是使用您的登录。令牌以您的角色行事，"
        "仅限其权限范围，直到过期。",
    "Copy the new token now: it is shown only this once.": "请立即复制新令牌：它只显示这一次。",
    "New token": "新建令牌", "Name": "名称", "Scopes": "权限范围",
    "Valid for (days)": "有效期（天）", "Create token": "创建令牌", "Token": "令牌",
    "Expires": "到期", "Last used": "最近使用", "revoked": "已撤销", "Revoke": "撤销",
    "expired": "已过期", "No token yet.": "还没有令牌。",
}
