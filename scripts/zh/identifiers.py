"""Chinese for the canonical identifiers, the per-phone voter limit, the SMS budget and the phones page."""

ZH = {
    "The %(label)s is too long (more than %(max)d characters).": "%(label)s过长（超过%(max)d个字符）。",
    "The %(label)s holds the character '%(char)s' (U+%(code)04X), which is not allowed: type it with the digits 0-9%(letters)s.":
        "%(label)s中含有不允许的字符“%(char)s”（U+%(code)04X）：请用数字0-9%(letters)s填写。",
    " and the letters A-Z": "和字母A-Z",
    "Unknown document type “%(value)s”.": "未知的证件类型“%(value)s”。",
    "document number": "证件号码",
    "phone number": "电话号码",
    "An ID number has 17 digits and a last digit or X.": "身份证号码由17位数字加最后一位数字或X组成。",
    "The document number has the wrong format.": "证件号码格式不正确。",
    "The check digit does not match: the number is mistyped.": "校验位不符：号码可能输错了。",
    "The birth date in the number is not a real date.": "号码中的出生日期不是有效日期。",
    "The birth date in the number is not plausible.": "号码中的出生日期不合理。",
    "A '+' can only start the phone number.": "“+”只能出现在电话号码开头。",
    "Give an 11-digit mobile number, such as 13812345678.": "请填写11位手机号码，例如13812345678。",
    "Give an 11-digit mobile number such as 13812345678, or a landline with its area code.":
        "请填写11位手机号码（例如13812345678），或带区号的固定电话。",
    "This mobile number has already confirmed %(max)d voters in this cycle: one phone may confirm at most %(max)d voters (a household sharing a phone). Use another mobile number, or vote at a polling point with your document.":
        "该手机号码在本期已确认%(max)d位投票人：一个手机号码最多确认%(max)d位投票人（供共用手机的家庭使用）。请使用其他手机号码，或携带证件到投票点投票。",
    "Too many requests at once for this registration; try again.": "同一登记的请求过于频繁，请重试。",
    "Too many codes are being sent right now, so codes are paused for a while. Try again later, or vote at a polling point with your document.":
        "当前发送的验证码过多，已暂停发送。请稍后再试，或携带证件到投票点投票。",
    "One mobile number confirms at most %(limit)s voter in this vote; others go to a polling point with their document.":
        "一个手机号码在本次投票中最多确认%(limit)s位投票人；其他人请用自己的手机号码，或携带证件到投票点投票。",
    "This page is for the district's administrators.": "此页面仅供本区管理员使用。",
    "Phones and SMS": "手机号与短信",
    "Codes sent in the last hour: %(sent)s of the hourly budget of %(budget)s.":
        "最近一小时已发送验证码%(sent)s条，每小时上限%(budget)s条。",
    "One phone confirms at most %(limit)s voters.": "一个手机号码最多确认%(limit)s位投票人。",
    "Phones and clients appear only as the first characters of their keyed hash, never as numbers or addresses.":
        "手机号码和客户端只显示其密钥哈希的前几位，从不显示号码或地址。",
    "SMS budget alerts": "短信额度警报",
    "At": "时间", "Budget": "额度", "Codes in the last hour": "最近一小时的验证码",
    "The hourly SMS budget has not been reached.": "尚未达到每小时短信额度。",
    "Phones with unusual activity (last %(hours)s hours)": "异常活动的手机号码（最近%(hours)s小时）",
    "Clients with unusual activity (last %(hours)s hours)": "异常活动的客户端（最近%(hours)s小时）",
    "Phone (hash prefix)": "手机号（哈希前缀）", "Client (hash prefix)": "客户端（哈希前缀）",
    "Codes requested": "申请验证码次数", "Failed attempts": "验证失败次数", "Voters confirmed": "已确认投票人",
    "Different phones": "不同手机号码数", "Nothing unusual.": "没有异常。",
}
